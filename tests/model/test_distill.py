"""Distillation targets: teacher maps on the training canvases, and their blend with the densities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from smartcrop.canvas import CANVAS_HEIGHT, CANVAS_WIDTH, MAP_STRIDE, place, to_canvas
from smartcrop.fixations import FixationRecord
from smartcrop.model.distill import blend, image_regions, teacher_maps
from smartcrop.saliency import SaliencyModel

DATA = Path(__file__).resolve().parents[1] / "data"
WEIGHTS = Path(__file__).resolve().parents[2] / "weights"
ROWS, COLS = CANVAS_HEIGHT // MAP_STRIDE, CANVAS_WIDTH // MAP_STRIDE


def _record(width: int, height: int) -> FixationRecord:
    return FixationRecord("d", f"{width}x{height}", Path("unused"), width, height, np.zeros((0, 2)))


@pytest.fixture(scope="module")
def photos():
    """The astronaut as it is (square: letterboxed left and right) and cut to a wide strip."""
    with Image.open(DATA / "astronaut.png") as im:
        square = im.convert("RGB")
    wide = square.crop((0, 128, 512, 320))
    return [square, wide]


def test_teacher_maps_are_the_models_maps_over_each_image(photos, training_canvas_teacher):
    records = [_record(*im.size) for im in photos]
    canvases = np.stack([to_canvas(im) for im in photos])
    teacher = training_canvas_teacher  # the shipped weights on the training canvas
    maps = teacher_maps(canvases, image_regions(records), [teacher])
    assert maps.shape == (2, ROWS, COLS) and maps.dtype == np.float32
    # The raw map without the centre mix is what SaliencyModel predicts with the mix off.
    model = SaliencyModel(teacher, centre_mix=0.0)
    for im, record, m in zip(photos, records, maps, strict=True):
        rows, cols = place(record.width, record.height).map_slice()
        assert m[rows, cols].sum() == pytest.approx(1.0, abs=1e-5)
        outside = np.ones_like(m, bool)
        outside[rows, cols] = False
        assert outside.any() and np.all(m[outside] == 0)
        np.testing.assert_allclose(m[rows, cols], model.predict(im), atol=1e-6)


def test_two_teachers_give_their_mean(photos, training_canvas_teacher):
    records = [_record(*im.size) for im in photos]
    canvases = np.stack([to_canvas(im) for im in photos])
    teacher = training_canvas_teacher
    one = teacher_maps(canvases, image_regions(records), [teacher])
    two = teacher_maps(canvases, image_regions(records), [teacher, teacher.parent])
    np.testing.assert_allclose(two, one, atol=1e-7)


def test_teacher_with_another_canvas_is_refused():
    canvases = np.full((1, 96, 128, 3), 128, np.uint8)
    with pytest.raises(ValueError, match="not the training canvas .*: export the teacher with "
                                         "--canvas 128x96"):
        teacher_maps(canvases, image_regions([_record(128, 96)]), [WEIGHTS])


def test_blend_mixes_densities_and_keeps_counts():
    rng = np.random.default_rng(0)
    targets = rng.random((3, 4, 5, 2)).astype(np.float32)
    targets[..., 0] /= targets[..., 0].sum(axis=(1, 2), keepdims=True)
    maps = rng.random((3, 4, 5)).astype(np.float32)
    maps /= maps.sum(axis=(1, 2), keepdims=True)
    before = targets.copy()
    out = blend(targets, maps, 0.25)
    np.testing.assert_array_equal(targets, before)  # the input is left as it was
    np.testing.assert_allclose(out[..., 0], 0.75 * targets[..., 0] + 0.25 * maps, rtol=1e-6)
    np.testing.assert_allclose(out[..., 0].sum(axis=(1, 2)), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(out[..., 1], targets[..., 1])
    np.testing.assert_array_equal(blend(targets, maps, 0.0), targets)
    np.testing.assert_allclose(blend(targets, maps, 1.0)[..., 0], maps)


@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_blend_refuses_weights_outside_0_1(weight):
    targets = np.zeros((1, 2, 2, 2), np.float32)
    with pytest.raises(ValueError, match="within 0..1"):
        blend(targets, np.zeros((1, 2, 2), np.float32), weight)


def test_blend_refuses_maps_of_another_shape():
    with pytest.raises(ValueError, match="do not match"):
        blend(np.zeros((1, 2, 2, 2), np.float32), np.zeros((1, 3, 2), np.float32), 0.5)
