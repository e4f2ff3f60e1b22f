"""Augmentations keep image and targets aligned (no TensorFlow needed)."""

from __future__ import annotations

import numpy as np
import pytest

from smartcrop.model.augment import colour_jitter, zoom_crop

H, W, F = 48, 64, 8  # canvas and map stride: targets are 6 x 8 cells


def _pair(row: int, col: int) -> tuple[np.ndarray, np.ndarray]:
    """A grey image with one bright cell, and targets with all fixations in that cell."""
    image = np.full((H, W, 3), 128, np.float32)
    image[row * F:(row + 1) * F, col * F:(col + 1) * F] = 255
    target = np.zeros((H // F, W // F, 2), np.float32)
    target[row, col] = [1.0, 5.0]
    return image, target


@pytest.mark.parametrize("seed", range(12))
def test_zoom_crop_keeps_the_fixations_on_the_bright_cell(seed):
    image, target = _pair(3, 5)
    x, y = zoom_crop(image, target, np.random.default_rng(seed), max_zoom=1.4)
    assert x.shape == image.shape and y.shape == target.shape and y.dtype == np.float32
    if x is image:  # the window missed the cell: nothing to learn from, left as it was
        return
    assert y[..., 0].sum() == pytest.approx(1.0) and y[..., 0].min() >= 0
    # the density's peak cell is where the image is brightest
    brightness = x[..., 0].reshape(H // F, F, W // F, F).mean(axis=(1, 3))
    peak = np.unravel_index(np.argmax(y[..., 0]), y.shape[:2])
    assert peak == np.unravel_index(np.argmax(brightness), brightness.shape)
    assert y[..., 1].max() == 5.0 and y[peak][1] == 5.0  # counts move with it


def test_zoom_crop_zooms_in():
    image, target = _pair(2, 3)
    target[..., 0] = 1 / target[..., 0].size  # fixations everywhere: every window is kept
    zoomed = 0
    for seed in range(20):
        x, y = zoom_crop(image, target, np.random.default_rng(seed), max_zoom=1.5)
        zoomed += (x[..., 0] > 200).sum() > F * F  # the bright cell grew
        assert y[..., 0].sum() == pytest.approx(1.0)
    assert zoomed > 10


def test_colour_jitter_is_seeded_and_in_range():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (H, W, 3)).astype(np.float32)
    a = colour_jitter(image, np.random.default_rng(3))
    b = colour_jitter(image, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert a.shape == image.shape and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 255
    assert not np.array_equal(a, image)
    grey = colour_jitter(image, np.random.default_rng(3), grey_chance=1.0)
    np.testing.assert_allclose(grey[..., 0], grey[..., 1], atol=1e-3)  # grayscale
