"""The smartcrop command end to end: outputs, manifest, extras, formats, resume, exit codes."""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    ROOT,
    exif_jpeg,
    files_under,
    oriented,
    parse_manifest,
    photo,
    run_module,
    sha256,
    srgb_profile,
)
from PIL import Image, ImageOps

from smartcrop import __version__
from smartcrop.pipeline import load_model as REAL_LOAD_MODEL


def aspect_ok(size: tuple[int, int], w: int, h: int) -> bool:
    """`size` has aspect w:h to within one pixel."""
    width, height = size
    return abs(width * h / w - height) <= 1 or abs(height * w / h - width) <= 1


def test_nested_folders_several_targets_one_pass(cli, make_image, tmp_path, model, monkeypatch):
    from test_pipeline import CountingModel

    import smartcrop.pipeline

    counting = CountingModel(model)
    monkeypatch.setattr(smartcrop.pipeline, "load_model", lambda options: counting)
    make_image("trips/beach.jpg", size=(640, 480))
    make_image("trips/2023/hill.png", size=(300, 500))
    make_image("top.jpg", size=(500, 500))
    out = tmp_path / "out"
    r = cli(tmp_path / "in", out, "--ratio", "16:9", "--ratio", "1.91:1", "--ratio", "9:16",
            "--size", "200x250", "--size", "64x64", "--manifest", "-")
    assert r.exit_code == 0, r.stderr
    assert counting.calls == 3  # one saliency pass per image, whatever the number of targets
    assert len(r.records) == 15
    assert (out / "trips" / "beach_16x9.jpg").is_file()
    assert (out / "trips" / "2023" / "hill_1.91x1.png").is_file()
    for stem in ("trips/beach", "trips/2023/hill", "top"):
        ext = ".png" if "hill" in stem else ".jpg"
        for tag, (w, h) in (("16x9", (16, 9)), ("1.91x1", (191, 100)), ("9x16", (9, 16))):
            assert aspect_ok(Image.open(out / f"{stem}_{tag}{ext}").size, w, h), (stem, tag)
        assert Image.open(out / f"{stem}_200x250{ext}").size == (200, 250)
        assert Image.open(out / f"{stem}_64x64{ext}").size == (64, 64)
    assert "3 images, 15 outputs: 15 written, 0 failed" in r.stderr


def test_size_is_exact_small_crops_upscaled_with_a_warning(cli, make_image, tmp_path):
    make_image("small.jpg", size=(120, 90))
    make_image("big.jpg", size=(800, 600))
    r = cli(tmp_path / "in", tmp_path / "out", "--size", "400x300", "--manifest", "-")
    big, small = r.records
    assert r.exit_code == 0 and small["output_size"] == [400, 300] and small["upscale"] == 3.33
    assert Image.open(tmp_path / "out" / "small_400x300.jpg").size == (400, 300)
    assert "upscale" not in big and "warning" not in big
    # One warning line per upscaled output: file, target, crop size, factor.
    assert r.stderr.count("warning") == 1
    assert f"warning: {tmp_path / 'in' / 'small.jpg'}: 400x300 upscaled 3.33x from a 120x90 crop" in r.stderr
    assert "2 images, 2 outputs: 2 written (1 upscaled), 0 failed" in r.stderr
    r = cli(tmp_path / "in", tmp_path / "out2", "--size", "400x300", "--no-upscale", "--manifest", "-")
    _, small = r.records
    assert "upscale" not in small and small["output_size"] == [120, 90] and "--no-upscale" in small["warning"]
    assert Image.open(tmp_path / "out2" / "small_400x300.jpg").size == (120, 90)
    assert "small.jpg: 400x300 written at 120x90" in r.stderr and r.exit_code == 0
    r = cli(tmp_path / "in", tmp_path / "out3", "--size", "400x300", "--upscale", "--max-upscale", "3",
            "--manifest", "-")  # --upscale is the default, still accepted
    big, small = r.records
    assert r.exit_code == 1 and big["status"] == "ok" and small["status"] == "error"
    assert "3.33x upscale is over the limit of 3x" in small["error"]
    assert not (tmp_path / "out3" / "small_400x300.jpg").exists()


def test_strong_upscale_fails_by_default(cli, make_image, tmp_path):
    make_image("tiny.jpg", size=(100, 100))
    r = cli(tmp_path / "in", tmp_path / "out", "--size", "400x400", "--size", "500x500", "--manifest", "-")
    ok, fail = r.records
    assert r.exit_code == 1 and ok["upscale"] == 4.0 and fail["status"] == "error"
    assert "5.00x upscale is over the limit of 4x" in fail["error"]


def test_manifest_schema(cli, make_image, tmp_path):
    make_image("a.jpg", size=(400, 300))
    (tmp_path / "in" / "bad.jpg").write_text("not an image")
    manifest = tmp_path / "m.jsonl"
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "16x9", "--ratio", "1.91", "--size", "100x80",
            "--manifest", manifest)
    assert r.exit_code == 1
    records = parse_manifest(manifest.read_text(encoding="utf-8"))
    assert len(records) == 6  # one per requested output, failures included
    ok = [x for x in records if x["status"] == "ok"]
    bad = [x for x in records if x["status"] == "error"]
    assert [x.get("ratio", x.get("size")) for x in ok] == ["16:9", "1.91:1", [100, 80]]
    for rec in records:
        assert {"input", "output", "box", "image_size", "strategy", "score", "status", "error"} <= rec.keys()
        assert ("ratio" in rec) != ("size" in rec) and rec["strategy"] == "window"
    for rec in ok:
        assert rec["input"] == str(tmp_path / "in" / "a.jpg") and os.path.isfile(rec["output"])
        assert rec["image_size"] == [400, 300] and rec["error"] is None and 0 <= rec["score"] <= 1
        left, top, w, h = rec["box"]
        assert 0 <= left and 0 <= top and left + w <= 400 and top + h <= 300
    for rec in bad:
        assert rec["output"] is None and rec["box"] is None and rec["error"]


def test_manifest_to_stdout_only_json(cli, make_image, tmp_path):
    make_image("a.jpg")
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--manifest", "-")
    assert r.exit_code == 0
    assert [json.loads(line)["status"] for line in r.stdout.splitlines()] == ["ok"]


def test_a_name_that_is_not_utf8_gets_every_record_and_its_output(cli, tmp_path):
    """A Latin-1 name (bytes 'caf\\xe9.jpg') reaches Python with a lone surrogate: its records are
    written with ASCII escapes (valid JSON, turned back into the name's bytes by os.fsencode),
    to a file or stdout, the report's data too, and its output keeps the name's bytes."""
    folder = tmp_path / "in"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9")
    photo((600, 400)).save(folder / f"{name}.jpg")
    (folder / os.fsdecode(b"bad\xff.jpg")).write_bytes(b"not an image")
    manifest = tmp_path / "m.jsonl"
    r = cli(folder, tmp_path / "out", "--ratio", "1:1", "--manifest", manifest, "--report",
            tmp_path / "r.html")
    assert r.exit_code == 1, r.output  # the bad file failed, nothing else
    records = parse_manifest(manifest.read_text(encoding="utf-8"))
    assert [(os.fsencode(x["input"]), x["status"]) for x in records] == [
        (os.fsencode(folder / os.fsdecode(b"bad\xff.jpg")), "error"),
        (os.fsencode(folder / f"{name}.jpg"), "ok")]
    assert os.fsencode(records[1]["output"]) == os.fsencode(tmp_path / "out") + b"/caf\xe9_1x1.jpg"
    assert os.listdir(os.fsencode(tmp_path / "out")) == [b"caf\xe9_1x1.jpg"]
    data = (tmp_path / "r_files" / "data.js").read_text(encoding="utf-8")
    items = json.loads(data.removeprefix("window.REPORT = ").rstrip().removesuffix(";"))["items"]
    assert {os.fsencode(x["in"]) for x in items} == {os.fsencode(x["input"]) for x in records}
    assert "r_files/caf%E9.jpg" in data
    assert os.path.isfile(os.fsencode(tmp_path / "r_files") + b"/caf\xe9.jpg")
    r = cli(folder, tmp_path / "out2", "--ratio", "1:1", "--manifest", "-", "-v")
    assert [x["status"] for x in r.records] == ["error", "ok"]
    assert r.stderr.count("bad") == 1 and "caf" in r.stderr  # its -v line is its error line


def test_saliency_maps_and_debug_overlays(cli, make_image, tmp_path):
    make_image("trips/beach.jpg", size=(400, 300))
    exif_jpeg(tmp_path / "in" / "trips" / "turned.jpg", 6, (300, 200))
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--save-saliency", tmp_path / "maps",
            "--debug", tmp_path / "dbg")
    assert r.exit_code == 0, r.stderr
    for stem, size in (("beach", (400, 300)), ("turned", (200, 300))):
        m = Image.open(tmp_path / "maps" / "trips" / f"{stem}.png")
        assert m.format == "PNG" and m.mode == "L" and m.size == size
        assert np.asarray(m).max() == 255
        assert Image.open(tmp_path / "dbg" / "trips" / f"{stem}.jpg").mode == "RGB"


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_rotated_jpeg_gives_upright_outputs(cli, tmp_path, orientation):
    path = exif_jpeg(tmp_path / "in" / "r.jpg", orientation, (320, 200), centre=(80, 100))
    r = cli(path, tmp_path / "out", "--ratio", "9:16", "--ratio", "16:9", "--manifest", "-")
    assert r.exit_code == 0, r.stderr
    upright = ImageOps.exif_transpose(Image.open(path))
    assert upright.size == (200, 320)
    for rec in r.records:
        assert rec["image_size"] == [200, 320]
        left, top, w, h = rec["box"]
        assert left + w <= 200 and top + h <= 320
        out = Image.open(rec["output"])
        assert out.size == (w, h) and out.getexif().get(0x0112, 1) == 1
        expected = upright.crop((left, top, left + w, top + h))
        assert np.abs(np.asarray(out, float) - np.asarray(expected, float)).mean() < 4


@pytest.mark.parametrize("name, orientation", [("o.tif", 3), ("o.tif", 6), ("o.tif", 8), ("o.jpg", 6)])
def test_oriented_tiff_gives_upright_outputs_once(cli, tmp_path, name, orientation):
    # Pillow 13 turns a TIFF by its Orientation tag itself; smartcrop turned it again.
    upright = photo((320, 240), centre=(60, 50))
    path = oriented(tmp_path / "in" / name, orientation, upright)
    r = cli(path, tmp_path / "out", "--ratio", "16:9", "--size", "160x120", "--format", "jpeg",
            "--metadata", "all", "--debug", tmp_path / "dbg", "--manifest", "-")
    assert r.exit_code == 0, r.stderr
    for rec in r.records:
        assert rec["image_size"] == [320, 240]
        left, top, w, h = rec["box"]
        out = Image.open(rec["output"])
        assert out.getexif().get(0x0112, 1) == 1
        expected = upright.crop((left, top, left + w, top + h)).resize(out.size)
        assert np.abs(np.asarray(out, float) - np.asarray(expected, float)).mean() < 6, rec
    view = Image.open(tmp_path / "dbg" / "o.jpg")
    assert view.width * 240 == view.height * 320


def test_png_alpha_kept_in_png(cli, tmp_path):
    path = tmp_path / "in" / "logo.png"
    path.parent.mkdir()
    im = photo((200, 160)).convert("RGBA")
    im.putalpha(Image.linear_gradient("L").resize((200, 160)))
    im.save(path)
    r = cli(path, tmp_path / "out", "--ratio", "1:1", "--size", "50x50", "--manifest", "-")
    assert r.exit_code == 0
    for rec in r.records:
        out = Image.open(rec["output"])
        assert out.format == "PNG" and out.mode == "RGBA"
        assert np.asarray(out)[..., 3].min() < 30  # transparency survived


def test_alpha_composited_on_white_for_jpeg_output(cli, tmp_path):
    """--format jpeg has no alpha channel: transparent pixels become white."""
    path = tmp_path / "in" / "clear.png"
    path.parent.mkdir()
    Image.new("RGBA", (120, 90), (0, 0, 0, 0)).save(path)
    r = cli(path, tmp_path / "out", "--ratio", "4:3", "--format", "jpeg", "--manifest", "-")
    out = Image.open(r.records[0]["output"])
    assert out.format == "JPEG" and out.mode == "RGB" and np.asarray(out).min() >= 250


@pytest.mark.parametrize(("src", "fmt"), [("p.jpg", "keep"), ("p.png", "keep"), ("p.jpg", "png"),
                                          ("p.png", "webp")])
def test_icc_profile_preserved(cli, tmp_path, src, fmt):
    icc = srgb_profile()
    path = tmp_path / "in" / src
    path.parent.mkdir()
    photo((160, 120)).save(path, icc_profile=icc)
    r = cli(path, tmp_path / "out", "--ratio", "1:1", "--format", fmt, "--manifest", "-")
    assert Image.open(r.records[0]["output"]).info.get("icc_profile") == icc


def test_no_name_collisions(cli, make_image, tmp_path):
    make_image("x/a.jpg", seed=1)
    make_image("y/a.jpg", seed=2)
    make_image("y/a.png", seed=3)
    make_image("y/A.jpeg", seed=4)
    make_image("a.jpg", root=tmp_path / "in2", seed=5)
    out = tmp_path / "out"
    r = cli(tmp_path / "in", tmp_path / "in2" / "a.jpg", out, "--ratio", "1:1", "--manifest", "-")
    assert r.exit_code == 0
    outputs = [rec["output"] for rec in r.records]
    assert len(outputs) == 5 and len({o.casefold() for o in outputs}) == 5
    assert sorted(map(str, files_under(out))) == sorted(outputs)


def test_corrupt_file_among_good_ones(cli, make_image, tmp_path):
    for i in range(3):
        make_image(f"good{i}.jpg", seed=i)
    bad = tmp_path / "in" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0garbage" * 10)
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--ratio", "16:9")
    assert r.exit_code == 1
    lines = [line for line in r.stderr.splitlines() if "broken.jpg" in line]
    assert len(lines) == 1 and lines[0].startswith("smartcrop: error: ")
    assert len(files_under(tmp_path / "out")) == 6


def test_exit_codes_and_stderr_in_a_real_process(make_image, tmp_path):
    make_image("good.jpg")
    (tmp_path / "in" / "empty.jpg").write_bytes(b"")
    p = run_module(tmp_path / "in", tmp_path / "out", "--ratio", "1:1")
    assert p.returncode == 1
    assert [line for line in p.stderr.splitlines() if "error" in line] == [
        f"smartcrop: error: {tmp_path / 'in' / 'empty.jpg'}: empty file (0 bytes)"]
    assert "Traceback" not in p.stderr and (tmp_path / "out" / "good_1x1.jpg").is_file()
    p = run_module(tmp_path / "in", tmp_path / "out2", "--ratio", "nope")
    assert p.returncode == 2 and "invalid ratio 'nope'" in p.stderr


def test_dry_run_writes_manifest_and_maps_only(cli, make_image, tmp_path):
    make_image("a.jpg")
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--dry-run",
            "--save-saliency", tmp_path / "maps", "--manifest", tmp_path / "m.jsonl")
    assert r.exit_code == 0
    assert not (tmp_path / "out").exists()
    (rec,) = parse_manifest((tmp_path / "m.jsonl").read_text())
    assert rec["status"] == "ok" and rec["output"] is None and rec["box"]
    assert (tmp_path / "maps" / "a.png").is_file()


def test_dry_run_forecasts_the_refusals_of_existing_outputs(cli, make_image, tmp_path, monkeypatch):
    from conftest import tree_hashes
    from test_pipeline import CountingModel

    import smartcrop.pipeline

    for i in range(2):
        make_image(f"p{i}.jpg", seed=i)
    out = tmp_path / "out"
    assert cli(tmp_path / "in", out, "--ratio", "1:1").exit_code == 0
    before = tree_hashes(out)
    counting = CountingModel(smartcrop.pipeline.load_model(None))
    monkeypatch.setattr(smartcrop.pipeline, "load_model", lambda options: counting)
    r = cli(tmp_path / "in", out, "--ratio", "1:1", "--dry-run")
    assert r.exit_code == 1 and counting.calls == 0, r.stderr  # all exist: nothing decoded
    assert "2 outputs exist already (" in r.stderr and "would not be replaced" in r.stderr
    exist = "(exist: --skip-existing or --overwrite), "  # why the exit status is 1
    assert f"2 images, 2 outputs: 0 would be written, 0 failed, 2 would not be written {exist}" in r.stderr
    args = (tmp_path / "in", out, "--ratio", "1:1", "--ratio", "16:9", "--manifest", "-")
    dry = cli(*args, "--dry-run")
    assert dry.exit_code == 1
    assert f"2 would be written, 0 failed, 2 would not be written {exist}" in dry.stderr
    r = cli(*args, "--dry-run", "--skip-existing")
    assert r.exit_code == 0 and "2 would be written, 2 skipped (exist), 0 failed" in r.stderr
    r = cli(*args, "--dry-run", "--overwrite")
    assert r.exit_code == 0 and "4 would be written, 0 failed" in r.stderr
    assert tree_hashes(out) == before  # dry runs write nothing
    real = cli(*args)
    assert real.exit_code == 1 and f"2 written, 0 failed, 2 not written {exist}" in real.stderr
    assert [(x["status"], x["error"], x["box"]) for x in dry.records] == [
        (x["status"], x["error"], x["box"]) for x in real.records]
    assert [x["status"] for x in real.records] == ["error", "ok"] * 2


def test_skip_existing_resumes(cli, make_image, tmp_path):
    make_image("a.jpg")
    make_image("b.jpg", seed=1)
    out = tmp_path / "out"
    assert cli(tmp_path / "in", out, "--ratio", "1:1", "--ratio", "16:9").exit_code == 0
    kept = out / "a_1x1.jpg"
    os.utime(kept, (1_000_000_000, 1_000_000_000))
    before = (kept.stat().st_mtime_ns, sha256(kept))
    (out / "a_16x9.jpg").unlink()
    (out / "b_1x1.jpg").unlink()
    r = cli(tmp_path / "in", out, "--ratio", "1:1", "--ratio", "16:9", "--skip-existing", "--manifest", "-")
    assert r.exit_code == 0
    assert (kept.stat().st_mtime_ns, sha256(kept)) == before
    assert sorted(rec["status"] for rec in r.records) == ["ok", "ok", "skipped", "skipped"]
    assert len(files_under(out)) == 4 and all(Image.open(p).size for p in files_under(out))


def test_existing_outputs_refused_unless_overwrite(cli, make_image, tmp_path):
    make_image("a.jpg")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_1x1.jpg").write_bytes(b"precious")
    r = cli(tmp_path / "in", out, "--ratio", "1:1", "--manifest", "-")
    assert r.exit_code == 1 and r.records[0]["status"] == "error" and "exists" in r.records[0]["error"]
    assert (out / "a_1x1.jpg").read_bytes() == b"precious"
    r = cli(tmp_path / "in", out, "--ratio", "1:1", "--overwrite")
    assert r.exit_code == 0 and Image.open(out / "a_1x1.jpg").size == (240, 240)


def test_ctrl_c_leaves_no_output_without_its_record(cli, make_image, tmp_path, monkeypatch):
    """Interrupted with several images in flight (--jobs 2): the images running finish, and
    every output on disk has its manifest record and its place in the report; exit 130."""
    import smartcrop.cli

    for i in range(8):
        make_image(f"p{i}.jpg", seed=i)
    report = smartcrop.cli._Reporter.__call__
    calls = []

    def interrupted_once(self, result):
        report(self, result)
        calls.append(result)
        if len(calls) == 1:  # Ctrl-C as the first image is reported
            raise KeyboardInterrupt

    monkeypatch.setattr(smartcrop.cli._Reporter, "__call__", interrupted_once)
    out = tmp_path / "out"
    r = cli(tmp_path / "in", out, "--ratio", "1:1", "--size", "64x80", "--jobs", "2",
            "--manifest", tmp_path / "m.jsonl", "--report", tmp_path / "r.html")
    assert r.exit_code == 130 and "interrupted" in r.stderr, r.stderr
    records = parse_manifest((tmp_path / "m.jsonl").read_text())
    on_disk = [str(p) for p in files_under(out)]
    assert len(on_disk) > 2  # more than the first image's two outputs: others were running
    assert sorted(on_disk) == sorted(x["output"] for x in records if x["status"] == "ok")
    sprites = {p.stem for p in (tmp_path / "r_files").glob("*.jpg")}  # one per image on the page
    assert sprites == {Path(p).stem.rsplit("_", 1)[0] for p in on_disk}


def test_help_and_version_do_not_load_the_runtime():
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from smartcrop.cli import main\n"
        "r = CliRunner().invoke(main, ['--help'])\n"
        "assert r.exit_code == 0 and '--ratio' in r.output, r.output\n"
        "assert '130 interrupted' in ' '.join(r.output.split()), r.output\n"
        "v = CliRunner().invoke(main, ['--version'])\n"
        "assert v.exit_code == 0, v.output\n"
        "print(v.output.strip())\n"
        "heavy = [m for m in ('ai_edge_litert', 'numpy', 'PIL', 'tqdm') if m in sys.modules]\n"
        "assert 'ai_edge_litert' not in heavy, heavy\n"
    )
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"smartcrop, version {__version__}"


@pytest.mark.parametrize("args", [
    [],  # no --ratio/--size
    ["--ratio", "16-9"],
    ["--ratio", "0:1"],
    ["--size", "100"],
    ["--ratio", "1:1", "--ratio", "1:1"],
    ["--ratio", "1:1", "--skip-existing", "--overwrite"],
    ["--ratio", "1:1", "--quality", "0"],
])
def test_usage_errors_exit_2(cli, make_image, tmp_path, args):
    make_image("a.jpg")
    r = cli(tmp_path / "in", tmp_path / "out", *args)
    assert r.exit_code == 2, r.output
    assert not (tmp_path / "out").exists()


def test_a_ratio_and_a_size_naming_the_same_file_is_a_usage_error(cli, make_image, tmp_path):
    make_image("a.jpg")
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "16:9", "--size", "16x9")
    assert r.exit_code == 2 and not (tmp_path / "out").exists()
    assert "--ratio 16:9 and --size 16x9 would write the same file name (…_16x9)" in r.stderr
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--ratio", "1:1", "--ratio", "9:16")
    assert r.exit_code == 2 and "duplicate target: 1:1\n" in r.stderr


def test_output_folder_equal_to_input_is_a_usage_error(cli, make_image, tmp_path):
    make_image("a.jpg")
    r = cli(tmp_path / "in", tmp_path / "in", "--ratio", "1:1")
    assert r.exit_code == 2 and "also an output folder" in r.stderr


@pytest.mark.parametrize("flags, message", [
    (("--debug", "{out}"), "--debug folder {out} is also the output folder: an overlay and a crop"),
    (("--save-saliency", "{tmp}/x/../out/"),
     "--save-saliency folder {tmp}/x/../out is also the output folder"),
    (("--debug", "{tmp}/e", "--save-saliency", "{tmp}/e"), "--save-saliency and --debug are the same folder"),
])
def test_extras_folder_equal_to_output_is_a_usage_error(cli, make_image, tmp_path, flags, message):
    make_image("a.jpg")
    make_image("a_1x1.jpg", seed=1)  # its overlay would be named as a.jpg's 1:1 crop
    out = tmp_path / "out"
    r = cli(tmp_path / "in", out, "--ratio", "1:1", *(f.format(out=out, tmp=tmp_path) for f in flags))
    assert r.exit_code == 2 and message.format(out=out, tmp=tmp_path) in r.stderr, r.stderr
    assert not out.exists() and not (tmp_path / "e").exists()


def test_manifest_folder_is_created(cli, make_image, tmp_path):
    make_image("a.jpg")
    manifest = tmp_path / "reports" / "m.jsonl"
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--manifest", manifest)
    assert r.exit_code == 0 and len(parse_manifest(manifest.read_text())) == 1


def test_unwritable_manifest_is_a_clear_error_before_any_output(cli, make_image, tmp_path):
    make_image("a.jpg")
    (tmp_path / "file").write_text("a file where the folder should be")
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--manifest", tmp_path / "file" / "m.jsonl")
    assert r.exit_code == 1 and r.stderr.startswith("Error: ") and "file" in r.stderr
    assert not (tmp_path / "out").exists()  # no empty output folder left behind


def test_bad_weights_is_a_clear_error(cli, make_image, tmp_path, monkeypatch):
    import smartcrop.pipeline

    monkeypatch.setattr(smartcrop.pipeline, "load_model", REAL_LOAD_MODEL)
    make_image("a.jpg")
    (tmp_path / "w").mkdir()
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--weights", tmp_path / "w")
    assert r.exit_code == 1 and "saliency model not found" in r.stderr
    for weights, why in ((ROOT / "weights" / "faces.tflite", "is not a saliency model: it has 2 outputs"),
                         (tmp_path / "in" / "a.jpg", ": cannot load the model (")):
        r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--weights", weights)
        assert r.exit_code == 1 and r.stderr.startswith(f"Error: {weights}") and why in r.stderr, r.stderr
        assert len(r.stderr.splitlines()) == 1 and not (tmp_path / "out").exists()


def test_batch_size_gives_the_same_crops(cli, make_image, tmp_path, monkeypatch):
    import smartcrop.pipeline

    monkeypatch.setattr(smartcrop.pipeline, "load_model", REAL_LOAD_MODEL)
    for i in range(5):  # 5 images in batches of 2: the last batch is partial
        make_image(f"p{i}.jpg", size=(480, 320), seed=i)
    args = ["--ratio", "9:16", "--ratio", "1:1", "--manifest", "-", "--jobs", "1"]
    one = cli(tmp_path / "in", tmp_path / "out1", *args)
    two = cli(tmp_path / "in", tmp_path / "out2", *args, "--batch-size", "2")
    assert one.exit_code == two.exit_code == 0, two.stderr
    assert len(two.records) == 10 and all(r["status"] == "ok" for r in two.records)
    key = lambda r: (r["input"], r["ratio"])  # noqa: E731
    for a, b in zip(sorted(one.records, key=key), sorted(two.records, key=key), strict=True):
        assert a["box"] == b["box"]
    r = cli(tmp_path / "in", tmp_path / "out3", "--ratio", "1:1", "--batch-size", "0")
    assert r.exit_code == 2 and "--batch-size" in r.stderr


def test_dry_run_size_ratio_and_jobs_give_the_same_boxes(cli, make_image, tmp_path, monkeypatch):
    import smartcrop.pipeline

    monkeypatch.setattr(smartcrop.pipeline, "load_model", REAL_LOAD_MODEL)
    for i in range(3):
        make_image(f"p{i}.jpg", size=(1200, 900), seed=i)
    runs = [("--ratio", "1:1", "--ratio", "4:5"), ("--size", "900x900", "--size", "720x900"),
            ("--ratio", "1:1", "--ratio", "4:5", "--dry-run"), ("--size", "900x900", "--size", "720x900",
                                                             "--dry-run", "--jobs", "1"),
            ("--ratio", "1:1", "--ratio", "4:5", "--jobs", "3")]
    seen = []
    for k, args in enumerate(runs):
        r = cli(tmp_path / "in", tmp_path / f"out{k}", *args, "--manifest", "-")
        assert r.exit_code == 0, r.stderr
        seen.append(sorted((rec["input"], rec["box"]) for rec in r.records))
    assert all(s == seen[0] for s in seen), seen


def test_usage_mistakes_get_a_helpful_message(cli, make_image, tmp_path):
    make_image("a.jpg")
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1080x1080")
    assert r.exit_code == 2 and "did you mean --size 1080x1080?" in r.stderr
    r = cli(tmp_path / "in", tmp_path / "out0", "--ratio", "1920:1080", "--dry-run", "--manifest", "-")
    assert r.exit_code == 0 and r.records[0]["ratio"] == "16:9"  # a ratio spelled in pixels
    r = cli(tmp_path / "in")
    assert r.exit_code == 2 and "Missing argument 'OUTPUT'" in r.stderr and "argument 'INPUTS" not in r.stderr
    assert not (tmp_path / "in").joinpath("a_1x1.jpg").exists()
    r = cli(tmp_path / "in" / "a.jpg", "--ratio", "1:1")  # OUTPUT forgotten: the file is taken for it
    assert r.exit_code == 2 and (f"{tmp_path / 'in' / 'a.jpg'} is a file, and OUTPUT (the last argument) "
                                 f"must be a folder") in r.stderr
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--max-upscale", "0.5")
    assert r.exit_code == 2 and "--max-upscale" in r.stderr


@pytest.mark.parametrize("opt", ["--debug", "--manifest", "--save-saliency", "--report", "--config"])
def test_a_path_option_does_not_swallow_the_next_option(cli, make_image, tmp_path, monkeypatch, opt):
    # '--debug --thorough' used to make a folder named '--thorough' and run without --thorough
    make_image("a.jpg")
    monkeypatch.chdir(tmp_path)
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", opt, "--thorough")
    assert r.exit_code == 2 and "'--thorough' is an option, not a path" in r.stderr, r.stderr
    assert not (tmp_path / "--thorough").exists() and not (tmp_path / "out").exists()
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--debug", "./--odd", "--dry-run")
    assert r.exit_code == 0, r.stderr  # the way round it, for a path that really starts with --


def test_rerun_without_overwrite_gives_one_line_and_runs_no_model(cli, make_image, tmp_path, monkeypatch):
    from test_pipeline import CountingModel

    import smartcrop.pipeline

    for i in range(3):
        make_image(f"p{i}.jpg", seed=i)
    args = ("--size", "300x300", "--ratio", "16:9")
    assert cli(tmp_path / "in", tmp_path / "out", *args).exit_code == 0
    counting = CountingModel(smartcrop.pipeline.load_model(None))
    monkeypatch.setattr(smartcrop.pipeline, "load_model", lambda options: counting)
    r = cli(tmp_path / "in", tmp_path / "out", *args)
    lines = r.stderr.splitlines()
    assert r.exit_code == 1 and counting.calls == 0 and len(lines) == 2, r.stderr
    assert lines[0].startswith("smartcrop: error: 6 outputs exist already (") and "--overwrite" in lines[0]
    assert "3 images, 6 outputs: 0 written, 0 failed, 6 not written (exist: --skip-existing or " \
           "--overwrite), " in lines[1]
    r = cli(tmp_path / "in", tmp_path / "out", *args, "--skip-existing", "-v")
    assert r.exit_code == 0 and "None" not in r.stderr and counting.calls == 0
    assert "3 images, 6 outputs: 0 written, 6 skipped (exist), 0 failed" in r.stderr
    line = f"{tmp_path / 'in' / 'p0.jpg'} -> {tmp_path / 'out' / 'p0_300x300.jpg'} [300x300] skipped"
    assert line in r.stderr


def test_quiet_verbose_strategy_and_format(cli, make_image, tmp_path):
    make_image("a.png")
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "-q", "--strategy", "box",
            "--format", "webp")
    assert r.exit_code == 0 and r.stderr == ""
    assert Image.open(tmp_path / "out" / "a_1x1.webp").format == "WEBP"
    r = cli(tmp_path / "in", tmp_path / "out2", "--ratio", "1:1", "-v")
    assert "a_1x1.png" in r.stderr


def test_verbose_gives_one_line_per_output_and_failures_once(cli, make_image, tmp_path):
    """-v: a line per output; a failed output's line is its error line (with its target), not
    a second line after the error line per file. Without -v, and with -q -v, the line per file."""
    make_image("small.jpg", size=(120, 90))
    make_image("big.jpg", size=(800, 600))
    (tmp_path / "in" / "bad.jpg").write_bytes(b"not a jpeg")
    args = [tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--size", "1000x1000",
            "--max-upscale", "2", "--dry-run"]
    small, bad = tmp_path / "in" / "small.jpg", tmp_path / "in" / "bad.jpg"
    r = cli(*args, "-v")
    lines = r.stderr.splitlines()
    assert r.exit_code == 1
    assert [line for line in lines if str(bad) in line] == [
        line for line in lines if line.startswith(f"smartcrop: error: {bad} [")]
    assert len([line for line in lines if str(bad) in line]) == 2  # one per target
    small_lines = [line for line in lines if str(small) in line]
    assert len(small_lines) == 2 and small_lines[1].startswith(f"smartcrop: error: {small} [1000x1000]: ")
    assert sum(line.startswith(f"{tmp_path / 'in' / 'big.jpg'} -> ") for line in lines) == 2
    for flags in ([], ["-q"], ["-q", "-v"]):
        r = cli(*args, *flags)
        errors = [line for line in r.stderr.splitlines() if "error" in line]
        assert len(errors) == 2 and errors[0].startswith(f"smartcrop: error: {bad}: "), (flags, r.stderr)
        assert errors[1].startswith(f"smartcrop: error: {small}: "), (flags, r.stderr)


def test_an_inputs_lines_and_records_follow_the_targets_order(cli, make_image, tmp_path):
    """Errors and warnings for one photo come in the order of the run's targets, as its
    manifest records do (errors used to come first, sorted by their text)."""
    import re

    make_image("a.jpg", size=(400, 300))
    sizes = ["1080x1920", "1080x1080", "1200x630", "1080x1350"]  # error, warning, warning, error
    args = [a for s in sizes for a in ("--size", s)]
    r = cli(tmp_path / "in", tmp_path / "out", *args, "--dry-run", "--manifest", "-")
    assert r.exit_code == 1
    assert ["x".join(map(str, x["size"])) for x in r.records] == sizes
    assert [x["status"] for x in r.records] == ["error", "ok", "ok", "error"]
    lines = [line for line in r.stderr.splitlines() if "a.jpg" in line]
    assert [re.search("|".join(sizes), line).group() for line in lines] == sizes, r.stderr
    assert [line.split(":")[1].strip() for line in lines] == ["error", "warning", "warning", "error"]


def test_files_left_out_of_a_walk_get_one_warning(cli, make_image, tmp_path):
    make_image("a.jpg")
    for name in ("notes.txt", "trips/raw.dng", "trips/clip.MOV", ".DS_Store", "trips/.hidden.txt"):
        (tmp_path / "in" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / name).write_bytes(b"x")
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--dry-run")
    warned = [line for line in r.stderr.splitlines() if "not images" in line]
    assert r.exit_code == 0 and warned == [
        f"smartcrop: warning: 3 files in the input folders are not images by their extension and were "
        f"left out (.dng, .mov, .txt; e.g. {tmp_path / 'in' / 'notes.txt'})"]
    assert "1 image, 1 output:" in r.stderr
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--dry-run", "-q")
    assert r.exit_code == 0 and r.stderr == ""  # -q: only errors, as for the upscale warnings
    listed = tmp_path / "list.txt"
    listed.write_text("a.jpg\n")
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--dry-run", "--from-list", listed)
    assert r.exit_code == 0 and "warning" not in r.stderr  # a list is not walked
    (tmp_path / "in" / "notes.txt").unlink()
    (tmp_path / "in" / "trips" / "clip.MOV").unlink()
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--dry-run")
    assert (f"warning: 1 file in the input folders is not an image by its extension and was left out "
            f"(.dng; e.g. {tmp_path / 'in' / 'trips' / 'raw.dng'})") in r.stderr


def test_listed_outputs_are_not_read_as_inputs_and_get_one_warning(cli, make_image, tmp_path):
    make_image("a.jpg")
    r = cli(tmp_path / "in", tmp_path / "in" / "out", "--ratio", "1:1")
    assert r.exit_code == 0 and (tmp_path / "in" / "out" / "a_1x1.jpg").is_file()
    listed = tmp_path / "list.txt"
    listed.write_text("a.jpg\nout/a_1x1.jpg\n")
    r = cli(tmp_path / "in", tmp_path / "in" / "out", "--ratio", "1:1", "--from-list", listed,
            "--overwrite", "--manifest", "-")
    assert r.exit_code == 0 and [rec["input"] for rec in r.records] == [str(tmp_path / "in" / "a.jpg")]
    assert not (tmp_path / "in" / "out" / "out").exists()
    assert (f"smartcrop: warning: 1 path in --from-list is in OUTPUT or a --save-saliency, --debug or "
            f"--report folder and was left out, as a walk leaves those folders out (e.g. "
            f"{tmp_path / 'in' / 'out' / 'a_1x1.jpg'})") in r.stderr.splitlines()
    listed.write_text("out/a_1x1.jpg\n")
    r = cli(tmp_path / "in", tmp_path / "in" / "out", "--ratio", "1:1", "--from-list", listed)
    assert r.exit_code == 0 and "names no paths" not in r.stderr and "1 path in --from-list" in r.stderr


def test_from_list_keeps_whitespace_and_odd_characters_that_are_part_of_a_name(cli, make_image, tmp_path):
    """Lines are split on \\n only (a CRLF's \\r dropped); spaces, form feeds and U+2028 in a
    name are part of it."""
    names = [" lead.jpg", "trail .jpg", "form\x0cfeed.jpg", "line\u2028sep.jpg", "next\x85line.jpg"]
    for name in names:
        make_image(name)
    listed = tmp_path / "list.txt"
    listed.write_bytes("".join(f"{n}\r\n" if i % 2 else f"{n}\n" for i, n in enumerate(names)).encode()
                      + b"\n  \n")
    manifest = tmp_path / "m.jsonl"
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--from-list", listed,
            "--manifest", manifest)
    assert r.exit_code == 0, r.stderr
    records = [json.loads(line) for line in manifest.read_text(encoding="utf-8").split("\n") if line]
    assert sorted(rec["input"] for rec in records) == sorted(str(tmp_path / "in" / n) for n in names)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        n.replace(".jpg", "_1x1.jpg") for n in names)


def test_an_input_folder_with_no_images_gets_a_warning(cli, make_image, tmp_path):
    """A mistyped or empty folder is named on stderr; the exit status stays 0 (nothing new is
    no failure) and -q hides the line, as other warnings."""
    make_image("a.jpg")
    (tmp_path / "empty").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("x")
    r = cli(tmp_path / "empty", tmp_path / "out", "--ratio", "1:1")
    assert r.exit_code == 0
    assert r.stderr.splitlines()[0] == f"smartcrop: warning: no images in {tmp_path / 'empty'}/"
    r = cli(tmp_path / "in", tmp_path / "empty", tmp_path / "docs", tmp_path / "out", "--ratio", "1:1",
            "--dry-run")
    warned = [line for line in r.stderr.splitlines() if "no images" in line]
    assert r.exit_code == 0 and warned == [f"smartcrop: warning: no images in {tmp_path / 'empty'}/",
                                           f"smartcrop: warning: no images in {tmp_path / 'docs'}/"]
    assert "1 image, 1 output:" in r.stderr
    r = cli(tmp_path / "empty", tmp_path / "out", "--ratio", "1:1", "-q")
    assert r.exit_code == 0 and r.stderr == ""
    listed = tmp_path / "list.txt"
    listed.write_text("\n")
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--from-list", listed)
    assert r.exit_code == 0 and f"warning: --from-list {listed} names no paths" in r.stderr


def test_progress_bar_on_a_terminal_counts_every_input(tmp_path, make_image):
    """With stderr on a terminal the bar's total comes from the one walk of the inputs."""
    import fcntl
    import pty
    import struct
    import termios

    for name in ("a.jpg", "b.jpg", "sub/c.jpg"):
        make_image(name)
    (tmp_path / "in" / "bad.jpg").write_text("not an image")
    leader, follower = pty.openpty()
    # A fresh pty is 0 columns wide, where tqdm draws nothing: give it a real size.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "smartcrop", str(tmp_path / "in"), str(tmp_path / "out"),
                           "--ratio", "1:1"], stderr=follower, stdout=subprocess.DEVNULL,
                          cwd=ROOT, env=env, timeout=120)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: everything has been read
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    text = seen.decode(errors="replace")
    assert proc.returncode == 1
    assert "/4" in text  # tqdm shows n/total with the total of 4 inputs
    assert f"smartcrop: error: {tmp_path / 'in' / 'bad.jpg'}" in text
    assert "4 images, 4 outputs: 3 written, 1 failed" in text


# -- review: --focus, --fit, --report ------------------------------------------------------
def group_photo(size=(960, 320), n=3) -> Image.Image:
    """A wide photo of `n` face-like discs spread evenly: no 9:16 window holds them all."""
    im = photo(size, centre=(size[0] / (2 * n), size[1] / 2))
    for k in range(1, n):
        one = photo(size, centre=(size[0] * (2 * k + 1) / (2 * n), size[1] / 2), seed=k)
        x0 = size[0] * k // n
        im.paste(one.crop((x0, 0, size[0] * (k + 1) // n, size[1])), (x0, 0))
    return im


def test_focus_line_redoes_exactly_that_output_on_rerun(cli, make_image, tmp_path):
    a = make_image("a.jpg", size=(640, 240))
    make_image("b.jpg", size=(640, 240), seed=1)
    out = tmp_path / "out"
    args = (tmp_path / "in", out, "--ratio", "9:16", "--ratio", "1:1")
    first = cli(*args, "--manifest", "-")
    assert first.exit_code == 0 and {r["source"] for r in first.records} == {"model"}
    before = {p.name: (sha256(p), p.stat().st_mtime_ns) for p in files_under(out)}
    focus = tmp_path / "focus.csv"
    focus.write_text(f"{a},20,120,9:16\n")  # the left edge, for the 9:16 output only
    r = cli(*args, "--skip-existing", "--focus", focus, "--manifest", "-")
    assert r.exit_code == 0, r.output
    after = {p.name: (sha256(p), p.stat().st_mtime_ns) for p in files_under(out)}
    assert [n for n in after if after[n] != before[n]] == ["a_9x16.jpg"]
    by_out = {Path(x["output"]).name: x for x in r.records}
    assert by_out["a_9x16.jpg"]["status"] == "ok" and by_out["a_9x16.jpg"]["source"] == "focus"
    assert by_out["a_9x16.jpg"]["box"] == [0, 0, 135, 240]
    assert len(by_out["a_9x16.jpg"]["focus"]) == 12
    assert {n: x["status"] for n, x in by_out.items() if n != "a_9x16.jpg"} == dict.fromkeys(
        ["a_1x1.jpg", "b_9x16.jpg", "b_1x1.jpg"], "skipped")
    assert all(x["focus"] is None for n, x in by_out.items() if n != "a_9x16.jpg")


def test_focus_lines_tell_a_ratio_from_a_size_of_the_same_aspect(cli, make_image, tmp_path):
    """--ratio 4:5 and --size 1080x1350 (a preset) in one run: a line for 1080x1350 is that
    size's, not also the ratio's (their two lines were refused as one override given twice); a
    target that names neither exactly still finds its target by aspect (8:10 is 4:5)."""
    a = make_image("a.jpg", size=(1800, 600))
    args = (tmp_path / "in", tmp_path / "out", "--ratio", "4:5", "--size", "1080x1350", "--dry-run",
            "--manifest", "-")
    focus = tmp_path / "focus.csv"
    focus.write_text(f"{a},120,300,4:5\n{a},1680,300,1080x1350\n")
    r = cli(*args, "--focus", focus)
    assert r.exit_code == 0, r.output
    ratio, size = r.records
    assert ratio["source"] == size["source"] == "focus"
    assert ratio["box"][0] == 0 and size["box"][0] + size["box"][2] == 1800  # each its own point
    focus.write_text(f"{a},1680,300,1080x1350\n")  # the size's line leaves the ratio to the model
    r = cli(*args, "--focus", focus)
    assert [x["source"] for x in r.records] == ["model", "focus"]
    focus.write_text(f"{a},120,300,8:10\n{a},1680,300,4x5\n")
    r = cli(*args, "--focus", focus)
    assert r.exit_code == 2 and "already has an override for 4x5 at" in r.stderr


def test_focus_lines_for_odd_names_are_honoured(cli, make_image, tmp_path, monkeypatch):
    """Names as the report's fix lines write them: #1.jpg was read as a comment (its line
    silently ignored), ' 2.jpg' stripped to a name not in the batch."""
    from smartcrop.focus import csv_line

    names = ["#1.jpg", " 2.jpg", "a,b.jpg"]
    for seed, name in enumerate(names):
        make_image(name, size=(640, 240), seed=seed)
    monkeypatch.chdir(tmp_path / "in")  # relative names, so that the line starts with them
    focus = tmp_path / "focus.csv"
    focus.write_text("# reviewed\n" + "".join(csv_line(n, (20, 120), "9:16") + "\n" for n in names))
    r = cli(*names, tmp_path / "out", "--ratio", "9:16", "--focus", focus, "--manifest", "-")
    assert r.exit_code == 0, r.output
    assert [(x["input"], x["source"], x["box"]) for x in r.records] == [
        (n, "focus", [0, 0, 135, 240]) for n in names]


@pytest.mark.parametrize(("line", "message"), [
    ("{dir}/nope.jpg,1,1", "focus.csv:2: input {dir}/nope.jpg is not in this batch"),
    ("{dir}/a.jpg,321,1", "focus.csv:2: point 321,1 is outside {dir}/a.jpg (320x240)"),
    ("{dir}/a.jpg,1,1,4:3", "focus.csv:2: target 4:3 is not one of this run's (9:16)"),
])
def test_focus_errors_stop_the_run_naming_the_line(cli, make_image, tmp_path, line, message):
    make_image("a.jpg")
    focus = tmp_path / "focus.csv"
    d = tmp_path / "in"
    focus.write_text("# reviewed\n" + line.format(dir=d) + "\n")
    r = cli(d, tmp_path / "out", "--ratio", "9:16", "--focus", focus, "--report", tmp_path / "r.html")
    assert r.exit_code == 2
    assert message.format(dir=d) in r.output
    assert not files_under(tmp_path / "out") and not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("line", ["{dir}/nope.jpg,1,1", "{dir}/a.jpg,5000,10"])
@pytest.mark.parametrize("flags", [
    (), ("--dry-run",),
    pytest.param(("--engine", "ray"), marks=[pytest.mark.ray, pytest.mark.skipif(
        not all(importlib.util.find_spec(m) for m in ("ray", "pyarrow")), reason="needs the ray extra")]),
])
def test_focus_error_leaves_the_manifest_and_makes_no_output_folder(cli, make_image, tmp_path, line, flags):
    """The focus check needs the batch's inputs, so it comes after the walk: the manifest was
    already truncated and OUTPUT made by then. Nothing is written until it passes."""
    make_image("a.jpg")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"earlier":"run"}\n')
    focus = tmp_path / "bad.csv"
    focus.write_text(line.format(dir=tmp_path / "in") + "\n")
    r = cli(tmp_path / "in", tmp_path / "newout", "--ratio", "1:1", "--manifest", manifest, "--focus", focus,
            "--report", tmp_path / "rr" / "r.html", *flags)
    assert r.exit_code == 2 and "bad.csv:1: " in r.stderr, r.output
    assert manifest.read_text() == '{"earlier":"run"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "in", "m.jsonl"]  # no newout/, rr/


def test_fit_auto_pads_the_group_and_crops_the_portrait(cli, tmp_path):
    (tmp_path / "in").mkdir()
    group_photo().save(tmp_path / "in" / "group.jpg")
    photo((960, 720)).save(tmp_path / "in" / "single.jpg")
    out = tmp_path / "out"
    r = cli(tmp_path / "in", out, "--size", "270x480", "--fit", "auto", "--background", "#000000",
            "--manifest", "-")
    assert r.exit_code == 0, r.output
    fits = {Path(x["input"]).stem: x["fit"] for x in r.records}
    assert fits == {"group": "pad", "single": "crop"}
    padded = Image.open(out / "group_270x480.jpg")
    assert padded.size == (270, 480)
    a = np.asarray(padded).astype(int)
    assert a[:150].max() < 12 and a[-150:].max() < 12  # black bars above and below the photo
    assert a[200:280].mean() > 60  # the whole photo, 270x90, in the middle
    cropped = Image.open(out / "single_270x480.jpg")
    assert cropped.size == (270, 480) and np.asarray(cropped)[:50].mean() > 60  # no bars


def test_fit_auto_pads_a_crop_too_small_for_the_size(cli, make_image, tmp_path):
    """267x400 at 1080x1080: the crop (267x267) needs 4.04x, over the 4x limit, the whole image
    2.7x; auto writes the padded image instead of failing. Errors point to --fit pad only
    where it would help."""
    make_image("tall.jpg", size=(267, 400))
    make_image("tiny.jpg", size=(60, 80))
    args = ("--size", "1080x1080", "--manifest", "-")
    r = cli(tmp_path / "in", tmp_path / "crop", *args)
    assert r.exit_code == 1 and all(x["status"] == "error" for x in r.records)
    crop_errors = {Path(x["input"]).stem: x["error"] for x in r.records}
    assert "--fit pad" in crop_errors["tall"] and "--fit pad" not in crop_errors["tiny"]
    r = cli(tmp_path / "in", tmp_path / "auto", *args, "--fit", "auto")
    assert r.exit_code == 1, r.output
    got = {Path(x["input"]).stem: x for x in r.records}
    assert got["tall"]["status"] == "ok" and got["tall"]["fit"] == "pad"
    assert got["tall"]["box"] == [0, 0, 267, 400] and got["tall"]["upscale"] == 2.7
    assert Image.open(tmp_path / "auto" / "tall_1080x1080.jpg").size == (1080, 1080)
    # too small either way: the crop's error, which does not point to --fit pad
    assert got["tiny"]["status"] == "error" and got["tiny"]["error"].startswith("crop 60x60 is too small")
    assert "--fit pad" not in got["tiny"]["error"]


def test_fit_pad_records_the_whole_image(cli, make_image, tmp_path):
    make_image("a.png", size=(300, 200))
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--fit", "pad", "--manifest", "-")
    (rec,) = r.records
    assert rec["fit"] == "pad" and rec["box"] == [0, 0, 300, 200] and rec["output_size"] == [300, 300]
    assert Image.open(tmp_path / "out" / "a_1x1.png").size == (300, 300)


@pytest.mark.parametrize("background", ["auto", "blur"])
def test_fit_pad_of_a_transparent_image_keeps_alpha_or_flattens_as_crops_do(cli, tmp_path, background):
    """A transparent product (red ellipse; the colour under its transparent pixels pure green)
    padded to PNG was opaque RGB on green (auto) or glowing green (blur); to JPEG the same.
    PNG keeps alpha; JPEG is flattened onto white first, as its crops are."""
    from PIL import ImageDraw

    path = tmp_path / "in" / "p.png"
    path.parent.mkdir()
    im = Image.new("RGBA", (400, 300), (0, 255, 0, 0))
    ImageDraw.Draw(im).ellipse((100, 60, 300, 240), fill=(220, 30, 30, 255))
    im.save(path)
    args = ("--size", "270x480", "--fit", "pad", "--background", background)
    assert cli(path, tmp_path / "png", *args).exit_code == 0
    png = Image.open(tmp_path / "png" / "p_270x480.png")
    a = np.asarray(png).astype(int)  # the image 270x203 from y=138
    assert png.mode == "RGBA" and (a[240, 135] == [220, 30, 30, 255]).all()
    if background == "auto":
        assert (a[:130, :, 3] == 0).all() and (a[240, 5, 3] == 0)  # transparent padding and border
    else:
        assert (a[..., 1] * a[..., 3] / 255).max() < 40  # no green, as composited over black
    assert cli(path, tmp_path / "jpg", *args, "--format", "jpeg").exit_code == 0
    a = np.asarray(Image.open(tmp_path / "jpg" / "p_270x480.jpg").convert("RGB")).astype(int)
    bars = np.concatenate([a[:130], a[350:]])
    assert (bars[..., 1] <= bars[..., 0] + 4).all()  # no green in the padding
    if background == "auto":  # white, the flattened border's colour; not black, not green
        assert a[:130].min() >= 250 and a[240, 5].min() >= 250
    else:  # the flattened image blurred and darkened: white at 60% and the red
        assert 140 <= a[:10, :10].mean() <= 165


def test_report_page_and_thumbnails(cli, make_image, tmp_path):
    make_image("trips/a.jpg", size=(640, 240))
    make_image("b.png", size=(200, 300))
    (tmp_path / "in" / "broken.jpg").write_bytes(b"not an image")
    page = tmp_path / "review" / "report.html"
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "9:16", "--size", "400x400", "--report", page)
    assert r.exit_code == 1  # the broken file
    files = page.parent / "report_files"
    assert sorted(p.relative_to(files).as_posix() for p in files.rglob("*.*")) == [
        "b.jpg", "data.js", "trips/a.jpg"]  # one sprite per input
    text = (files / "data.js").read_text()
    data = json.loads(text[text.index("{"):text.rindex("}") + 1])
    assert [Path(it["in"]).name for it in data["items"]][0] == "broken.jpg"
    assert data["items"][0]["flags"] == ["error"]
    assert {it["dir"] for it in data["items"]} == {"", "trips"}
    assert data["targets"] == ["9:16", "400x400"]
    assert "report_files/data.js" in page.read_text()


@pytest.mark.parametrize(("report", "message"), [
    ("{tmp}/in/a.jpg/review.html",
     "cannot write --report {tmp}/in/a.jpg/review.html: {tmp}/in/a.jpg is not a folder"),
    ("{tmp}/r.html", "cannot write --report {tmp}/r.html: {tmp}/r_files is not a folder"),
    ("-", "--report needs a file path"),
])
def test_report_that_cannot_be_written_is_a_usage_error_before_any_work(cli, make_image, tmp_path,
                                                                       monkeypatch, report, message):
    """A report whose folder is a file failed every crop, then ended in a traceback; `-` wrote
    a file named `-` and a folder `-_files`."""
    make_image("a.jpg")
    (tmp_path / "r_files").write_text("a file where the thumbnails' folder would go")
    monkeypatch.chdir(tmp_path)
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--report", report.format(tmp=tmp_path))
    assert r.exit_code == 2 and message.format(tmp=tmp_path) in r.stderr, r.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "-").exists()
    assert not (tmp_path / "-_files").exists()


@pytest.mark.parametrize("flag", ["--debug", "--save-saliency"])
def test_extras_folder_equal_to_the_reports_thumbnails_is_a_usage_error(cli, make_image, tmp_path, flag):
    make_image("a.jpg")
    files = tmp_path / "rr" / "r_files"
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", flag, files,
            "--report", tmp_path / "rr" / "r.html")
    assert r.exit_code == 2, r.output
    assert f"{flag} folder {files} is also --report's thumbnail folder" in r.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "rr").exists()


def test_report_write_failures_fail_no_crop_and_end_in_one_line(cli, make_image, tmp_path, monkeypatch):
    """A thumbnail that cannot be written (disk full) is a warning: the crops are written. A
    page that cannot be written is one error line and exit status 1, not a traceback."""
    import errno

    from smartcrop import images

    make_image("a.jpg")
    make_image("b.jpg", seed=1)
    page = tmp_path / "r.html"
    def full_disk(real, path_at):  # writes into the report's folder fail, b's sprite aside
        def write(*args, **kw):
            path = args[path_at]
            if "r_files" in str(path) and Path(path).name != "b.jpg":
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            return real(*args, **kw)
        return write

    monkeypatch.setattr(images, "save_atomic", full_disk(images.save_atomic, 1))
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--report", page, "--manifest", "-")
    assert sorted(p.name for p in files_under(tmp_path / "out")) == ["a_1x1.jpg", "b_1x1.jpg"]
    assert [x["status"] for x in r.records] == ["ok", "ok"]
    note = f"report thumbnail not written: cannot write {tmp_path}/r_files/a.jpg: No space left on device"
    assert r.records[0]["warning"] == note and "warning" not in r.records[1]
    assert f"smartcrop: warning: {tmp_path}/in/a.jpg: {note}\n" in r.stderr
    assert r.exit_code == 0 and page.is_file()  # the page is written, without a's sprite
    monkeypatch.setattr(images, "write_atomic", full_disk(images.write_atomic, 0))  # data.js too
    r = cli(tmp_path / "in", tmp_path / "out2", "--ratio", "1:1", "--report", page)
    assert r.exit_code == 1, r.output
    assert sorted(p.name for p in files_under(tmp_path / "out2")) == ["a_1x1.jpg", "b_1x1.jpg"]
    assert (f"smartcrop: error: cannot write --report {page}: {tmp_path}/r_files/data.js: "
            f"No space left on device\n") in r.stderr
    assert "Traceback" not in r.output


def test_readme_manifest_example_is_what_the_code_prints(cli, monkeypatch, tmp_path):
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("These two lines come from"):]
    command = re.search(r"```sh\n(smartcrop [^\n]+)\n```", block).group(1)
    shown = parse_manifest(re.search(r"```json\n(.*?)```", block, re.S).group(1))
    args = command.split()[1:]
    assert args[:2] == ["samples/*.jpg", "/tmp/readme-out"] and "--dry-run" in args
    monkeypatch.chdir(ROOT)  # the README's relative input paths
    photos = sorted(glob.glob(args[0]))  # as the shell expands it
    r = cli(*photos, tmp_path / "out", *args[2:])
    assert r.exit_code == 0 and r.records[:2] == shown
    assert "left out" not in r.stderr  # samples/README.md is not passed
    real = cli(*photos, tmp_path / "real", *[a for a in args[2:] if a != "--dry-run"])
    assert [x["box"] for x in real.records] == [x["box"] for x in r.records]  # the preview is the run


def test_make_demo_leaves_nothing_out_and_the_readme_shows_its_command(cli, monkeypatch, tmp_path):
    """`make demo`, a new user's first run, passes the sample photos themselves: no warning that
    samples/README.md was left out; the README's Quick start shows the same command."""
    import shlex

    make = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    recipe = next(line for line in make.splitlines() if "$(VENV)/bin/smartcrop samples" in line)
    args = shlex.split(recipe)[1:]
    assert args[:2] == ["samples/*.jpg", "demo-out"]
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"`smartcrop {' '.join(args[:10])} …`" in readme
    monkeypatch.chdir(ROOT)
    photos = sorted(glob.glob(args[0]))
    assert len(photos) == 4
    out = tmp_path / "demo-out"
    rest = [str(a).replace("demo-out", str(out)) for a in args[2:]]
    r = cli(*photos, out, *rest, "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert "left out" not in r.stderr and "4 images, 16 outputs: 16 would be written" in r.stderr


def test_presets_expand_to_sizes_and_list(cli, make_image, tmp_path):
    make_image("a.jpg", size=(1600, 1200))
    r = cli(tmp_path / "in", tmp_path / "out", "--preset", "instagram", "--preset", "youtube",
            "--size", "1080x1080", "--manifest", "-")
    assert r.exit_code == 0, r.stderr
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["a_1080x1080.jpg", "a_1080x1350.jpg", "a_1080x1920.jpg", "a_1080x566.jpg",
                     "a_1280x720.jpg"]
    for rec in r.records:
        assert Image.open(rec["output"]).size == tuple(rec["size"])
    r = cli("--preset", "list")
    assert r.exit_code == 0 and "instagram-story" in r.stdout and "1080x1920" in r.stdout
    r = cli(tmp_path / "in", tmp_path / "out", "--preset", "tiktok")
    assert r.exit_code == 2 and "unknown preset 'tiktok'" in r.stderr


def test_config_file_drives_a_run_and_flags_override_it(cli, make_image, tmp_path, monkeypatch):
    make_image("a.jpg", size=(800, 600))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "smartcrop.toml").write_text(
        'preset = ["instagram-square"]\nratio = ["16:9"]\nformat = "png"\nmanifest = "reports/m.jsonl"\n')
    r = cli("in", "out")
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_1080x1080.png", "a_16x9.png"]
    assert r.stderr.startswith("smartcrop: options from ./smartcrop.toml")
    assert len(parse_manifest((tmp_path / "reports" / "m.jsonl").read_text())) == 2
    r = cli("in", "out2", "--format", "webp", "--ratio", "1:1")  # flags win over the file
    assert sorted(p.name for p in (tmp_path / "out2").iterdir()) == ["a_1080x1080.webp", "a_1x1.webp"]
    (tmp_path / "ci.toml").write_text('size = "300x200"\nqualty = 80\n')
    r = cli("--config", "ci.toml", "in", "out3")
    assert r.exit_code == 2 and "unknown key 'qualty'" in r.stderr and "ci.toml" in r.stderr
    assert not (tmp_path / "out3").exists()
    (tmp_path / "ci.toml").write_text('size = "300x200"\n')  # --config replaces ./smartcrop.toml
    r = cli("--config", "ci.toml", "in", "out3")
    assert r.exit_code == 0 and [p.name for p in (tmp_path / "out3").iterdir()] == ["a_300x200.jpg"]


@pytest.mark.parametrize(("line", "message"), [
    ("quality = 0", "invalid value for 'quality': 0 is not in the range 1<=x<=100"),
    ('format = "gif"', "invalid value for 'format': 'gif' is not one of"),
    ('background = "pink"', "invalid value for 'background': 'pink' is not auto, blur or a colour"),
    ("max-upscale = inf", "invalid value for 'max-upscale': inf is not a finite number"),
    ('ratio = "1080x1080"', "invalid value for 'ratio': '1080x1080' looks like pixels"),
])
def test_a_bad_value_in_the_config_file_names_the_file(cli, make_image, tmp_path, monkeypatch, line, message):
    """A value the options refuse names the file and key it came from; the same value on the
    command line gets click's usual message, and a flag replacing the file's bad value wins."""
    make_image("a.jpg")
    monkeypatch.chdir(tmp_path)
    conf = tmp_path / "ci.toml"
    conf.write_text(f'size = "100x100"\n{line}\n')
    r = cli("--config", conf, "in", "out")
    assert r.exit_code == 2 and f"Error: {conf}: {message}" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()
    key, value = (part.strip().strip('"') for part in line.split("="))
    r = cli("in", "out", "--size", "100x100", f"--{key}", value)
    assert r.exit_code == 2 and f"Invalid value for '--{key}'" in r.stderr and "ci.toml" not in r.stderr
    good = {"quality": "80", "format": "png", "background": "blur", "max-upscale": "2", "ratio": "1:1"}
    r = cli("--config", conf, "in", "out", f"--{key}", good[key], "--dry-run")
    assert r.exit_code == 0, r.stderr


@pytest.mark.parametrize(("line", "message"), [
    ("manifest = 5", "invalid value for 'manifest': expected a string (a path), got 5"),
    ("debug = true", "invalid value for 'debug': expected a string (a path), got true"),
    ("report = 1", "invalid value for 'report': expected a string (a path), got 1"),
    ("weights = 2", "invalid value for 'weights': expected a string (a path), got 2"),
    ("save-saliency = 2026-01-01", "invalid value for 'save-saliency': expected a string (a path), "
                                   "got 2026-01-01"),
    ("quality = 85.5", "invalid value for 'quality': expected a whole number, got 85.5"),
    ("jobs = true", "invalid value for 'jobs': expected a whole number, got true"),
    ('max-upscale = "2"', "invalid value for 'max-upscale': expected a number, got '2'"),
    ('overwrite = "yes"', "invalid value for 'overwrite': expected true or false, got 'yes'"),
    ("upscale = 1", "invalid value for 'upscale': expected true or false, got 1"),
    ("format = 5", "invalid value for 'format': expected a string, got 5"),
    ('size = ["100x100", 5]', "invalid value for 'size': expected a string, got 5"),
])
def test_a_config_value_of_the_wrong_type_names_the_file_and_key(cli, make_image, tmp_path, monkeypatch,
                                                                line, message):
    """A value of a TOML type the option does not take is a usage error naming the file and key,
    before any work (it was a TypeError traceback, or os.stat(5) on file descriptor 5, or 85.5
    silently made 85)."""
    make_image("a.jpg")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "smartcrop.toml").write_text(f'ratio = "16:9"\n{line}\n')
    r = cli("in", "out")
    assert r.exit_code == 2 and f"Error: smartcrop.toml: {message}" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "out").exists()


def test_config_numbers_where_the_option_takes_them(cli, make_image, tmp_path, monkeypatch):
    make_image("a.jpg", size=(400, 300))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "smartcrop.toml").write_text(
        'ratio = [1.91, "1:1"]\nmax-pixels = 1e9\nmax-upscale = 2\nquality = 80.0\nmanifest = "m.jsonl"\n')
    r = cli("in", "out")
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_1.91x1.jpg", "a_1x1.jpg"]


def test_flags_settle_clashes_with_the_config_file(cli, make_image, tmp_path, monkeypatch):
    # The file only sets defaults: --overwrite beat nothing, it met the file's skip-existing
    # in one check ("--skip-existing and --overwrite exclude each other", exit 2).
    make_image("a.jpg", size=(400, 300))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out" / "a_1x1.jpg"
    out.parent.mkdir()
    out.write_bytes(b"old")
    conf = tmp_path / "ci.toml"
    conf.write_text('ratio = "1:1"\nskip-existing = true\n')
    r = cli("--config", conf, "in", "out", "--overwrite")
    assert r.exit_code == 0, r.stderr
    assert Image.open(out).size == (300, 300)
    conf.write_text('ratio = "1:1"\noverwrite = true\n')
    out.write_bytes(b"old")
    r = cli("--config", conf, "in", "out", "--skip-existing")
    assert r.exit_code == 0, r.stderr
    assert out.read_bytes() == b"old"
    conf.write_text('ratio = "1:1"\noverwrite = true\nskip-existing = true\n')
    r = cli("--config", conf, "in", "out")
    assert r.exit_code == 2
    assert f"skip-existing and overwrite are both set in {conf}, and they exclude each other" in r.stderr
    conf.write_text('ratio = "1:1"\n')
    r = cli("--config", conf, "in", "out", "--overwrite", "--skip-existing")
    assert r.exit_code == 2 and "--skip-existing and --overwrite exclude each other" in r.stderr
    # --engine local on the command line drops the file's ray-address; the file alone is an error
    conf.write_text('ratio = "1:1"\nray-address = "auto"\noverwrite = true\n')
    r = cli("--config", conf, "in", "out", "--engine", "local")
    assert r.exit_code == 0, r.stderr
    r = cli("--config", conf, "in", "out")
    assert r.exit_code == 2 and f'ray-address is set in {conf}, and it needs engine = "ray"' in r.stderr
    # -v on the command line is not silenced by the file's quiet
    conf.write_text('ratio = "1:1"\nquiet = true\noverwrite = true\n')
    r = cli("--config", conf, "in", "out", "-v")
    assert r.exit_code == 0 and "a.jpg -> " in r.stderr and "1 image, 1 output" in r.stderr
    r = cli("--config", conf, "in", "out")
    assert r.exit_code == 0 and r.stderr == ""


def test_readme_config_example_uses_only_real_keys(cli, make_image, tmp_path, monkeypatch):
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n# assets.toml\n(.*?)```", readme, re.S).group(1)
    (tmp_path / "assets.toml").write_text(example)
    make_image("a.jpg", size=(1600, 1200))
    monkeypatch.chdir(tmp_path)
    r = cli("--config", "assets.toml", "in", "out")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "out" / "a_1200x630.jpg").is_file()
    assert (tmp_path / "reports" / "assets.jsonl").is_file()


def test_engine_ray_without_the_extra_is_a_usage_error_naming_it(cli, make_image, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("ray", "pyarrow") else real(name, *a))
    make_image("a.jpg")
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--engine", "ray")
    assert r.exit_code == 2 and "pip install 'smartcrop[ray]'" in r.output
    r = cli("s3://photos/in", tmp_path / "out", "--ratio", "1:1")
    assert r.exit_code == 2 and "pip install 'smartcrop[s3]'" in r.output
    monkeypatch.setattr(importlib.util, "find_spec", real)
    focus = tmp_path / "focus.csv"
    focus.write_text("s3://photos/in/a.jpg,1,1\n")
    r = cli("s3://photos/in", tmp_path / "out", "--ratio", "1:1", "--focus", focus)
    assert r.exit_code == 2 and "--focus works with local inputs only" in r.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option, uri", [("--manifest", "s3://b/m.jsonl"), ("--debug", "gs://b/debug"),
                                         ("--save-saliency", "s3://b/maps"), ("--report", "s3://b/r.html")])
def test_local_only_options_refuse_a_uri(cli, make_image, tmp_path, monkeypatch, option, uri):
    """Else a folder named `s3:` (or `gs:`) would be made in the current folder, without a word."""
    make_image("a.jpg")
    monkeypatch.chdir(tmp_path)
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", option, uri)
    scheme = uri.split(":")[0]
    assert r.exit_code == 2
    assert f"{option} takes a local path, not {'an' if scheme == 's3' else 'a'} {scheme}:// URI" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_local_run_imports_neither_pyarrow_nor_ray(tmp_path, make_image):
    make_image("a.jpg")
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from smartcrop.cli import main\n"
        f"args = [{str(tmp_path / 'in')!r}, {str(tmp_path / 'out')!r}, '--ratio', '1:1']\n"
        "r = CliRunner().invoke(main, args)\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in ('pyarrow', 'ray') if m in sys.modules))\n"
    )
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


def test_avif_and_heic_in_folders_are_read_and_avif_written(cli, make_image, tmp_path):
    make_image("a.jpg")
    photo((320, 240)).save(tmp_path / "in" / "b.avif", quality=80)
    has_heif = True
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        photo((320, 240)).save(tmp_path / "in" / "c.heic", format="HEIF", quality=80)
    except ImportError:
        has_heif = False
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--manifest", "-")
    assert r.exit_code == 0, r.stderr
    outputs = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert outputs == ["a_1x1.jpg", "b_1x1.avif"] + (["c_1x1.jpg"] if has_heif else [])
    assert Image.open(tmp_path / "out" / "b_1x1.avif").format == "AVIF"
    r = cli(tmp_path / "in" / "a.jpg", tmp_path / "out2", "--size", "120x120", "--format", "avif")
    assert r.exit_code == 0 and Image.open(tmp_path / "out2" / "a_120x120.avif").size == (120, 120)


def test_fit_auto_follows_the_reviewers_box(cli, tmp_path):
    (tmp_path / "in").mkdir()
    group_photo().save(tmp_path / "in" / "group.jpg")
    group_photo().save(tmp_path / "in" / "same.jpg")
    focus = tmp_path / "focus.csv"
    # One disc (fits a 9:16 window: crop, though little saliency is kept); all three (cannot: pad).
    focus.write_text(f"{tmp_path / 'in' / 'group.jpg'},100,100,120,120\n"
                     f"{tmp_path / 'in' / 'same.jpg'},60,60,840,200\n")
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "9:16", "--fit", "auto", "--focus", focus,
            "--manifest", "-")
    assert r.exit_code == 0, r.output
    got = {Path(x["input"]).stem: (x["fit"], x["source"]) for x in r.records}
    assert got == {"group": ("crop", "focus"), "same": ("pad", "focus")}


# --- faces -----------------------------------------------------------------------------------

ASTRONAUT = ROOT / "tests" / "data" / "astronaut.png"
ASTRONAUT_FACE = [172, 66, 106, 106]  # what the detector finds (tests/test_faces.py)


def _holds(box, face) -> bool:
    return (box[0] <= face[0] and box[1] <= face[1] and face[0] + face[2] <= box[0] + box[2]
            and face[1] + face[3] <= box[1] + box[3])


def test_manifest_lists_faces_and_cuts(cli, tmp_path):
    r = cli(ASTRONAUT, tmp_path / "out", "--ratio", "16:9", "--ratio", "9:16", "--size", "1600x900",
            "--size", "1080x566", "--manifest", "-")
    assert r.exit_code == 0 and len(r.records) == 4
    for rec in r.records:
        (face,) = rec["faces"]  # the same list on every record of the input
        assert face == pytest.approx(ASTRONAUT_FACE, abs=2)
        assert rec["face_cut"] == 0 and _holds(rec["box"], face)


def test_astronaut_wide_sizes_hold_her_face_and_forehead(cli, tmp_path):
    """The issue's case: without faces both wide crops started at her nose."""
    r = cli(ASTRONAUT, tmp_path / "out", "--size", "1600x900", "--size", "1080x566", "--manifest", "-")
    for rec in r.records:
        top = rec["box"][1]
        assert top <= ASTRONAUT_FACE[1] - 0.15 * ASTRONAUT_FACE[3]  # forehead above the box kept


def test_no_faces_gives_the_boxes_of_the_map_alone(cli, model, tmp_path):
    """--no-faces: no detector, no face fields, and the boxes of the map-only search."""
    from smartcrop import cropping, images
    from smartcrop.saliency import work_map

    info = images.read_info(ASTRONAUT, 10**9)
    small = images.shrink_for_model(images.decode_for_model(ASTRONAUT, info), model.input_size())
    work = work_map(model.predict(small), 512, 512)
    for strategy in ("window", "box"):
        args = (ASTRONAUT, "--ratio", "16:9", "--size", "1080x566", "--strategy", strategy, "--manifest", "-")
        off = cli(args[0], tmp_path / strategy, *args[1:], "--no-faces").records
        for rec, (aspect, size) in zip(off, ((16 / 9, (1, 1)), (1080 / 566, (1080, 566))), strict=True):
            assert rec["faces"] is None and rec["face_cut"] is None
            assert rec["box"] == cropping.find_box(work, (512, 512), aspect, strategy, size).as_list()
        # the old cut: the map alone puts the 16:9 crop's edge through her face
        assert cropping.faces_cut(cropping.Box(*off[0]["box"]), [ASTRONAUT_FACE]) == 1
        on = cli(args[0], tmp_path / f"{strategy}-faces", *args[1:]).records
        assert [rec["face_cut"] for rec in on] == [0, 0]


def test_thorough_finds_small_faces_the_default_misses(cli, tmp_path):
    """--thorough searches the photo's quarters too: small faces (4.7% of the long side) the
    single pass does not see are listed and kept whole."""
    from test_faces import _group

    _group(360, (1600, 1200))[0].save(tmp_path / "group.png")  # six faces
    plain = cli(tmp_path / "group.png", tmp_path / "a", "--ratio", "1:1", "--manifest", "-").records
    assert plain[0]["faces"] == []
    (rec,) = cli(tmp_path / "group.png", tmp_path / "b", "--ratio", "1:1", "--thorough",
                 "--manifest", "-").records
    assert rec["status"] == "ok" and len(rec["faces"]) >= 5 and rec["face_cut"] == 0


def test_thorough_turns_on_the_ensemble_flip_averaging_and_face_tiles():
    from smartcrop.options import CropOptions, parse_ratio
    from smartcrop.pipeline import load_detector, load_model

    for thorough in (False, True):
        options = CropOptions(targets=(parse_ratio("1:1"),), thorough=thorough, jobs=1)
        model = load_model(options)
        assert model.flip is thorough
        assert [m.path.name for m in model.members] == (["saliency_seed1.tflite"] if thorough else [])
        assert load_detector(options).tiles is thorough


def test_face_cut_counts_a_cut_a_focus_override_forces(cli, tmp_path):
    """A reviewer's focus point wins over the face rule; the record says the face is cut."""
    focus = tmp_path / "focus.csv"
    focus.write_text(f"{ASTRONAUT},256,244\n")  # a 512x288 window from y=100
    r = cli(ASTRONAUT, tmp_path / "out", "--size", "1600x900", "--focus", focus, "--manifest", "-")
    (rec,) = r.records
    assert rec["source"] == "focus" and rec["box"][1] > ASTRONAUT_FACE[1] and rec["face_cut"] == 1


def test_fit_auto_pads_a_row_of_faces_no_story_holds(cli, tmp_path):
    """Three people side by side: a 9:16 window holds one face; auto pads. One alone: crop."""
    astronaut = Image.open(ROOT / "tests" / "data" / "astronaut.png").convert("RGB")
    row = Image.new("RGB", (3 * 512, 512))
    for k in range(3):
        row.paste(astronaut, (512 * k, 0))
    (tmp_path / "in").mkdir()
    row.save(tmp_path / "in" / "row.png")
    astronaut.save(tmp_path / "in" / "one.png")
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "9:16", "--fit", "auto", "--manifest", "-")
    assert r.exit_code == 0, r.output
    got = {Path(x["input"]).stem: x for x in r.records}
    assert len(got["row"]["faces"]) == 3 and got["row"]["fit"] == "pad"
    assert got["row"]["output_size"] == [1536, 2731]
    assert len(got["one"]["faces"]) == 1 and got["one"]["fit"] == "crop"


def test_fit_auto_crops_past_a_small_bystander_left_out(cli, tmp_path):
    """A small second face at the edge (under half the main face's side), left out of the 4:5
    crop, does not make auto pad; the rule that counted every face left out would have."""
    from smartcrop import padding
    from smartcrop.cropping import Box

    astronaut = Image.open(ROOT / "tests" / "data" / "astronaut.png").convert("RGB")
    im = Image.new("RGB", (1500, 1024), (90, 90, 100))
    im.paste(astronaut.resize((1024, 1024)), (0, 0))
    im.paste(astronaut.resize((500, 500)), (1000, 524))
    (tmp_path / "in").mkdir()
    im.save(tmp_path / "in" / "bystander.png")
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "4:5", "--fit", "auto", "--dry-run",
            "--manifest", "-")
    assert r.exit_code == 0, r.output
    (rec,) = r.records
    main, small = sorted(rec["faces"], key=lambda f: -f[2])
    box = Box(*rec["box"])
    assert small[2] < 0.5 * main[2] and box.left + box.width <= small[0]  # small, left out
    assert rec["fit"] == "crop" and rec["face_cut"] == 0
    assert padding.faces_lost(box, rec["faces"], prominent=0) == 1  # the old rule: pad
