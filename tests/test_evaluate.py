"""smartcrop-eval: the crop figure's summary (gap closed, bad crops), the splits it scores, options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import photo

from smartcrop import evaluate
from smartcrop.fixations import FixationRecord


def _result(model: float, centre: float, oracle: float, cc: float = 0.5) -> dict:
    metrics = {"cc": cc, "nss": 1.0, "auc_judd": 0.8, "sim": 0.5, "kl": 1.0}
    crops = {f"{ratio}@{zoom:g}": {"model": model, "centre": centre, "oracle": oracle}
             for ratio in evaluate.CROP_RATIOS for zoom in evaluate.ZOOMS}
    return {"model": metrics, "centre": metrics, "crops": crops}


def test_a_crop_is_bad_below_80_percent_of_the_oracle():
    assert evaluate.is_bad({"model": 0.79, "oracle": 1.0})
    assert not evaluate.is_bad({"model": 0.8, "oracle": 1.0})
    assert not evaluate.is_bad({"model": 0.0, "oracle": 0.0})  # nothing to keep: not bad


def test_summary_gap_closed_and_bad_rate():
    results = [_result(0.9, 0.5, 1.0), _result(0.7, 0.5, 1.0), _result(0.5, 0.5, 1.0), _result(1.0, 0.5, 1.0)]
    crops = evaluate.summarise(results)["crops"]
    one = crops["1:1@1"]
    assert one["model"] == pytest.approx(0.775) and one["oracle"] == 1.0
    assert one["gap_closed"] == pytest.approx(0.275 / 0.5)
    assert one["bad"] == pytest.approx(0.5)  # 0.7 and 0.5 keep less than 0.8 of 1.0
    for zoom in ("1", "0.6"):
        assert crops[f"all@{zoom}"]["bad"] == pytest.approx(0.5)
        assert crops[f"all@{zoom}"]["gap_closed"] == pytest.approx(0.55)


def test_table_shows_bad_crops():
    table = evaluate.format_table(evaluate.summarise([_result(0.7, 0.5, 1.0), _result(0.9, 0.5, 1.0)]), 2)
    assert "| bad crops |" in table
    assert "| all, largest | 0.800 | 0.500 | 1.000 | 60% | 50.0% |" in table


def _records(dataset: str, n: int) -> list[FixationRecord]:
    return [FixationRecord(dataset, f"{i}.jpg", Path(f"/nowhere/{i}.jpg"), 10, 10, np.zeros((1, 2)))
            for i in range(n)]


def test_select_parts_of_either_split():
    records = _records("a", 40) + _records("b", 30)
    assert evaluate.select(records, "all") == records
    assert evaluate.select(records, "val", "b") == records[40:]
    assert evaluate.select(records, "train", "b") == records[:40]
    val, train = evaluate.select(records, "val"), evaluate.select(records, "train")
    assert 0 < len(val) < 20 and len(val) + len(train) == 70 and not set(map(id, val)) & set(map(id, train))


def test_val_dataset_needs_a_split(capsys):
    with pytest.raises(SystemExit) as e:
        evaluate.main(["somewhere", "--val-dataset", "osie"])
    assert e.value.code == 2 and "--val-dataset needs --split" in capsys.readouterr().err


def _dataset(root: Path, name: str, n: int) -> Path:
    (root / name / "images").mkdir(parents=True)
    rows = ["image,subject,x,y,duration_ms"]
    for i in range(n):
        photo((160, 120), centre=(40 + 20 * i, 60), seed=i).save(root / name / "images" / f"{i}.png")
        rows += [f"{i}.png,{s},{40 + 20 * i + s},{60 - s},200" for s in range(5)]
    (root / name / "fixations.csv").write_text("\n".join(rows) + "\n")
    return root / name


def test_main_scores_the_held_out_dataset(tmp_path, capsys):
    a, b = _dataset(tmp_path, "alpha", 2), _dataset(tmp_path, "beta", 1)
    out = tmp_path / "eval.json"
    evaluate.main([str(a), str(b), "--split", "val", "--val-dataset", "beta", "--flip",
                   "--centre-mix", "0.1", "--json", str(out)])
    assert "images: 1" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["images"] == ["beta/0.png"]
    assert report["settings"]["flip"] and report["settings"]["centre_mix"] == 0.1
    assert 0 <= report["summary"]["crops"]["all@0.6"]["bad"] <= 1


def test_centre_fade_is_checked(capsys):
    with pytest.raises(SystemExit) as e:
        evaluate.main(["somewhere", "--centre-mix", "0.3", "--centre-fade", "0.8", "0.4"])
    assert e.value.code == 2 and "--centre-fade must be 0 <= lo < hi <= 1" in capsys.readouterr().err


def test_by_dataset_and_headline():
    records = _records("a", 2) + _records("b", 1)
    results = [_result(0.9, 0.5, 1.0, cc=0.6), _result(0.7, 0.5, 1.0, cc=0.4), _result(1.0, 0.5, 1.0)]
    parts = evaluate.by_dataset(results, records)
    assert list(parts) == ["a", "b"]
    assert parts["a"]["model"]["cc"] == pytest.approx(0.5) and parts["b"]["crops"]["all@1"]["bad"] == 0
    assert evaluate.headline(parts["a"]) == "0.500 | 1.000 | 0.800 | 60.0% / 60.0% | 50.0% / 50.0%"
    table = evaluate.format_headlines(parts, {"a": 2, "b": 1})
    assert "| b | 1 | 0.500 | 1.000 | 0.800 | 100.0% / 100.0% | 0.0% / 0.0% |" in table


def test_the_box_is_scored_with_the_quarters_faces_as_the_product_runs_it(tmp_path):
    """smartcrop-eval mirrors the CLI: the window's faces come from the whole-photo pass, the
    box's from the quarters as well (small faces the whole pass misses)."""
    from test_faces import _group

    from smartcrop.faces import FaceDetector
    from smartcrop.saliency import SaliencyModel

    path = tmp_path / "group.png"
    _group(360, (1600, 1200))[0].save(path)
    record = FixationRecord("d", "group.png", path, 1600, 1200, np.array([[800.0, 600.0]]))
    model, detector = SaliencyModel(threads=1), FaceDetector()
    photo = evaluate.prepare_record(model, record, detector)
    assert len(photo["faces"]) == 0 and len(photo["box_faces"]) >= 5
    thorough = evaluate.prepare_record(model, record, FaceDetector(tiles=True))
    assert len(thorough["faces"]) == len(photo["box_faces"]) and thorough["box_faces"] is thorough["faces"]
    assert evaluate.prepare_record(model, record, detector, use_faces=False)["box_faces"] is None


@pytest.mark.parametrize(("rows", "message"), [
    ("0.png,0,1,1,100\n9.png,0,1,1,100\n",
     "fixations.csv: 1 of 2 images listed have no file in {images}: 9.png"),
    ("", "fixations.csv: no fixations (only the header)"),
    ("0.png,0,abc,1,100\n", "fixations.csv line 2: x is not a number ('abc')"),
])
def test_a_bad_dataset_is_one_line_before_any_work(tmp_path, rows, message):
    root = _dataset(tmp_path, "bad", 1)
    (root / "fixations.csv").write_text("image,subject,x,y,duration_ms\n" + rows)
    with pytest.raises(SystemExit) as e:
        evaluate.main([str(root)])
    assert e.value.code == f"smartcrop-eval: error: {root}/" + message.format(images=root / "images")


def test_a_dataset_given_twice_is_refused(tmp_path, capsys):
    root = _dataset(tmp_path, "alpha", 1)
    other = _dataset(tmp_path / "elsewhere", "alpha", 1)
    for args, message in [([root, tmp_path / "." / "alpha"], f"dataset {root} is given twice"),
                          ([root, other], f"datasets {root} and {other} share the name 'alpha'")]:
        with pytest.raises(SystemExit) as e:
            evaluate.main([str(a) for a in args])
        assert e.value.code == 2 and message in capsys.readouterr().err


def test_nothing_left_to_score_is_an_error(tmp_path):
    root = _dataset(tmp_path, "alpha", 2)
    assert not any(evaluate.select(evaluate.load_datasets([root]), "val"))  # both train by the hash
    with pytest.raises(SystemExit) as e:
        evaluate.main([str(root), "--split", "val"])
    assert e.value.code == "smartcrop-eval: error: no images to score (--split val leaves none of 2)"


def test_json_in_a_new_folder_and_notes_on_left_out_images_and_outside_fixations(tmp_path, capsys):
    """--json makes its folder (as smartcrop --manifest does); images without fixations and
    fixations outside their image (another resolution's coordinates) are each one line."""
    root = _dataset(tmp_path, "alpha", 2)
    photo((160, 120), seed=9).save(root / "images" / "spare.png")
    with (root / "fixations.csv").open("a") as f:
        f.write("1.png,9,400,300,200\n1.png,9,320,100,200\n")
    out = tmp_path / "new" / "deeper" / "eval.json"
    evaluate.main([str(root), "--no-faces", "--json", str(out)])
    err = capsys.readouterr().err.splitlines()
    assert err == [f"smartcrop-eval: note: 1 image in {root / 'images'} has no fixations in fixations.csv, "
                   "left out (e.g. spare.png)",
                   "smartcrop-eval: warning: 2 of 12 fixations lie outside their image (e.g. alpha/1.png "
                   "is 160x120, a fixation at 400,300): recorded at another resolution?"]
    assert json.loads(out.read_text())["images"] == ["alpha/0.png", "alpha/1.png"]


def test_json_that_cannot_be_written_stops_before_the_work(tmp_path):
    root = _dataset(tmp_path, "alpha", 1)
    (tmp_path / "file").write_text("")
    for target, why in [(tmp_path / "file" / "eval.json", "cannot make its folder"), (root, "is a folder")]:
        with pytest.raises(SystemExit) as e:
            evaluate.main([str(root), "--json", str(target)])
        assert str(e.value.code).startswith(f"smartcrop-eval: error: --json {target}: {why}")
