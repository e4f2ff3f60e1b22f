"""smartcrop.overlay: the debug view."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import photo

from smartcrop.cropping import Box
from smartcrop.overlay import COLOURS, VIEW_SIDE, draw_overlay, heat_colours


def test_heat_colours_ramp():
    c = heat_colours(np.array([[-1.0, 0.0, 0.5, 1.0, 2.0]]))
    assert c.shape == (1, 5, 3) and c.dtype == np.uint8
    assert tuple(c[0, 0]) == tuple(c[0, 1]) == (0, 0, 4)
    assert tuple(c[0, 3]) == tuple(c[0, 4]) == (252, 255, 164)


def _uniform(h=6, w=8):
    return np.full((h, w), 1 / (h * w))


def test_overlay_size_and_mode():
    out = draw_overlay(photo((2048, 1024)), _uniform(), (4096, 2048), {"16:9": Box(0, 0, 3641, 2048)})
    assert out.mode == "RGB" and out.size == (VIEW_SIDE, VIEW_SIDE // 2)
    small = draw_overlay(photo((300, 200)), _uniform(), (300, 200), {})
    assert small.size == (300, 200)


def test_boxes_drawn_and_identical_ones_merged():
    box = Box(50, 20, 100, 100)
    out = np.asarray(draw_overlay(photo((300, 200)), _uniform(), (300, 200),
                                  {"1:1": box, "100x100": box, "16:9": Box(0, 0, 300, 169)}))
    first, second = COLOURS[0], COLOURS[1]
    assert (out == first).all(axis=-1).sum() > 100  # the shared box, one colour
    assert (out == second).all(axis=-1).sum() > 100  # the next box, the next colour
    assert not (out == COLOURS[2]).all(axis=-1).any()  # no third rectangle


@pytest.mark.parametrize(("image_size", "box"), [
    ((10000, 10), Box(4000, 0, 6, 10)),  # narrower than one view pixel
    ((10, 10000), Box(0, 5000, 10, 5)),
    ((1, 1), Box(0, 0, 1, 1)),
])
def test_boxes_smaller_than_a_view_pixel(image_size, box):
    view = photo((min(image_size[0], 1024), max(1, min(image_size[1], 1024))))
    out = draw_overlay(view, _uniform(1, 40), image_size, {"9:16": box})
    assert out.mode == "RGB"
