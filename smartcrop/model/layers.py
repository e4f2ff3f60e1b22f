"""Keras layers of the SAM-style saliency head: attentive ConvLSTM, Gaussian priors, spatial softmax."""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="smartcrop")
class AttentiveConvLSTM(layers.Layer):
    """SAM's attentive ConvLSTM (Cornia et al., arXiv 1611.09571), unrolled for `steps` steps.

    At each step an attention map ``softmax_xy(V_a * tanh(W_a * X + U_a * H))`` re-weights the
    input features, and a ConvLSTM cell with `kernel_size` kernels updates (H, C). The attention
    is rescaled to mean 1 over positions so the re-weighted features keep their magnitude.

    Args:
        units: channels of the hidden and cell state.
        steps: refinement steps T (SAM: 4).
        kernel_size: kernel of the attention and LSTM convolutions (SAM: 3).
        **kwargs: passed to `keras.layers.Layer`.
    """

    def __init__(self, units: int = 128, steps: int = 4, kernel_size: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.steps = steps
        self.kernel_size = kernel_size

    def build(self, input_shape):
        channels = input_shape[-1]
        k = self.kernel_size
        self.w_a = layers.Conv2D(channels, k, padding="same", name="w_a")
        self.u_a = layers.Conv2D(channels, k, padding="same", use_bias=False, name="u_a")
        self.v_a = layers.Conv2D(1, k, padding="same", use_bias=False, name="v_a")
        self.w_gates = layers.Conv2D(4 * self.units, k, padding="same", name="w_gates")
        self.u_gates = layers.Conv2D(4 * self.units, k, padding="same", use_bias=False, name="u_gates")
        state_shape = (*input_shape[:-1], self.units)
        self.w_a.build(input_shape)
        self.u_a.build(state_shape)
        self.v_a.build((*input_shape[:-1], channels))
        self.w_gates.build(input_shape)
        self.u_gates.build(state_shape)

    def call(self, x):
        zeros = ops.zeros_like(x[..., :1])
        h = ops.repeat(zeros, self.units, axis=-1)
        c = h
        wx = self.w_a(x)  # the input term of the attention does not change between steps
        shape = ops.shape(x)
        positions = ops.cast(shape[1] * shape[2], x.dtype)
        for _ in range(self.steps):
            e = self.v_a(ops.tanh(wx + self.u_a(h)))
            e = e - ops.max(e, axis=(1, 2), keepdims=True)
            a = ops.exp(e)
            a = a / ops.sum(a, axis=(1, 2), keepdims=True) * positions
            gates = self.w_gates(x * a) + self.u_gates(h)
            i, f, o, g = ops.split(gates, 4, axis=-1)
            c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
            h = ops.sigmoid(o) * ops.tanh(c)
        return h

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "steps": self.steps, "kernel_size": self.kernel_size})
        return config


@keras.saving.register_keras_serializable(package="smartcrop")
class GaussianPrior(layers.Layer):
    """Learned 2-D Gaussian maps (SAM's centre-bias priors), one channel per Gaussian.

    Means and standard deviations are trainable, in coordinates normalised to [0, 1] along each
    axis of the input, so the same priors apply at any input size. Each map peaks at 1. The
    output has the input's spatial shape and `num_priors` channels; the input's values are unused.

    Args:
        num_priors: number of Gaussians (SAM: 16).
        seed: seed of the initial means (the widths use seed + 1); heads sharing a backbone
            each take their own, so that they start apart.
        **kwargs: passed to `keras.layers.Layer`.
    """

    def __init__(self, num_priors: int = 16, seed: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.num_priors = num_priors
        self.seed = seed

    def build(self, input_shape):
        n = self.num_priors
        # Means start spread over the central region, widths over a range of scales.
        self.mu = self.add_weight(
            shape=(2, n), name="mu",
            initializer=keras.initializers.RandomUniform(0.3, 0.7, seed=self.seed),
        )
        self.sigma = self.add_weight(
            shape=(2, n), name="sigma",
            initializer=keras.initializers.RandomUniform(0.1, 0.4, seed=self.seed + 1),
        )

    def call(self, x):
        shape = ops.shape(x)
        height, width = shape[1], shape[2]
        ys = (ops.cast(ops.arange(height), "float32") + 0.5) / ops.cast(height, "float32")
        xs = (ops.cast(ops.arange(width), "float32") + 0.5) / ops.cast(width, "float32")
        mu = ops.clip(self.mu, 0.05, 0.95)
        sigma = ops.clip(self.sigma, 0.05, 1.0)
        gy = ops.exp(-0.5 * ops.square((ys[:, None] - mu[1][None, :]) / sigma[1][None, :]))
        gx = ops.exp(-0.5 * ops.square((xs[:, None] - mu[0][None, :]) / sigma[0][None, :]))
        maps = gy[:, None, :] * gx[None, :, :]  # (H, W, N)
        batch = ops.zeros_like(x[:, :1, :1, :1])  # (B, 1, 1, 1) to broadcast the batch size
        return ops.cast(maps[None] + batch, x.dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_priors)

    def get_config(self):
        config = super().get_config()
        config.update({"num_priors": self.num_priors, "seed": self.seed})
        return config


@keras.saving.register_keras_serializable(package="smartcrop")
class SpatialSoftmax(layers.Layer):
    """Softmax over all positions of a one-channel map: a non-negative map that sums to 1."""

    def call(self, x):
        x = x - ops.max(x, axis=(1, 2), keepdims=True)
        e = ops.exp(x)
        return e / ops.sum(e, axis=(1, 2), keepdims=True)


class Upsample(layers.UpSampling2D):
    """Bilinear `UpSampling2D` that also runs where the input's height and width are known
    only at run time (training one model on the landscape and portrait canvases); where they
    are known (inference, export) it is `UpSampling2D` itself, so exported graphs are unchanged.
    """

    def __init__(self, size=2, **kwargs):
        kwargs.setdefault("interpolation", "bilinear")
        super().__init__(size, **kwargs)

    def call(self, inputs):
        if None not in tuple(inputs.shape[1:3]):
            return super().call(inputs)
        from keras.src import backend  # ops.image.resize checks its size in Python

        shape = ops.shape(inputs)
        size = (shape[1] * self.size[0], shape[2] * self.size[1])
        return backend.image.resize(inputs, size, interpolation=self.interpolation,
                                    data_format="channels_last")
