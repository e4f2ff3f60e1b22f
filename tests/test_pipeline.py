"""smartcrop.pipeline: input discovery, naming, per-image records, per-output failures."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import photo
from PIL import Image

from smartcrop import cropping
from smartcrop.faces import FaceDetector
from smartcrop.options import CropOptions, parse_ratio, parse_size
from smartcrop.pipeline import Cropper, collect_inputs
from smartcrop.saliency import work_map
from smartcrop.storage import StoredPath

RECORD_KEYS = {"input", "output", "box", "image_size", "strategy", "score", "status", "error"}


class CountingModel:
    """Wraps the real model, counting predictions."""

    def __init__(self, model):
        self.model, self.calls = model, 0
        self._lock = threading.Lock()

    def input_size(self, *size):
        return self.model.input_size(*size)

    def predict(self, image):
        with self._lock:
            self.calls += 1
        return self.model.predict(image)


def options(*ratios: str, sizes: tuple[str, ...] = (), **kw) -> CropOptions:
    targets = tuple(parse_ratio(r) for r in ratios) + tuple(parse_size(s) for s in sizes)
    return CropOptions(targets=targets, jobs=kw.pop("jobs", 1), **kw)


def stems(items) -> list[str]:
    return [i.stem.as_posix() for i in items]


# -- finding inputs ---------------------------------------------------------------------
def test_collect_mirrors_folders_and_skips_non_images(tmp_path, make_image):
    make_image("trips/beach.jpg")
    make_image("top.png")
    (tmp_path / "in" / "notes.txt").write_text("x")
    (tmp_path / "in" / ".hidden.jpg").write_bytes(b"x")
    (tmp_path / "in" / ".beach.jpg.abc.part").write_bytes(b"x")
    (tmp_path / "in" / ".DS_Store").write_bytes(b"x")
    (tmp_path / "in" / "trips" / "raw.DNG").write_bytes(b"x")
    (tmp_path / "in" / "trips" / "README").write_text("x")
    ignored = []
    items = collect_inputs([tmp_path / "in"], tmp_path / "out", ignored=ignored)
    assert stems(items) == ["top", "trips/beach"]
    assert items[1].path == tmp_path / "in" / "trips" / "beach.jpg"
    # Non-images are reported back in walk order; hidden files are not.
    assert ignored == [tmp_path / "in" / "notes.txt", tmp_path / "in" / "trips" / "README",
                       tmp_path / "in" / "trips" / "raw.DNG"]


def test_listed_paths_never_lead_outside_input(tmp_path, make_image, model):
    """A --from-list entry with a `..` part, or a local absolute path not under INPUT, is an
    error record: nothing is read from or written to outside INPUT and OUTPUT."""
    make_image("a.jpg")
    make_image("trips/b.jpg")
    (tmp_path / "secret").mkdir()
    photo().save(tmp_path / "secret" / "a.jpg")
    inp = tmp_path / "in"
    listed = ["../secret/a.jpg", "trips/../../secret/a.jpg", str(tmp_path / "secret" / "a.jpg"),
              str(inp / "trips" / "b.jpg"), "/a.jpg", "."]
    items = collect_inputs([inp], tmp_path / "out", listed=listed)
    got = {str(i.path): i.error for i in items}
    assert got == {
        str(inp / "../secret/a.jpg"): "--from-list path leaves INPUT",
        str(inp / "trips/../../secret/a.jpg"): "--from-list path leaves INPUT",
        str(tmp_path / "secret" / "a.jpg"): f"--from-list path is not under INPUT {inp}",
        "/a.jpg": f"--from-list path is not under INPUT {inp}",
        str(inp): "--from-list path names INPUT itself, not a file in it",
        str(inp / "trips" / "b.jpg"): None,  # an absolute path under INPUT, as `find "$PWD/in"` gives
    }
    assert all(".." not in i.stem.parts for i in items)
    from smartcrop.engines import local

    records = []
    summary = local.run_batch(options("1:1"), [inp], tmp_path / "out",
                              lambda r: records.extend(r.records), model, listed=listed)
    assert summary.failures == 5 and summary.outputs == 1
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.jpg")) == [
        "in/a.jpg", "in/trips/b.jpg", "out/trips/b_1x1.jpg", "secret/a.jpg"]
    # Object keys are relative to the prefix: a leading / is dropped, a `..` part refused.
    items = collect_inputs([StoredPath("s3://b/in")], StoredPath("s3://b/out"),
                           listed=["/2024/a.jpg", "../x/a.jpg", "2024/../../x.jpg"])
    assert {str(i.path): i.error for i in items} == {
        "s3://b/in/2024/a.jpg": None, "s3://b/in/../x/a.jpg": "--from-list path leaves INPUT",
        "s3://b/in/2024/../../x.jpg": "--from-list path leaves INPUT"}


def test_listed_paths_in_output_folders_are_left_out_as_a_walk_leaves_them(tmp_path, make_image):
    from smartcrop.pipeline import ListedOutput

    make_image("a.jpg")
    make_image("out/a_1x1.jpg")
    make_image("maps/a.png")
    ignored = []
    items = collect_inputs([tmp_path / "in"], tmp_path / "in" / "out", [tmp_path / "in" / "maps"],
                           listed=["a.jpg", "out/a_1x1.jpg", "maps/a.png", "gone.jpg"], ignored=ignored)
    assert stems(items) == ["a", "gone"]
    assert ignored == [ListedOutput(tmp_path / "in" / "maps" / "a.png"),
                       ListedOutput(tmp_path / "in" / "out" / "a_1x1.jpg")]
    ignored = []
    items = collect_inputs([StoredPath("s3://b/in")], StoredPath("s3://b/in/out"),
                           listed=["a.jpg", "out/a_1x1.jpg", "outer/b.jpg"], ignored=ignored)
    assert [str(i.path) for i in items] == ["s3://b/in/a.jpg", "s3://b/in/outer/b.jpg"]
    assert [str(p) for p in ignored] == ["s3://b/in/out/a_1x1.jpg"]


def test_collect_reports_nothing_for_files_given_or_listed(tmp_path, make_image):
    make_image("a.jpg")
    (tmp_path / "in" / "notes.txt").write_text("x")
    (tmp_path / "in" / "out").mkdir()
    (tmp_path / "in" / "out" / "log.txt").write_text("an output folder is not an input")
    ignored = []
    collect_inputs([tmp_path / "in" / "notes.txt"], tmp_path / "out", ignored=ignored)  # tried, fails
    collect_inputs([tmp_path / "in"], tmp_path / "in" / "out", ignored=ignored, listed=["a.jpg"])
    assert ignored == []
    collect_inputs([tmp_path / "in"], tmp_path / "in" / "out", ignored=ignored)
    assert ignored == [tmp_path / "in" / "notes.txt"]


def test_collect_reports_non_image_objects_under_a_prefix(monkeypatch):
    root = StoredPath("s3://b/in")
    keys = ["in/b.jpg", "in/sub/clip.mov", "in/.keep", "in/a.txt", "in/out/a_1x1.jpg", "in/out/x.log"]
    monkeypatch.setattr(StoredPath, "walk_files", lambda self: iter(StoredPath(f"s3://b/{k}") for k in keys))
    ignored = []
    items = collect_inputs([root], StoredPath("s3://b/in/out"), ignored=ignored)
    assert [str(i.path) for i in items] == ["s3://b/in/b.jpg"]
    assert [str(p) for p in ignored] == ["s3://b/in/a.txt", "s3://b/in/sub/clip.mov"]


def test_collect_leaves_hidden_folders_out_but_walks_a_hidden_folder_given(tmp_path, make_image):
    """.thumbnails/ and .git/ are not walked (no crops of cached thumbnails, no git objects in
    the "not images" warning); a hidden folder named on the command line is, but not its own
    hidden sub-folders."""
    make_image("a.jpg")
    make_image(".thumbnails/a.jpg")
    make_image("trips/.cache/b.png")
    (tmp_path / "in" / ".git" / "objects" / "ab").mkdir(parents=True)
    (tmp_path / "in" / ".git" / "objects" / "ab" / "cdef0123").write_bytes(b"x")
    (tmp_path / "in" / ".git" / "HEAD").write_text("ref: refs/heads/main")
    ignored = []
    assert stems(collect_inputs([tmp_path / "in"], tmp_path / "out", ignored=ignored)) == ["a"]
    assert ignored == []
    make_image(".shots/c.jpg")
    make_image(".shots/.old/d.jpg")
    assert stems(collect_inputs([tmp_path / "in" / ".shots"], tmp_path / "out")) == ["c"]


def test_collect_leaves_hidden_objects_out_under_a_prefix(monkeypatch):
    keys = ["in/a.jpg", "in/.thumbnails/a.jpg", "in/sub/.git/HEAD", "in/sub/b.jpg", "in/.x/notes.txt"]
    monkeypatch.setattr(StoredPath, "walk_files", lambda self: iter(StoredPath(f"s3://b/{k}") for k in keys))
    ignored = []
    items = collect_inputs([StoredPath("s3://b/in")], StoredPath("s3://b/out"), ignored=ignored)
    assert [str(i.path) for i in items] == ["s3://b/in/a.jpg", "s3://b/in/sub/b.jpg"] and ignored == []
    keys[:] = ["a/.hidden/x.jpg", "a/.hidden/.y/z.jpg"]  # the prefix given may be hidden itself
    items = collect_inputs([StoredPath("s3://b/a/.hidden")], StoredPath("s3://b/out"))
    assert [str(i.path) for i in items] == ["s3://b/a/.hidden/x.jpg"]


def test_collect_gives_colliding_names_distinct_stems(tmp_path, make_image):
    make_image("a.jpg")
    make_image("a.png")
    make_image("A.JPG", root=tmp_path / "other")
    make_image("a.jpg", root=tmp_path / "third")
    items = collect_inputs([tmp_path / "in", tmp_path / "other" / "A.JPG", tmp_path / "third"],
                           tmp_path / "out")
    names = stems(items)
    assert len({n.casefold() for n in names}) == 4, names
    assert names[:2] == ["a_jpg", "a_png"]
    assert collect_inputs([tmp_path / "in"], tmp_path / "out") == collect_inputs(
        [tmp_path / "in"], tmp_path / "out")  # same inputs, same names


def test_collect_yields_folder_named_like_an_image(tmp_path, make_image):
    make_image("ok.jpg")
    (tmp_path / "in" / "x.jpg").mkdir()
    (tmp_path / "in" / "x.jpg" / "inner.jpg").write_bytes(b"not walked")
    assert sorted(stems(collect_inputs([tmp_path / "in"], tmp_path / "out"))) == ["ok", "x"]


def test_collect_survives_symlink_loops(tmp_path, make_image):
    make_image("sub/a.jpg")
    os.symlink(tmp_path / "in", tmp_path / "in" / "sub" / "loop")
    os.symlink("..", tmp_path / "in" / "sub" / "up")
    start = time.perf_counter()
    items = collect_inputs([tmp_path / "in"], tmp_path / "out")
    assert time.perf_counter() - start < 2
    assert stems(items) == ["sub/a"]


def test_collect_never_reads_output_or_extras_inside_input(tmp_path, make_image):
    make_image("a.jpg")
    for d in ("out", "maps", "debug"):
        make_image(f"{d}/a_16x9.jpg")
    inp = tmp_path / "in"
    items = collect_inputs([inp], inp / "out", [inp / "maps", inp / "debug"])
    assert stems(items) == ["a"]


def test_collect_reports_unlistable_folders(tmp_path, make_image, monkeypatch, model):
    make_image("a.jpg")
    make_image("locked/b.jpg")
    real = os.scandir

    def scandir(path="."):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    items = collect_inputs([tmp_path / "in"], tmp_path / "out")
    assert stems(items) == ["a", "locked"]
    assert items[1].error == "cannot list folder: Permission denied"
    (rec,) = Cropper(options("1:1"), tmp_path / "out", model).process(items[1]).records
    assert rec["status"] == "error" and rec["error"] == "cannot list folder: Permission denied"


# -- one image --------------------------------------------------------------------------
def test_process_records_schema_and_one_prediction_per_image(tmp_path, make_image, model):
    make_image("trips/beach.jpg", size=(400, 300))
    counting = CountingModel(model)
    opts = options("16:9", "1.91", "4:5", sizes=("200x100",))
    items = collect_inputs([tmp_path / "in"], tmp_path / "out")
    result = Cropper(opts, tmp_path / "out", counting).process(items[0])
    assert counting.calls == 1
    assert [r.get("ratio") or r.get("size") for r in result.records] == ["16:9", "1.91:1", "4:5", [200, 100]]
    for rec in result.records:
        assert RECORD_KEYS <= rec.keys() and rec["status"] == "ok" and rec["error"] is None
        assert rec["image_size"] == [400, 300] and rec["strategy"] == "window"
        left, top, w, h = rec["box"]
        assert left >= 0 and top >= 0 and left + w <= 400 and top + h <= 300
        assert 0 <= rec["score"] <= 1
        assert Image.open(rec["output"]).size == tuple(rec["output_size"])
    assert result.records[0]["output"] == str(tmp_path / "out" / "trips" / "beach_16x9.jpg")
    assert not result.failed


def test_existing_output_fails_only_that_output(tmp_path, make_image, model):
    make_image("a.jpg")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_1x1.jpg").write_bytes(b"keep me")
    items = collect_inputs([tmp_path / "in"], out)
    result = Cropper(options("16:9", "1:1"), out, model).process(items[0])
    ok, exists = result.records
    assert ok["status"] == "ok" and (out / "a_16x9.jpg").is_file()
    assert exists["status"] == "error" and "exists" in exists["error"] and exists["output"] is None
    assert exists["box"] is not None  # what would have been written is still reported
    assert (out / "a_1x1.jpg").read_bytes() == b"keep me"


def test_write_failure_becomes_error_records(tmp_path, make_image, model):
    make_image("sub/a.jpg")
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("a file where the folder should be")
    items = collect_inputs([tmp_path / "in"], out)
    result = Cropper(options("16:9", "1:1"), out, model).process(items[0])
    assert [r["status"] for r in result.records] == ["error", "error"]
    assert all(r["error"].startswith(f"cannot write {out / 'sub'}") for r in result.records)
    assert list(out.rglob("*.part")) == []


def test_an_output_too_large_for_its_format_fails_alone_before_encoding(tmp_path, model, monkeypatch):
    """A 60:1 crop of a 20000x300 image is 18000 pixels wide, over WebP's 16383: that output
    fails with the limit named (a dry run says so too), the 1:1 one is written."""
    from smartcrop import images

    src = tmp_path / "in" / "strip.png"
    src.parent.mkdir()
    photo((20000, 300)).save(src)
    out = tmp_path / "out"
    item = collect_inputs([src], out)[0]
    saved = []
    real = images.save_atomic
    monkeypatch.setattr(images, "save_atomic",
                        lambda im, path, *a, **k: saved.append(path) or real(im, path, *a, **k))
    for dry in (True, False):
        opts = options("60:1", "1:1", format="webp", dry_run=dry)
        wide, square = Cropper(opts, out, model).process(item).records
        assert wide["status"] == "error" and wide["box"][2:] == [18000, 300], wide
        assert wide["error"] == (f"cannot write {out / 'strip_60x1.webp'}: WebP images are at most "
                                 f"16383 pixels a side, this one is 18000x300")
        assert square["status"] == "ok", square
    assert saved == [out / "strip_1x1.webp"]  # the wide one was never encoded
    assert sorted(p.name for p in out.iterdir()) == ["strip_1x1.webp"]


def test_an_encoder_error_fails_only_that_output(tmp_path, make_image, model, monkeypatch):
    """Pillow's savers raise ValueError or RuntimeError ("Failed to encode image"): that output
    fails naming its file, the input's other outputs keep their records and files."""
    from smartcrop import images

    make_image("a.png")
    out = tmp_path / "out"
    item = collect_inputs([tmp_path / "in"], out)[0]
    real = images.write_atomic

    def failing(path, write):
        if "16x9" in path.name:
            return real(path, lambda f: (f.write(b"half"), write(f), (_ for _ in ()).throw(
                RuntimeError("Failed to encode image: Invalid argument"))))
        return real(path, write)

    monkeypatch.setattr(images, "write_atomic", failing)
    wide, square = Cropper(options("16:9", "1:1"), out, model).process(item).records
    assert wide["status"] == "error" and wide["output"] is None and wide["box"] is not None
    assert wide["error"] == (f"cannot write {out / 'a_16x9.png'}: "
                             f"RuntimeError: Failed to encode image: Invalid argument")
    assert square["status"] == "ok" and square["image_size"] == [320, 240]
    assert sorted(p.name for p in out.iterdir()) == ["a_1x1.png"]  # no partial file, no .part


def test_unexpected_exceptions_become_error_records(tmp_path, make_image, model, monkeypatch):
    import struct

    from smartcrop import images

    make_image("a.jpg")
    item = collect_inputs([tmp_path / "in"], tmp_path / "out")[0]
    cropper = Cropper(options("16:9"), tmp_path / "out", model)
    for exc in (struct.error("unpack requires a buffer of 4 bytes"), IndexError("list index"),
                ZeroDivisionError("division by zero"), MemoryError(), EOFError(),
                SyntaxError("not a TIFF file"), Image.DecompressionBombError("bomb")):
        def boom(*a, _exc=exc, **k):
            raise _exc

        monkeypatch.setattr(images, "_decode", boom)
        (rec,) = cropper.process(item).records
        assert rec["status"] == "error" and rec["error"] and "\n" not in rec["error"], exc
    monkeypatch.setattr(images, "_decode", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        cropper.process(item)


def test_dry_run_reports_sizes_and_warnings_but_writes_nothing(tmp_path, make_image, model):
    make_image("a.jpg", size=(320, 240))
    out = tmp_path / "out"
    item = collect_inputs([tmp_path / "in"], out)[0]
    opts = options("1:1", sizes=("720x720", "1000x1000"), dry_run=True)
    records = Cropper(opts, out, model).process(item).records
    assert [r["status"] for r in records] == ["ok", "ok", "error"] and records[0]["output"] is None
    assert records[1]["output_size"] == [720, 720] and records[1]["upscale"] == 3.0
    assert "upscaled 3.00x from a 240x240 crop" in records[1]["warning"]
    assert "over the limit" in records[2]["error"]  # a dry run reports what the real run would
    opts = options(sizes=("1000x1000",), dry_run=True, upscale=False)
    records = Cropper(opts, out, model).process(item).records
    assert records[0]["output_size"] == [240, 240] and "--no-upscale" in records[0]["warning"]
    assert not out.exists()


def test_skip_existing_records(tmp_path, make_image, model):
    make_image("a.jpg")
    out = tmp_path / "out"
    item = collect_inputs([tmp_path / "in"], out)[0]
    first = Cropper(options("16:9", "1:1"), out, model).process(item).records
    (out / "a_1x1.jpg").unlink()
    counting = CountingModel(model)
    again = Cropper(options("16:9", "1:1", skip_existing=True), out, counting).process(item).records
    assert [r["status"] for r in again] == ["skipped", "ok"]
    assert again[0]["output"] == first[0]["output"] and again[1]["box"] == first[1]["box"]
    counting.calls = 0
    Cropper(options("16:9", "1:1", skip_existing=True), out, counting).process(item)
    assert counting.calls == 0  # nothing left to do: not even a prediction


def test_animated_input_to_still_format_writes_first_frame(tmp_path, model):
    from conftest import animation

    path = animation(tmp_path / "in" / "anim.gif", n=3)
    out = tmp_path / "out"
    item = collect_inputs([path], out)[0]
    (rec,) = Cropper(options("1:1", format="png"), out, model).process(item).records
    assert rec["status"] == "ok"
    written = Image.open(rec["output"])
    assert getattr(written, "n_frames", 1) == 1 and written.size == (120, 120)
    first = Image.open(path).convert("RGB").crop(_area(rec["box"]))
    assert _diff(written.convert("RGB"), first) < 3


def _area(box):
    left, top, w, h = box
    return left, top, left + w, top + h


def _diff(a: Image.Image, b: Image.Image) -> float:
    import numpy as np

    return float(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)).mean())


def test_debug_overlay_for_extreme_aspect(tmp_path, model):
    """A box narrower than one overlay pixel (10000x10 image, 9:16) still draws."""
    path = tmp_path / "in" / "strip.png"
    path.parent.mkdir()
    photo((10000, 10)).save(path)
    item = collect_inputs([path], tmp_path / "out")[0]
    opts = options("9:16", "16:9", debug=tmp_path / "debug", save_saliency=tmp_path / "maps")
    records = Cropper(opts, tmp_path / "out", model).process(item).records
    assert [r["status"] for r in records] == ["ok", "ok"], records
    assert Image.open(tmp_path / "maps" / "strip.png").size == (10000, 10)
    assert Image.open(tmp_path / "debug" / "strip.jpg").width == 1024


def test_debug_overlay_marks_the_outputs_that_failed(tmp_path, model, monkeypatch):
    """A 120x90 photo is too small for 1080x1350 (within --max-upscale): its overlay is told so,
    and draws that box apart from the written 16:9 one."""
    import smartcrop.overlay

    seen = {}
    real = smartcrop.overlay.draw_overlay

    def spy(*args, **kw):
        seen.update(boxes=args[3], failed=kw.get("failed"))
        return real(*args, **kw)

    monkeypatch.setattr(smartcrop.overlay, "draw_overlay", spy)
    path = tmp_path / "in" / "small.jpg"
    path.parent.mkdir()
    photo((120, 90)).save(path)
    item = collect_inputs([path], tmp_path / "out")[0]
    opts = options("16:9", sizes=("1080x1350",), debug=tmp_path / "debug")
    records = Cropper(opts, tmp_path / "out", model).process(item).records
    assert [r["status"] for r in records] == ["ok", "error"], records
    assert set(seen["boxes"]) == {"16:9", "1080x1350"} and seen["failed"] == {"1080x1350"}
    assert (tmp_path / "debug" / "small.jpg").is_file()


@pytest.mark.parametrize("orientation", [1, 6])
def test_size_only_outputs_decode_jpeg_reduced_with_the_same_crop(tmp_path, model, monkeypatch,
                                                                 orientation):
    """Shrink-on-load for --size outputs gives the same picture as cropping the full decode."""
    from conftest import exif_jpeg

    from smartcrop import images

    src = exif_jpeg(tmp_path / "in" / "big.jpg", orientation, size=(3200, 2400))
    item = collect_inputs([src], tmp_path / "out")[0]
    sizes = []
    real = images._decode
    monkeypatch.setattr(images, "_decode", lambda *a: sizes.append(real(*a).size) or real(*a))
    rec = Cropper(options(sizes=("200x150",)), tmp_path / "out", model).process(item).records[0]
    upright = (3200, 2400) if orientation == 1 else (2400, 3200)
    assert rec["status"] == "ok" and sizes == [(upright[0] // 2, upright[1] // 2)]  # one, reduced
    out = Image.open(rec["output"])
    assert out.size == (200, 150)
    reference = images.load_full(src, 6 if orientation == 6 else 1).crop(_area(rec["box"])).resize((200, 150))
    assert _diff(out.convert("RGB"), reference.convert("RGB")) < 6


@pytest.mark.parametrize("ext", ["jpg", "png"])
def test_model_input_made_one_way_so_boxes_never_depend_on_flags(tmp_path, model, monkeypatch, ext):
    from smartcrop import images

    src = tmp_path / "in" / f"a.{ext}"
    src.parent.mkdir()
    photo((3200, 2400), centre=(600, 1000)).save(src, **({"quality": 92} if ext == "jpg" else {}))
    item = collect_inputs([src], tmp_path / "out")[0]
    real, calls = images._decode, []
    monkeypatch.setattr(images, "_decode", lambda *a: calls.append(a) or real(*a))
    # Ratios and sizes of the same aspects, written or dry; and how many decodes each takes.
    # JPEG: the model's decode is at 1/2 scale (short side >= 1080), which 800-pixel outputs
    # reuse; full-size crops need their own full decode. PNG: one full decode serves all.
    runs = {
        "ratio": (options("1:1", "9:16"), 2 if ext == "jpg" else 1),
        "size": (options(sizes=("800x800", "450x800")), 1),
        "dry ratio": (options("1:1", "9:16", dry_run=True), 1),
        "dry size": (options(sizes=("800x800", "450x800"), dry_run=True), 1),
    }
    boxes = {}
    for name, (opts, decodes) in runs.items():
        calls.clear()
        got = Cropper(opts, tmp_path / name, model).process(item)
        assert [r["status"] for r in got.records] == ["ok", "ok"], got.records
        boxes[name] = [r["box"] for r in got.records]
        assert len(calls) == decodes, name
    assert len({str(b) for b in boxes.values()}) == 1, boxes
    # The boxes are the ones the model's decode gives.
    monkeypatch.setattr(images, "_decode", real)
    info = images.read_info(src, 10**9)
    decoded = images.decode_for_model(src, info)
    assert decoded.size == ((1600, 1200) if ext == "jpg" else (3200, 2400))
    small = images.shrink_for_model(decoded, model.input_size(*decoded.size))
    work = work_map(model.predict(small), 3200, 2400)
    # The disc is face-like enough for the detector; it sees the same small image.
    faces = np.array([[f.left, f.top, f.width, f.height]
                      for f in FaceDetector().detect(small, (3200, 2400))]).reshape(-1, 4)
    for box, aspect in zip(boxes["ratio"], (1, 9 / 16), strict=True):
        assert box == cropping.find_box(work, (3200, 2400), aspect, "window", faces=faces).as_list()
    assert Image.open(tmp_path / "size" / f"a_800x800.{ext}").size == (800, 800)


def test_rerun_onto_existing_outputs_skips_the_full_decode(tmp_path, model, monkeypatch):
    from smartcrop import images

    src = tmp_path / "in" / "a.jpg"
    src.parent.mkdir()
    photo((1600, 1200)).save(src, quality=92)
    item = collect_inputs([src], tmp_path / "out")[0]
    cropper = Cropper(options("16:9", "1:1"), tmp_path / "out", model)
    assert [r["status"] for r in cropper.process(item).records] == ["ok", "ok"]
    real, sizes = images._decode, []
    monkeypatch.setattr(images, "_decode", lambda *a: sizes.append(real(*a).size) or real(*a))
    again = cropper.process(item).records
    assert [r["status"] for r in again] == ["error", "error"] and "exists" in again[0]["error"]
    assert sizes == []  # nothing can be written: no decode, no model
    assert all(r["box"] is None for r in again)


def test_the_box_strategy_searches_the_quarters_for_small_faces(tmp_path, model):
    """The box zooms in, where faces too small for the whole-photo pass are large: it also
    searches the quarters (as --thorough does), and its crops cut none of the faces found."""
    from test_faces import _group

    from smartcrop.pipeline import load_detector

    assert not load_detector(options("1:1")).tiles
    assert load_detector(options("1:1", strategy="box")).tiles
    assert load_detector(options("1:1", thorough=True)).tiles
    assert load_detector(options("1:1", strategy="box", faces=False)) is None
    src = tmp_path / "in" / "group.png"
    src.parent.mkdir()
    _group(360, (1600, 1200))[0].save(src)  # six faces of about 4.7% of the long side
    item = collect_inputs([src], tmp_path / "out")[0]
    window = Cropper(options("1:1"), tmp_path / "w", model).process(item).records
    box = Cropper(options("1:1", "9:16", strategy="box"), tmp_path / "b", model).process(item).records
    assert window[0]["faces"] == []  # the whole-photo pass misses them
    assert all(len(r["faces"]) >= 5 and r["face_cut"] == 0 for r in box), box
