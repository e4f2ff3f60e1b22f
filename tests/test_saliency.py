"""smartcrop.saliency: finding and verifying the weights, predicting maps, map helpers."""

from __future__ import annotations

import json
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, install_paths, photo
from PIL import Image

from smartcrop import saliency
from smartcrop.cropping import best_window
from smartcrop.saliency import (
    SHARED_WEIGHTS,
    WORK_MAP_SIDE,
    SaliencyModel,
    _Batcher,
    centre_prior,
    centre_weight,
    concentration,
    default_weights_dir,
    mix_centre,
    resolve_weights,
    to_png_array,
    upsample,
    work_map,
)


@pytest.fixture
def weights_copy(tmp_path):
    """The shipped models (the --thorough ensemble's too) and manifests, copied where a test
    may damage them."""
    for path in (ROOT / "weights").glob("saliency*"):
        if path.suffix in (".tflite", ".json"):
            shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_default_weights_verified():
    path, manifest = resolve_weights()
    assert path == default_weights_dir() / "saliency.tflite" and path.is_file()
    assert manifest["files"]["saliency.tflite"]["sha256"]


def test_folder_or_file_accepted(weights_copy):
    assert resolve_weights(weights_copy)[0] == weights_copy / "saliency.tflite"
    assert resolve_weights(weights_copy / "saliency.tflite")[0] == weights_copy / "saliency.tflite"


def test_missing_model_names_the_path(tmp_path):
    with pytest.raises(ValueError, match=f"not found at {tmp_path / 'saliency.tflite'}"):
        resolve_weights(tmp_path)
    with pytest.raises(ValueError, match="other.tflite"):
        resolve_weights(tmp_path / "other.tflite")


def fake_install(monkeypatch, tmp_path, site_dir: Path, weights: Path | None) -> None:
    """Pretend smartcrop is installed in `site_dir` with stand-in models in `weights`, and that
    sys.prefix and the user base hold none."""
    (site_dir / "smartcrop").mkdir(parents=True, exist_ok=True)
    if weights is not None:
        weights.mkdir(parents=True, exist_ok=True)
        for name in ("saliency", "faces"):
            (weights / f"{name}.tflite").write_bytes(b"stand-in")
    monkeypatch.setattr(saliency, "PACKAGE_DIR", site_dir / "smartcrop")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "sys-prefix"))
    monkeypatch.setattr(saliency.site, "getuserbase", lambda: str(tmp_path / "user-base"))


@pytest.mark.parametrize("kind", ["prefix", "user"])
def test_installed_weights_found_beside_the_package_s_own_site_packages(tmp_path, monkeypatch, kind):
    # pip install --prefix P or --user puts the data files under P or the user base, not under
    # sys.prefix: the package's own site-packages tell which. Both models use the same search.
    paths = install_paths(kind, tmp_path / "base")
    weights = Path(paths["data"]) / SHARED_WEIGHTS
    fake_install(monkeypatch, tmp_path, Path(paths["purelib"]), weights)
    assert default_weights_dir() == weights and default_weights_dir("faces") == weights
    assert resolve_weights(None, "faces") == (weights / "faces.tflite", None)


def test_weights_found_for_pip_target_and_the_fallbacks(tmp_path, monkeypatch):
    target = tmp_path / "target"  # pip install --target T: data files go to T/share/...
    fake_install(monkeypatch, tmp_path, target, target / SHARED_WEIGHTS)
    assert default_weights_dir("faces") == target / SHARED_WEIGHTS
    for fallback in ("sys-prefix", "user-base"):
        elsewhere = tmp_path / fallback / "pkgs"
        weights = tmp_path / fallback / SHARED_WEIGHTS
        fake_install(monkeypatch, tmp_path, elsewhere, weights)
        assert default_weights_dir() == weights
        shutil.rmtree(weights)


def test_the_checkout_s_weights_come_first(tmp_path, monkeypatch):
    paths = install_paths("prefix", tmp_path / "base")
    lib = Path(paths["purelib"])
    fake_install(monkeypatch, tmp_path, lib, Path(paths["data"]) / SHARED_WEIGHTS)
    fake_install(monkeypatch, tmp_path, lib, lib / "weights")
    assert default_weights_dir() == lib / "weights"


def test_missing_shipped_weights_list_every_folder_looked_in(tmp_path, monkeypatch):
    paths = install_paths("prefix", tmp_path / "base")
    fake_install(monkeypatch, tmp_path, Path(paths["purelib"]), None)
    with pytest.raises(ValueError, match=r"^saliency model \(saliency.tflite\) not found in any of: ") as e:
        resolve_weights()
    message = str(e.value)
    assert "\n" not in message and message.endswith("(give --weights PATH)")
    for folder in (Path(paths["purelib"]) / "weights", Path(paths["data"]) / SHARED_WEIGHTS,
                   tmp_path / "sys-prefix" / SHARED_WEIGHTS, tmp_path / "user-base" / SHARED_WEIGHTS):
        assert str(folder) in message
    with pytest.raises(ValueError, match=r"faces model .* not found in any of: .*--no-faces\)$"):
        resolve_weights(None, "faces")


def test_damaged_model_fails_its_hash(weights_copy):
    model = weights_copy / "saliency.tflite"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match its manifest"):
        resolve_weights(weights_copy)
    with pytest.raises(ValueError, match="does not match its manifest"):
        SaliencyModel(weights_copy)


def test_a_model_of_another_kind_is_refused_naming_the_path():
    faces = ROOT / "weights" / "faces.tflite"  # a valid LiteRT model, but a face detector
    with pytest.raises(ValueError) as e:
        SaliencyModel(faces)
    assert str(e.value) == f"{faces} is not a saliency model: it has 2 outputs, not one map"


def test_a_file_that_is_no_model_is_refused_naming_the_path(tmp_path):
    bogus = tmp_path / "saliency.tflite"
    bogus.write_bytes(b"not a model " * 50)
    with pytest.raises(ValueError) as e:
        SaliencyModel(tmp_path)
    assert str(e.value).startswith(f"{bogus}: cannot load the model (") and "\n" not in str(e.value)


class _Details:
    """An interpreter as `SaliencyModel._check` sees it: only its tensors' details."""

    def __init__(self, inputs, outputs):
        self.inputs = [{"shape": np.array(s), "shape_signature": np.array(s), "dtype": d} for s, d in inputs]
        self.outputs = [{"shape": np.array(s), "dtype": d} for s, d in outputs]

    def get_input_details(self):
        return self.inputs

    def get_output_details(self):
        return self.outputs


CANVAS, MAP = ((1, 256, 336, 3), np.float32), ((1, 32, 42, 1), np.float32)  # the shipped model's


@pytest.mark.parametrize("inputs, outputs, found", [
    ([CANVAS], [((1, 32, 42, 2), np.float32)], "its output is float32 (1, 32, 42, 2)"),
    ([CANVAS], [((1, 2304, 16), np.float32)], "its output is float32 (1, 2304, 16)"),
    ([CANVAS], [((1, 32, 42, 1), np.int8)], "its output is int8 (1, 32, 42, 1)"),
    ([((1, 256, 336, 3), np.int8)], [MAP], "its input is int8 (1, 256, 336, 3)"),
    ([((1, 256, 336), np.float32)], [MAP], "its input is float32 (1, 256, 336)"),
    ([CANVAS, CANVAS], [MAP], "it has 2 inputs, not one image"),
    ([CANVAS], [MAP, MAP], "it has 2 outputs, not one map"),
])
def test_tensors_unlike_a_saliency_model_are_refused(model, inputs, outputs, found):
    with pytest.raises(ValueError) as e:
        model._check(_Details(inputs, outputs), "m.tflite")
    assert str(e.value).startswith(f"m.tflite is not a saliency model: {found}")


def test_tensors_of_a_saliency_model_give_its_canvas(model):
    assert model._check(_Details([CANVAS], [MAP]), "m.tflite") == (336, 256)


def test_model_without_manifest_is_accepted(weights_copy):
    (weights_copy / "saliency.json").unlink()
    assert resolve_weights(weights_copy) == (weights_copy / "saliency.tflite", None)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"files": 3}'])
def test_malformed_manifest_is_a_value_error(weights_copy, text):
    (weights_copy / "saliency.json").write_text(text)
    with pytest.raises(ValueError, match="saliency.json"):
        resolve_weights(weights_copy)


def test_manifest_not_listing_the_model_skips_the_check(weights_copy):
    (weights_copy / "saliency.json").write_text(json.dumps({"files": {}}))
    assert resolve_weights(weights_copy)[1] == {"files": {}}


def test_not_a_model_is_a_value_error(tmp_path):
    (tmp_path / "saliency.tflite").write_bytes(b"garbage" * 100)
    with pytest.raises(ValueError):
        SaliencyModel(tmp_path)


@pytest.mark.parametrize("size", [(320, 240), (640, 200), (100, 900), (1, 1), (3000, 7)])
def test_predict_is_a_distribution_over_the_image(model, size):
    m = model.predict(photo(size))
    assert m.ndim == 2 and m.min() >= 0 and abs(m.sum() - 1) < 1e-6
    # The map keeps roughly the image's aspect (whole cells of 8 canvas pixels).
    if min(size) >= 100:
        assert abs(m.shape[1] / m.shape[0] - size[0] / size[1]) < 0.2 * size[0] / size[1]


def test_predict_threads_share_the_model(model):
    ims = [photo((320, 240), centre=(60 + 40 * i, 120), seed=i) for i in range(4)]
    expected = [model.predict(im) for im in ims]
    got = [None] * 4

    def work(i):
        got[i] = model.predict(ims[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-9)


def _in_threads(fn, args) -> list:
    got = [None] * len(args)

    def work(i):
        try:
            got[i] = fn(args[i])
        except Exception as e:  # noqa: BLE001 - the test inspects it
            got[i] = e

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(args))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads), "a caller hung"
    return got


def test_batcher_gathers_concurrent_calls():
    calls = []

    def run(batch):
        calls.append(len(batch))
        return batch * 2

    batcher = _Batcher(run, size=4, wait=5.0)  # a long wait: only a full batch can run
    got = _in_threads(batcher, [np.full((2,), i, np.float32) for i in range(8)])
    assert calls == [4, 4]
    for i, g in enumerate(got):
        np.testing.assert_array_equal(g, [2 * i, 2 * i])


def test_batcher_runs_a_partial_batch_after_waiting():
    calls = []
    batcher = _Batcher(lambda b: calls.append(len(b)) or b + 1, size=4, wait=0.01)
    assert _in_threads(batcher, [np.zeros(1)] * 3) == [np.ones(1)] * 3
    assert sum(calls) == 3 and max(calls) <= 3  # nobody waited forever for a fourth


def test_batcher_failure_reaches_every_caller():
    def run(batch):
        raise RuntimeError("model failed")

    got = _in_threads(_Batcher(run, size=2, wait=5.0), [np.zeros(1)] * 2)
    assert all(isinstance(g, RuntimeError) for g in got)


def test_batched_model_gives_each_image_its_own_map(model):
    batched = SaliencyModel(threads=2, workers=1, batch_size=3)
    ims = [photo((320, 240), centre=(60 + 40 * i, 120), seed=i) for i in range(3)]
    expected = [model.predict(im) for im in ims]
    got = _in_threads(batched.predict, ims)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-7)


def test_upsample_and_png_view():
    m = np.random.default_rng(0).random((6, 8))
    m /= m.sum()
    up = upsample(m, 40, 30)
    assert up.shape == (30, 40) and abs(up.sum() - 1) < 1e-6
    png = to_png_array(up)
    assert png.dtype == np.uint8 and png.max() == 255
    assert to_png_array(np.zeros((3, 3))).max() == 0


def test_work_map_long_side():
    m = np.full((30, 40), 1 / 1200)
    assert work_map(m, 4000, 3000).shape == (WORK_MAP_SIDE * 3 // 4, WORK_MAP_SIDE)
    assert work_map(m, 100, 50).shape == (50, 100)
    assert work_map(m, 10000, 10).shape == (1, WORK_MAP_SIDE)


@pytest.mark.parametrize("where", ["left", "right"])
def test_shipped_model_finds_a_salient_object_near_the_edge(model, where):
    """A bright red face-like disc on a plain blurred background, near one edge of a landscape photo:
    the 9:16 window must contain it."""
    w, h = 960, 540
    cx = 0.12 * w if where == "left" else 0.88 * w
    im = photo((w, h), centre=(cx, 0.5 * h))
    r = 0.18 * h
    box = best_window(work_map(model.predict(im), w, h), (w, h), 9 / 16)
    assert box.left <= cx - r and cx + r <= box.left + box.width, (box, cx, r)


def test_saliency_peak_on_the_object(model):
    im = photo((640, 360), centre=(480, 120))
    m = upsample(model.predict(im), 640, 360)
    y, x = np.unravel_index(np.argmax(m), m.shape)
    assert abs(x - 480) < 120 and abs(y - 120) < 120, (x, y)


def test_png_array_is_8_bit_image():
    m = np.outer(np.hanning(10), np.hanning(12))
    im = Image.fromarray(to_png_array(m))
    assert im.mode == "L" and im.size == (12, 10)


@pytest.mark.parametrize("size", [(320, 240), (200, 300)])
def test_flip_averaging_is_mirror_symmetric(size):
    """With flip averaging, a mirrored photo gets exactly the mirrored map (also letterboxed)."""
    flipped = SaliencyModel(threads=1, flip=True)
    im = photo(size, centre=(0.3 * size[0], 0.4 * size[1]))
    a = flipped.predict(im)
    b = flipped.predict(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    assert abs(a.sum() - 1) < 1e-6
    np.testing.assert_allclose(b, a[:, ::-1], rtol=1e-4, atol=1e-7)


def test_flip_averaging_is_the_mean_of_the_two_maps(model):
    im = photo((320, 240), centre=(90, 100))
    mirror = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    expected = (model.predict(im) + model.predict(mirror)[:, ::-1]) / 2
    got = SaliencyModel(threads=1, flip=True).predict(im)
    np.testing.assert_allclose(got, expected / expected.sum(), rtol=1e-4, atol=1e-7)
    plain = model.predict(im)
    assert np.abs(got - plain).max() > 1e-4  # the model is not symmetric itself: flip changes the map


def test_flip_averaging_through_the_batcher_matches_one_call():
    ims = [photo((320, 240), centre=(60 + 80 * i, 120), seed=i) for i in range(2)]
    alone = SaliencyModel(threads=1, flip=True)
    batched = SaliencyModel(threads=1, batch_size=4, flip=True)
    for e, g in zip([alone.predict(im) for im in ims], _in_threads(batched.predict, ims), strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-7)


def test_mix_centre():
    m = np.zeros((6, 8))
    m[0, 0] = 1.0
    assert mix_centre(m, 0.0) is m
    mixed = mix_centre(m, 0.25)
    assert mixed.sum() == pytest.approx(1.0) and mixed[0, 0] > 0.75
    np.testing.assert_allclose(mix_centre(m, 1.0), centre_prior(8, 6))


def test_concentration_tells_a_flat_map_from_a_peaked_one():
    flat = np.full((10, 20), 1 / 200)
    peak = np.zeros((10, 20))
    peak[3, 4] = 1.0
    assert concentration(flat) == pytest.approx(0.1)
    assert concentration(peak) == pytest.approx(1.0)


def test_centre_weight_fades_out_for_confident_maps():
    flat = np.full((10, 20), 1 / 200)
    peak = np.zeros((10, 20))
    peak[3, 4] = 1.0
    assert centre_weight(flat, 0.4) == centre_weight(peak, 0.4) == 0.4  # no fade: constant
    assert centre_weight(flat, 0.4, (0.4, 0.7)) == pytest.approx(0.4)  # unsure map: full weight
    assert centre_weight(peak, 0.4, (0.4, 0.7)) == 0  # one clear subject: trusted as it is
    half = np.zeros((10, 20))  # concentration 0.55: halfway between lo and hi
    half[0, :20] = 0.55 / 20
    half[1:, :] = 0.45 / 180
    assert concentration(half) == pytest.approx(0.55)
    assert centre_weight(half, 0.4, (0.4, 0.7)) == pytest.approx(0.2)
    np.testing.assert_array_equal(mix_centre(peak, 0.4, (0.4, 0.7)), peak)
    mixed = mix_centre(flat, 0.4, (0.4, 0.7))
    np.testing.assert_allclose(mixed, 0.6 * flat + 0.4 * centre_prior(20, 10))


def test_manifest_centre_fade_is_applied(weights_copy):
    """centre_fade in the manifest fades the mix per map; a bad value is refused by name."""
    path = weights_copy / "saliency.json"
    manifest = json.loads(path.read_text())
    manifest.update(centre_mix=0.4, centre_fade=[0.2, 0.95])
    path.write_text(json.dumps(manifest))
    image = photo((320, 240), centre=(60, 50))
    model = SaliencyModel(weights_copy)
    assert model.centre_mix == 0.4 and model.centre_fade == (0.2, 0.95)
    plain = SaliencyModel(weights_copy, centre_mix=0.0).predict(image)
    expected_weight = centre_weight(plain, 0.4, (0.2, 0.95))
    assert 0 < expected_weight < 0.4
    np.testing.assert_allclose(model.predict(image), mix_centre(plain, 0.4, (0.2, 0.95)))
    for bad in ([0.7, 0.4], [0.5], "high"):
        manifest["centre_fade"] = bad
        path.write_text(json.dumps(manifest))
        with pytest.raises(ValueError, match="centre_fade"):
            SaliencyModel(weights_copy)


def test_manifest_centre_mix_is_applied(weights_copy):
    """A manifest's centre_mix mixes every map with the centre prior; an explicit weight wins."""
    manifest = json.loads((weights_copy / "saliency.json").read_text())
    manifest["centre_mix"] = 0.3
    manifest.pop("centre_fade", None)  # a constant mix: the shipped manifest fades it
    (weights_copy / "saliency.json").write_text(json.dumps(manifest))
    image = photo((320, 240), centre=(60, 50))
    plain = SaliencyModel(weights_copy, centre_mix=0.0).predict(image)
    mixed = SaliencyModel(weights_copy).predict(image)
    np.testing.assert_allclose(mixed, 0.7 * plain + 0.3 * centre_prior(plain.shape[1], plain.shape[0]))
    assert SaliencyModel(weights_copy).centre_mix == 0.3
    manifest["centre_mix"] = 1.5
    (weights_copy / "saliency.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="centre_mix"):
        SaliencyModel(weights_copy)


def _raw_on_canvas(path, image, canvas):
    """What a model file answers for `image` placed on `canvas` (w, h): its map over the image."""
    from ai_edge_litert.interpreter import Interpreter

    from smartcrop.canvas import place, to_canvas

    interp = Interpreter(model_path=str(path), num_threads=1)
    interp.allocate_tensors()
    placement = place(*image.size, *canvas)
    interp.set_tensor(interp.get_input_details()[0]["index"],
                      to_canvas(image, placement, *canvas).astype(np.float32)[None])
    interp.invoke()
    rows, cols = placement.map_slice()
    region = np.maximum(interp.get_tensor(interp.get_output_details()[0]["index"])[0, ..., 0], 0)
    region = region[rows, cols].astype(np.float64)
    return region / region.sum()


def test_portrait_photos_fill_the_portrait_canvas(weights_copy):
    """A photo taller than wide goes to saliency_portrait.tflite on the 240x320 canvas (the
    training one turned upright; landscape photos run on a larger 336x256), which it fills (a
    3:4 photo: 40x30 cells), instead of 32x24 letterboxed cells of the landscape one."""
    model = SaliencyModel(weights_copy, centre_mix=0.0)
    assert model.portrait_path == weights_copy / "saliency_portrait.tflite"
    assert model.input_size() == (336, 256) and model.input_size(400, 300) == (336, 256)
    assert model.input_size(300, 400) == (240, 320) and model.input_size(300, 300) == (336, 256)
    tall, wide = photo((300, 400), centre=(150, 120)), photo((400, 300), centre=(200, 120))
    assert model.predict(tall).shape == (40, 30) and model.predict(wide).shape == (32, 42)
    np.testing.assert_allclose(model.predict(tall), _raw_on_canvas(
        weights_copy / "saliency_portrait.tflite", tall, (240, 320)), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(model.predict(wide), _raw_on_canvas(
        weights_copy / "saliency.tflite", wide, (336, 256)), rtol=1e-5, atol=1e-9)


def test_without_a_portrait_model_portrait_photos_are_letterboxed(weights_copy):
    manifest = json.loads((weights_copy / "saliency.json").read_text())
    del manifest["portrait"]
    (weights_copy / "saliency.json").write_text(json.dumps(manifest))
    model = SaliencyModel(weights_copy, centre_mix=0.0)
    tall = photo((300, 400), centre=(150, 120))
    assert model.portrait_path is None and model.input_size(300, 400) == (336, 256)
    assert model.predict(tall).shape == (32, 24)
    np.testing.assert_allclose(model.predict(tall), _raw_on_canvas(
        weights_copy / "saliency.tflite", tall, (336, 256)), rtol=1e-5, atol=1e-9)


def test_missing_or_damaged_portrait_model_is_refused_at_start(weights_copy):
    portrait = weights_copy / "saliency_portrait.tflite"
    data = bytearray(portrait.read_bytes())
    data[len(data) // 2] ^= 0xFF
    portrait.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="saliency_portrait.tflite: sha256 .* does not match"):
        SaliencyModel(weights_copy)
    portrait.unlink()
    with pytest.raises(ValueError, match="saliency_portrait.tflite: portrait model .* is missing"):
        SaliencyModel(weights_copy)


def test_portrait_model_on_the_wrong_canvas_is_refused(weights_copy):
    """A portrait file that is really the landscape model fails on the first portrait photo,
    naming the file and both canvases; landscape photos still work."""
    shutil.copy(weights_copy / "saliency.tflite", weights_copy / "saliency_portrait.tflite")
    manifest = json.loads((weights_copy / "saliency.json").read_text())
    manifest["files"]["saliency_portrait.tflite"] = manifest["files"]["saliency.tflite"]
    (weights_copy / "saliency.json").write_text(json.dumps(manifest))
    model = SaliencyModel(weights_copy)
    assert model.predict(photo((400, 300))).shape == (32, 42)
    with pytest.raises(ValueError, match=r"saliency_portrait.tflite: portrait model canvas 336x256 "
                                         r"is not the 240x320 its manifest gives"):
        model.predict(photo((300, 400)))


@pytest.mark.parametrize("shape", [[-1, 240, 320, 3], [-1, 320, 240], "320x240"])
def test_portrait_canvas_in_the_manifest_must_be_taller_than_wide(weights_copy, shape):
    manifest = json.loads((weights_copy / "saliency.json").read_text())
    manifest["portrait"]["input"]["shape"] = shape
    (weights_copy / "saliency.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"saliency.json: portrait input shape .* is not "
                                         r"\[-1, H, W, 3\] with H > W"):
        SaliencyModel(weights_copy)


def test_a_manifest_without_the_portrait_shape_means_the_main_canvas_turned(weights_copy):
    """Manifests from before 2026-12-07 gave no portrait shape: the portrait file was always the
    main canvas turned upright, which is then what is checked."""
    manifest = json.loads((weights_copy / "saliency.json").read_text())
    del manifest["portrait"]["input"]
    (weights_copy / "saliency.json").write_text(json.dumps(manifest))
    model = SaliencyModel(weights_copy)
    with pytest.raises(ValueError, match=r"portrait model canvas 240x320 is not the 256x336"):
        model.predict(photo((300, 400)))


def test_portrait_interpreters_are_made_on_first_use_and_shared(weights_copy):
    """Threads predicting portrait photos at once get their own interpreters, at most `workers`,
    and the same maps as one thread alone (batched too)."""
    images = [photo((240 + 8 * i, 360), centre=(100, 100 + 20 * i)) for i in range(6)]
    alone = SaliencyModel(weights_copy, workers=1)
    expected = [alone.predict(im) for im in images]
    for kwargs in ({"workers": 3}, {"workers": 1, "batch_size": 3}):
        model = SaliencyModel(weights_copy, threads=1, **kwargs)
        assert model._pools[True]._made == 0  # none until a portrait photo comes
        got = [None] * len(images)

        def run(i, model=model, got=got):
            got[i] = model.predict(images[i])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(images))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert 1 <= model._pools[True]._made <= kwargs["workers"]
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-9)


MEMBER = "saliency_seed1"  # the shipped ensemble's second model (--thorough)


@pytest.mark.parametrize("size", [(320, 240), (200, 300)])
def test_ensemble_map_is_the_mean_of_its_models_maps(size):
    """With `ensemble`, the map is the mean of the shipped model's and its second model's maps
    (landscape and portrait canvases), mixed with the centre prior once, after averaging."""
    im = photo(size, centre=(0.3 * size[0], 0.6 * size[1]))
    ens = SaliencyModel(threads=1, ensemble=True)
    assert [m.path.name for m in ens.members] == [f"{MEMBER}.tflite"]
    a = SaliencyModel(threads=1, centre_mix=0.0).predict(im)
    b = SaliencyModel(default_weights_dir() / f"{MEMBER}.tflite", threads=1, centre_mix=0.0).predict(im)
    assert np.abs(a - b).max() > 1e-4  # two different models
    expected = mix_centre((a + b) / 2, ens.centre_mix, ens.centre_fade)
    np.testing.assert_allclose(ens.predict(im), expected, rtol=1e-5, atol=1e-9)
    assert SaliencyModel(threads=1).members == []  # off unless asked


def test_ensemble_with_flip_and_batching_matches_one_call():
    """Flip averaging applies to every model of the ensemble; batched calls give the same maps."""
    ims = [photo((320, 240), centre=(60 + 80 * i, 120), seed=i) for i in range(2)]
    alone = SaliencyModel(threads=1, flip=True, ensemble=True)
    assert all(m.flip for m in alone.members)
    a = alone.predict(ims[0])
    mirrored = alone.predict(ims[0].transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    np.testing.assert_allclose(mirrored, a[:, ::-1], rtol=1e-4, atol=1e-7)
    batched = SaliencyModel(threads=1, batch_size=4, flip=True, ensemble=True)
    for e, g in zip([alone.predict(im) for im in ims], _in_threads(batched.predict, ims), strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-7)


def test_ensemble_models_are_checked(weights_copy):
    """A missing, damaged or misnamed ensemble model, or one on other canvases, is refused by
    name when the ensemble is asked for; without it the main model alone still loads."""
    path = weights_copy / "saliency.json"
    manifest = json.loads(path.read_text())
    assert manifest["ensemble"] == [MEMBER]
    member = weights_copy / f"{MEMBER}.tflite"
    data = member.read_bytes()
    member.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ValueError, match=f"{MEMBER}.tflite: sha256 .* does not match"):
        SaliencyModel(weights_copy, ensemble=True)
    member.unlink()
    with pytest.raises(ValueError, match=f"{MEMBER}.tflite: ensemble model named in saliency.json "
                                         f"is missing"):
        SaliencyModel(weights_copy, ensemble=True)
    assert SaliencyModel(weights_copy).members == []
    for bad in ("saliency_seed1", ["../saliency_seed1"], [3]):
        manifest["ensemble"] = bad
        path.write_text(json.dumps(manifest))
        with pytest.raises(ValueError, match='"ensemble" must be a list of model names'):
            SaliencyModel(weights_copy, ensemble=True)
    # A second model without a portrait canvas cannot be averaged with one that has it.
    shutil.copy(ROOT / "weights" / f"{MEMBER}.tflite", member)
    member_manifest = json.loads((weights_copy / f"{MEMBER}.json").read_text())
    del member_manifest["portrait"]
    (weights_copy / f"{MEMBER}.json").write_text(json.dumps(member_manifest))
    manifest["ensemble"] = [MEMBER]
    path.write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="ensemble model's canvases differ from saliency.tflite's"):
        SaliencyModel(weights_copy, ensemble=True)


def test_the_install_carries_every_model_the_manifests_name():
    """pyproject installs every .tflite and manifest the runtime loads, the --thorough
    ensemble's too, so an installed smartcrop (not a checkout) finds them all."""
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(pyproject["tool"]["setuptools"]["data-files"]["share/smartcrop/weights"])
    manifest = json.loads((ROOT / "weights" / "saliency.json").read_text())
    needed = {"saliency.json", *(n for n in manifest["files"] if n.endswith(".tflite"))}
    for name in manifest["ensemble"]:
        member = json.loads((ROOT / "weights" / f"{name}.json").read_text())
        needed |= {f"{name}.json", *(n for n in member["files"] if n.endswith(".tflite"))}
    assert len(needed) == 6 and {f"weights/{n}" for n in needed} <= listed
