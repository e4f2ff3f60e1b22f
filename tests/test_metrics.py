"""Hand-computable checks of the saliency benchmark metrics in smartcrop.metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from smartcrop.metrics import all_metrics, auc_judd, cc, kl, nss, sim

ROW = np.array([[1.0, 2.0, 3.0, 4.0]])


def _reference_auc_judd(saliency: np.ndarray, fixation_map: np.ndarray) -> float:
    """Loop transcription of AUC_Judd.m without jitter, to check the vectorised version."""
    s = saliency.ravel()
    s = (s - s.min()) / (s.max() - s.min())
    sth = np.sort(s[fixation_map.ravel() > 0])[::-1]
    n_fix, n_pix = sth.size, s.size
    tp, fp = [0.0], [0.0]
    for i, thresh in enumerate(sth, start=1):
        tp.append(i / n_fix)
        fp.append((np.sum(s >= thresh) - i) / (n_pix - n_fix))
    tp.append(1.0)
    fp.append(1.0)
    return float(sum((fp[k + 1] - fp[k]) * (tp[k + 1] + tp[k]) / 2 for k in range(len(tp) - 1)))


def test_cc_self_negation_affine():
    rng = np.random.default_rng(1)
    m = rng.random((5, 7))
    assert cc(m, m) == pytest.approx(1.0)
    assert cc(m, -m) == pytest.approx(-1.0)
    assert cc(m, 3.0 * m + 2.0) == pytest.approx(1.0)
    assert cc(m, -0.5 * m + 7.0) == pytest.approx(-1.0)


def test_cc_hand_computed():
    # x = [1,2,3,4], y = [1,0,0,1]: covariance 0 by symmetry.
    assert cc(ROW, np.array([[1.0, 0.0, 0.0, 1.0]])) == pytest.approx(0.0, abs=1e-12)
    # y = [0,0,0,1]: deviations [-1.5,-.5,.5,1.5] and [-.25,-.25,-.25,.75];
    # r = 1.5 / sqrt(5 * 0.75) = 3 / sqrt(15).
    assert cc(ROW, np.array([[0.0, 0.0, 0.0, 1.0]])) == pytest.approx(3 / math.sqrt(15))


def test_nss_hand_computed():
    # mean 2.5, population std sqrt(1.25); z at values 3 and 4 = 0.5/s and 1.5/s -> mean 1/s.
    fix = np.array([[0.0, 0.0, 1.0, 1.0]])
    assert nss(ROW, fix) == pytest.approx(1 / math.sqrt(1.25))
    # Fixation counts above 1 still count each pixel once.
    assert nss(ROW, np.array([[0.0, 0.0, 5.0, 1.0]])) == pytest.approx(1 / math.sqrt(1.25))
    assert nss(ROW, np.array([[1.0, 0.0, 0.0, 0.0]])) == pytest.approx(-1.5 / math.sqrt(1.25))


def test_auc_judd_top_and_bottom_pixels():
    sal = np.arange(100, dtype=float).reshape(10, 10)
    top = (sal >= 90).astype(float)
    bottom = (sal < 50).astype(float)
    for jitter in (False, True):
        assert auc_judd(sal, top, jitter=jitter) == pytest.approx(1.0)
        # All 50 ROC points sit at fp=1, so only the first trapezoid counts: 1 / (2 * 50).
        assert auc_judd(sal, bottom, jitter=jitter) == pytest.approx(0.01)


def test_auc_judd_hand_computed():
    # Normalised map [0, 1/3, 2/3, 1], fixations on values 4 and 2 -> thresholds 1 and 1/3.
    # ROC: (0,0), (0,0.5), (0.5,1), (1,1): area 0 + 0.375 + 0.5.
    fix = np.array([[0.0, 1.0, 0.0, 1.0]])
    assert auc_judd(ROW, fix, jitter=False) == pytest.approx(0.875)


def test_auc_judd_matches_loop_reference_and_scale():
    rng = np.random.default_rng(2)
    sal = rng.random((6, 9))
    fix = (rng.random((6, 9)) < 0.2).astype(float)
    ref = _reference_auc_judd(sal, fix)
    assert auc_judd(sal, fix, jitter=False) == pytest.approx(ref)
    assert auc_judd(sal * 1e-6 + 5.0, fix) == pytest.approx(ref, abs=1e-4)


def test_auc_judd_jitter_is_seeded():
    sal = np.zeros((4, 4))
    sal[0, :2] = 1.0
    fix = np.zeros((4, 4))
    fix[0, 0] = fix[3, 3] = 1.0
    assert auc_judd(sal, fix, seed=3) == auc_judd(sal, fix, seed=3)


def test_auc_judd_large_map_is_fast_enough():
    rng = np.random.default_rng(4)
    sal = rng.random((600, 800))
    fix = np.zeros((600, 800))
    fix[rng.integers(0, 600, 300), rng.integers(0, 800, 300)] = 1.0
    assert 0.4 < auc_judd(sal, fix) < 0.6


def test_sim_identical_disjoint_and_hand_computed():
    m = np.array([[0.0, 1.0], [2.0, 3.0]])
    assert sim(m, m) == pytest.approx(1.0)
    assert sim(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])) == pytest.approx(0.0)
    # [0,1,3] -> [0,.25,.75]; [0,1,1] -> [0,.5,.5]; min sum = 0.25 + 0.5.
    assert sim(np.array([[0.0, 1.0, 3.0]]), np.array([[0.0, 1.0, 1.0]])) == pytest.approx(0.75)


def test_kl_identical_and_hand_computed():
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert kl(m, m) == pytest.approx(0.0, abs=1e-12)
    # saliency [.25,.75], density [.5,.5]: 0.5*ln(2) + 0.5*ln(2/3) = 0.5*ln(4/3).
    assert kl(np.array([[1.0, 3.0]]), np.array([[1.0, 1.0]])) == pytest.approx(0.5 * math.log(4 / 3))


def test_scale_invariance():
    rng = np.random.default_rng(5)
    sal, dens = rng.random((5, 6)), rng.random((5, 6))
    for c in (0.01, 7.0, 1e4):
        assert cc(c * sal, dens) == pytest.approx(cc(sal, dens))
        assert sim(c * sal, dens) == pytest.approx(sim(sal, dens))
        assert kl(c * sal, dens) == pytest.approx(kl(sal, dens))


def test_constant_saliency_is_finite():
    const = np.full((3, 4), 0.1)
    dens = np.arange(12, dtype=float).reshape(3, 4)
    fix = (dens > 8).astype(float)
    assert cc(const, dens) == 0.0
    assert nss(const, fix) == 0.0
    assert auc_judd(const, fix, jitter=False) == pytest.approx(0.5)
    assert 0.0 <= auc_judd(const, fix) <= 1.0
    assert sim(const, const) == pytest.approx(1.0)
    assert all(math.isfinite(v) for v in all_metrics(const, dens, fix).values())


def test_empty_fixations_and_bad_shapes_raise():
    sal = np.ones((2, 3))
    with pytest.raises(ValueError, match="no fixated pixels"):
        nss(sal, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="no fixated pixels"):
        auc_judd(sal, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="every pixel"):
        auc_judd(sal, np.ones((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        cc(sal, np.ones((3, 2)))
    with pytest.raises(ValueError, match="2-D"):
        sim(np.ones(6), np.ones(6))


def test_all_metrics_keys():
    rng = np.random.default_rng(6)
    sal, dens = rng.random((4, 5)), rng.random((4, 5))
    fix = (dens > 0.5).astype(float)
    fix[0, 0] = 1.0
    result = all_metrics(sal, dens, fix)
    assert set(result) == {"cc", "nss", "auc_judd", "sim", "kl"}
    assert result["cc"] == cc(sal, dens)


maps = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 6)),
    elements=st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_cc_and_sim_ranges(data):
    a = data.draw(maps)
    b = data.draw(hnp.arrays(np.float64, a.shape, elements=st.floats(0.0, 1e6)))
    assert -1.0 <= cc(a, b) <= 1.0
    assert 0.0 <= sim(a, b) <= 1.0
