"""Saliency losses on tiny maps against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytestmark = pytest.mark.train

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from smartcrop.model.losses import (  # noqa: E402
    cc_metric,
    correlation,
    kl_divergence,
    kl_metric,
    make_loss,
    nss,
    nss_metric,
    saliency_loss,
    sat_distance,
)

# 1x2x2x1 maps, row-major values:
#   density g = [0.1, 0.2, 0.3, 0.4]   (sums to 1)
#   pred    p = [0.2, 0.2, 0.2, 0.4]   (sums to 1)
#   fixation counts f = [0, 0, 1, 2]
DENSITY = np.array([0.1, 0.2, 0.3, 0.4], np.float32).reshape(1, 2, 2, 1)
PRED = np.array([0.2, 0.2, 0.2, 0.4], np.float32).reshape(1, 2, 2, 1)
FIXATIONS = np.array([0, 0, 1, 2], np.float32).reshape(1, 2, 2, 1)

# KL = sum g ln(g / p) = 0.1 ln(0.5) + 0.2 ln(1) + 0.3 ln(1.5) + 0.4 ln(1)
#    = -0.0693147 + 0.1216395 = 0.0523248
KL = 0.1 * math.log(0.5) + 0.3 * math.log(1.5)
# CC: both means are 0.25; deviations g' = [-.15, -.05, .05, .15], p' = [-.05, -.05, -.05, .15]
#   sum g'p' = .0075 + .0025 - .0025 + .0225 = .03; sum g'^2 = .05; sum p'^2 = .03
#   CC = .03 / sqrt(.05 * .03) = sqrt(.6) = 0.7745967
CC = math.sqrt(0.6)
# NSS: std(p) (population) = sqrt(.03 / 4) = sqrt(.0075); standardised p = [-1/sqrt3] * 3 + [sqrt3]
#   count-weighted mean at fixations = (1 * -1/sqrt3 + 2 * sqrt3) / 3 = 5 / (3 sqrt3) = 0.9622504
NSS = 5 / (3 * math.sqrt(3))


def _np(x) -> np.ndarray:
    return keras.ops.convert_to_numpy(x)


def test_kl_by_hand():
    assert _np(kl_divergence(DENSITY, PRED)) == pytest.approx([KL], abs=1e-5)
    assert KL == pytest.approx(0.0523248, abs=1e-7)


def test_kl_normalises_both_maps():
    assert _np(kl_divergence(3.0 * DENSITY, 0.5 * PRED)) == pytest.approx([KL], abs=1e-5)
    assert _np(kl_divergence(DENSITY, DENSITY)) == pytest.approx([0.0], abs=1e-5)


def test_correlation_by_hand():
    assert _np(correlation(DENSITY, PRED)) == pytest.approx([CC], abs=1e-5)
    assert CC == pytest.approx(0.7745967, abs=1e-7)


def test_correlation_of_map_with_itself_is_one():
    rng = np.random.default_rng(0)
    maps = rng.random((3, 5, 7, 1)).astype(np.float32)
    np.testing.assert_allclose(_np(correlation(maps, maps)), 1.0, rtol=1e-5)
    np.testing.assert_allclose(_np(correlation(maps, 2.0 * maps + 1.0)), 1.0, rtol=1e-5)
    np.testing.assert_allclose(_np(correlation(maps, -maps)), -1.0, rtol=1e-5)


def test_nss_by_hand():
    assert _np(nss(FIXATIONS, PRED)) == pytest.approx([NSS], abs=1e-5)
    assert NSS == pytest.approx(0.9622504, abs=1e-7)


def test_saliency_loss_is_kl_plus_one_minus_cc():
    y_true = np.concatenate([DENSITY, FIXATIONS], axis=-1)  # (1, 2, 2, 2): density, fixations
    # 0.0523248 + 1 - 0.7745967 = 0.2777281
    assert _np(saliency_loss(y_true, PRED)) == pytest.approx([KL + 1 - CC], abs=1e-5)
    assert KL + 1 - CC == pytest.approx(0.2777281, abs=1e-7)
    assert _np(cc_metric(y_true, PRED)) == pytest.approx([CC], abs=1e-5)
    assert _np(kl_metric(y_true, PRED)) == pytest.approx([KL], abs=1e-5)
    assert _np(nss_metric(y_true, PRED)) == pytest.approx([NSS], abs=1e-5)


def test_saliency_loss_per_sample_and_zero_at_perfect_prediction():
    y_true = np.concatenate([np.concatenate([DENSITY, PRED]), np.concatenate([FIXATIONS, FIXATIONS])], -1)
    loss = _np(saliency_loss(y_true, np.concatenate([PRED, PRED])))
    assert loss.shape == (2,)
    assert loss[0] == pytest.approx(KL + 1 - CC, abs=1e-5)
    assert loss[1] == pytest.approx(0.0, abs=1e-5)


def test_metric_names():
    assert [m.__name__ for m in (cc_metric, kl_metric, nss_metric)] == ["cc", "kl", "nss"]


def test_sat_distance_by_hand():
    # g - p = [[-0.1, 0], [0.1, 0]]; its summed-area table [[-0.1, -0.1], [0, 0]]; mean |.| 0.05
    assert _np(sat_distance(DENSITY, PRED)) == pytest.approx([0.05], abs=1e-6)
    assert _np(sat_distance(DENSITY, DENSITY)) == pytest.approx([0.0], abs=1e-7)


def test_sat_distance_matches_brute_force_and_grows_with_a_shift():
    rng = np.random.default_rng(3)
    g, p = rng.random((2, 1, 5, 7, 1)).astype(np.float32)
    gn, pn = g[0, ..., 0] / g.sum(), p[0, ..., 0] / p.sum()
    brute = np.mean([abs((gn - pn)[:i + 1, :j + 1].sum()) for i in range(5) for j in range(7)])
    assert _np(sat_distance(g, p)) == pytest.approx([brute], rel=1e-4)
    # the same blob one and three columns away: the mass is farther, the distance larger
    blob = np.zeros((1, 5, 7, 1), np.float32)
    blob[0, 2, 1] = 1
    near, far = np.roll(blob, 1, axis=2), np.roll(blob, 3, axis=2)
    assert 0 < _np(sat_distance(blob, near))[0] < _np(sat_distance(blob, far))[0]


def test_make_loss_adds_the_weighted_sat_distance():
    y_true = np.concatenate([DENSITY, FIXATIONS], axis=-1)
    assert _np(make_loss(0.0)(y_true, PRED)) == pytest.approx(_np(saliency_loss(y_true, PRED)))
    assert _np(make_loss(5.0)(y_true, PRED)) == pytest.approx([KL + 1 - CC + 5 * 0.05], abs=1e-5)


def test_make_loss_subtracts_the_weighted_nss():
    y_true = np.concatenate([DENSITY, FIXATIONS], axis=-1)
    assert _np(make_loss(nss_weight=0.25)(y_true, PRED)) == pytest.approx(
        [KL + 1 - CC - 0.25 * NSS], abs=1e-5)
    both = make_loss(5.0, 0.25)(y_true, PRED)
    assert _np(both) == pytest.approx([KL + 1 - CC + 5 * 0.05 - 0.25 * NSS], abs=1e-5)


def test_heads_are_scored_each_on_its_own_and_metrics_on_their_mean():
    """A K-channel prediction is K heads: the loss is the mean of the heads' losses (not the
    loss of their mean), and the metrics score the mean map the exported model gives."""
    y_true = np.concatenate([DENSITY, FIXATIONS], axis=-1)
    flat = np.full_like(PRED, 1 / PRED[0].size)
    both = np.concatenate([PRED, flat], axis=-1)
    loss = make_loss(nss_weight=0.25)
    expected = (_np(loss(y_true, PRED)) + _np(loss(y_true, flat))) / 2
    assert _np(loss(y_true, both)) == pytest.approx(expected, abs=1e-5)
    mean = (PRED + flat) / 2
    assert _np(cc_metric(y_true, both)) == pytest.approx(_np(cc_metric(y_true, mean)), abs=1e-6)
    assert _np(nss_metric(y_true, both)) == pytest.approx(_np(nss_metric(y_true, mean)), abs=1e-5)
