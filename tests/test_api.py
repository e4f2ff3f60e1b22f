"""The Python API: SmartCropper over the same model and crop search as the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import oriented, photo
from PIL import Image

import smartcrop
from smartcrop import SmartCropper
from smartcrop.cropping import Box, faces_cut


@pytest.fixture(scope="module")
def cropper():
    return SmartCropper(threads=1)


def test_lazy_exports():
    assert smartcrop.SmartCropper is SmartCropper
    assert smartcrop.CropResult.__name__ == "CropResult"
    assert smartcrop.CropOptions.__name__ == "CropOptions"
    with pytest.raises(AttributeError):
        smartcrop.nothing_here  # noqa: B018


def test_crop_boxes_one_result_per_target(cropper):
    im = photo((640, 480), centre=(150, 200))
    results = cropper.crop_boxes(im, ratios=["16:9", "1.91"], sizes=["1080x1350"])
    assert [r.target for r in results] == ["16:9", "1.91:1", "1080x1350"]
    for r, aspect in zip(results, (16 / 9, 1.91, 0.8), strict=True):
        b = r.box
        assert isinstance(b, Box) and b.left >= 0 and b.top >= 0
        assert b.left + b.width <= 640 and b.top + b.height <= 480
        assert abs(b.width / b.height - aspect) < 0.01 and 0 <= r.score <= 1


def test_crop_boxes_accepts_a_single_string(cropper):
    (r,) = cropper.crop_boxes(photo(), ratios="16:9")
    assert r.target == "16:9"
    (r,) = cropper.crop_boxes(photo(), sizes="100x100")
    assert r.target == "100x100"


def test_crop_boxes_needs_a_target_and_valid_text(cropper):
    with pytest.raises(ValueError, match="at least one"):
        cropper.crop_boxes(photo())
    with pytest.raises(ValueError, match="invalid ratio"):
        cropper.crop_boxes(photo(), ratios=["wide"])


def test_crop_boxes_checks_ratios_as_the_cli_does(cropper):
    with pytest.raises(ValueError, match=r"looks like pixels: did you mean sizes=\['1080x1080'\]\?"):
        cropper.crop_boxes(photo(), ratios=["1080x1080"])
    (wide,) = cropper.crop_boxes(photo(), ratios=["1.5"])
    results = cropper.crop_boxes(photo(), ratios=[1.5, 2])
    assert [r.target for r in results] == ["1.5:1", "2:1"] and results[0].box == wide.box
    assert cropper.crop_boxes(photo(), ratios=1.5)[0].target == "1.5:1"
    for bad in ((16, 9), None, True):
        with pytest.raises(TypeError, match=r'^a ratio is a string such as "16:9" or a number'):
            cropper.crop_boxes(photo(), ratios=[bad])


def test_premultiplied_alpha_is_cropped_as_straight_alpha(cropper):
    im = photo().convert("LA")
    assert cropper.crop_boxes(im.convert("La"), ratios="1:1")[0].box == \
        cropper.crop_boxes(im, ratios="1:1")[0].box


def test_threads_must_be_at_least_one():
    with pytest.raises(ValueError, match="^threads must be at least 1$"):
        SmartCropper(threads=0)


def test_anything_but_a_pil_image_is_refused_clearly(cropper):
    array = np.asarray(photo())
    for call in (cropper.crop_boxes, cropper.saliency, cropper.faces):
        kwargs = {"ratios": "1:1"} if call == cropper.crop_boxes else {}
        with pytest.raises(TypeError, match=r"got numpy\.ndarray: use PIL\.Image\.fromarray"):
            call(array, **kwargs)
    with pytest.raises(TypeError, match=r"expected a PIL image, got builtins\.str$"):
        cropper.crop_boxes("photo.jpg", ratios="1:1")
    # the way out the message gives works
    assert cropper.crop_boxes(Image.fromarray(array), ratios="1:1")[0].box == \
        cropper.crop_boxes(photo(), ratios="1:1")[0].box


def test_bad_strategy():
    with pytest.raises(ValueError, match="strategy"):
        SmartCropper(strategy="centre")


def test_weights_of_another_kind_are_a_value_error_naming_them():
    faces = Path(smartcrop.__file__).parent.parent / "weights" / "faces.tflite"
    with pytest.raises(ValueError, match=f"^{faces} is not a saliency model: it has 2 outputs, not one map$"):
        SmartCropper(weights=faces, faces=False)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "CMYK", "I;16", "1"])
def test_saliency_shape_and_sum(cropper, mode):
    im = photo((200, 150)).convert(mode) if mode != "I;16" else Image.fromarray(
        (np.arange(150 * 200).reshape(150, 200) % 65535).astype(np.uint16))
    m = cropper.saliency(im)
    assert m.shape == (150, 200) and m.min() >= 0 and abs(m.sum() - 1) < 1e-6


def test_saliency_of_exif_rotated_image_is_upright(cropper, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    photo((200, 120)).save(tmp_path / "r.jpg", exif=exif)
    im = Image.open(tmp_path / "r.jpg")
    assert cropper.saliency(im).shape == (200, 120)
    for r in cropper.crop_boxes(im, ratios=["1:1"]):
        assert r.box.left + r.box.width <= 120 and r.box.top + r.box.height <= 200


@pytest.mark.parametrize("name", ["o.tif", "o.jpg"])
def test_oriented_image_is_turned_upright_once(tmp_path, name):
    # Pillow 13 turns a TIFF on load; exif_transpose then finds no tag and must not turn it again.
    upright = photo((96, 64), centre=(20, 20))
    im = SmartCropper._upright(Image.open(oriented(tmp_path / name, 6, upright)))
    assert im.size == (96, 64)
    assert np.abs(np.asarray(im, float) - np.asarray(upright, float)).mean() < 3


def test_box_strategy(tmp_path):
    boxes = SmartCropper(strategy="box", threads=1).crop_boxes(photo((640, 360), centre=(500, 180)),
                                                              ratios=["1:1"])
    b = boxes[0].box
    assert b.width == b.height and b.left + b.width <= 640


def test_same_boxes_as_the_cli(cropper, cli, tmp_path):
    im = photo((500, 300), centre=(400, 100))
    im.save(tmp_path / "p.png")
    r = cli(tmp_path / "p.png", tmp_path / "out", "--ratio", "4:5", "--ratio", "16:9", "--manifest", "-")
    api = cropper.crop_boxes(im, ratios=["4:5", "16:9"])
    assert [rec["box"] for rec in r.records] == [a.box.as_list() for a in api]
    assert [rec["score"] for rec in r.records] == [round(a.score, 4) for a in api]


def test_readme_example_writes_what_its_file_names_say(tmp_path, monkeypatch):
    """The README's first Python example, run as it stands on a generated beach.jpg: each file
    it writes has the size or aspect its name says (beach_1080x1350.jpg was the 480x600 crop)."""
    import re
    import runpy

    from conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", readme[readme.index("## Python API"):], re.S).group(1)
    (tmp_path / "example.py").write_text(code)
    photo((800, 600)).save(tmp_path / "beach.jpg")
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(tmp_path / "example.py"))
    sizes = {p.name: Image.open(p).size for p in tmp_path.glob("beach_*.jpg")}
    assert set(sizes) == {"beach_16x9.jpg", "beach_1x1.jpg", "beach_1080x1350.jpg"}
    assert sizes["beach_1080x1350.jpg"] == (1080, 1350)
    assert sizes["beach_1x1.jpg"][0] == sizes["beach_1x1.jpg"][1]
    w, h = sizes["beach_16x9.jpg"]
    assert abs(w * 9 / 16 - h) <= 1


def test_api_boxes_equal_the_cli_boxes_for_a_png(tmp_path, model, monkeypatch):

    from smartcrop.options import CropOptions, parse_ratio
    from smartcrop.pipeline import Cropper, collect_inputs

    path = tmp_path / "in" / "a.png"
    path.parent.mkdir()
    photo((1200, 800), centre=(300, 300)).save(path)
    cropper = SmartCropper()
    cropper.model = model
    api = [r.box.as_list() for r in cropper.crop_boxes(Image.open(path), ratios=["1:1", "9:16"])]
    options = CropOptions(targets=(parse_ratio("1:1"), parse_ratio("9:16")), dry_run=True)
    item = collect_inputs([path], tmp_path / "out")[0]
    assert [r["box"] for r in Cropper(options, tmp_path / "out", model).process(item).records] == api


def test_faces_and_face_fields(cropper):
    astronaut = Image.open(Path(__file__).parent / "data" / "astronaut.png")
    (face,) = cropper.faces(astronaut)
    assert face.as_list() == pytest.approx([172, 66, 106, 106], abs=2) and face.score > 0.85
    results = cropper.crop_boxes(astronaut, ratios=["16:9"], sizes=["1080x566"])
    for r in results:
        assert r.faces == (face,) and r.face_cut == 0
    off = SmartCropper(threads=1, faces=False)
    assert off.faces(astronaut) == []
    (r,) = off.crop_boxes(astronaut, sizes=["1080x566"])
    assert r.faces == () and r.face_cut == 0  # nothing looked for, nothing counted
    assert faces_cut(r.box, [face.as_list()]) == 1  # though the map alone cuts her face


def test_thorough_cropper_flips_averages_two_models_and_tiles(cropper):
    thorough = SmartCropper(threads=1, thorough=True)
    assert thorough.model.flip and thorough.detector.tiles and len(thorough.model.members) == 1
    astronaut = Image.open(Path(__file__).parent / "data" / "astronaut.png")
    (face,) = thorough.faces(astronaut)  # the one face, not one per pass
    assert face.as_list() == pytest.approx([172, 66, 106, 106], abs=6)
    mirrored = astronaut.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    # flip averaging: a mirrored photo gets the mirrored map
    np.testing.assert_allclose(thorough.saliency(mirrored), thorough.saliency(astronaut)[:, ::-1],
                               atol=1e-7)
