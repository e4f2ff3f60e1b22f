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
    medium = draw_overlay(photo((600, 400)), _uniform(), (600, 400), {})
    assert medium.size == (600, 400)  # between 512 and 1024: as it is


def test_small_photos_are_enlarged_by_a_whole_factor():
    """A thumbnail's view is enlarged (pixels repeated, not blurred) so its boxes can be read."""
    from smartcrop.overlay import VIEW_MIN

    assert draw_overlay(photo((300, 200)), _uniform(), (300, 200), {}).size == (600, 400)
    tiny = photo((14, 25))
    out = np.asarray(draw_overlay(tiny, np.zeros((6, 8)), (14, 25), {}))
    assert out.shape[:2] == (25 * 21, 14 * 21) and max(out.shape[:2]) >= VIEW_MIN
    block = out[21:42, 21:42].reshape(-1, 3)  # one source pixel: 21 x 21 identical view pixels
    assert (block == block[0]).all()


def test_boxes_drawn_and_identical_ones_merged():
    box = Box(50, 20, 100, 100)
    out = np.asarray(draw_overlay(photo((300, 200)), _uniform(), (300, 200),
                                  {"1:1": box, "100x100": box, "16:9": Box(0, 0, 300, 169)}))
    first, second = COLOURS[0], COLOURS[1]
    assert (out == first).all(axis=-1).sum() > 100  # the shared box, one colour
    assert (out == second).all(axis=-1).sum() > 100  # the next box, the next colour
    assert not (out == COLOURS[2]).all(axis=-1).any()  # no third rectangle


def test_failed_boxes_are_dashed_and_labelled_failed():
    """A failed output's box (too small for its --size, say) does not look like a written one:
    dashed, and its label says failed (a wider label); a box shared with a written output stays
    solid."""
    box = Box(50, 20, 100, 100)
    solid = np.asarray(draw_overlay(photo((300, 200)), _uniform(), (300, 200), {"1080x1080": box}))
    dashed = np.asarray(draw_overlay(photo((300, 200)), _uniform(), (300, 200), {"1080x1080": box},
                                     failed={"1080x1080"}))
    # The right edge (view x = 2 * 150 - 1, away from the label): continuous, or in dashes.
    edge = slice(2 * 20 + 40, 2 * 120 - 10), slice(2 * 150 - 3, 2 * 150)
    colour = np.array(COLOURS[0])

    def share(a):
        return (np.abs(a[edge].astype(int) - colour).max(axis=-1) <= 2).any(axis=1).mean()

    assert share(solid) == 1.0 and 0.3 < share(dashed) < 0.7
    top = slice(2 * 20 + 4, 2 * 20 + 30), slice(2 * 50 + 4, 2 * 150 - 4)  # the label, inside the box
    labelled = [(np.abs(a[top].astype(int) - colour).max(axis=-1) <= 2).any(axis=0).sum()
                for a in (solid, dashed)]
    assert labelled[1] > labelled[0] + 20  # "1080x1080 failed" is longer than "1080x1080"
    shared = np.asarray(draw_overlay(photo((300, 200)), _uniform(), (300, 200),
                                     {"1:1": box, "1080x1080": box}, failed={"1080x1080"}))
    assert share(shared) == 1.0


@pytest.mark.parametrize(("image_size", "box"), [
    ((10000, 10), Box(4000, 0, 6, 10)),  # narrower than one view pixel
    ((10, 10000), Box(0, 5000, 10, 5)),
    ((1, 1), Box(0, 0, 1, 1)),
])
def test_boxes_smaller_than_a_view_pixel(image_size, box):
    view = photo((min(image_size[0], 1024), max(1, min(image_size[1], 1024))))
    out = draw_overlay(view, _uniform(1, 40), image_size, {"9:16": box})
    assert out.mode == "RGB"


def test_labels_never_overlap_and_stay_inside_the_view():
    from smartcrop.overlay import _label_spot

    placed = []
    view = (400, 300)
    # Four boxes sharing the top-left corner (as 16:9, 1:1, 9:16 and 1080x1350 often do), and
    # one at the right edge whose label would be cut off if placed at its left edge.
    for rect in [(0, 0, 399, 224), (0, 0, 299, 299), (0, 0, 168, 299), (0, 0, 239, 299),
                 (390, 0, 399, 299)]:
        x, y = _label_spot(rect, (80, 16), 2, view, placed)
        assert 0 <= x and x + 80 <= view[0] and 0 <= y and y + 16 <= view[1]
        for px0, py0, px1, py1 in placed:
            assert not (x < px1 and px0 < x + 80 and y < py1 and py0 < y + 16)
        placed.append((x, y, x + 80, y + 16))


def test_every_label_is_drawn_on_a_tiny_view():
    boxes = {"16:9": Box(0, 0, 120, 68), "1:1": Box(0, 0, 90, 90), "1080x1350": Box(0, 0, 72, 90)}
    out = np.asarray(draw_overlay(photo((120, 90)), _uniform(), (120, 90), boxes))
    for colour in COLOURS[:3]:  # each label's outline in its box's colour
        assert (out == colour).all(axis=-1).sum() > 10


def test_overlay_outlines_faces_dashed_in_red():
    from smartcrop.faces import Face
    from smartcrop.overlay import FACE_COLOUR

    blank = draw_overlay(photo((800, 600)), _uniform(), (1600, 1200), {})
    out = np.asarray(draw_overlay(photo((800, 600)), _uniform(), (1600, 1200), {},
                                  [Face(400.0, 200.0, 400.0, 400.0, 0.9)])).astype(int)
    changed = np.abs(out - np.asarray(blank).astype(int)).sum(axis=2) > 0
    ys, xs = np.nonzero(changed)
    assert (xs.min(), ys.min(), xs.max(), ys.max()) == pytest.approx((200, 100, 400, 300), abs=2)
    top = out[100, 200:400]  # the top edge: dashes of the face colour with gaps between
    is_red = (np.abs(top - FACE_COLOUR).sum(axis=1) < 30)
    assert 0.3 < is_red.mean() < 0.7


def test_overlay_outlines_unsure_faces_in_yellow():
    from smartcrop.faces import Face
    from smartcrop.overlay import UNSURE_COLOUR

    out = np.asarray(draw_overlay(photo((800, 600)), _uniform(), (1600, 1200), {}, [],
                                  [Face(400.0, 200.0, 400.0, 400.0, 0.3)])).astype(int)
    top = out[100, 200:400]  # the top edge, one pixel thick: yellow dashes
    is_yellow = (np.abs(top - UNSURE_COLOUR).sum(axis=1) < 30)
    assert 0.3 < is_yellow.mean() < 0.7
