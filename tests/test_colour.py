"""nclx colour descriptions (HEIC) as ICC profiles."""

import io

import numpy as np
from PIL import Image, ImageCms

from smartcrop import colour


def test_nclx_colour_becomes_an_icc_profile():
    icc, warning = colour.nclx_icc({"color_primaries": 12, "transfer_characteristics": 13})
    assert warning is None
    p3 = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    assert ImageCms.getProfileDescription(p3).strip() == "Display P3"
    # P3's green (40, 200, 60) is beyond sRGB: (0, 204, 12) there, as the matrices give it.
    green = Image.new("RGB", (1, 1), (40, 200, 60))
    srgb = ImageCms.profileToProfile(green, p3, ImageCms.createProfile("sRGB"))
    assert np.abs(np.asarray(srgb, int)[0, 0] - (0, 204, 12)).max() <= 1
    assert colour.nclx_icc({"color_primaries": 1, "transfer_characteristics": 13}) == (None, None)
    assert colour.nclx_icc({"color_primaries": 9, "transfer_characteristics": 1})[0]  # BT.2020
    icc, warning = colour.nclx_icc({"color_primaries": 9, "transfer_characteristics": 16})
    assert icc is None and "HDR (PQ)" in warning
