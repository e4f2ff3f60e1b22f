"""Saliency losses and metrics on (B, H, W, 1) maps; targets stacked as (density, fixations).

A prediction with K > 1 channels is K heads' maps: the loss is the mean of each head's, and the
metrics score the heads' mean map, which is what the exported model gives.
"""

from __future__ import annotations

import keras
from keras import ops

EPS = 1e-7
# Loss weights: KL + (1 - CC) as SAM's core; NSS and the summed-area-table distance are
# optional terms (make_loss), off by default.
KL_WEIGHT = 1.0
CC_WEIGHT = 1.0


def _flat(x):
    return ops.reshape(x, (ops.shape(x)[0], -1))


def kl_divergence(density, pred):
    """MIT-benchmark KL(density || pred) per sample, both normalised to sum 1."""
    g = _flat(density)
    p = _flat(pred)
    g = g / (ops.sum(g, axis=1, keepdims=True) + EPS)
    p = p / (ops.sum(p, axis=1, keepdims=True) + EPS)
    return ops.sum(g * ops.log(EPS + g / (p + EPS)), axis=1)


def correlation(density, pred):
    """Pearson correlation coefficient between maps, per sample."""
    g = _flat(density)
    p = _flat(pred)
    g = g - ops.mean(g, axis=1, keepdims=True)
    p = p - ops.mean(p, axis=1, keepdims=True)
    num = ops.sum(g * p, axis=1)
    den = ops.sqrt(ops.sum(g * g, axis=1) * ops.sum(p * p, axis=1)) + EPS
    return num / den


def nss(fixations, pred):
    """Normalised scanpath saliency: mean standardised saliency at fixations (count-weighted)."""
    f = _flat(fixations)
    p = _flat(pred)
    p = (p - ops.mean(p, axis=1, keepdims=True)) / (ops.std(p, axis=1, keepdims=True) + EPS)
    return ops.sum(p * f, axis=1) / (ops.sum(f, axis=1) + EPS)


def sat_distance(density, pred):
    """Mean absolute difference of the maps' summed-area tables, both normalised to sum 1.

    Every window's share of saliency is four corners of this table, so it bounds how far the
    crop search's window sums can be from the fixations' (the crop figure), which KL and CC
    do not weigh: they score each cell, not where the mass sits at the scale of a window.
    """
    g = density[..., 0]
    p = pred[..., 0]
    g = g / (ops.sum(g, axis=(1, 2), keepdims=True) + EPS)
    p = p / (ops.sum(p, axis=(1, 2), keepdims=True) + EPS)
    table = ops.cumsum(ops.cumsum(g - p, axis=1), axis=2)
    return ops.mean(ops.abs(table), axis=(1, 2))


def _split(y_true):
    return y_true[..., 0:1], y_true[..., 1:2]


@keras.saving.register_keras_serializable(package="smartcrop")
def saliency_loss(y_true, y_pred):
    density = _split(y_true)[0]
    return KL_WEIGHT * kl_divergence(density, y_pred) + CC_WEIGHT * (1.0 - correlation(density, y_pred))


def make_loss(sat_weight: float = 0.0, nss_weight: float = 0.0):
    """The training loss: `saliency_loss`, plus `sat_weight` times `sat_distance` and minus
    `nss_weight` times NSS at the fixation counts (SAM's third term) when set. Each head's map
    (channel) is scored on its own, so the heads stay separate estimators."""
    def one(y_true, y_pred):
        density, fixations = _split(y_true)
        total = saliency_loss(y_true, y_pred)
        if sat_weight:
            total = total + sat_weight * sat_distance(density, y_pred)
        if nss_weight:
            total = total - nss_weight * nss(fixations, y_pred)
        return total

    def loss(y_true, y_pred):
        heads = y_pred.shape[-1]
        if heads == 1:
            return one(y_true, y_pred)
        return sum(one(y_true, y_pred[..., k:k + 1]) for k in range(heads)) / heads

    loss.__name__ = "saliency_extra_loss" if sat_weight or nss_weight else "saliency_loss"
    return loss


def _mean_map(y_pred):
    return ops.mean(y_pred, axis=-1, keepdims=True)


def cc_metric(y_true, y_pred):
    return correlation(_split(y_true)[0], _mean_map(y_pred))


def kl_metric(y_true, y_pred):
    return kl_divergence(_split(y_true)[0], _mean_map(y_pred))


def nss_metric(y_true, y_pred):
    return nss(_split(y_true)[1], _mean_map(y_pred))


cc_metric.__name__ = "cc"
kl_metric.__name__ = "kl"
nss_metric.__name__ = "nss"
