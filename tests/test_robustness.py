"""Issue 5: bad and odd inputs, decompression bombs, awkward trees, safe writes, interruption, fuzzing."""

from __future__ import annotations

import io
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    ROOT,
    animation,
    bomb_png,
    exif_jpeg,
    files_under,
    parse_manifest,
    photo,
    run_module,
    srgb_profile,
    tree_hashes,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from smartcrop.images import to_8bit
from smartcrop.options import CropOptions, parse_ratio
from smartcrop.pipeline import Cropper, ImageResult, InputItem

RATIOS = {"16:9": (16, 9), "1:1": (1, 1), "9:16": (9, 16)}


def ratio_args() -> list[str]:
    return [a for r in RATIOS for a in ("--ratio", r)]


def check_output(rec: dict) -> Image.Image:
    """A finished output: readable, its size that of the box (or the ratio, within a pixel)."""
    assert rec["status"] == "ok", rec
    out = Image.open(rec["output"])
    out.load()
    w, h = RATIOS[rec["ratio"]]
    bw, bh = rec["box"][2:]
    assert out.size == (bw, bh)
    if min(rec["image_size"]) > 16:
        assert abs(bw * h / w - bh) <= 1 or abs(bh * w / h - bw) <= 1, rec
    left, top = rec["box"][:2]
    assert left >= 0 and top >= 0 and left + bw <= rec["image_size"][0] and top + bh <= rec["image_size"][1]
    return out


def real_bomb_png(path: Path, side: int) -> Path:
    """A valid 1-bit PNG of side x side zero pixels: a few hundred KB that decode to side**2 bytes."""
    raw_row = b"\0" * (1 + (side + 7) // 8)
    comp = zlib.compressobj(9)
    data = b"".join(comp.compress(raw_row) for _ in range(side)) + comp.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def cmyk_jpeg(path: Path) -> Path:
    photo((300, 200)).convert("CMYK").save(path)
    return path


# -- bad files --------------------------------------------------------------------------
def make_bad_files(folder: Path) -> dict[str, str]:
    """Bad inputs named after what is wrong; returns name -> expected reason fragment."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("just some text, honest\n")
    buf = io.BytesIO()
    photo((400, 300)).save(buf, "JPEG")
    (folder / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (folder / "folder.jpg").mkdir()
    bomb_png(folder / "bomb.png", 30000, 30000)
    (folder / "random.png").write_bytes(np.random.default_rng(1).bytes(2000))
    png = io.BytesIO()
    photo((64, 48)).save(png, "PNG")
    (folder / "badcrc.png").write_bytes(png.getvalue()[:40] + b"\0\0\0\0" + png.getvalue()[44:])
    os.symlink(folder / "nowhere.jpg", folder / "dangling.jpg")
    return {"empty.jpg": "empty file", "text.jpg": "not a recognised image",
            "truncated.jpg": "truncated", "folder.jpg": "is a directory",
            "bomb.png": "over the limit", "random.png": "not a recognised image",
            "badcrc.png": "", "dangling.jpg": "No such file"}


def test_bad_files_each_get_one_line_and_error_records(cli, make_image, tmp_path):
    bad = make_bad_files(tmp_path / "in")
    make_image("good.jpg")
    r = cli(tmp_path / "in", tmp_path / "out", *ratio_args(), "--manifest", "-")
    assert r.exit_code == 1
    errors = [line for line in r.stderr.splitlines() if line.startswith("smartcrop: error: ")]
    assert len(errors) == len(bad)
    for name, reason in bad.items():
        (line,) = [e for e in errors if f"{tmp_path / 'in' / name}: " in e]
        assert reason in line, line
        recs = [x for x in r.records if x["input"] == str(tmp_path / "in" / name)]
        assert len(recs) == 3 and all(x["status"] == "error" and x["output"] is None for x in recs)
    assert len(files_under(tmp_path / "out")) == 3  # the good one, all three ratios


def test_decompression_bomb_refused_quickly_in_bounded_memory(tmp_path):
    real_bomb_png(tmp_path / "bomb.png", 20000)  # 400 megapixels, ~50 KB on disk
    bomb_png(tmp_path / "header.png", 30000, 30000)
    script = (
        "import sys, time\n"
        "from smartcrop.images import ImageError, read_info\n"
        "start = time.perf_counter()\n"
        "for p in sys.argv[1:]:\n"
        "    try:\n"
        "        read_info(p, 200_000_000)\n"
        "    except ImageError as e:\n"
        "        print(e)\n"
        "peak = [x for x in open('/proc/self/status') if x.startswith('VmHWM:')]\n"  # not inherited
        "print(time.perf_counter() - start, int(peak[0].split()[1]) // 1024 if peak else 0)\n"
    )
    p = subprocess.run([sys.executable, "-c", script, tmp_path / "bomb.png", tmp_path / "header.png"],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    first, second, stats = p.stdout.splitlines()
    assert first == "20000x20000 = 400 megapixels is over the limit of 200 (see --max-pixels)"
    assert second.startswith("30000x30000 = 900 megapixels is over the limit")
    seconds, mib = stats.split()
    assert float(seconds) < 2 and int(mib) < 200  # the pixels were never decoded (400 MB)


def test_max_pixels_option(cli, tmp_path):
    path = tmp_path / "in" / "big.png"
    path.parent.mkdir()
    Image.new("1", (1200, 1000), 1).save(path)
    r = cli(path, tmp_path / "out", "--ratio", "1:1", "--max-pixels", "1000000", "--manifest", "-")
    assert r.exit_code == 1 and "1200x1000 = 1.2 megapixels is over the limit of 1" in r.records[0]["error"]
    assert cli(path, tmp_path / "out", "--ratio", "1:1", "--max-pixels", "1200000").exit_code == 0


def test_animation_frames_count_against_max_pixels(cli, tmp_path):
    path = animation(tmp_path / "in" / "a.gif", n=6, size=(100, 100))
    r = cli(path, tmp_path / "out", "--ratio", "1:1", "--max-pixels", "50000", "--manifest", "-")
    assert r.exit_code == 1 and "6 frames" in r.records[0]["error"]


def test_damaged_metadata_does_not_clutter_stderr(tmp_path):
    """Pillow's warnings ("Corrupt EXIF data") are not printed: the image is fine, so is the run."""
    (tmp_path / "in").mkdir()
    broken_exif = b"Exif\0\0MM\0*\0\0\0\x08\0\x05\x01\x12\0\x03\0\0\0\x01\0\x06"
    photo((100, 80)).save(tmp_path / "in" / "exif.jpg", exif=broken_exif)
    p = run_module(tmp_path / "in", tmp_path / "out", "--ratio", "1:1")
    assert p.returncode == 0, p.stderr
    (line,) = p.stderr.splitlines()
    assert line.startswith("smartcrop: 1 image, 1 output:")


# -- valid but unusual ------------------------------------------------------------------
def make_odd_files(folder: Path) -> list[str]:
    """Valid images in unusual forms; returns their names."""
    folder.mkdir(parents=True, exist_ok=True)
    photo((300, 200)).save(folder / "png named.jpg", "PNG")
    cmyk_jpeg(folder / "cmyk.jpg")
    arr = (np.linspace(0, 65535, 300)[None, :] * np.ones((200, 1))).astype(np.uint16)
    Image.fromarray(arr).save(folder / "deep16.png")
    photo((300, 200)).convert("1").save(folder / "bilevel.png")
    photo((300, 200)).convert("L").save(folder / "grey.jpg")
    pal = photo((300, 200)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.save(folder / "palette.png", transparency=0)
    photo((300, 200)).convert("LA").save(folder / "la.png")
    photo((300, 200)).convert("RGBA").save(folder / "rgba.png")
    Image.new("RGB", (1, 1), (200, 10, 10)).save(folder / "one.png")
    photo((10000, 10)).save(folder / "wide strip.png")
    photo((10, 3000)).save(folder / "tall strip.png")
    photo((300, 200)).save(folder / "café 東京 ü.jpg")
    photo((300, 200)).save(folder / "-dash 'quote'.jpg")
    photo((200, 150)).save(folder / "tiff.tif")
    photo((200, 150)).save(folder / "bitmap.bmp")
    return sorted(p.name for p in folder.iterdir())


def test_unusual_valid_images_all_cropped(cli, tmp_path):
    names = make_odd_files(tmp_path / "in")
    r = cli(tmp_path / "in", tmp_path / "out", *ratio_args(), "--manifest", "-")
    assert r.exit_code == 0, r.stderr
    assert len(r.records) == 3 * len(names)
    by_input = {}
    for rec in r.records:
        by_input.setdefault(Path(rec["input"]).name, []).append(check_output(rec))
    assert sorted(by_input) == names
    assert by_input["png named.jpg"][0].format == "PNG"  # the content decides, not the name
    assert by_input["cmyk.jpg"][0].mode == "CMYK"
    deep = np.asarray(by_input["deep16.png"][1])
    assert by_input["deep16.png"][1].mode.startswith("I") and deep.max() > 255  # 16 bits kept
    assert by_input["la.png"][0].mode == "LA" and by_input["rgba.png"][0].mode == "RGBA"
    assert "transparency" in by_input["palette.png"][0].info
    assert by_input["one.png"][0].size == (1, 1)
    assert by_input["wide strip.png"][1].size == (10, 10)
    assert by_input["tall strip.png"][2].size == (10, 18)


def test_odd_modes_to_every_output_format(cli, tmp_path):
    make_odd_files(tmp_path / "in")
    for fmt in ("jpeg", "png", "webp"):
        r = cli(tmp_path / "in", tmp_path / f"out-{fmt}", "--ratio", "1:1", "--size", "64x48",
                "--format", fmt, "--max-upscale", "64", "--manifest", "-")
        assert r.exit_code == 0, (fmt, r.stderr)
        for rec in r.records:
            Image.open(rec["output"]).load()
        deep = [rec for rec in r.records if "deep16" in rec["input"]]
        for rec in deep:  # a 16-bit ramp stays a ramp, not clipped to white
            assert 60 < np.asarray(to_8bit(Image.open(rec["output"])).convert("L")).mean() < 200


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation(cli, tmp_path, orientation):
    path = exif_jpeg(tmp_path / "in" / "o.jpg", orientation, (320, 200), centre=(60, 60))
    upright = ImageOps.exif_transpose(Image.open(path))
    r = cli(path, tmp_path / "out", *ratio_args(), "--manifest", "-")
    assert r.exit_code == 0
    for rec in r.records:
        assert rec["image_size"] == list(upright.size)
        out = check_output(rec)
        left, top, w, h = rec["box"]
        want = np.asarray(upright.crop((left, top, left + w, top + h)), float)
        assert np.abs(np.asarray(out, float) - want).mean() < 4, (orientation, rec)


@pytest.mark.parametrize("ext", ["gif", "webp"])
def test_animations_keep_every_frame_with_one_box(cli, tmp_path, ext):
    path = animation(tmp_path / "in" / f"anim.{ext}", n=5)
    r = cli(path, tmp_path / "out", *ratio_args(), "--manifest", "-")
    assert r.exit_code == 0, r.stderr
    src = Image.open(path)
    for rec in r.records:
        out = check_output(rec)
        assert out.format == ext.upper() and out.n_frames == src.n_frames == 5
        left, top, w, h = rec["box"]
        for i in range(5):
            src.seek(i)
            out.seek(i)
            want = np.asarray(src.convert("RGB").crop((left, top, left + w, top + h)), float)
            assert np.abs(np.asarray(out.convert("RGB"), float) - want).mean() < 12, (rec, i)
        assert out.info.get("loop") == 0


def test_animation_to_jpeg_is_its_first_frame(cli, tmp_path):
    path = animation(tmp_path / "in" / "anim.webp", n=3)
    r = cli(path, tmp_path / "out", "--ratio", "1:1", "--format", "jpeg", "--manifest", "-")
    out = check_output(r.records[0])
    assert out.format == "JPEG" and getattr(out, "n_frames", 1) == 1


# -- trees ------------------------------------------------------------------------------
def test_symlink_loop_walked_once(cli, make_image, tmp_path):
    make_image("a/x.jpg")
    os.symlink(tmp_path / "in", tmp_path / "in" / "a" / "loop")
    os.symlink("../a", tmp_path / "in" / "a" / "again")
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--manifest", "-")
    assert r.exit_code == 0
    assert [rec["output"] for rec in r.records] == [str(tmp_path / "out" / "a" / "x_1x1.jpg")]


def test_output_inside_input_never_read_back(cli, make_image, tmp_path):
    make_image("a.jpg")
    make_image("sub/b.jpg")
    inp = tmp_path / "in"
    args = (inp, inp / "crops", *ratio_args(), "--save-saliency", inp / "maps", "--debug", inp / "dbg",
            "--manifest", "-")
    first = cli(*args)
    assert first.exit_code == 0 and len(first.records) == 6
    second = cli(*args, "--skip-existing")
    assert second.exit_code == 0
    assert sorted(rec["input"] for rec in second.records) == sorted(rec["input"] for rec in first.records)
    assert {rec["status"] for rec in second.records} == {"skipped"}


def test_output_paths_never_escape_output(cli, make_image, tmp_path):
    for rel in ("..a.jpg", "a..jpg", "deep/er/x.jpg", " space .jpg", "new\nline.jpg", "dots/../dots.jpg"):
        make_image(rel)
    elsewhere = tmp_path / "elsewhere"
    make_image("far.jpg", root=elsewhere)
    os.symlink(elsewhere, tmp_path / "in" / "link")
    out = tmp_path / "out"
    r = cli(tmp_path / "in", out, "--ratio", "1:1", "--manifest", "-")
    assert r.exit_code == 0, r.stderr
    assert len(r.records) == 6  # ..a.jpg is a hidden file
    for rec in r.records:
        assert Path(rec["output"]).resolve().is_relative_to(out.resolve()), rec["output"]
    assert files_under(elsewhere) == [elsewhere / "far.jpg"]


# -- writes -----------------------------------------------------------------------------
def test_no_temp_files_and_inputs_untouched(cli, make_image, tmp_path):
    make_image("a.jpg")
    make_odd_files(tmp_path / "in" / "odd")
    before = tree_hashes(tmp_path / "in")
    r = cli(tmp_path / "in", tmp_path / "out", *ratio_args(), "--save-saliency", tmp_path / "m",
            "--debug", tmp_path / "d")
    assert r.exit_code == 0
    assert tree_hashes(tmp_path / "in") == before
    assert [p for p in tmp_path.rglob("*") if p.name.endswith(".part")] == []


def test_unwritable_output_place_is_a_clear_error(cli, make_image, tmp_path):
    make_image("sub/a.jpg")
    make_image("b.jpg")
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("a file where a folder should be")
    r = cli(tmp_path / "in", out, "--ratio", "1:1", "--manifest", "-")
    assert r.exit_code == 1
    (line,) = [x for x in r.stderr.splitlines() if "error" in x]
    assert line.startswith(f"smartcrop: error: {tmp_path / 'in' / 'sub' / 'a.jpg'}: cannot write ")
    assert (out / "b_1x1.jpg").is_file()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root ignores folder permissions (covered by the file-in-the-way test)")
def test_read_only_output_folder(cli, make_image, tmp_path):
    make_image("sub/a.jpg")
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub").chmod(0o500)
    try:
        r = cli(tmp_path / "in", out, "--ratio", "1:1", "--manifest", "-")
    finally:
        (out / "sub").chmod(0o700)
    assert r.exit_code == 1 and "Permission denied" in r.records[0]["error"]


def test_disk_full_is_an_error_record(cli, make_image, tmp_path, monkeypatch):
    make_image("a.jpg")

    def full(self, fp, *a, **k):  # a few bytes land, then the disk is full
        fp.write(b"\xff\xd8partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full)
    r = cli(tmp_path / "in", tmp_path / "out", "--ratio", "1:1", "--manifest", "-")
    assert r.exit_code == 1 and r.records[0]["error"].endswith("No space left on device")
    assert files_under(tmp_path / "out") == []


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_batch_resumes(tmp_path, sig):
    (tmp_path / "in").mkdir()
    for i in range(12):
        photo((1600, 1200), seed=i).save(tmp_path / "in" / f"p{i:02}.jpg")
    out = tmp_path / "out"
    args = [tmp_path / "in", out, *ratio_args(), "--jobs", "1"]
    # SIGINT is honoured only where it is not ignored (as in background jobs): restore Python's handler.
    boot = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "sys.argv[0] = 'smartcrop'; runpy.run_module('smartcrop', run_name='__main__')")
    proc = subprocess.Popen([sys.executable, "-c", boot, *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    while not (out.exists() and any(out.glob("*.jpg"))) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    done = files_under(out)
    assert [p for p in out.iterdir() if p.name.endswith(".part")] == []
    for p in done:
        Image.open(p).load()  # complete, readable
    assert 0 < len(done) < 36
    p = run_module(*args, "--skip-existing")
    assert p.returncode == 0, p.stderr
    assert len(files_under(out)) == 36 and [q for q in out.iterdir() if q.name.endswith(".part")] == []
    for q in files_under(out):
        Image.open(q).load()


# -- fuzzing ----------------------------------------------------------------------------
def _seed_files() -> list[bytes]:
    seeds = []
    for fmt in ("JPEG", "PNG"):
        buf = io.BytesIO()
        photo((48, 32)).save(buf, fmt, **({"exif": _exif(6)} if fmt == "JPEG" else {}))
        seeds.append(buf.getvalue())
    return seeds


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


SEEDS = _seed_files()


@st.composite
def mangled(draw) -> bytes:
    kind = draw(st.sampled_from(["mutate", "truncate", "splice", "random"]))
    if kind == "random":
        return draw(st.binary(max_size=600))
    data = bytearray(draw(st.sampled_from(SEEDS)))
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, len(data)))])
    if kind == "splice":
        at = draw(st.integers(0, len(data)))
        return bytes(data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at:])
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=mangled(), ext=st.sampled_from([".jpg", ".png", ".gif"]))
def test_fuzzed_bytes_never_raise(model, fuzz_dir, data, ext):
    opts = CropOptions(targets=(parse_ratio("16:9"), parse_ratio("1:1")), overwrite=True, jobs=1,
                       max_pixels=4_000_000, save_saliency=fuzz_dir / "maps")
    path = fuzz_dir / f"f{ext}"
    path.write_bytes(data)
    result = Cropper(opts, fuzz_dir / "out", model).process(InputItem(path, Path("f")))
    assert isinstance(result, ImageResult) and len(result.records) == 2
    for rec in result.records:
        assert rec["status"] in ("ok", "error")
        if rec["status"] == "error":
            assert rec["error"] and "\n" not in rec["error"] and rec["output"] is None
        else:
            Image.open(rec["output"]).load()


# -- the "done means" batch -------------------------------------------------------------
def test_done_means_batch(cli, tmp_path):
    inp = tmp_path / "in"
    for i in range(20):
        sub = inp / ("a" if i % 2 else "b") / ("deep" if i % 5 == 0 else "")
        sub.mkdir(parents=True, exist_ok=True)
        photo((320 + 16 * i, 240 + 8 * (i % 4)), seed=i).save(sub / f"good {i:02}.{('jpg', 'png')[i % 2]}",
                                                               icc_profile=srgb_profile() if i == 3 else None)
    bad = make_bad_files(inp / "bad")
    (inp / "bad" / "zero.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    bad["zero.png"] = ""
    (inp / "bad" / "gif.gif").write_bytes(b"GIF89a" + b"\xff" * 10)
    bad["gif.gif"] = ""
    assert len(bad) == 10
    before = tree_hashes(inp)
    out = tmp_path / "out"
    r = cli(inp, out, *ratio_args(), "--manifest", tmp_path / "m.jsonl")
    assert r.exit_code == 1
    records = parse_manifest((tmp_path / "m.jsonl").read_text(encoding="utf-8"))
    assert len(records) == 30 * 3
    good = [x for x in records if x["status"] == "ok"]
    assert len(good) == 60
    for rec in good:
        check_output(rec)
    errors = [line for line in r.stderr.splitlines() if line.startswith("smartcrop: error: ")]
    assert len(errors) == 10
    for name in bad:
        assert sum(f"{inp / 'bad' / name}: " in e for e in errors) == 1, name
        assert [x["status"] for x in records if x["input"] == str(inp / "bad" / name)] == ["error"] * 3
    assert len(files_under(out)) == 60
    assert [p for p in tmp_path.rglob("*") if p.name.endswith(".part")] == []
    assert tree_hashes(inp) == before
    assert "30 images, 90 outputs: 60 written, 30 failed" in r.stderr
    shutil.rmtree(out)
