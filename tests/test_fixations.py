"""Fixation datasets: loading the shared layout, the reproducible split, ground-truth maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from smartcrop.fixations import (
    FixationRecord,
    block_sum,
    density_map,
    fixation_counts,
    gaussian_blur,
    holdout_split,
    is_validation,
    load_dataset,
    load_datasets,
    outside_fixations,
    split,
    unlisted_images,
)


def _records(dataset: str, n: int) -> list[FixationRecord]:
    return [FixationRecord(dataset, f"{i:04d}.jpg", Path(f"/nowhere/{i:04d}.jpg"), 10, 10, np.zeros((1, 2)))
            for i in range(n)]


# --- maps ----------------------------------------------------------------------------------


def test_fixation_counts_truncate_and_clip():
    pts = np.array([[0.2, 0.9], [3.7, 1.0], [3.99, 1.5], [-2.0, 9.0]])
    counts = fixation_counts(pts, width=4, height=3)
    expected = np.zeros((3, 4))
    expected[0, 0] = 1
    expected[1, 3] = 2
    expected[2, 0] = 1  # outside points clip to the border
    np.testing.assert_array_equal(counts, expected)
    assert fixation_counts(np.zeros((0, 2)), 4, 3).sum() == 0


def test_density_map_single_fixation():
    density = density_map(np.array([[5.0, 3.0]]), width=12, height=8, sigma=1.5)
    assert density.shape == (8, 12)
    assert density.sum() == pytest.approx(1.0)
    assert np.unravel_index(np.argmax(density), density.shape) == (3, 5)
    assert np.all(density > 0)
    # symmetric about the fixation where the border does not cut in
    np.testing.assert_allclose(density[3, 5 - 2], density[3, 5 + 2])
    np.testing.assert_allclose(density[3 - 2, 5], density[3 + 2, 5])


def test_density_map_default_sigma_and_empty():
    pts = np.array([[20.0, 10.0]])
    assert np.allclose(density_map(pts, 40, 30), density_map(pts, 40, 30, sigma=0.03 * 40))
    empty = density_map(np.zeros((0, 2)), 40, 30)
    assert empty.shape == (30, 40) and empty.sum() == 0


def test_density_map_weights_repeated_fixations():
    one = density_map(np.array([[2.0, 2.0], [12.0, 2.0]]), 16, 6, sigma=1.0)
    two = density_map(np.array([[2.0, 2.0], [12.0, 2.0], [12.0, 2.0]]), 16, 6, sigma=1.0)
    assert one[2, 12] == pytest.approx(one[2, 2])
    assert two[2, 12] == pytest.approx(2 * two[2, 2])


def test_gaussian_blur_of_impulse_is_a_gaussian():
    sigma, (r, c) = 2.0, (6, 9)
    impulse = np.zeros((13, 17))
    impulse[r, c] = 1.0
    rows, cols = np.mgrid[0:13, 0:17]
    expected = np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * sigma**2))
    np.testing.assert_allclose(gaussian_blur(impulse, sigma), expected, rtol=1e-12, atol=1e-15)


def test_gaussian_blur_is_linear():
    rng = np.random.default_rng(0)
    a, b = rng.random((7, 9)), rng.random((7, 9))
    expected = 2 * gaussian_blur(a, 1.3) + gaussian_blur(b, 1.3)
    np.testing.assert_allclose(gaussian_blur(2 * a + b, 1.3), expected)


def test_block_sum():
    image = np.arange(24, dtype=float).reshape(4, 6)
    np.testing.assert_array_equal(block_sum(image, 2), [[0 + 1 + 6 + 7, 2 + 3 + 8 + 9, 4 + 5 + 10 + 11],
                                                        [12 + 13 + 18 + 19, 14 + 15 + 20 + 21,
                                                         16 + 17 + 22 + 23]])
    assert block_sum(image, 2).sum() == image.sum()


# --- split ---------------------------------------------------------------------------------


def test_split_is_deterministic_and_keeps_every_dataset():
    records = _records("alpha", 60) + _records("beta", 60) + _records("gamma", 40)
    train, val = split(records)
    train2, val2 = split(list(reversed(records)))
    assert {r.key for r in train} == {r.key for r in train2}
    assert {r.key for r in val} == {r.key for r in val2}
    assert {r.key for r in train} | {r.key for r in val} == {r.key for r in records}
    assert not {r.key for r in train} & {r.key for r in val}
    for name in ("alpha", "beta", "gamma"):
        assert any(r.dataset == name for r in train) and any(r.dataset == name for r in val)
    assert 0.02 < len(val) / len(records) < 0.25  # about 10%
    # by key only: the same name in another dataset may fall either side
    assert all(is_validation(r) for r in val) and not any(is_validation(r) for r in train)


def test_split_percent():
    records = _records("alpha", 200)
    assert len(split(records, percent=50)[1]) > len(split(records, percent=10)[1])


def test_split_refuses_a_dataset_missing_from_one_part():
    records = _records("alpha", 60) + _records("tiny", 1)
    with pytest.raises(ValueError, match="tiny"):
        split(records)


def test_holdout_split_leaves_one_dataset_out():
    records = _records("alpha", 30) + _records("beta", 20) + _records("gamma", 10)
    train, val = split(records, val_dataset="beta")
    assert [r.key for r in val] == [r.key for r in records if r.dataset == "beta"]
    assert {r.dataset for r in train} == {"alpha", "gamma"} and len(train) == 40
    assert (train, val) == holdout_split(records, "beta")
    # the hash split stays the default and differs
    assert {r.dataset for r in split(records, percent=50)[1]} != {"beta"}


def test_holdout_split_refuses_an_unknown_or_only_dataset():
    records = _records("alpha", 5) + _records("beta", 5)
    with pytest.raises(ValueError, match="'delta' is not among the datasets given \\(alpha, beta\\)"):
        split(records, val_dataset="delta")
    with pytest.raises(ValueError, match="no dataset to train on"):
        holdout_split(_records("alpha", 5), "alpha")


# --- loading -------------------------------------------------------------------------------


def _dataset(tmp_path, name="mini"):
    root = tmp_path / name
    (root / "images").mkdir(parents=True)
    Image.new("RGB", (40, 30), (200, 10, 10)).save(root / "images" / "b.jpg")
    Image.new("RGB", (20, 50), (10, 200, 10)).save(root / "images" / "a.png")
    (root / "fixations.csv").write_text(
        "image,subject,x,y,duration_ms\n"
        "b.jpg,0,10.5,20.25,200\n"
        "a.png,0,1,2,150\n"
        "b.jpg,1,39.0,0.0,300\n"
        "a.png,1,3.5,4.5,100\n"
        "b.jpg,1,5,6,120\n"
    )
    return root


def test_load_dataset(tmp_path):
    root = _dataset(tmp_path)
    records = load_dataset(root)
    assert [r.name for r in records] == ["a.png", "b.jpg"]  # sorted by name
    a, b = records
    assert (a.dataset, a.key, a.path) == ("mini", "mini/a.png", root / "images" / "a.png")
    assert (a.width, a.height) == (20, 50) and (b.width, b.height) == (40, 30)
    np.testing.assert_array_equal(a.fixations, [[1, 2], [3.5, 4.5]])
    np.testing.assert_array_equal(b.fixations, [[10.5, 20.25], [39, 0], [5, 6]])  # file order
    assert b.fixations.dtype == np.float64 and b.fixations.shape == (3, 2)


def test_load_datasets_concatenates(tmp_path):
    records = load_datasets([_dataset(tmp_path, "one"), str(_dataset(tmp_path, "two"))])
    assert [r.key for r in records] == ["one/a.png", "one/b.jpg", "two/a.png", "two/b.jpg"]


def test_folder_without_fixations_csv_raises(tmp_path):
    root = _dataset(tmp_path)
    (root / "fixations.csv").unlink()
    with pytest.raises(ValueError, match="not a dataset folder"):
        load_dataset(root)


def test_folder_without_images_raises(tmp_path):
    root = tmp_path / "noimages"
    root.mkdir()
    (root / "fixations.csv").write_text("image,subject,x,y,duration_ms\n")
    with pytest.raises(ValueError, match="not a dataset folder"):
        load_dataset(root)
    with pytest.raises(ValueError):
        load_dataset(tmp_path / "missing")


def _write(tmp_path, csv_text: str, names=("a.png", "b.png"), size=(40, 30)) -> Path:
    """A dataset folder with small images `names` and fixations.csv holding `csv_text`."""
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    for name in names:
        Image.new("RGB", size).save(root / "images" / name)
    (root / "fixations.csv").write_bytes(csv_text.encode("utf-8"))
    return root


ROWS = "image,subject,x,y,duration_ms\na.png,0,1.5,2,200\nb.png,0,3,4,150\na.png,1,5,6,100\n"


def test_images_without_a_file_are_all_named_before_any_is_read(tmp_path):
    extra = "".join(f"gone{i}.png,0,1,1,100\n" for i in range(5))
    root = _write(tmp_path, ROWS + extra)
    with pytest.raises(ValueError) as e:
        load_dataset(root)
    assert str(e.value) == (f"{root / 'fixations.csv'}: 5 of 7 images listed have no file in "
                            f"{root / 'images'}: gone0.png, gone1.png, gone2.png and 2 more")


def test_an_unreadable_image_is_named(tmp_path):
    root = _write(tmp_path, ROWS)
    (root / "images" / "b.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"b\.png: cannot read the image"):
        load_dataset(root)


@pytest.mark.parametrize(("text", "why"), [("", "the file is empty"), ("\n\n", "the file is empty"),
                                           ("image,subject,x,y,duration_ms\n", "only the header"),
                                           ("\ufeffimage,subject,x,y,duration_ms\n\n", "only the header")])
def test_no_fixations_is_an_error(tmp_path, text, why):
    root = _write(tmp_path, text)
    with pytest.raises(ValueError, match=f"fixations.csv: no fixations \\({why}\\)"):
        load_dataset(root)


@pytest.mark.parametrize("text", [
    "\ufeff" + ROWS,  # Excel's UTF-8 BOM
    ROWS.replace(",", ", "),  # spaces after commas
    ROWS.replace(",", " , "),
    ROWS.replace(",", ";"),  # Excel in locales with a decimal comma
    ROWS.replace(",", "\t"),
    "\ufeff" + ROWS.replace(",", ";").replace("\n", "\r\n") + "\r\n",  # all of it, and a blank last line
    'image,subject,x,y,duration_ms\n"a.png",0,1.5,2,200\n"b.png", 0, 3, 4, 150\na.png,1,5,6,100\n',
    "x,y,image\n1.5,2,a.png\n3,4,b.png\n5,6,a.png\n",  # only the columns used, in any order
])
def test_spreadsheet_variants_read_the_same(tmp_path, text):
    a, b = load_dataset(_write(tmp_path, text))
    np.testing.assert_array_equal(a.fixations, [[1.5, 2], [5, 6]])
    np.testing.assert_array_equal(b.fixations, [[3, 4]])


def test_missing_columns_are_named_with_those_found(tmp_path):
    root = _write(tmp_path, "image,subject,px,py\na.png,0,1,2\n")
    with pytest.raises(ValueError) as e:
        load_dataset(root)
    assert str(e.value) == (f"{root / 'fixations.csv'}: missing columns x, y "
                            "(found: image, subject, px, py; needs image, x, y)")
    root = _write(tmp_path / "pipes", "image|x|y\na.png|1|2\n")
    with pytest.raises(ValueError, match=r"missing columns image, x, y \(found: image\|x\|y;"):
        load_dataset(root)


@pytest.mark.parametrize(("row", "message"), [
    ("b.png,2,abc,4,100", "line 5: x is not a number ('abc')"),
    ("b.png,2,3,,100", "line 5: y is not a number ('')"),
    ("b.png,2,nan,4,100", "line 5: x is not a number ('nan')"),
    ("b.png,2,3", "line 5: 3 values for 5 columns"),
    (",2,3,4,100", "line 5: no image name"),
])
def test_a_bad_row_is_named_by_file_and_line(tmp_path, row, message):
    root = _write(tmp_path, ROWS + row + "\n")
    with pytest.raises(ValueError) as e:
        load_dataset(root)
    assert str(e.value) == f"{root / 'fixations.csv'} {message}"


def test_a_file_not_in_utf8_is_refused(tmp_path):
    root = _write(tmp_path, ROWS)
    (root / "fixations.csv").write_bytes(ROWS.replace("a.png", "\xe9.png").encode("latin-1"))
    with pytest.raises(ValueError, match="fixations.csv: not UTF-8 text"):
        load_dataset(root)


def test_unlisted_images(tmp_path):
    root = _write(tmp_path, ROWS, names=("a.png", "b.png", "c.png"))
    (root / "images" / "notes.txt").write_text("not an image")
    (root / "images" / "sub").mkdir()
    Image.new("RGB", (4, 4)).save(root / "images" / "sub" / "d.JPG")
    assert unlisted_images(root, load_dataset(root)) == ["c.png", "sub/d.JPG"]
    assert unlisted_images(_dataset(tmp_path), load_dataset(_dataset(tmp_path, "other"))) != []


def test_outside_fixations_count_beyond_a_pixel():
    inside = FixationRecord("d", "in.jpg", Path("in.jpg"), 40, 30,
                            np.array([[0.0, 0], [40.9, 30.9], [-0.9, 5]]))  # sub-pixel strays
    far = FixationRecord("d", "far.jpg", Path("far.jpg"), 40, 30,
                         np.array([[10.0, 10], [80, 20], [41.5, 29], [20, 95]]))
    assert outside_fixations([inside]) == (0, 3, None)
    outside, total, (record, x, y) = outside_fixations([inside, far])
    assert (outside, total, record.name, x, y) == (3, 7, "far.jpg", 20, 95)
