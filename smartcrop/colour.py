"""Colour that a HEIC gives by an nclx box (ISO/IEC 23091-2 code points) instead of an ICC
profile: the equivalent profile for the outputs to carry, or why none can be made (HDR)."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
from PIL import Image

# A HEIC may describe its colour by an nclx box (ISO/IEC 23091-2 code points) instead of an ICC
# profile; pillow-heif gives it as info["nclx_profile"], with the primaries' chromaticities.
# Outputs get an equivalent ICC profile (v4, matrix and parametric curves) unless it is sRGB's.
_NCLX_SRGB_PRIMARIES, _NCLX_SRGB_TRANSFER = {1, 2}, {13, 2}  # BT.709 = sRGB; 2: unspecified
_NCLX_PRIMARY_NAMES = {1: "BT.709", 9: "BT.2020", 11: "DCI-P3", 12: "P3-D65"}
# (red, green, blue, white) x, y where pillow-heif gives none.
_NCLX_XY = {1: ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06), (0.3127, 0.329)),
            9: ((0.708, 0.292), (0.17, 0.797), (0.131, 0.046), (0.3127, 0.329)),
            12: ((0.68, 0.32), (0.265, 0.69), (0.15, 0.06), (0.3127, 0.329))}
# Transfer -> ICC parametric curve, function type 3 (g, a, b, c, d): Y = (aX + b)^g for X >= d,
# else cX. BT.709-type transfers as their inverse OETF, as browsers (skcms) show them.
_SRGB_CURVE = ("sRGB", (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045))
_BT709_CURVE = ("BT.709", (1 / 0.45, 1 / 1.099, 0.099 / 1.099, 1 / 4.5, 0.081))
_NCLX_CURVES = {13: _SRGB_CURVE, 2: _SRGB_CURVE, 1: _BT709_CURVE, 6: _BT709_CURVE,
                14: _BT709_CURVE, 15: _BT709_CURVE, 4: ("gamma 2.2", (2.2, 1, 0, 0, 0)),
                5: ("gamma 2.8", (2.8, 1, 0, 0, 0)), 8: ("linear", (1, 1, 0, 0, 0))}
_NCLX_HDR = {16: "HDR (PQ)", 18: "HDR (HLG)"}
_D50 = (0.9642, 1.0, 0.8249)  # the ICC profile connection space's white
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])


def with_nclx_icc(im: Image.Image) -> Image.Image:
    """A HEIC whose colour is an nclx description (no ICC profile) gets the equivalent profile
    as its info["icc_profile"], which the outputs carry as any other (none where it is sRGB)."""
    nclx = im.info.get("nclx_profile")
    if isinstance(nclx, dict) and not im.info.get("icc_profile"):
        icc, _ = nclx_icc(nclx)
        if icc:
            im.info["icc_profile"] = icc
    return im


def warning(im: Image.Image) -> str | None:
    """Why outputs of `im` cannot show its colours as the source does (a HEIC's nclx colour
    that no ICC profile represents, such as HDR), else None."""
    nclx = im.info.get("nclx_profile")
    if not isinstance(nclx, dict) or im.info.get("icc_profile"):
        return None
    return nclx_icc(nclx)[1]


def nclx_icc(nclx: dict) -> tuple[bytes | None, str | None]:
    """(ICC profile, None) equivalent to an nclx colour description, (None, None) for sRGB's,
    (None, warning) for one it cannot represent (HDR transfer, unknown code points)."""
    primaries, transfer = nclx.get("color_primaries"), nclx.get("transfer_characteristics")
    if primaries in _NCLX_SRGB_PRIMARIES and transfer in _NCLX_SRGB_TRANSFER:
        return None, None
    try:
        xy = tuple((float(nclx[f"color_primary_{c}_x"]), float(nclx[f"color_primary_{c}_y"]))
                   for c in ("red", "green", "blue", "white"))
    except (KeyError, TypeError, ValueError):
        xy = _NCLX_XY.get(1 if primaries == 2 else primaries)
    curve = _NCLX_CURVES.get(transfer)
    if curve is not None and xy is not None:
        name = ("Display P3" if primaries == 12 and curve is _SRGB_CURVE else
                f"{_NCLX_PRIMARY_NAMES.get(primaries, f'primaries {primaries}')}, {curve[0]} transfer")
        try:
            return _matrix_trc_icc(xy, curve[1], name), None
        except (ArithmeticError, ValueError, np.linalg.LinAlgError, struct.error):
            pass  # degenerate chromaticities: warned about below
    what = _NCLX_HDR.get(transfer, f"nclx primaries {primaries}, transfer {transfer}")
    return None, (f"colour described as {what} cannot be carried: written as decoded, without a "
                  "profile, its colours will look wrong (convert it to SDR sRGB or Display P3 first)")


def _matrix_trc_icc(xy, curve: tuple[float, ...], description: str) -> bytes:
    """An ICC v4 RGB display profile from primaries and white (x, y) and a parametric curve."""
    def xyz(x: float, y: float) -> np.ndarray:
        return np.array([x / y, 1.0, (1 - x - y) / y])

    white = xyz(*xy[3])
    prim = np.column_stack([xyz(*p) for p in xy[:3]])
    rgb_to_xyz = prim * np.linalg.solve(prim, white)  # columns: each primary at full
    cone = (_BRADFORD @ np.array(_D50)) / (_BRADFORD @ white)
    chad = np.linalg.inv(_BRADFORD) @ np.diag(cone) @ _BRADFORD  # source white -> D50
    colorants = chad @ rgb_to_xyz
    if not np.isfinite(colorants).all():
        raise ValueError("degenerate primaries")

    def s15(values) -> bytes:
        return b"".join(struct.pack(">i", round(float(v) * 65536)) for v in values)

    def mluc(text: str) -> bytes:
        utf16 = text.encode("utf-16-be")
        return b"mluc\0\0\0\0" + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(utf16), 28) + utf16

    para = b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + s15(curve)
    tags = [(b"desc", mluc(description)), (b"cprt", mluc("No copyright, use freely")),
            (b"wtpt", b"XYZ \0\0\0\0" + s15(_D50)),
            *[(sig, b"XYZ \0\0\0\0" + s15(colorants[:, i]))
              for i, sig in enumerate((b"rXYZ", b"gXYZ", b"bXYZ"))],
            (b"rTRC", para), (b"gTRC", para), (b"bTRC", para),
            (b"chad", b"sf32\0\0\0\0" + s15(chad.flatten()))]
    table, data, offsets = [], b"", {}
    start = 128 + 4 + 12 * len(tags)
    for sig, body in tags:
        if body not in offsets:  # the three curves share one
            offsets[body] = start + len(data)
            data += body + b"\0" * (-len(body) % 4)
        table.append(struct.pack(">4sII", sig, offsets[body], len(body)))
    size = start + len(data)
    header = (struct.pack(">I4sI4s4s4s6H4s", size, b"", 0x04300000, b"mntr", b"RGB ", b"XYZ ",
                          2024, 1, 1, 0, 0, 0, b"acsp") + bytes(28) + s15(_D50) + bytes(48))
    profile = header + struct.pack(">I", len(tags)) + b"".join(table) + data
    profile_id = hashlib.md5(profile, usedforsecurity=False).digest()  # flags, intent and ID are zero already
    return profile[:84] + profile_id + profile[100:]
