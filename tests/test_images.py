"""smartcrop.images: header checks, mode handling, atomic writes, animations."""

from __future__ import annotations

import io
import os
import stat
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import animation, bomb_png, exif_jpeg, oriented, photo, srgb_profile
from PIL import Image

from smartcrop import images
from smartcrop.images import ImageError


@pytest.mark.parametrize("orientation", range(1, 9))
def test_read_info_gives_upright_size(tmp_path, orientation):
    path = exif_jpeg(tmp_path / "o.jpg", orientation, (64, 32))
    info = images.read_info(path, 10**8)
    assert (info.width, info.height) == ((32, 64) if orientation >= 5 else (64, 32))
    assert info.orientation == orientation and info.format == "JPEG" and info.frames == 1


def test_load_full_is_upright(tmp_path):
    path = exif_jpeg(tmp_path / "o.jpg", 6, (64, 32))
    assert images.load_full(path).size == (32, 64)
    small = images.load_for_model(path, images.read_info(path, 10**8), (16, 16))
    assert small.mode == "RGB" and small.width < small.height


@pytest.mark.parametrize("name, orientation",
                         [("o.tif", 3), ("o.tif", 6), ("o.tif", 8), ("o.jpg", 6), ("o.png", 8)])
def test_oriented_tiff_is_turned_once(tmp_path, name, orientation):
    # Pillow 13 turns a TIFF itself (size at open, pixels on load): turning it again gave a
    # sideways or upside-down photo. Every format must come out as the upright photo.
    upright = photo((96, 64), centre=(20, 20))
    path = oriented(tmp_path / name, orientation, upright)
    info = images.read_info(path, 10**8)
    assert (info.width, info.height) == (96, 64)
    want = np.asarray(upright, float)
    for im in (images.load_full(path, info.orientation), images.load_full(path),
               images.decode_for_model(path, info)):
        assert im.size == (96, 64)
        assert np.abs(np.asarray(im.convert("RGB"), float) - want).mean() < 3
    small = images.load_for_model(path, info, (16, 16))  # JPEG: reduced on load, still upright
    assert small.width * 64 == small.height * 96 and small.height >= 16


def test_bomb_refused_from_header_without_decoding(tmp_path):
    path = bomb_png(tmp_path / "bomb.png", 30000, 30000)
    start = time.perf_counter()
    with pytest.raises(ImageError, match=r"30000x30000 .* over the limit"):
        images.read_info(path, 200_000_000)
    assert time.perf_counter() - start < 1


def tiff(bits: int, sample_format: int) -> bytes:
    """A 1x1 grey little-endian TIFF with one sample of `bits` bits (format 1 uint, 3 float)."""
    tags = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, bits), (259, 3, 1, 1), (262, 3, 1, 1),
            (273, 4, 1, 8 + 2 + 10 * 12 + 4), (277, 3, 1, 1), (278, 3, 1, 1), (279, 4, 1, bits // 8),
            (339, 3, 1, sample_format)]
    ifd = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", *t) for t in tags) + b"\0" * 4
    return b"II*\0" + struct.pack("<I", 8) + ifd + b"\x80" * (bits // 8)


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty file"),
    (b"hello, this is text\n", "not a recognised image"),
    (b"\xff\xd8\xff\xe0" + b"\0" * 10, "JPEG header, but Pillow cannot read|cannot read image header"),
    # Pillow cannot identify these: the reason names what the first bytes show
    (tiff(64, 3), r"^TIFF that Pillow cannot read .* 64-bit float samples"),
    (b"%PDF-1.7\n", "^a PDF document, not a raster image$"),
    (b"  <svg xmlns='http://www.w3.org/2000/svg'/>", "^an SVG drawing, not a raster image$"),
    (b"\xff\x0a\xfa\x7f\x01\x02", "^JPEG XL image: Pillow cannot read JPEG XL"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 8, "PNG header, but Pillow cannot read|cannot read image header"),
])
def test_read_info_reasons(tmp_path, content, reason):
    path = tmp_path / "x.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=reason):
        images.read_info(path, 10**8)


def test_a_file_that_cannot_be_opened_says_why_in_one_phrase(tmp_path, monkeypatch):
    """A file without read permission (faked here: root reads anything) gives "cannot read file:
    Permission denied", not "cannot read image header: [Errno 13] Permission denied: 'x.jpg'"
    (the path again, and no header was read), from the header read and the decodes alike."""
    path = tmp_path / "x.jpg"
    photo((40, 30)).save(path)
    anim = animation(tmp_path / "a.gif")
    info = images.read_info(path, 10**8)
    real = Image.open

    def denied(fp, *a, **k):
        if str(fp) in (str(path), str(anim)):
            raise PermissionError(13, "Permission denied", str(fp))
        return real(fp, *a, **k)

    monkeypatch.setattr(Image, "open", denied)
    for read in (lambda: images.read_info(path, 10**8), lambda: images.load_full(path),
                 lambda: images.decode_for_model(path, info), lambda: images.animation_frames(anim)):
        with pytest.raises(ImageError) as e:
            read()
        assert str(e.value) == "cannot read file: Permission denied"
    assert images.describe(PermissionError(13, "Permission denied", "x.jpg")) == "Permission denied"


def test_a_truncated_webp_says_so(tmp_path):
    """libwebp's only word on a cut-short file is "could not create decoder object"."""
    path = tmp_path / "t.webp"
    photo((200, 150)).save(path)
    data = path.read_bytes()
    for n in (40, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:n])
        with pytest.raises(ImageError, match="^truncated or damaged WebP$"):
            images.read_info(path, 10**8)


def test_the_tiff_builder_makes_a_readable_8_bit_tiff(tmp_path):
    path = tmp_path / "ok.tif"  # so the float TIFF above fails for its sample format alone
    path.write_bytes(tiff(8, 1))
    assert images.read_info(path, 10**8).format == "TIFF"
    assert images.load_full(path).size == (1, 1)


def test_read_info_refuses_directories_and_fifos(tmp_path):
    (tmp_path / "d.jpg").mkdir()
    with pytest.raises(ImageError, match="is a directory"):
        images.read_info(tmp_path / "d.jpg", 10**8)
    if hasattr(os, "mkfifo"):  # opening a FIFO would block forever
        os.mkfifo(tmp_path / "f.jpg")
        with pytest.raises(ImageError, match="not a regular file"):
            images.read_info(tmp_path / "f.jpg", 10**8)


def test_truncated_jpeg_is_an_image_error(tmp_path):
    path = tmp_path / "t.jpg"
    photo((200, 150)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    info = images.read_info(path, 10**8)
    with pytest.raises(ImageError, match="cannot decode"):
        images.load_full(path)
    with pytest.raises(ImageError, match="cannot decode"):
        images.load_for_model(path, info, (32, 32))


@pytest.mark.parametrize("mode", ["1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "CMYK", "I;16",
                                  "I", "F", "YCbCr"])
def test_to_rgb_every_mode(mode):
    im = photo((40, 30)).convert(mode) if mode not in ("I;16", "I", "F") else Image.new(mode, (40, 30))
    out = images.to_rgb(im)
    assert out.mode == "RGB" and out.size == (40, 30)


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".tif", ".gif", ".bmp"])
def test_premultiplied_alpha_is_written(tmp_path, ext):
    """La (L with premultiplied alpha, which Pillow converts to LA only) and RGBa, from the API."""
    for mode in ("La", "RGBa"):
        images.save_atomic(images.resize_exact(photo((40, 30)).convert(mode), (20, 15)),
                           tmp_path / f"{mode}{ext}", 90)
        assert Image.open(tmp_path / f"{mode}{ext}").size == (20, 15)


def test_to_rgb_scales_16_bit_instead_of_clipping():
    im = Image.fromarray(np.full((4, 4), 32768, dtype=np.uint16))
    assert 120 <= np.asarray(images.to_rgb(im)).mean() <= 135


def test_to_rgb_composites_alpha_over_background():
    im = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert np.asarray(images.to_rgb(im, (255, 255, 255))).min() == 255


def test_resize_exact_keeps_16_bit_depth():
    arr = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    out = images.resize_exact(Image.fromarray(arr), (32, 32))
    assert out.size == (32, 32) and np.asarray(out).max() > 60000


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "CMYK", "LA"])
def test_resize_exact_size(mode):
    assert images.resize_exact(photo((50, 40)).convert(mode), (21, 17)).size == (21, 17)


@pytest.mark.parametrize("mode", ["L", "P", "RGB", "RGBA"])
def test_resize_exact_from_a_box_matches_crop_then_resize(mode):
    im = photo((80, 60)).convert(mode)
    box = (10, 5, 60, 45)
    got = images.resize_exact(im, (25, 20), box)
    want = images.resize_exact(im.crop(box), (25, 20))
    assert got.size == want.size == (25, 20) and got.mode == want.mode
    diff = np.abs(np.asarray(got.convert("RGB"), int) - np.asarray(want.convert("RGB"), int))
    assert diff[3:-3, 3:-3].max() <= 1  # the filter may reach past the box only near its edges


def test_resize_exact_with_a_box_of_the_output_size_crops():
    im = photo((80, 60))
    assert images.resize_exact(im, (25, 20), (10, 5, 35, 25)).tobytes() == im.crop((10, 5, 35, 25)).tobytes()
    assert images.resize_exact(im, (80, 60)) is im


def test_output_extension():
    assert images.output_extension("JPEG", "keep") == ".jpg"
    assert images.output_extension("MPO", "keep") == ".jpg"
    assert images.output_extension("PPM", "keep") == ".png"
    assert images.output_extension("PNG", "jpeg") == ".jpg"
    assert images.output_extension("JPEG", "webp") == ".webp"


def test_save_atomic_writes_complete_file_with_normal_permissions(tmp_path):
    out = tmp_path / "a" / "b" / "x.jpg"
    images.save_atomic(photo((40, 30)), out, 90)
    assert Image.open(out).size == (40, 30)
    assert list(tmp_path.rglob("*.part")) == []
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600


def test_save_atomic_failure_leaves_nothing(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(OSError, match="No space"):
        images.save_atomic(photo((40, 30)), tmp_path / "x.png", 90)
    assert list(tmp_path.iterdir()) == []


def test_interrupt_as_the_temporary_file_is_created_leaves_nothing(tmp_path, monkeypatch):
    # A Ctrl-C or SIGTERM can land after the file exists but before its handle is returned
    # (CI saw a .part left by an interrupted batch): it must still be removed.
    real_open = os.open

    def interrupted(path, *a, **k):
        real_open(path, *a, **k)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "open", interrupted)
    with pytest.raises(KeyboardInterrupt):
        images.save_atomic(photo((40, 30)), tmp_path / "x.jpg", 90)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_never_removes_a_file_it_did_not_create(tmp_path, monkeypatch):
    # Its temporary name is random; should it exist already, that file is someone else's.
    (tmp_path / ".x.jpg.000000000000.part").write_bytes(b"theirs")
    monkeypatch.setattr(images.secrets, "token_hex", lambda n: "0" * 2 * n)
    with pytest.raises(FileExistsError):
        images.save_atomic(photo((40, 30)), tmp_path / "x.jpg", 90)
    assert (tmp_path / ".x.jpg.000000000000.part").read_bytes() == b"theirs"
    assert not (tmp_path / "x.jpg").exists()


def test_jpeg_output_puts_alpha_on_white(tmp_path):
    im = Image.new("RGBA", (32, 32), (255, 0, 0, 0))
    images.save_atomic(im, tmp_path / "x.jpg", 95)
    out = Image.open(tmp_path / "x.jpg")
    assert out.mode == "RGB" and np.asarray(out).min() >= 250


@pytest.mark.parametrize("fmt", [".webp", ".jpg", ".gif", ".bmp"])
def test_16_bit_input_is_not_clipped_in_8_bit_formats(tmp_path, fmt):
    arr = np.full((16, 16), 20000, dtype=np.uint16)  # ~78/255: clipping would give white
    images.save_atomic(Image.fromarray(arr), tmp_path / f"x{fmt}", 95)
    mean = np.asarray(Image.open(tmp_path / f"x{fmt}").convert("L")).mean()
    assert 65 <= mean <= 90


def test_icc_profile_written_only_where_it_fits_the_mode(tmp_path):
    icc = srgb_profile()
    images.save_atomic(photo((20, 20)), tmp_path / "rgb.png", 90, icc)
    assert Image.open(tmp_path / "rgb.png").info.get("icc_profile") == icc
    images.save_atomic(photo((20, 20)).convert("L"), tmp_path / "grey.png", 90, icc)
    assert "icc_profile" not in Image.open(tmp_path / "grey.png").info  # RGB profile on grey: invalid
    images.save_atomic(photo((20, 20)).convert("CMYK"), tmp_path / "cmyk.jpg", 90, icc)
    assert "icc_profile" not in Image.open(tmp_path / "cmyk.jpg").info


def test_a_group4_scan_resized_to_greyscale_is_written(tmp_path, capfd):
    # Resizing a 1-bit scan makes it greyscale, which Group 4 cannot hold: the TIFF saver reused
    # the source's compression and failed ("encoder error -2", and libtiff's own stderr line).
    src = tmp_path / "scan.tif"
    photo((120, 80)).convert("1").save(src, compression="group4")
    full = images.load_full(src)
    images.save_atomic(images.resize_exact(full, (60, 40)), tmp_path / "small.tif", 90)
    images.save_atomic(images.resize_exact(full, (120, 80)), tmp_path / "whole.tif", 90)
    with Image.open(tmp_path / "small.tif") as small, Image.open(tmp_path / "whole.tif") as whole:
        assert (small.mode, small.size, small.info["compression"]) == ("L", (60, 40), "tiff_lzw")
        assert (whole.mode, whole.info["compression"]) == ("1", "group4")  # 1-bit keeps it
    assert "Fax3" not in capfd.readouterr().err


def test_a_profile_that_no_longer_fits_the_pixels_is_dropped(cli, tmp_path):
    # A CMYK JPEG written as PNG/AVIF/WebP becomes RGB, a grey one as AVIF/WebP too: the PNG and
    # AVIF savers wrote the decoded image's own profile (CMYK, GRAY) on those RGB pixels.
    srgb = srgb_profile()
    folder = tmp_path / "in"
    folder.mkdir()
    photo((300, 200)).convert("CMYK").save(folder / "cmyk.jpg", icc_profile=srgb[:16] + b"CMYK" + srgb[20:])
    photo((300, 200)).convert("L").save(folder / "grey.jpg", icc_profile=srgb[:16] + b"GRAY" + srgb[20:])
    for fmt in ("png", "avif", "webp"):
        r = cli(folder, tmp_path / fmt, "--ratio", "1:1", "--format", fmt, "--manifest", "-")
        assert r.exit_code == 0, r.stderr
        for rec in r.records:
            with Image.open(rec["output"]) as out:
                icc = out.info.get("icc_profile")
                if out.mode == "L":  # a grey PNG keeps its grey profile
                    assert icc[16:20] == b"GRAY", rec["output"]
                else:
                    assert out.mode == "RGB" and not icc, rec["output"]


@pytest.mark.parametrize("ext", ["gif", "webp"])
def test_animation_frames(tmp_path, ext):
    path = animation(tmp_path / f"a.{ext}", n=5)
    frames, durations, loop = images.animation_frames(path, 10**8)
    assert len(frames) == 5 and all(f.size == (160, 120) for f in frames)
    assert durations == [80] * 5 and loop == 0


def test_animation_frames_total_pixels_bounded(tmp_path):
    path = animation(tmp_path / "a.gif", n=5)
    with pytest.raises(ImageError, match="frames"):
        images.animation_frames(path, 160 * 120 * 4)


# -- AVIF and HEIC --------------------------------------------------------------------------


def test_avif_reads_with_its_exif_orientation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "o.avif"
    photo((320, 200)).save(path, exif=exif.tobytes(), quality=80)
    info = images.read_info(path, 10**8)
    assert (info.format, info.width, info.height, info.orientation) == ("AVIF", 200, 320, 6)
    assert images.load_full(path, info.orientation).size == (200, 320)
    assert images.output_extension("AVIF", "keep") == ".avif"
    assert images.output_extension("JPEG", "avif") == ".avif"


def test_heic_without_the_extra_says_what_to_install(tmp_path, monkeypatch):
    path = tmp_path / "a.heic"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64)
    monkeypatch.setattr(images, "_heif_state", [False])
    with pytest.raises(images.ImageError, match=r"pip install 'smartcrop\[heif\]'"):
        images.read_info(path, 10**8)


def heic(path, size=(320, 200), orientation=None):
    pillow_heif = pytest.importorskip("pillow_heif", reason="the heif extra (pillow-heif) is not installed")
    pillow_heif.register_heif_opener()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    photo(size).save(path, format="HEIF", exif=exif.tobytes(), quality=80)
    return path


def test_heic_reads_upright_and_keeps_as_jpeg(tmp_path):
    path = heic(tmp_path / "o.heic", orientation=6)
    info = images.read_info(path, 10**8)
    # pillow-heif turns the pixels upright on decode and resets the orientation to 1.
    assert (info.format, info.width, info.height, info.orientation) == ("HEIF", 200, 320, 1)
    assert images.load_full(path, info.orientation).size == (200, 320)
    assert images.output_extension("HEIF", "keep") == ".jpg"


def test_heic_bomb_refused_from_the_header(tmp_path, monkeypatch):
    path = heic(tmp_path / "big.heic", size=(400, 300))
    decoded = []
    monkeypatch.setattr(images, "_decode", lambda *a, **k: decoded.append(a))
    with pytest.raises(images.ImageError, match="over the limit"):
        images.read_info(path, 100_000)
    assert decoded == []


def test_heic_in_display_p3_keeps_its_colour(cli, tmp_path):
    # A HEIC tagged Display P3 by an nclx box (no ICC) gave a JPEG of P3 values with no profile,
    # shown desaturated as sRGB. HDR (PQ) cannot be carried: one warning naming the file.
    pytest.importorskip("pillow_heif", reason="the heif extra (pillow-heif) is not installed")
    from PIL import ImageCms

    images._heif_available()
    folder = tmp_path / "in"
    folder.mkdir()
    nclx = {"matrix_coefficients": 6, "full_range_flag": 1, "quality": 90}
    Image.new("RGB", (300, 200), (40, 200, 60)).save(folder / "p3.heic", color_primaries=12,
                                                      transfer_characteristics=13, **nclx)
    photo((300, 200)).save(folder / "pq.heic", color_primaries=9, transfer_characteristics=16, **nclx)
    photo((300, 200)).save(folder / "srgb.heic", color_primaries=1, transfer_characteristics=13, **nclx)
    r = cli(folder, tmp_path / "out", "--ratio", "1:1", "--size", "100x100", "--manifest", "-")
    assert r.exit_code == 0, r.stderr
    out = {Path(rec["output"]).name: rec["output"] for rec in r.records}
    assert len(out) == 6
    for name, path in out.items():
        with Image.open(path) as im:
            icc = im.info.get("icc_profile")
            if name.startswith("p3"):
                assert icc, name
                profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                assert ImageCms.getProfileDescription(profile).strip() == "Display P3"
            else:
                assert icc is None
    warnings = [line for line in r.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "pq.heic" in warnings[0] and "HDR (PQ)" in warnings[0]
