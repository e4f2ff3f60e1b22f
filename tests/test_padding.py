"""Letterboxing: canvas sizes, the image whole and centred, the backgrounds, and --fit auto's rule."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import photo
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from smartcrop import padding
from smartcrop.cropping import Box


@pytest.mark.parametrize(("size", "aspect", "canvas"), [
    ((1600, 900), 9 / 16, (1600, 2844)), ((900, 1600), 16 / 9, (2844, 1600)),
    ((1000, 1000), 1.0, (1000, 1000)), ((1000, 999), 1.0, (1000, 1000)),
])
def test_canvas_holds_the_image_at_the_aspect(size, aspect, canvas):
    assert padding.canvas_size(*size, aspect) == canvas


def test_pad_colour_puts_the_whole_image_centred():
    im = photo((400, 200))
    out = padding.pad(im, (300, 600), "#102030")
    assert out.size == (300, 600) and out.mode == "RGB"
    a = np.asarray(out).astype(int)
    assert (a[:200] == [16, 32, 48]).all() and (a[-200:] == [16, 32, 48]).all()  # bars 225 px each
    inner = np.asarray(im.resize((300, 150), Image.Resampling.BICUBIC)).astype(int)
    assert np.abs(a[225:375] - inner).mean() < 2


def test_blur_background_is_the_photo_darkened():
    im = photo((400, 200))
    out = np.asarray(padding.pad(im, (200, 400), "blur")).astype(float)
    bar = out[:100]
    assert bar.std() < np.asarray(im).std()  # blurred
    assert bar.mean() < np.asarray(im).mean() * 0.8  # darkened
    assert bar.mean() > 20  # but still the photo, not black


def test_blur_backdrop_of_a_photo_whose_aspect_sets_the_scale():
    # 535x800 at 1:1: the cover scale makes the width exactly the backdrop's up to float
    # rounding, and the crop box started a hair below 0 ("box offset can't be negative").
    out = padding.pad(photo((535, 800)), (1080, 1080), "blur")
    assert out.size == (1080, 1080)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 900), st.integers(1, 900), st.integers(1, 1200), st.integers(1, 1200))
def test_blur_backdrop_any_sizes(w, h, tw, th):
    im = Image.new("RGB", (w, h), (200, 100, 50))
    assert padding.blurred_backdrop(im, (tw, th)).size == (tw, th)


def test_auto_takes_a_plain_border_colour_else_blurs():
    product = Image.new("RGB", (400, 300), (250, 250, 250))
    product.paste(photo((200, 150)), (100, 75))
    out = np.asarray(padding.pad(product, (300, 600), "auto")).astype(int)
    assert (np.abs(out[:100] - 250) <= 1).all()
    assert padding.plain_border(photo((400, 300))) is None


def test_alpha_shows_the_background():
    im = Image.new("RGBA", (100, 100), (255, 0, 0, 0))
    out = padding.pad(im, (100, 200), "#00ff00")
    assert out.mode == "RGBA" and out.getpixel((50, 100)) == (0, 255, 0, 255)


def product_on_transparent(hidden=(0, 255, 0)) -> Image.Image:
    """An opaque red ellipse on a transparent background whose hidden colour is `hidden`."""
    from PIL import ImageDraw

    im = Image.new("RGBA", (400, 300), (*hidden, 0))
    ImageDraw.Draw(im).ellipse((100, 60, 300, 240), fill=(220, 30, 30, 255))
    return im


@pytest.mark.parametrize("background", ["auto", "blur", "#ffffff"])
def test_pad_keeps_alpha_and_never_shows_the_hidden_colour(background):
    """A transparent product padded as RGB took the colour under its transparent pixels: auto
    padded pure green (the border's hidden colour), blur glowed green, both opaque."""
    out = padding.pad(product_on_transparent(), (300, 600), background)
    assert out.mode == "RGBA" and out.size == (300, 600)
    a = np.asarray(out).astype(int)
    assert (a[300, 150] == [220, 30, 30, 255]).all()  # the subject, untouched
    # The hidden colour changes nothing: not a pixel differs from the same image hiding black.
    assert (a == np.asarray(padding.pad(product_on_transparent((0, 0, 0)), (300, 600), background))).all()
    bar = a[:150]  # above the image (300x225, centred)
    if background == "auto":  # a plain transparent border: transparent padding
        assert (bar[..., 3] == 0).all() and (a[300, 5, 3] == 0)
    elif background == "#ffffff":  # a colour is opaque, behind the transparent parts too
        assert (bar == 255).all() and (a[300, 5] == 255).all()
    else:  # the red subject blurred, darkened, with blurred alpha: no green anywhere
        shown = a[..., :3] * a[..., 3:] / 255  # as composited over black (bicubic edges: 33)
        assert shown[..., 1].max() < 40 and bar[..., 3].max() > 0 and bar[..., 3].min() < 255


def test_plain_border_of_a_transparent_image_is_transparent():
    assert padding.plain_border(product_on_transparent()) == (0, 0, 0, 0)
    half = Image.new("RGBA", (100, 80), (10, 20, 30, 128))
    assert padding.plain_border(half) == (10, 20, 30, 128)
    assert padding.plain_border(Image.new("RGB", (100, 80), (10, 20, 30))) == (10, 20, 30)


def test_auto_fit_rule():
    assert padding.choose(0.9) == "crop"
    assert padding.choose(padding.AUTO_MIN_SCORE - 0.01) == "pad"
    assert padding.choose(0.99, faces_lost=1) == "pad"
    assert padding.choose(0.99, faces_lost=0) == "crop"


def test_faces_lost_counts_cut_and_left_out_faces():
    box = Box(100, 0, 200, 400)
    faces = [[120, 10, 50, 50],  # inside
             [280, 10, 50, 50],  # cut by the right edge
             [10, 10, 50, 50],  # left out
             [99.5, 10, 50, 50]]  # 1% outside: whole
    assert padding.faces_lost(box, faces) == 2
    assert padding.faces_lost(box, []) == 0


def test_faces_lost_counts_left_out_faces_only_when_prominent():
    box = Box(100, 0, 200, 400)
    largest = [150, 10, 60, 60]  # inside
    assert padding.faces_lost(box, [largest, [10, 100, 30, 30]]) == 1  # half its side: counts
    assert padding.faces_lost(box, [largest, [10, 100, 29, 29]]) == 0  # a bystander: does not
    assert padding.faces_lost(box, [largest, [10, 100, 29, 29]], prominent=0) == 1  # the old rule
    assert padding.faces_lost(box, [largest, [290, 100, 20, 20]]) == 1  # cut: counts at any size
    assert padding.faces_lost(box, [largest, [299.9, 100, 20, 20]]) == 0  # 0.5% inside: left out
    assert padding.faces_lost(box, [[10, 100, 29, 29]]) == 1  # the only face is the largest
    assert padding.faces_lost(box, [[10, 100, 60, 60], [120, 100, 20, 20]], prominent=0.5) == 1
