"""Saliency evaluation metrics as defined by the MIT/Tübingen saliency benchmark (Bylinskii et al.).

Pure numpy ports of CC, NSS, AUC-Judd, SIM and KL from the benchmark's MATLAB code, with
degenerate inputs (constant maps) given finite values instead of NaN.
"""

from __future__ import annotations

import numpy as np

# MATLAB's eps, as used by the benchmark's KLdiv.m.
KL_EPS = 2.2204e-16
# Scale of the uniform tie-breaking noise AUC_Judd.m adds to the saliency map.
AUC_JITTER_SCALE = 1e-7


def _as_map(array: np.ndarray, name: str) -> np.ndarray:
    """Return ``array`` as a finite 2-D float64 map, raising ValueError otherwise."""
    out = np.asarray(array, dtype=np.float64)
    if out.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {out.shape}")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return out


def _as_pair(
    first: np.ndarray, second: np.ndarray, names: tuple[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """Validate two maps and check that their shapes match (the benchmark resizes; we refuse)."""
    a, b = _as_map(first, names[0]), _as_map(second, names[1])
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} shape {a.shape} != {names[1]} shape {b.shape}")
    return a, b


def _min_max(values: np.ndarray) -> np.ndarray | None:
    """Rescale to [0, 1]; None for a constant map (where the benchmark would divide by zero)."""
    shifted = values - values.min()
    top = shifted.max()
    if top <= 0:
        return None
    return shifted / top


def _standardise(values: np.ndarray) -> np.ndarray | None:
    """Zero mean, unit population std; None for a constant map. Rescaling first avoids underflow."""
    scaled = _min_max(values)
    if scaled is None:
        return None
    centred = scaled - scaled.mean()
    return centred / centred.std()


def _fixation_mask(fixation_map: np.ndarray) -> np.ndarray:
    """Boolean mask of fixated pixels (> 0), each counted once; ValueError if there are none."""
    mask = fixation_map > 0
    if not mask.any():
        raise ValueError("fixation_map has no fixated pixels (no values > 0)")
    return mask


def _to_distribution(values: np.ndarray, name: str) -> np.ndarray:
    """Divide a non-negative map by its sum (left as zeros if it sums to 0, as KLdiv.m does)."""
    if np.any(values < 0):
        raise ValueError(f"{name} must be non-negative for KL")
    total = values.sum()
    return values / total if total > 0 else values


def cc(saliency: np.ndarray, density: np.ndarray) -> float:
    """Pearson correlation of the two standardised maps; 0 if either map is constant."""
    s, d = _as_pair(saliency, density, ("saliency", "density"))
    s_std, d_std = _standardise(s), _standardise(d)
    if s_std is None or d_std is None:
        return 0.0
    return float(np.clip(np.mean(s_std * d_std), -1.0, 1.0))


def nss(saliency: np.ndarray, fixation_map: np.ndarray) -> float:
    """Mean standardised saliency (population std) at fixated pixels; 0 for constant saliency."""
    s, f = _as_pair(saliency, fixation_map, ("saliency", "fixation_map"))
    mask = _fixation_mask(f)
    s_std = _standardise(s)
    if s_std is None:
        return 0.0
    return float(s_std[mask].mean())


def auc_judd(
    saliency: np.ndarray, fixation_map: np.ndarray, jitter: bool = True, seed: int = 0
) -> float:
    """Judd's ROC area: thresholds at fixated saliency values, trapezoid area incl. (0,0), (1,1).

    The map is rescaled to [0, 1], then (optionally) seeded 1e-7 uniform jitter breaks ties as in
    AUC_Judd.m. TP counts fixated pixels >= threshold, so tied fixations share one ROC point.
    """
    s, f = _as_pair(saliency, fixation_map, ("saliency", "fixation_map"))
    mask = _fixation_mask(f)
    n_pixels, n_fix = s.size, int(mask.sum())
    if n_fix == n_pixels:
        raise ValueError("fixation_map fixates every pixel; AUC needs non-fixated pixels")
    scaled = _min_max(s)
    values = np.zeros_like(s) if scaled is None else scaled
    if jitter:
        values = values + np.random.default_rng(seed).random(values.shape) * AUC_JITTER_SCALE
    all_sorted = np.sort(values, axis=None)
    fix_sorted = np.sort(values[mask])
    thresholds = fix_sorted[::-1]
    above = n_pixels - np.searchsorted(all_sorted, thresholds, side="left")
    fix_above = n_fix - np.searchsorted(fix_sorted, thresholds, side="left")
    tp = np.concatenate(([0.0], fix_above / n_fix, [1.0]))
    fp = np.concatenate(([0.0], (above - fix_above) / (n_pixels - n_fix), [1.0]))
    return float(np.sum(np.diff(fp) * (tp[1:] + tp[:-1]) / 2.0))


def sim(saliency: np.ndarray, density: np.ndarray) -> float:
    """Histogram intersection: both maps min-max rescaled, summed to 1, sum of elementwise min.

    The min-max step follows similarity.m; a constant map is treated as uniform.
    """
    s, d = _as_pair(saliency, density, ("saliency", "density"))
    dists = []
    for values in (s, d):
        scaled = _min_max(values)
        if scaled is None:
            scaled = np.ones_like(values)
        dists.append(scaled / scaled.sum())
    return float(np.clip(np.minimum(dists[0], dists[1]).sum(), 0.0, 1.0))


def kl(saliency: np.ndarray, density: np.ndarray, eps: float = KL_EPS) -> float:
    """KL divergence of the saliency distribution from the density: sum d*log(eps + d/(s+eps)).

    Both non-negative maps are normalised to sum 1 first (no min-max step, as in KLdiv.m).
    """
    s, d = _as_pair(saliency, density, ("saliency", "density"))
    p_s, p_d = _to_distribution(s, "saliency"), _to_distribution(d, "density")
    return float(np.sum(p_d * np.log(eps + p_d / (p_s + eps))))


def all_metrics(
    saliency: np.ndarray, density: np.ndarray, fixation_map: np.ndarray
) -> dict[str, float]:
    """All five benchmark metrics for one image, keyed "cc", "nss", "auc_judd", "sim", "kl"."""
    return {
        "cc": cc(saliency, density),
        "nss": nss(saliency, fixation_map),
        "auc_judd": auc_judd(saliency, fixation_map),
        "sim": sim(saliency, density),
        "kl": kl(saliency, density),
    }
