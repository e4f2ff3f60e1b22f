"""Checks of smartcrop.cropping against brute-force searches on small synthetic maps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from smartcrop import cropping, evaluate_faces
from smartcrop.cropping import (
    DEFAULTS,
    Box,
    best_box,
    best_iou_box,
    best_window,
    box_sum,
    coverage,
    find_box,
    grow_box,
    largest_window,
    peak_region,
    place_window,
    salient_mask,
    summed_area_table,
    window_sums,
)

FAST = settings(max_examples=60, deadline=None)

aspects = st.floats(0.2, 5.0, allow_nan=False)
sides = st.integers(1, 12)


def maps(max_side: int = 20, min_side: int = 1):
    shape = st.tuples(st.integers(min_side, max_side), st.integers(min_side, max_side))
    return hnp.arrays(np.float64, shape, elements=st.floats(0, 1, width=32))


def _inside(box: Box, image_w: int, image_h: int) -> bool:
    return (box.left >= 0 and box.top >= 0 and box.width >= 1 and box.height >= 1
            and box.left + box.width <= image_w and box.top + box.height <= image_h)


def _aspect_ok(w: int, h: int, aspect: float) -> bool:
    """The rounded side is within 1 px of the exact one (whichever side was derived)."""
    return abs(w - h * aspect) <= 1 or abs(h - w / aspect) <= 1


def _is_int_box(box: Box) -> bool:
    return all(type(v) is int for v in box.as_list())


def _brute_window_max(saliency: np.ndarray, w: int, h: int) -> float:
    mh, mw = saliency.shape
    return max(float(saliency[y:y + h, x:x + w].sum())
               for y in range(mh - h + 1) for x in range(mw - w + 1))


def _iou(mask: np.ndarray, box: tuple[int, int, int, int]) -> float:
    x, y, w, h = box
    inside = float(mask[y:y + h, x:x + w].sum())
    union = w * h + float(mask.sum()) - inside
    return inside / union


# --- summed-area table ------------------------------------------------------------------------


@FAST
@given(saliency=maps(12), data=st.data())
def test_summed_area_table_and_window_sums_match_brute_force(saliency, data):
    mh, mw = saliency.shape
    sat = summed_area_table(saliency)
    assert sat.shape == (mh + 1, mw + 1)
    assert np.all(sat[0] == 0) and np.all(sat[:, 0] == 0)
    for y in range(mh + 1):
        for x in range(mw + 1):
            assert sat[y, x] == pytest.approx(saliency[:y, :x].sum(), abs=1e-9)

    w = data.draw(st.integers(1, mw), label="w")
    h = data.draw(st.integers(1, mh), label="h")
    sums = window_sums(sat, w, h)
    assert sums.shape == (mh - h + 1, mw - w + 1)
    expected = np.array([[saliency[y:y + h, x:x + w].sum() for x in range(mw - w + 1)]
                         for y in range(mh - h + 1)])
    np.testing.assert_allclose(sums, expected, atol=1e-9)

    left = data.draw(st.integers(0, mw - w), label="left")
    top = data.draw(st.integers(0, mh - h), label="top")
    assert box_sum(sat, left, top, w, h) == pytest.approx(
        saliency[top:top + h, left:left + w].sum(), abs=1e-9)


def test_box_as_list():
    assert Box(1, 2, 3, 4).as_list() == [1, 2, 3, 4]


# --- largest_window ---------------------------------------------------------------------------


@pytest.mark.parametrize("image, aspect, expected", [
    ((1, 1), 1.0, (1, 1)),
    ((1, 1), 0.2, (1, 1)),
    ((1, 1), 5.0, (1, 1)),
    ((10000, 10), 1.0, (10, 10)),
    ((10, 10000), 1.0, (10, 10)),
    ((1920, 1080), 16 / 9, (1920, 1080)),
    ((1080, 1350), 1080 / 1350, (1080, 1350)),
    ((640, 480), 640 / 480, (640, 480)),
    ((1920, 1080), 1.0, (1080, 1080)),
    ((1920, 1080), 9 / 16, (608, 1080)),
    ((1080, 1920), 16 / 9, (1080, 608)),
])
def test_largest_window_cases(image, aspect, expected):
    assert largest_window(*image, aspect) == expected


@pytest.mark.parametrize("aspect", [0.0, -1.0])
def test_largest_window_rejects_non_positive_aspect(aspect):
    with pytest.raises(ValueError):
        largest_window(100, 100, aspect)


@FAST
@given(image_w=st.integers(1, 400), image_h=st.integers(1, 400), aspect=aspects)
def test_largest_window_is_maximal_with_aspect(image_w, image_h, aspect):
    w, h = largest_window(image_w, image_h, aspect)
    assert 1 <= w <= image_w and 1 <= h <= image_h
    assert w == image_w or h == image_h
    assert _aspect_ok(w, h, aspect)


# --- best_window ------------------------------------------------------------------------------


@FAST
@given(saliency=maps(20), aspect=aspects)
def test_best_window_at_map_resolution_covers_brute_force_maximum(saliency, aspect):
    mh, mw = saliency.shape
    box = best_window(saliency, (mw, mh), aspect)
    assert _is_int_box(box)
    assert _inside(box, mw, mh)
    assert (box.width, box.height) == largest_window(mw, mh, aspect)
    assert box.width == mw or box.height == mh
    assert _aspect_ok(box.width, box.height, aspect)
    covered = saliency[box.top:box.top + box.height, box.left:box.left + box.width].sum()
    assert covered == pytest.approx(_brute_window_max(saliency, box.width, box.height),
                                    rel=1e-8, abs=1e-9)


@FAST
@given(saliency=maps(14, 2), data=st.data(), tolerance=st.sampled_from([0.0, 0.01, 0.05, 0.2]))
def test_centre_tolerance_takes_the_position_nearest_the_centre_among_near_best(
        saliency, data, tolerance):
    """Positions within `centre_tolerance` x the map's total of the best compete, and the one
    nearest the centre wins; checked against every position."""
    mh, mw = saliency.shape
    w, h = data.draw(st.integers(1, mw)), data.draw(st.integers(1, mh))
    box = place_window(saliency, (mw, mh), w, h, centre_tolerance=tolerance)
    sums = {(x, y): float(saliency[y:y + h, x:x + w].sum())
            for y in range(mh - h + 1) for x in range(mw - w + 1)}
    best = max(sums.values())
    slack = tolerance * float(saliency.sum()) + 1e-9 * max(best, 1e-12)
    # The same float-noise floor as the search: relative, so a map whose whole mass is 1e-19
    # still has one best position (hypothesis found such a map; an absolute 1e-12 here made
    # every position "near").
    near = [pos for pos, v in sums.items() if v >= best - slack]
    cx, cy = (mw - w) / 2, (mh - h) / 2
    nearest = min((x - cx) ** 2 + (y - cy) ** 2 for x, y in near)
    assert sums[(box.left, box.top)] >= best - slack - 1e-12
    assert (box.left - cx) ** 2 + (box.top - cy) ** 2 == pytest.approx(nearest)


def test_centre_tolerance_moves_a_window_to_the_centre_only_for_a_small_loss():
    """A faint blob off centre over an even map: a tolerance larger than the blob's gain
    centres the window; a smaller one (and 0, the default) keeps it on the blob."""
    saliency = np.full((10, 20), 1.0)
    saliency[:, 17] += 0.5  # the best 10x10 window covers column 17: gain 5 of a total 205
    assert place_window(saliency, (20, 10), 10, 10).left == 8
    assert place_window(saliency, (20, 10), 10, 10, centre_tolerance=0.01).left == 8
    assert place_window(saliency, (20, 10), 10, 10, centre_tolerance=0.03).left == 5


@FAST
@given(saliency=maps(20), factor=st.integers(2, 5), aspect=aspects)
def test_best_window_on_map_smaller_than_image(saliency, factor, aspect):
    mh, mw = saliency.shape
    image_w, image_h = mw * factor, mh * factor
    box = best_window(saliency, (image_w, image_h), aspect)
    assert _is_int_box(box)
    assert _inside(box, image_w, image_h)
    assert box.width == image_w or box.height == image_h
    assert _aspect_ok(box.width, box.height, aspect)


@FAST
@given(saliency=maps(20), image_w=st.integers(1, 300), image_h=st.integers(1, 300), aspect=aspects)
def test_best_window_any_map_resolution_stays_inside(saliency, image_w, image_h, aspect):
    box = best_window(saliency, (image_w, image_h), aspect)
    assert _is_int_box(box)
    assert _inside(box, image_w, image_h)
    assert (box.width, box.height) == largest_window(image_w, image_h, aspect)


@pytest.mark.parametrize("image, map_shape", [
    ((20, 10), (10, 20)), ((21, 11), (11, 21)), ((300, 200), (20, 30)), ((200, 300), (30, 20)),
])
@pytest.mark.parametrize("aspect", [0.2, 9 / 16, 1.0, 1.91, 5.0])
def test_best_window_uniform_map_is_centred(image, map_shape, aspect):
    image_w, image_h = image
    box = best_window(np.ones(map_shape), image, aspect)
    factor = image_w / map_shape[1]
    tol = max(0.5, factor)  # one map cell, or half a pixel at map resolution
    assert abs(box.left - (image_w - box.width) / 2) <= tol
    assert abs(box.top - (image_h - box.height) / 2) <= tol


def test_best_window_zero_map_is_centred():
    box = best_window(np.zeros((9, 16)), (16, 9), 1.0)
    assert box == Box(3, 0, 9, 9)


@pytest.mark.parametrize("image", [(400, 300), (300, 400), (1920, 1080), (101, 99)])
@pytest.mark.parametrize("aspect", [0.5, 9 / 16, 1.0, 4 / 3, 2.0])
def test_best_window_zoom_shrinks_sides(image, aspect):
    saliency = np.random.default_rng(3).random((image[1] // 10, image[0] // 10))
    big_w, big_h = largest_window(*image, aspect)
    box = best_window(saliency, image, aspect, zoom=0.6)
    assert _inside(box, *image)
    assert abs(box.width - 0.6 * big_w) <= 1 and abs(box.height - 0.6 * big_h) <= 1
    assert _aspect_ok(box.width, box.height, aspect)


@FAST
@given(saliency=maps(12), image_w=st.integers(1, 300), image_h=st.integers(1, 300), aspect=aspects,
       zoom=st.floats(0.05, 1.0))
def test_best_window_zoom_properties(saliency, image_w, image_h, aspect, zoom):
    big_w, big_h = largest_window(image_w, image_h, aspect)
    box = best_window(saliency, (image_w, image_h), aspect, zoom=zoom)
    assert _inside(box, image_w, image_h)
    assert box.width <= big_w and box.height <= big_h
    assert _aspect_ok(box.width, box.height, aspect)
    # The short side is the one rounded from the zoom; the long side follows the aspect.
    if aspect >= 1:
        assert abs(box.height - max(1.0, zoom * big_h)) <= 1
    else:
        assert abs(box.width - max(1.0, zoom * big_w)) <= 1


@pytest.mark.parametrize("zoom", [0.0, -0.5, 1.01, 2.0])
def test_best_window_rejects_bad_zoom(zoom):
    with pytest.raises(ValueError):
        best_window(np.ones((4, 4)), (40, 40), 1.0, zoom=zoom)


def test_place_window_finds_spike():
    saliency = np.zeros((10, 10))
    saliency[7, 8] = 1.0
    box = place_window(saliency, (100, 100), 30, 30)
    assert box.left <= 80 < box.left + 30 and box.top <= 70 < box.top + 30


@pytest.mark.parametrize("strategy", ["window", "box"])
@pytest.mark.parametrize("blob_cols", [(2, 7), (57, 62)])
def test_portrait_window_on_landscape_covers_edge_blob(strategy, blob_cols):
    # 640x360 image, 64x36 map (10 px per cell); a blob hugging the left or right edge.
    saliency = np.zeros((36, 64))
    c0, c1 = blob_cols
    saliency[15:21, c0:c1] = 1.0
    box = find_box(saliency, (640, 360), 9 / 16, strategy)
    assert _inside(box, 640, 360)
    assert box.left <= c0 * 10 and box.left + box.width >= c1 * 10
    assert box.top <= 150 and box.top + box.height >= 210
    if strategy == "window":
        assert (box.width, box.height) == largest_window(640, 360, 9 / 16)


# --- salient_mask / best_iou_box --------------------------------------------------------------


@FAST
@given(saliency=maps(10), mass=st.floats(0.05, 1.0))
def test_salient_mask_holds_requested_mass(saliency, mass):
    mask = salient_mask(saliency, mass)
    assert mask.dtype == bool and mask.shape == saliency.shape
    total = saliency.sum()
    assert saliency[mask].sum() >= mass * total - 1e-9
    values = np.unique(saliency[mask])
    # Minimal up to ties: dropping every cell at the threshold value falls short of the mass.
    if total > 0 and values.size and values.size == mask.sum():
        assert saliency[mask].sum() - values[0] < mass * total + 1e-9


def test_salient_mask_of_zero_map_is_everything():
    assert salient_mask(np.zeros((3, 4))).all()


def test_salient_mask_picks_the_bright_cells():
    saliency = np.array([[0.0, 5.0, 0.0], [1.0, 4.0, 0.0]])
    np.testing.assert_array_equal(salient_mask(saliency, 0.5),
                                  [[False, True, False], [False, False, False]])
    np.testing.assert_array_equal(salient_mask(saliency, 0.7),
                                  [[False, True, False], [False, True, False]])


@settings(max_examples=80, deadline=None)
@given(mask=hnp.arrays(bool, st.tuples(st.integers(1, 7), st.integers(1, 7))))
def test_best_iou_box_matches_brute_force(mask):
    h, w = mask.shape
    box = best_iou_box(mask)
    x, y, bw, bh = box
    assert all(type(v) is int for v in box)
    assert 0 <= x and 0 <= y and bw >= 1 and bh >= 1 and x + bw <= w and y + bh <= h
    best = max(_iou(mask, (l0, t0, r - l0, b - t0))
               for t0 in range(h) for b in range(t0 + 1, h + 1)
               for l0 in range(w) for r in range(l0 + 1, w + 1))
    assert _iou(mask, box) == pytest.approx(best, abs=1e-12)


@pytest.mark.parametrize("rect", [(0, 0, 1, 1), (2, 1, 3, 4), (0, 0, 9, 6), (8, 5, 1, 1), (1, 3, 7, 2)])
def test_best_iou_box_recovers_a_rectangle_exactly(rect):
    x, y, w, h = rect
    mask = np.zeros((6, 9), dtype=bool)
    mask[y:y + h, x:x + w] = True
    assert best_iou_box(mask) == rect
    assert _iou(mask, best_iou_box(mask)) == 1.0


def _flood(hot: np.ndarray, y: int, x: int) -> set[tuple[int, int]]:
    """The cells of `hot` connected side by side to (y, x): a plain breadth-first search."""
    seen, todo = {(y, x)}, [(y, x)]
    while todo:
        cy, cx = todo.pop()
        for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
            if 0 <= ny < hot.shape[0] and 0 <= nx < hot.shape[1] and hot[ny, nx] and (ny, nx) not in seen:
                seen.add((ny, nx))
                todo.append((ny, nx))
    return seen


@FAST
@given(saliency=maps(12), level=st.floats(0.0, 1.0))
def test_peak_region_is_the_bounding_box_of_the_blob_holding_the_maximum(saliency, level):
    y, x = np.unravel_index(np.argmax(saliency), saliency.shape)
    blob = _flood(saliency >= level * saliency[y, x], y, x)
    ys, xs = zip(*blob, strict=True)
    assert peak_region(saliency, level) == (min(xs), min(ys), max(xs) + 1, max(ys) + 1)


def test_peak_region_leaves_out_a_separate_blob():
    saliency = np.zeros((6, 10))
    saliency[1:3, 1:3] = 1.0  # the peak
    saliency[2:5, 6:9] = 0.8  # as hot, but not touching it
    assert peak_region(saliency, 0.5) == (1, 1, 3, 3)
    assert peak_region(saliency, 0.9) == (1, 1, 3, 3)


@settings(max_examples=80, deadline=None)
@given(mask=hnp.arrays(bool, st.tuples(st.integers(1, 7), st.integers(1, 7))), data=st.data())
def test_best_iou_box_holding_cells_matches_brute_force(mask, data):
    h, w = mask.shape
    x0 = data.draw(st.integers(0, w - 1))
    y0 = data.draw(st.integers(0, h - 1))
    hold = (x0, y0, data.draw(st.integers(x0 + 1, w)), data.draw(st.integers(y0 + 1, h)))
    x, y, bw, bh = best_iou_box(mask, hold=hold)
    assert x <= hold[0] and y <= hold[1] and x + bw >= hold[2] and y + bh >= hold[3]
    best = max(_iou(mask, (l0, t0, r - l0, b - t0))
               for t0 in range(hold[1] + 1) for b in range(hold[3], h + 1)
               for l0 in range(hold[0] + 1) for r in range(hold[2], w + 1))
    assert _iou(mask, (x, y, bw, bh)) == pytest.approx(best, abs=1e-12)


# --- best_box / grow_box ----------------------------------------------------------------------


@pytest.mark.parametrize("image, map_shape, rect", [
    # rect in map cells (left, top, width, height), aspect 4:3 (20x15 cells, 200x150 px)
    ((480, 360), (36, 48), (24, 4, 20, 15)),
    ((480, 360), (36, 48), (2, 18, 20, 15)),
    # map larger than the box grid (reduced by 2 inside best_box); rect aligned to even cells
    ((480, 360), (72, 96), (48, 8, 40, 30)),
])
def test_best_box_recovers_off_centre_rectangle(image, map_shape, rect):
    x, y, w, h = rect
    saliency = np.zeros(map_shape)
    saliency[y:y + h, x:x + w] = 1.0
    scale = image[0] / map_shape[1]
    rx0, ry0, rx1, ry1 = x * scale, y * scale, (x + w) * scale, (y + h) * scale
    box = best_box(saliency, image, w / h)
    assert _inside(box, *image)
    assert box.left <= rx0 and box.top <= ry0
    assert box.left + box.width >= rx1 and box.top + box.height >= ry1
    assert box.width <= (rx1 - rx0) + 2 and box.height <= (ry1 - ry0) + 2


@pytest.mark.parametrize("aspect", [0.2, 9 / 16, 1.0, 16 / 9, 5.0])
def test_best_box_other_aspects_contain_the_rectangle_centre(aspect):
    saliency = np.zeros((36, 48))
    saliency[4:19, 24:44] = 1.0  # 200x150 px centred at (340, 115) on 480x360
    box = best_box(saliency, (480, 360), aspect)
    assert _inside(box, 480, 360)
    assert _aspect_ok(box.width, box.height, aspect)
    assert box.left <= 340 <= box.left + box.width and box.top <= 115 <= box.top + box.height


def _head_and_body() -> np.ndarray:
    """A horse-like map (30x40 cells for 400x300 px): a bright compact head at the top right and
    a wide, dim body holding more of the mass."""
    saliency = np.zeros((30, 40))
    saliency[10:24, 4:30] = 0.25  # body: 364 cells
    saliency[3:8, 32:38] = 1.0  # head: 30 cells
    return saliency


@pytest.mark.parametrize("aspect", [9 / 16, 1.0, 16 / 9, 1.91])
def test_box_holds_the_maps_peak(aspect):
    saliency = _head_and_body()
    # without the peak rule the best-IoU region is the body, and the box leaves the head out
    old = best_box(saliency, (400, 300), aspect, peak_level=None)
    assert not cropping.contains(old, (320, 30, 60, 50))
    box = best_box(saliency, (400, 300), aspect)
    assert _inside(box, 400, 300) and _aspect_ok(box.width, box.height, aspect)
    assert cropping.contains(box, (320, 30, 60, 50))  # the head, whole


def test_box_slides_to_hold_the_peak_when_the_region_is_wider_than_the_window():
    saliency = np.zeros((30, 40))
    saliency[12:20, 2:38] = 0.3  # a wide band: the region is wider than a 9:16 window
    saliency[13:17, 33:37] = 1.0  # the peak at its right end
    box = best_box(saliency, (400, 300), 9 / 16)
    assert (box.width, box.height) == largest_window(400, 300, 9 / 16)
    assert cropping.contains(box, (330, 130, 40, 40))


@pytest.mark.parametrize("aspect", [9 / 16, 1.0, 4 / 3, 16 / 9, 3.0])
def test_box_on_tiny_spot_is_not_an_extreme_close_up(aspect):
    saliency = np.zeros((30, 40))
    saliency[10, 30] = 1.0
    max_w, max_h = largest_window(400, 300, aspect)
    box = best_box(saliency, (400, 300), aspect)
    assert _inside(box, 400, 300)
    assert box.width >= DEFAULTS["box_min_scale"] * max_w - 1
    assert box.height >= DEFAULTS["box_min_scale"] * max_h - 1
    assert box.left <= 300 <= box.left + box.width and box.top <= 100 <= box.top + box.height


@pytest.mark.parametrize("aspect", [9 / 16, 1.0, 4 / 3, 16 / 9])
def test_grow_box_respects_min_size(aspect):
    box = grow_box((200.0, 150.0, 5.0, 5.0), (400, 300), aspect, min_size=(100, 100))
    assert box.width >= 100 and box.height >= 100
    assert _inside(box, 400, 300)
    assert _aspect_ok(box.width, box.height, aspect)


def test_grow_box_min_size_beyond_image_gives_largest_window():
    box = grow_box((10.0, 10.0, 5.0, 5.0), (400, 300), 1.0, min_size=(1000, 1000))
    assert box == Box(0, 0, 300, 300)


@pytest.mark.parametrize("image, aspect, min_size", [
    ((500, 500), 3.0, (301, 1)),  # 301 / 3 = 100.33 px high: rounding down gave a 300 px width
    ((2000, 2000), 3.0, (1000, 1)),
    ((2000, 2000), 1 / 3, (1, 1000)),
    ((4000, 3000), 1080 / 1350, (1080, 1350)),  # an exact output size: no extra pixel
    ((4000, 3000), 1200 / 628, (1200, 628)),
])
def test_grow_box_min_size_survives_rounding(image, aspect, min_size):
    box = grow_box((0.0, 0.0, 1.0, 1.0), image, aspect, min_size=min_size, min_scale=0.0)
    assert box.width >= min_size[0] and box.height >= min_size[1]
    assert box.height - 1 < max(min_size[1], min_size[0] / aspect)  # and no larger than needed
    if min_size[0] / min_size[1] == aspect:
        assert (box.width, box.height) == min_size


@FAST
@given(image_w=st.integers(1, 3000), image_h=st.integers(1, 3000), aspect=aspects,
       fx=st.floats(0, 1), fy=st.floats(0, 1), fw=st.floats(0, 1), fh=st.floats(0, 1),
       min_w=st.integers(1, 3000), min_h=st.integers(1, 3000))
def test_grow_box_properties(image_w, image_h, aspect, fx, fy, fw, fh, min_w, min_h):
    left, top = fx * image_w, fy * image_h
    bw, bh = fw * (image_w - left), fh * (image_h - top)
    max_w, max_h = largest_window(image_w, image_h, aspect)
    box = grow_box((left, top, bw, bh), (image_w, image_h), aspect, min_size=(min_w, min_h))
    assert _is_int_box(box)
    assert _inside(box, image_w, image_h)
    assert box.width <= max_w and box.height <= max_h
    assert _aspect_ok(box.width, box.height, aspect)
    if (box.width, box.height) != (max_w, max_h):
        assert box.width >= min_w and box.height >= min_h
        assert box.height >= DEFAULTS["box_min_scale"] * max_h - 0.5
        # It contains the input box (to rounding) when that box fits the grown size.
        if box.width >= bw + 1 and box.height >= bh + 1:
            assert box.left <= left + 1 and box.left + box.width >= left + bw - 1
            assert box.top <= top + 1 and box.top + box.height >= top + bh - 1


# --- coverage / find_box ----------------------------------------------------------------------


@FAST
@given(saliency=maps(12), factor=st.integers(1, 4), data=st.data())
def test_coverage_bounds(saliency, factor, data):
    mh, mw = saliency.shape
    image_w, image_h = mw * factor, mh * factor
    full = coverage(saliency, (image_w, image_h), Box(0, 0, image_w, image_h))
    if saliency.sum() > 0:
        assert full == pytest.approx(1.0)
    else:
        assert full == 0.0
    w = data.draw(st.integers(1, image_w), label="w")
    h = data.draw(st.integers(1, image_h), label="h")
    left = data.draw(st.integers(0, image_w - w), label="left")
    top = data.draw(st.integers(0, image_h - h), label="top")
    c = coverage(saliency, (image_w, image_h), Box(left, top, w, h))
    assert -1e-12 <= c <= 1 + 1e-12
    if factor == 1 and saliency.sum() > 0:
        expected = saliency[top:top + h, left:left + w].sum() / saliency.sum()
        assert c == pytest.approx(expected, abs=1e-9)


def test_coverage_of_half_image():
    saliency = np.zeros((4, 4))
    saliency[:, :2] = 1.0
    assert coverage(saliency, (40, 40), Box(0, 0, 20, 40)) == pytest.approx(1.0)
    assert coverage(saliency, (40, 40), Box(20, 0, 20, 40)) == 0.0
    assert coverage(saliency, (40, 40), Box(10, 0, 20, 40)) == pytest.approx(0.5)


def test_find_box_dispatches():
    saliency = np.random.default_rng(5).random((30, 40))
    image = (400, 300)
    assert find_box(saliency, image, 1.0) == best_window(saliency, image, 1.0)
    assert find_box(saliency, image, 1.0, "window") == best_window(saliency, image, 1.0)
    assert (find_box(saliency, image, 1.0, "box", min_size=(200, 200))
            == best_box(saliency, image, 1.0, min_size=(200, 200)))
    for level in (None, 0.5):
        assert (find_box(saliency, image, 1.0, "box", box_peak=level)
                == best_box(saliency, image, 1.0, peak_level=level))
    assert (best_box(saliency, image, 1.0, peak_level=None)
            != best_box(saliency, image, 1.0, peak_level=0.5))  # so the level is passed on


def test_find_box_zooms_the_window_with_the_face_rule():
    # The peak sits just left of a face: the half-size window on the peak alone would end
    # inside the face; zoomed, find_box keeps the face rule as for the largest window.
    saliency = np.zeros((30, 40))
    saliency[10:20, 6:20] = 1.0
    image, face = (400, 300), np.array([[190.0, 120.0, 60.0, 60.0]])
    bare = find_box(saliency, image, 1.0, zoom=0.5)
    assert (bare.width, bare.height) == (150, 150)
    assert 0.1 < evaluate_faces.inside_shares(face, bare)[0] < 0.9  # cuts the face
    zoomed = find_box(saliency, image, 1.0, faces=face, zoom=0.5)
    assert (zoomed.width, zoomed.height) == (150, 150)
    assert evaluate_faces.inside_shares(face, zoomed)[0] in (0.0, 1.0)
    work, widened = cropping.with_faces(saliency, image, face)
    assert zoomed == best_window(work, image, 1.0, 0.5, widened, cores=face)
    with pytest.raises(ValueError, match="zoom"):
        find_box(saliency, image, 1.0, "box", zoom=0.5)


def test_find_box_rejects_unknown_strategy():
    with pytest.raises(ValueError, match="unknown strategy"):
        find_box(np.ones((3, 3)), (30, 30), 1.0, "smart")


# -- focus overrides ---------------------------------------------------------------------
def test_focus_point_centres_the_largest_window():
    b = cropping.focus_box((1000, 500), 1.0, point=(300, 250))
    assert b == cropping.Box(50, 0, 500, 500)
    assert cropping.focus_box((1000, 500), 1.0, point=(10, 10)) == cropping.Box(0, 0, 500, 500)
    assert cropping.focus_box((1000, 500), 1.0, point=(1000, 500)) == cropping.Box(500, 0, 500, 500)


def test_focus_box_is_held_and_centred_as_far_as_the_image_allows():
    b = cropping.focus_box((1000, 500), 9 / 16, box=(600, 100, 100, 200))
    assert cropping.contains(b, (600, 100, 100, 200))
    assert abs((b.left + b.width / 2) - 650) <= 1  # centred: the image has room
    edge = cropping.focus_box((1000, 500), 9 / 16, box=(950, 100, 50, 50))
    assert edge.left + edge.width == 1000 and cropping.contains(edge, (950, 100, 50, 50))


def test_focus_box_strategy_grows_the_box_to_the_aspect():
    b = cropping.focus_box((1000, 800), 1.0, box=(400, 300, 300, 100), strategy="box")
    assert b.width == b.height == 300 and cropping.contains(b, (400, 300, 300, 100))
    assert (b.left, b.top) == (400, 200)


def test_focus_box_too_big_for_any_window_is_centred():
    b = cropping.focus_box((1000, 500), 9 / 16, box=(100, 0, 800, 500))
    assert not cropping.contains(b, (100, 0, 800, 500))
    assert abs((b.left + b.width / 2) - 500) <= 1


def test_focus_needs_a_point_or_a_box():
    with pytest.raises(ValueError):
        cropping.focus_box((10, 10), 1.0)
    with pytest.raises(ValueError):
        cropping.focus_box((10, 10), 1.0, point=(1, 1), box=(0, 0, 1, 1))


@settings(max_examples=200, deadline=None)
@given(st.integers(20, 3000), st.integers(20, 3000), st.sampled_from([9 / 16, 1.0, 16 / 9, 4 / 5]),
       st.floats(0, 1), st.floats(0, 1), st.floats(0.01, 1), st.floats(0.01, 1),
       st.sampled_from(["window", "box"]))
def test_focus_box_holds_any_box_that_fits(w, h, aspect, fx, fy, fw, fh, strategy):
    bw, bh = max(1, int(fw * w)), max(1, int(fh * h))
    left, top = int(fx * (w - bw)), int(fy * (h - bh))
    b = cropping.focus_box((w, h), aspect, box=(left, top, bw, bh), strategy=strategy)
    assert 0 <= b.left and 0 <= b.top and b.left + b.width <= w and b.top + b.height <= h
    max_w, max_h = cropping.largest_window(w, h, aspect)
    if bw <= max_w and bh <= max_h:
        assert cropping.contains(b, (left, top, bw, bh))


# --- faces: the no-cut rule ------------------------------------------------------------------

from smartcrop.cropping import (  # noqa: E402
    add_faces,
    cut_area,
    edge_sums,
    faces_cut,
    fit_margins,
    widen_faces,
    with_faces,
)


@st.composite
def int_faces(draw, max_w: int, max_h: int, n: int = 3):
    """1 to n face boxes with whole-pixel corners inside a max_w x max_h image."""
    faces = []
    for _ in range(draw(st.integers(1, n))):
        x0, y0 = draw(st.integers(0, max_w - 1)), draw(st.integers(0, max_h - 1))
        faces.append([x0, y0, draw(st.integers(1, max_w - x0)), draw(st.integers(1, max_h - y0))])
    return faces


def _brute_cut(faces, left, top, w, h, whole=DEFAULTS["face_whole"]) -> float:
    """Face area on the wrong side of the window, by counting pixels."""
    total = 0.0
    for fx, fy, fw, fh in faces:
        inside = sum(1 for y in range(fy, fy + fh) for x in range(fx, fx + fw)
                     if left <= x < left + w and top <= y < top + h)
        wrong = min(inside, fw * fh - inside)
        total += wrong if wrong > whole * fw * fh else 0
    return total


@FAST
@given(image=st.tuples(st.integers(2, 14), st.integers(2, 14)), data=st.data())
def test_cut_area_matches_pixel_counting(image, data):
    w_img, h_img = image
    faces = data.draw(int_faces(w_img, h_img))
    w, h = data.draw(st.integers(1, w_img)), data.draw(st.integers(1, h_img))
    lefts, tops = np.arange(w_img - w + 1), np.arange(h_img - h + 1)
    cut = cut_area(np.array(faces, dtype=float), lefts, tops, w, h)
    for y in tops:
        for x in lefts:
            assert cut[y, x] == pytest.approx(_brute_cut(faces, x, y, w, h))


@FAST
@given(image=st.tuples(st.integers(2, 12), st.integers(2, 12)), data=st.data())
def test_cut_area_past_the_border_matches_pixel_counting(image, data):
    """Faces reaching past the image (widened at its border): their pixels past a border count
    as inside a window flush with that border, and outside any other window."""
    w_img, h_img = image
    faces = []
    for _ in range(data.draw(st.integers(1, 3))):
        x0, y0 = data.draw(st.integers(-3, w_img - 1)), data.draw(st.integers(-3, h_img - 1))
        faces.append([x0, y0, data.draw(st.integers(max(1, 1 - x0), w_img + 3 - x0)),
                      data.draw(st.integers(max(1, 1 - y0), h_img + 3 - y0))])
    w, h = data.draw(st.integers(1, w_img)), data.draw(st.integers(1, h_img))
    whole = data.draw(st.sampled_from([0.0, 0.1]))

    def inside(v, start, length, extent):
        past = (start == 0 and v < 0) or (start + length == extent and v >= extent)
        return start <= v < start + length or past

    lefts, tops = np.arange(w_img - w + 1), np.arange(h_img - h + 1)
    cut = cut_area(np.array(faces, dtype=float), lefts, tops, w, h, whole, image_size=image)
    for y in tops:
        for x in lefts:
            expected = 0.0
            for fx, fy, fw, fh in faces:
                n = sum(1 for py in range(fy, fy + fh) for px in range(fx, fx + fw)
                        if inside(px, x, w, w_img) and inside(py, y, h, h_img))
                wrong = min(n, fw * fh - n)
                expected += wrong if wrong > whole * fw * fh else 0
            assert cut[y, x] == pytest.approx(expected)


def test_window_peak_rule_keeps_the_peak_whole_or_out():
    """Off by default (measured: it lowered fixation retention). With `peak_level`, a window
    whose edge would run through the map's peak moves to hold it whole."""
    sal = np.zeros((10, 20))
    sal[:, :9] = 1.0
    sal[4:6, 9:12] = 3.0  # the peak, columns 9..11
    assert place_window(sal, (20, 10), 10, 10).left == 0  # ends in the peak's first column
    assert place_window(sal, (20, 10), 10, 10, peak_level=0.7).left == 2
    assert find_box(sal, (20, 10), 1.0, window_peak=0.7).left == 2


def test_an_edge_does_not_run_through_a_face_at_the_image_border():
    """A face touches the top of the photo, so the margin above it lies past the image, and no
    edge may run through it there. The salient block starts 4 rows down (a tenth of the face's
    height); with the margin cut to the image that window counted as whole (4 of its 48 rows)."""
    sal = np.zeros((100, 100))
    sal[2:52, :] = 1.0  # image rows 4..104 of a 200x200 image
    face = np.array([[80.0, 0.0, 40.0, 40.0]])
    assert find_box(sal, (200, 200), 2.0).top == 4
    box = find_box(sal, (200, 200), 2.0, faces=face)
    assert box.top == 0 and faces_cut(box, face) == 0
    old = place_window(sal, (200, 200), 200, 100, widen_faces(face, (200, 200), top=0.35))
    assert old.top == 4 and faces_cut(old, face) == 1  # the clipped margin let it cut the face


@FAST
@given(saliency=maps(14, 2), data=st.data())
def test_place_window_with_faces_matches_brute_force(saliency, data):
    """Map at image resolution: among positions cutting the least face area (none when some
    cut none), the most saliency; checked against every position."""
    mh, mw = saliency.shape
    faces = data.draw(int_faces(mw, mh))
    w, h = data.draw(st.integers(1, mw)), data.draw(st.integers(1, mh))
    whole = data.draw(st.sampled_from([DEFAULTS["margin_whole"], DEFAULTS["face_whole"], 0.3]))
    box = place_window(saliency, (mw, mh), w, h, np.array(faces, dtype=float), margin_whole=whole)
    positions = [(x, y) for y in range(mh - h + 1) for x in range(mw - w + 1)]
    least = min(_brute_cut(faces, x, y, w, h, whole) for x, y in positions)
    assert _brute_cut(faces, box.left, box.top, w, h, whole) == pytest.approx(least)
    best = max(float(saliency[y:y + h, x:x + w].sum()) for x, y in positions
               if _brute_cut(faces, x, y, w, h, whole) <= least + 1e-9)
    assert float(saliency[box.top:box.top + h, box.left:box.left + w].sum()) == pytest.approx(best)


@FAST
@given(saliency=maps(12, 2), data=st.data(), penalty=st.sampled_from([0.01, 0.1, 0.5, 2.0]))
def test_soft_face_rule_matches_brute_force(saliency, data, penalty):
    """With a finite face_penalty, the window maximises saliency minus penalty x the map's total
    for each face, by the share of it cut; checked against every position."""
    mh, mw = saliency.shape
    faces = data.draw(int_faces(mw, mh))
    w, h = data.draw(st.integers(1, mw)), data.draw(st.integers(1, mh))
    box = place_window(saliency, (mw, mh), w, h, np.array(faces, dtype=float), face_penalty=penalty)

    def value(x, y):
        shares = sum(_brute_cut([f], x, y, w, h, DEFAULTS["margin_whole"]) / (f[2] * f[3]) for f in faces)
        return float(saliency[y:y + h, x:x + w].sum()) - penalty * float(saliency.sum()) * shares

    best = max(value(x, y) for y in range(mh - h + 1) for x in range(mw - w + 1))
    assert value(box.left, box.top) == pytest.approx(best)


@FAST
@given(saliency=maps(12, 2), data=st.data(), penalty=st.sampled_from([0.005, 0.01, 0.1, 1.0]))
def test_candidates_cost_matches_brute_force(saliency, data, penalty):
    """Unsure faces (candidates): among the positions the strict rule allows for the faces, the
    window maximises saliency minus penalty x the map's total for each candidate, by the share
    of it cut; checked against every position."""
    mh, mw = saliency.shape
    faces, unsure = data.draw(int_faces(mw, mh)), data.draw(int_faces(mw, mh))
    w, h = data.draw(st.integers(1, mw)), data.draw(st.integers(1, mh))
    whole = DEFAULTS["margin_whole"]
    box = place_window(saliency, (mw, mh), w, h, np.array(faces, dtype=float),
                       candidates=np.array(unsure, dtype=float), candidate_penalty=penalty)
    positions = [(x, y) for y in range(mh - h + 1) for x in range(mw - w + 1)]
    least = min(_brute_cut(faces, x, y, w, h, whole) for x, y in positions)
    assert _brute_cut(faces, box.left, box.top, w, h, whole) == pytest.approx(least)

    def value(x, y):
        shares = sum(_brute_cut([f], x, y, w, h, whole) / (f[2] * f[3]) for f in unsure)
        return float(saliency[y:y + h, x:x + w].sum()) - penalty * float(saliency.sum()) * shares

    best = max(value(x, y) for x, y in positions if _brute_cut(faces, x, y, w, h, whole) <= least + 1e-9)
    assert value(box.left, box.top) == pytest.approx(best)


def test_window_spares_a_candidate_only_where_it_costs_little():
    """An unsure face at the end of the salient band: the window steps off it when that loses
    a little saliency (a faint column), and cuts it when sparing it would lose much more than
    its penalty. A sure face is never cut (the rule, not a cost)."""
    sal = np.full((10, 20), 0.01)
    sal[:, :9] = 1.0  # best 10x10 window without faces: columns 0..9, ending in the candidate
    unsure = np.array([[8.0, 2.0, 4.0, 4.0]])  # columns 8..11
    assert place_window(sal, (20, 10), 10, 10).left == 0
    spared = place_window(sal, (20, 10), 10, 10, candidates=unsure, candidate_penalty=0.5)
    assert spared.left == 2 and faces_cut(spared, unsure) == 0  # holds it whole
    assert place_window(sal, (20, 10), 10, 10, candidates=unsure, candidate_penalty=0.01).left == 0
    assert find_box(sal, (20, 10), 1.0, candidates=unsure).left == 0  # default penalty: too costly
    # find_box widens candidates like faces; the box strategy does not use them
    assert find_box(sal, (20, 10), 1.0, "box", candidates=unsure) == find_box(sal, (20, 10), 1.0, "box")


def test_soft_face_rule_cuts_only_for_a_large_gain():
    """A face at the edge of the salient band: a small penalty lets the window cut it for the
    band; the strict rule (infinite penalty, the default) and a large penalty do not."""
    sal = np.zeros((10, 20))
    sal[:, :9] = 1.0
    face = np.array([[8.0, 2.0, 4.0, 4.0]])
    assert place_window(sal, (20, 10), 10, 10, face).left == 2
    assert place_window(sal, (20, 10), 10, 10, face, face_penalty=1.0).left == 2
    assert place_window(sal, (20, 10), 10, 10, face, face_penalty=0.01).left == 0


def test_window_moves_off_a_face_it_would_cut():
    """The saliency peak sits so that the best window ends inside a face; the rule moves it."""
    sal = np.zeros((10, 20))
    sal[:, :9] = 1.0  # best 10x10 window without faces: columns 0..9
    face = np.array([[8.0, 2.0, 4.0, 4.0]])  # columns 8..11
    plain = place_window(sal, (20, 10), 10, 10)
    assert plain.left == 0 and faces_cut(plain, face) == 1  # it ends inside the face
    box = place_window(sal, (20, 10), 10, 10, face)
    assert faces_cut(box, face) == 0
    assert box.left == 2  # holds the whole face and as much of the salient band as it can


def test_an_edge_may_run_through_a_faces_margin_but_not_the_face():
    """The salient band ends one column into the face's widened box (its margin): the window
    may end there, as the face itself stays whole; held to the widened box (margin_whole as
    face_whole), the window had to hold the whole widened face and left most of the band out."""
    sal = np.zeros((10, 40))
    sal[:, :19] = 1.0
    face = np.array([[20.0, 2.0, 10.0, 6.0]])  # widened by 0.2: columns 18..31
    box = find_box(sal, (40, 10), 1.9, faces=face)
    assert (box.left, box.width) == (0, 19)  # ends in column 18, the margin
    assert faces_cut(box, face) == 0
    strict = find_box(sal, (40, 10), 1.9, faces=face, margin_whole=DEFAULTS["face_whole"])
    assert strict.left == 13 and strict.left + strict.width >= 32


def test_fallback_when_every_window_cuts_a_face():
    """Faces wider than the window fill the width: every position cuts one. The window cuts
    the least face area (inside one of the narrower faces), the most saliency among those."""
    sal = np.zeros((6, 30))
    sal[:, 25] = 1.0
    faces = [[0, 0, 12, 6], [12, 0, 9, 6], [21, 0, 9, 6]]
    box = place_window(sal, (30, 6), 6, 6, np.array(faces, dtype=float))
    cuts = {x: _brute_cut(faces, x, 0, 6, 6, DEFAULTS["margin_whole"]) for x in range(25)}
    assert min(cuts.values()) > 0  # truly no escape
    assert cuts[box.left] == min(cuts.values()) == 18  # 54-pixel face, 36 inside
    assert box.left <= 25 < box.left + 6


@FAST
@given(saliency=maps(12, 2), data=st.data(), crowded=st.sampled_from([math.inf, 1.0, 0.3]),
       faceless=st.booleans())
def test_fallback_spares_the_faces_themselves_first_matches_brute_force(saliency, data, crowded,
                                                                        faceless):
    """With `cores` (the faces' own boxes inside the widened ones): the positions cutting the
    least of the cores compete, then those cutting the least widened area (margins trimmed to
    fit the window: `fit_margins`), then the most saliency. Where every position cuts a core,
    a finite `crowded_penalty` instead scores every position by its saliency less the penalty
    times the map's total times the core area cut, over the largest core's area; with
    `weigh_faceless`, also where every position sparing every core holds no core whole."""
    mh, mw = saliency.shape
    cores = np.array(data.draw(int_faces(mw, mh)), dtype=float)
    wide = widen_faces(cores, (mw, mh), 0.2, 0.35, clip=False)
    w, h = data.draw(st.integers(1, mw)), data.draw(st.integers(1, mh))
    box = place_window(saliency, (mw, mh), w, h, wide, cores=cores, crowded_penalty=crowded,
                       weigh_faceless=faceless)
    wide = fit_margins(wide, cores, w, h)
    lefts, tops = np.arange(mw - w + 1), np.arange(mh - h + 1)
    wide_cut = cut_area(wide, lefts, tops, w, h, DEFAULTS["margin_whole"], image_size=(mw, mh))
    core_cut = cut_area(cores, lefts, tops, w, h, DEFAULTS["face_whole"], image_size=(mw, mh))
    positions = [(x, y) for y in tops for x in lefts]
    def holds_one(x, y) -> bool:  # some core all but 2% inside
        return any(max(0, min(fx + fw, x + w) - max(fx, x)) * max(0, min(fy + fh, y + h) - max(fy, y))
                   >= 0.98 * fw * fh for fx, fy, fw, fh in cores)

    spared = [(x, y) for x, y in positions if core_cut[y, x] <= 1e-9]
    crowded_out = not spared or (faceless and not any(holds_one(x, y) for x, y in spared))
    if crowded_out and math.isfinite(crowded):  # no position spares every face (and holds one)
        largest = max(fw * fh for _, _, fw, fh in cores)
        value = {(x, y): float(saliency[y:y + h, x:x + w].sum()) - crowded * float(saliency.sum())
                 * _brute_cut(cores.astype(int), x, y, w, h) / largest for x, y in positions}
        assert value[(box.left, box.top)] == pytest.approx(max(value.values()), abs=1e-9)
        return
    positions = [(x, y) for x, y in positions if core_cut[y, x] <= core_cut.min() + 1e-9]
    least = min(wide_cut[y, x] for x, y in positions)
    positions = [(x, y) for x, y in positions if wide_cut[y, x] <= least + 1e-9]
    assert (box.left, box.top) in positions
    best = max(float(saliency[y:y + h, x:x + w].sum()) for x, y in positions)
    assert float(saliency[box.top:box.top + h, box.left:box.left + w].sum()) == pytest.approx(best)


@pytest.mark.parametrize("strategy", ["window", "box"])
def test_stacked_faces_taller_than_the_crop_are_not_traded_for_a_strip_of_hair(strategy):
    """Two faces one above the other (a 3:4 photo of two boys cut to 2:1, OSIE 1550): no
    window holds both, and every position cuts a face. By least face area cut alone the window
    took the top strip, holding only a sliver of the upper face's brow (and a twentieth of the
    saliency); with the cut weighed against saliency, it holds most of both faces."""
    sal = np.full((600, 450), 0.01)
    sal[260:320, 300:380] = 1.0  # the upper boy's nose and eyes
    sal[320:380, 150:230] = 1.0  # the lower boy's eye
    cores = np.array([[247.0, 200.0, 178.0, 179.0], [73.0, 275.0, 212.0, 212.0]])
    old = find_box(sal, (450, 600), 2.0, strategy, faces=cores, crowded_penalty=math.inf)
    assert old.top == 0 and cropping.coverage(sal, (450, 600), old) < 0.1  # a strip of hair
    box = find_box(sal, (450, 600), 2.0, strategy, faces=cores)  # the box: not held to its region
    assert (box.width, box.height) == (450, 225)
    assert cropping.coverage(sal, (450, 600), box) > 0.8
    for _, top, _, h in cores:  # each face mostly inside
        inside = max(0, min(top + h, box.top + box.height) - max(top, box.top))
        assert inside > 0.6 * h


@pytest.mark.parametrize("strategy", ["window", "box"])
def test_faces_side_by_side_wider_than_the_crop_are_not_traded_for_an_empty_crop(strategy):
    """A mother's face and her child's side by side, wider together than a 9:16 crop (OSIE
    1361): a window holding either face cuts the other, so every position cutting no face holds
    none, and the cut alone gave an arm and an egg cup at the far side. Weighed against
    saliency, the crop holds the mother whole and clips the child's cheek."""
    sal = np.full((600, 800), 0.002)
    sal[40:140, 160:260] = 1.0  # the mother's eyes and nose
    sal[200:300, 20:110] = 1.0  # the child's
    sal[500:580, 650:780] = 0.05  # an egg cup
    cores = np.array([[97.0, 0.0, 268.0, 203.0], [0.0, 175.0, 144.0, 177.0]])
    old = find_box(sal, (800, 600), 9 / 16, strategy, faces=cores, weigh_faceless=False)
    assert old.left >= 365  # right of both faces: no one in it
    box = find_box(sal, (800, 600), 9 / 16, strategy, faces=cores, weigh_faceless=True)
    assert (box.width, box.height) == (338, 600)
    assert cropping.coverage(sal, (800, 600), box) > 0.5
    assert faces_cut(box, cores) == 1 and box.left < 97 and box.left + box.width >= 365 - 5


def test_fallback_cuts_margins_rather_than_a_face():
    """Two faces side by side, together exactly as wide as the window: every position cuts a
    widened box. By widened area alone the window shaved a column off one face (to spare
    margin); with the faces' own boxes it holds both faces and cuts only their margins."""
    sal = np.zeros((10, 40))
    sal[:, 6] = 1.0
    cores = np.array([[8.0, 2.0, 9.0, 6.0], [16.0, 2.0, 9.0, 6.0]])  # columns 8..24
    wide = widen_faces(cores, (40, 10), 0.2, 0.35, clip=False)
    old = place_window(sal, (40, 10), 17, 10, wide)
    assert old.left in (7, 9) and faces_cut(old, cores) == 1  # a column off one face or the other
    box = place_window(sal, (40, 10), 17, 10, wide, cores=cores)
    assert box.left == 8 and faces_cut(box, cores) == 0
    assert find_box(sal, (40, 10), 1.7, faces=cores) == box  # find_box passes the cores


def test_a_face_too_large_for_the_window_with_its_margins_is_held_tightly():
    """A close portrait cut to 16:9: the face itself fits the window's height but not with its
    margins. Every position holding it cut its widened box, so the window took the salient
    band below, leaving the face out (no edge through it); with the margins trimmed to fit,
    it holds the face, the most salient part of the photo."""
    sal = np.zeros((200, 100))
    sal[120:200, :] = 1.0  # the band below: 5,600 in a 56-row window
    sal[40:84, 28:72] = 4.0  # the face: 7,744
    face = np.array([[28.0, 40.0, 44.0, 44.0]])  # widened: 68 rows, the window 56
    wide = widen_faces(face, (100, 200), 0.2, 0.35, clip=False)
    old = place_window(sal, (100, 200), 100, 56, wide)
    assert old.top >= 90 and not cropping.contains(old, face[0])  # the face left out
    box = find_box(sal, (100, 200), 16 / 9, faces=face)
    assert (box.width, box.height) == (100, 56) and cropping.contains(box, face[0])
    assert faces_cut(box, face) == 0
    fitted = fit_margins(wide, face, 100, 56)
    assert fitted[0, 3] == pytest.approx(56) and fitted[0, 2] == pytest.approx(wide[0, 2])
    assert fitted[0, 1] < 40 and fitted[0, 1] + 56 > 84  # still around the face, above more
    assert fit_margins(wide, face, 100, 30)[0, 3] == pytest.approx(44)  # no margin left; the face stays


def test_no_faces_gives_the_old_boxes():
    rng = np.random.default_rng(3)
    sal = rng.random((24, 32))
    for aspect in (1.0, 16 / 9, 9 / 16):
        for strategy in ("window", "box"):
            old = find_box(sal, (320, 240), aspect, strategy)
            assert find_box(sal, (320, 240), aspect, strategy, faces=None) == old
            assert find_box(sal, (320, 240), aspect, strategy, faces=np.zeros((0, 4))) == old


@pytest.mark.parametrize("strategy", ["window", "box"])
@pytest.mark.parametrize("aspect", [1.0, 16 / 9, 9 / 16, 1.91])
def test_a_face_at_the_salient_spot_is_held_whole(strategy, aspect):
    """Saliency peaks just below a face (as on a badge under a chin): the crop still holds the
    face whole, for both strategies."""
    sal = np.full((60, 80), 0.01)
    sal[34:44, 50:60] = 1.0
    face = np.array([[48.0, 14.0, 14.0, 16.0]])
    box = find_box(sal, (800, 600), aspect, strategy, faces=face * 10)
    assert faces_cut(box, face * 10) == 0
    assert box.left <= 480 and box.top <= 140 and box.left + box.width >= 620 \
        and box.top + box.height >= 300


def test_box_region_grows_to_whole_faces():
    """The salient region overlaps the lower half of a face: the box contains the face."""
    sal = np.full((48, 64), 0.001)
    sal[20:30, 20:30] = 1.0
    face = np.array([[200.0, 120.0, 100.0, 120.0]])  # image 640x480, rows 120..240
    box = find_box(sal, (640, 480), 1.0, "box", faces=face)
    f = widen_faces(face, (640, 480))[0]
    assert box.left <= f[0] and box.top <= f[1]
    assert box.left + box.width >= f[0] + f[2] and box.top + box.height >= f[1] + f[3]


def test_add_faces_adds_the_weight_over_the_faces():
    sal = np.full((30, 40), 1 / 1200)
    faces = np.array([[0.0, 0.0, 100.0, 100.0], [200.0, 100.0, 50.0, 50.0]])  # image 400x300
    out = add_faces(sal, (400, 300), faces, 0.5)
    added = out - sal
    assert added.sum() == pytest.approx(0.5)
    assert added[:10, :10].sum() == pytest.approx(0.4)  # 10000 of 12500 face pixels
    assert added[10:15, 20:25].sum() == pytest.approx(0.1)
    assert added[15:, :].sum() == pytest.approx(0) and added[:, 25:].sum() == pytest.approx(0)
    assert add_faces(sal, (400, 300), faces, 0.0) is sal


def test_widen_faces_takes_a_larger_margin_above():
    f = widen_faces(np.array([[100.0, 100.0, 20.0, 20.0]]), (400, 300), 0.2, top=0.35)
    assert f[0] == pytest.approx([96.0, 93.0, 28.0, 31.0])
    assert widen_faces(np.array([[100.0, 100.0, 20.0, 20.0]]), (400, 300), 0.2)[0] \
        == pytest.approx([96.0, 96.0, 28.0, 28.0])


def test_an_edge_above_a_face_leaves_its_forehead():
    """The salient band ends at a face's brows: the window may stop in the margin above it, but
    at least 0.19 of the face's height above the box (face_margin_top 0.35, margin_whole 0.1);
    with the sides' 0.2 above as well it would stop 0.1 above, in the forehead."""
    sal = np.zeros((100, 20))
    sal[:50, :] = 1.0
    face = np.array([[5.0, 50.0, 10.0, 10.0]])  # rows 50..59 of a 20x100 image
    box = find_box(sal, (20, 100), 0.5, faces=face)
    assert box.height == 40 and box.top + box.height <= 50 - 1.9
    even = find_box(sal, (20, 100), 0.5, faces=face, face_margin_top=0.2)
    assert even.top + even.height == 49


def test_widen_faces_stays_inside_the_image():
    f = widen_faces(np.array([[0.0, 10.0, 10.0, 20.0]]), (15, 100), 0.5)
    assert f[0] == pytest.approx([0.0, 0.0, 15.0, 40.0])
    assert with_faces(np.ones((2, 2)), (15, 100), None)[1] is None


@FAST
@given(saliency=maps(12, 2), data=st.data())
def test_edge_sums_match_brute_force(saliency, data):
    mh, mw = saliency.shape
    w, h = data.draw(st.integers(1, mw)), data.draw(st.integers(1, mh))
    band = data.draw(st.integers(1, 3))
    sums = edge_sums(summed_area_table(saliency), w, h, band)
    for y in range(mh - h + 1):
        for x in range(mw - w + 1):
            expected = 0.0
            if x > 0:
                expected += saliency[y:y + h, max(0, x - band):x + band].sum()
            if x + w < mw:
                expected += saliency[y:y + h, max(0, x + w - band):x + w + band].sum()
            if y > 0:
                expected += saliency[max(0, y - band):y + band, x:x + w].sum()
            if y + h < mh:
                expected += saliency[max(0, y + h - band):y + h + band, x:x + w].sum()
            assert sums[y, x] == pytest.approx(expected, abs=1e-9)


def test_faces_cut_counts_faces():
    faces = np.array([[0.0, 0.0, 10.0, 10.0], [15.0, 0.0, 10.0, 10.0], [40.0, 0.0, 5.0, 5.0]])
    assert faces_cut(Box(5, 0, 30, 10), faces) == 1  # first halved, second whole, third out
    assert faces_cut(Box(0, 0, 50, 10), faces) == 0
    assert faces_cut(Box(5, 0, 15, 10), faces) == 2


def test_portrait_photos_weigh_faces_more_in_window_crops():
    """A portrait photo: a face at the top, a blob with more saliency (0.48 against 0.30) below; a
    16:9 window holds one or the other. The portrait weight (0.2) keeps the face, the landscape
    one (0.1) would take the blob; landscape photos and box keep their own weights."""
    w, h = 300, 400
    sal = np.full((40, 30), 0.22 / 1200)
    sal[4:10, 10:20] += 0.30 / 60  # under the face
    sal[28:34, 5:25] += 0.48 / 120  # the blob, 18 rows below
    sal /= sal.sum()
    face = [[100, 40, 100, 60]]
    assert cropping.default_face_weight("window", (w, h)) == cropping.DEFAULTS["portrait_face_weight"] == 0.2
    assert cropping.default_face_weight("window", (h, w)) == cropping.DEFAULTS["face_weight"] == 0.1
    assert cropping.default_face_weight("box", (w, h)) == cropping.DEFAULTS["box_face_weight"]
    default = cropping.find_box(sal, (w, h), 16 / 9, faces=face)
    assert default == cropping.find_box(sal, (w, h), 16 / 9, faces=face, face_weight=0.2)
    assert default.top <= 40 and default.top + default.height >= 100  # the face, whole and inside
    blob = cropping.find_box(sal, (w, h), 16 / 9, faces=face, face_weight=0.1)
    assert blob.top > 100  # the face left out whole
