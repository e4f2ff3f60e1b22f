"""Training batches (flips, shuffling, determinism) and preparing a record for the canvas."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.train

pytest.importorskip("tensorflow")
pytest.importorskip("keras")

from smartcrop.canvas import CANVAS_HEIGHT, CANVAS_WIDTH, MAP_STRIDE, PAD_VALUE  # noqa: E402
from smartcrop.fixations import FixationRecord  # noqa: E402
from smartcrop.model.data import (  # noqa: E402
    MIN_CUT_FIXATIONS,
    PORTRAIT_SOURCE_WIDTH,
    FixationBatches,
    portrait_cut,
    prepare,
    prepare_all,
    prepare_portrait,
    prepare_portrait_all,
)

N, H, W = 10, 8, 16  # items; image height and width (targets are H/4 x W/4 here)


def _arrays(n: int = N) -> tuple[np.ndarray, np.ndarray]:
    """Images and targets that carry their item id and a left-hand marker, to track flips."""
    images = np.zeros((n, H, W, 3), np.uint8)
    images[:, :, 1, 0] = 255  # marker in column 1 of 16: column 14 once flipped
    images[..., 2] = np.arange(n, dtype=np.uint8)[:, None, None]  # item id
    targets = np.zeros((n, H // 4, W // 4, 2), np.float32)
    targets[:, :, 0, 0] = 1.0  # density marker in column 0 of 4: column 3 once flipped
    targets[..., 1] = np.arange(n, dtype=np.float32)[:, None, None]  # item id
    return images, targets


def _flipped(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per item of a batch: is the image flipped, is the target flipped (markers checked)."""
    image_left = np.all(x[:, :, 1, 0] == 255, axis=1)
    image_right = np.all(x[:, :, W - 2, 0] == 255, axis=1)
    target_left = np.all(y[:, :, 0, 0] == 1, axis=1)
    target_right = np.all(y[:, :, -1, 0] == 1, axis=1)
    assert np.all(image_left ^ image_right) and np.all(target_left ^ target_right)
    return image_right, target_right


def _epochs(batches: FixationBatches, epochs: int):
    out = []
    for _ in range(epochs):
        out.append([batches[i] for i in range(len(batches))])
        batches.on_epoch_end()
    return out


def test_flips_move_image_and_targets_together():
    images, targets = _arrays()
    batches = FixationBatches(images, targets, batch_size=4, training=True, seed=5)
    seen = {True: 0, False: 0}
    for epoch in _epochs(batches, 6):
        for x, y in epoch:
            assert x.dtype == np.float32 and x.shape[1:] == (H, W, 3)
            image_flip, target_flip = _flipped(x, y)
            np.testing.assert_array_equal(image_flip, target_flip)
            np.testing.assert_array_equal(x[:, 0, 0, 2], y[:, 0, 0, 1])  # same item in both
            for f in image_flip:
                seen[bool(f)] += 1
    assert seen[True] > 0 and seen[False] > 0
    # the sources are never modified in place
    fresh_images, fresh_targets = _arrays()
    np.testing.assert_array_equal(images, fresh_images)
    np.testing.assert_array_equal(targets, fresh_targets)


def test_two_image_flip_is_an_exact_mirror():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, H, W, 3), dtype=np.uint8)
    targets = rng.random((2, H // 4, W // 4, 2)).astype(np.float32)
    flips = 0
    batches = FixationBatches(images, targets, batch_size=2, training=True, seed=1)
    for [(x, y)] in _epochs(batches, 8):
        for xi, yi in zip(x, y, strict=True):
            [(k, flipped)] = [(k, f) for k in range(2) for f in (False, True)
                              if np.array_equal(xi[:, ::-1] if f else xi, images[k])]
            flips += flipped
            expected = targets[k][:, ::-1] if flipped else targets[k]
            np.testing.assert_array_equal(yi, expected)
    assert 0 < flips < 16


def test_deterministic_given_seed_and_epoch():
    images, targets = _arrays()
    a = _epochs(FixationBatches(images, targets, batch_size=3, seed=7), 3)
    b = _epochs(FixationBatches(images, targets, batch_size=3, seed=7), 3)
    for epoch_a, epoch_b in zip(a, b, strict=True):
        for (xa, ya), (xb, yb) in zip(epoch_a, epoch_b, strict=True):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)

    def order(epoch):
        return [int(v) for x, _ in epoch for v in x[:, 0, 0, 2]]

    assert order(a[0]) != order(a[1])  # reshuffled each epoch
    c = _epochs(FixationBatches(images, targets, batch_size=3, seed=8), 1)
    assert order(a[0]) != order(c[0])  # and the seed matters


def test_training_drops_the_partial_batch():
    images, targets = _arrays()
    batches = FixationBatches(images, targets, batch_size=4, training=True)
    assert len(batches) == N // 4
    ids = [int(v) for x, _ in _epochs(batches, 1)[0] for v in x[:, 0, 0, 2]]
    assert len(ids) == len(set(ids)) == 8


def test_validation_is_ordered_unflipped_and_complete():
    images, targets = _arrays()
    batches = FixationBatches(images, targets, batch_size=4, training=False)
    assert len(batches) == 3  # ceil(10 / 4)
    for epoch in _epochs(batches, 2):
        assert [len(x) for x, _ in epoch] == [4, 4, 2]
        x = np.concatenate([x for x, _ in epoch])
        y = np.concatenate([y for _, y in epoch])
        np.testing.assert_array_equal(x, images.astype(np.float32))
        np.testing.assert_array_equal(y, targets)


def _record(tmp_path, width=100, height=80, fixations=((10, 10), (50, 40), (90, 70), (50.5, 40.5))):
    rng = np.random.default_rng(0)
    path = tmp_path / "synthetic.jpg"
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path, quality=90)
    return FixationRecord("synthetic", path.name, path, width, height, np.asarray(fixations, np.float64))


def test_prepare_synthetic_record(tmp_path):
    record = _record(tmp_path)
    canvas, targets = prepare(record)
    assert canvas.shape == (CANVAS_HEIGHT, CANVAS_WIDTH, 3) and canvas.dtype == np.uint8
    assert targets.shape == (CANVAS_HEIGHT // MAP_STRIDE, CANVAS_WIDTH // MAP_STRIDE, 2)
    assert targets.dtype == np.float32
    density, counts = targets[..., 0], targets[..., 1]
    assert density.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.all(density >= 0)
    assert counts.sum() == len(record.fixations)
    # 100x80 fills the 240 rows (scale 3); width 300 rounds to 304 px, left edge at column 8.
    # Fixation (x, y) -> canvas (x * 3.04 + 8, y * 3) -> map cell (row, col) = canvas // 8.
    assert counts[3, 4] == 1  # (10, 10) -> (38.4, 30)
    assert counts[15, 20] == 2  # (50, 40) and (50.5, 40.5) -> (160, 120) and (161.5, 121.5)
    assert counts[26, 35] == 1  # (90, 70) -> (281.6, 210)
    assert np.unravel_index(np.argmax(density), density.shape) == (15, 20)
    # letterbox: grey columns either side of the image
    assert np.all(canvas[:, :8] == PAD_VALUE) and np.all(canvas[:, 8 + 304:] == PAD_VALUE)


def test_prepare_on_a_larger_canvas(tmp_path):
    """--canvas 336x256: the photo and its fixations placed on that canvas, targets per its cells."""
    record = _record(tmp_path)
    canvas, targets = prepare(record, (336, 256))
    assert canvas.shape == (256, 336, 3) and targets.shape == (32, 42, 2)
    assert targets[..., 0].sum() == pytest.approx(1.0, abs=1e-5)
    assert targets[..., 1].sum() == len(record.fixations)
    # 100x80 fills the 256 rows (scale 3.2), 320 px wide from column 8:
    # (50, 40) and (50.5, 40.5) -> canvas (168, 128) and (169.6, 129.6) -> cell (16, 21).
    assert targets[16, 21, 1] == 2 and targets[4, 5, 1] == 1  # (10, 10) -> (40, 32)
    assert targets[28, 37, 1] == 1  # (90, 70) -> (296, 224)
    assert np.all(canvas[:, :8] == PAD_VALUE) and np.all(canvas[:, 8 + 320:] == PAD_VALUE)
    images, _ = prepare_all([record], (336, 256))
    np.testing.assert_array_equal(images[0], canvas)


def test_prepare_all_stacks(tmp_path):
    record = _record(tmp_path)
    images, targets = prepare_all([record, record])
    assert images.shape == (2, CANVAS_HEIGHT, CANVAS_WIDTH, 3)
    assert targets.shape == (2, CANVAS_HEIGHT // MAP_STRIDE, CANVAS_WIDTH // MAP_STRIDE, 2)
    np.testing.assert_array_equal(images[0], images[1])


def test_strong_augmentation_is_seeded_and_keeps_targets_normalised():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (N, H, W, 3), dtype=np.uint8)
    targets = rng.random((N, H // 4, W // 4, 2)).astype(np.float32)
    targets[..., 0] /= targets[..., 0].sum(axis=(1, 2), keepdims=True)
    a = _epochs(FixationBatches(images, targets, batch_size=5, seed=2, augment="strong"), 2)
    b = _epochs(FixationBatches(images, targets, batch_size=5, seed=2, augment="strong"), 2)
    plain = _epochs(FixationBatches(images, targets, batch_size=5, seed=2), 2)
    changed = 0
    for (xa, ya), (xb, yb), (xp, _) in zip(a[0] + a[1], b[0] + b[1], plain[0] + plain[1], strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
        np.testing.assert_allclose(ya[..., 0].sum(axis=(1, 2)), 1.0, rtol=1e-5)
        changed += int(np.sum(np.any(xa != xp, axis=(1, 2, 3))))
    assert changed > N // 2  # most images zoomed or recoloured somewhere
    with pytest.raises(ValueError, match="augment"):
        FixationBatches(images, targets, augment="rotate")


# --- portrait cuts -------------------------------------------------------------------------


def test_portrait_source_of_a_landscape_photo(tmp_path):
    """100x80 at 320 rows: 400 px = 50 cells wide, left-aligned; fixations scale by 4."""
    record = _record(tmp_path)
    source, targets, cells = prepare_portrait(record)
    assert source.shape == (320, PORTRAIT_SOURCE_WIDTH, 3) and source.dtype == np.uint8
    assert targets.shape == (40, PORTRAIT_SOURCE_WIDTH // MAP_STRIDE, 2)
    assert cells == 50
    assert np.all(source[:, 400:] == PAD_VALUE) and not np.all(source[:, :400] == PAD_VALUE)
    counts = targets[..., 1]
    assert counts.sum() == len(record.fixations) and counts[:, 50:].sum() == 0
    assert counts[5, 5] == 1 and counts[20, 25] == 2 and counts[35, 45] == 1  # (10,10) -> (40,40) ...
    assert targets[..., 0].sum() == pytest.approx(1.0, abs=1e-5)


def test_portrait_source_of_a_portrait_photo_is_letterboxed(tmp_path):
    """60x100 is narrower than 3:4: it sits centred on the 240x320 canvas, one cut wide."""
    record = _record(tmp_path, width=60, height=100, fixations=((30, 50),))
    source, targets, cells = prepare_portrait(record)
    assert cells == 30
    assert np.all(source[:, :24] == PAD_VALUE) and np.all(source[:, 216:] == PAD_VALUE)
    assert targets[..., 1][20, 15] == 1  # (30, 50) -> (24 + 96, 160)
    x, y = portrait_cut(source, targets, cells, np.random.default_rng(0))
    np.testing.assert_array_equal(x, source[:, :240].astype(np.float32))
    np.testing.assert_array_equal(y, targets[:, :30])


def test_portrait_cuts_hold_fixations_and_renormalise(tmp_path):
    """Every cut is 240x320 with its 30x40 targets; the density sums to 1 inside the cut; a
    cut is drawn only where it holds MIN_CUT_FIXATIONS, and else the fullest one is taken."""
    xs = [5.0] * MIN_CUT_FIXATIONS + [95.0]  # five at the left edge, one at the right
    record = _record(tmp_path, fixations=[(x, 40) for x in xs])
    source, targets, cells = prepare_portrait(record)
    rng = np.random.default_rng(1)
    starts = set()
    for _ in range(40):
        x, y = portrait_cut(source, targets, cells, rng)
        assert x.shape == (320, 240, 3) and y.shape == (40, 30, 2)
        assert y[..., 0].sum() == pytest.approx(1.0, abs=1e-5)
        assert y[..., 1].sum() >= MIN_CUT_FIXATIONS
        start = next(s for s in range(cells - 29) if np.array_equal(x, source[:, s * 8:s * 8 + 240]))
        np.testing.assert_array_equal(y, np.concatenate(
            [targets[:, start:start + 30, :1] / targets[:, start:start + 30, 0].sum(),
             targets[:, start:start + 30, 1:]], axis=-1))
        starts.add(start)
    assert len(starts) > 1 and max(starts) <= 2  # left cells 0..2 hold all five; cuts vary
    sparse = _record(tmp_path, fixations=((5, 40), (95, 40)))
    source, targets, cells = prepare_portrait(sparse)
    _, y = portrait_cut(source, targets, cells, rng)  # no cut holds five: the fullest (one)
    assert y[..., 1].sum() == 1


def test_portrait_batches_take_their_share_and_are_seeded(tmp_path):
    record = _record(tmp_path)
    images, targets = prepare_all([record] * 8)
    portrait = prepare_portrait_all([record] * 8)

    def shapes(share, seed):
        batches = FixationBatches(images, targets, batch_size=2, seed=seed, portrait=portrait,
                                  portrait_share=share)
        return [[(x.shape, y.shape) for x, y in epoch] for epoch in _epochs(batches, 5)]

    tall = ((2, 320, 240, 3), (2, 40, 30, 2))
    wide = ((2, CANVAS_HEIGHT, CANVAS_WIDTH, 3), (2, 30, 40, 2))
    counted = [s for epoch in shapes(0.5, 3) for s in epoch]
    assert set(counted) == {tall, wide} and 4 <= counted.count(tall) <= 16  # of 20 batches
    assert shapes(0.5, 3) == shapes(0.5, 3)
    for seed in range(5):  # Keras reads batches 0 and 1 for the signature: one of each canvas
        assert all(epoch[:2] == [wide, tall] for epoch in shapes(0.1, seed))
    assert all(s == wide for epoch in shapes(0.0, 3) for s in epoch)
    assert all(s == tall for epoch in shapes(1.0, 3) for s in epoch)
    validation = FixationBatches(images, targets, batch_size=2, training=False, portrait=portrait,
                                 portrait_share=1.0)
    assert all(x.shape == wide[0] for x, _ in validation)  # validation stays landscape
    with pytest.raises(ValueError, match="portrait source"):
        FixationBatches(images, targets, portrait_share=0.5)
    with pytest.raises(ValueError, match="portrait_share"):
        FixationBatches(images, targets, portrait=portrait, portrait_share=1.5)
