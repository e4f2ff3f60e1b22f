"""Reading images (upright, size-checked, reduced for the model) and writing crops atomically."""

from __future__ import annotations

import functools
import io
import math
import os
import secrets
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from smartcrop import colour, storage
from smartcrop.storage import StoredPath

# We enforce our own --max-pixels before decoding; Pillow's fixed bomb limit would refuse
# images our limit allows (and its warning is not an error a batch can report).
Image.MAX_IMAGE_PIXELS = None

# Pillow format -> file extension we write for --format keep; anything else becomes PNG.
# HEIF (HEIC, what iPhones write) becomes JPEG: platforms refuse HEIC, and writing it needs a
# GPL-licensed encoder.
KEEP_FORMATS = {"JPEG": ".jpg", "MPO": ".jpg", "HEIF": ".jpg", "AVIF": ".avif", "PNG": ".png",
                "WEBP": ".webp", "GIF": ".gif",
                "TIFF": ".tif", "BMP": ".bmp"}
EXTENSION_FORMAT = {".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".avif": "AVIF", ".gif": "GIF",
                    ".tif": "TIFF", ".bmp": "BMP"}
CHOSEN_EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "avif": ".avif"}
# AVIF encoder speed (0 slowest .. 10): Pillow's default took 2.6-2.9 s for a 1080x1350 output
# here, speed 8 0.7-1.2 s for files 5-7% larger (README, "Formats").
AVIF_SPEED = 8
# ISO base media "ftyp" brands of HEIF images (HEIC); reading them needs pillow-heif (the heif extra).
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"heif", b"mif1", b"msf1"}
HEIF_MISSING = ("HEIC/HEIF image: reading it needs the heif extra: pip install 'smartcrop[heif]' "
                "(pillow-heif; its binary wheel is GPL-2.0 licensed, as it bundles x265)")
# The model's input is made from a decode whose short side keeps at least this many pixels
# (JPEG DCT scaling): a 12 or 24 MP photo decodes at 1/2, which 1080-pixel outputs reuse.
MODEL_DECODE_SHORT_SIDE = 1080
# Transposes that swap width and height (EXIF orientations 5-8).
_SWAPS = {5, 6, 7, 8}
# EXIF orientation -> the transpose that makes the image upright (as ImageOps.exif_transpose).
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}
# TIFF compressions (Pillow's names) that only 1-bit images can have: a 1-bit scan resized to
# greyscale cannot keep them (libtiff: "Bits/sample must be 1 for Group 3/4 encoding").
_TIFF_BILEVEL = {"group3", "group4", "tiff_ccitt"}
# Compressions a TIFF output keeps from its source (with the exception above); any other
# (ThunderScan, SGI LogLuv, a BMP's number) becomes TIFF_COMPRESSION.
_TIFF_KEPT = {"raw", "tiff_lzw", "tiff_adobe_deflate", "tiff_deflate", "packbits", "jpeg",
              "tiff_jpeg", "webp", "lzma", "zstd", *_TIFF_BILEVEL}
# Lossless and read everywhere.
TIFF_COMPRESSION = "tiff_lzw"
# ICC colour-space signature (header bytes 16-20) -> the modes a profile of that space describes.
_ICC_MODES = {b"RGB ": {"RGB", "RGBA", "P", "PA"}, b"GRAY": {"L", "LA", "1", "I;16", "I"},
              b"CMYK": {"CMYK"}}


class ImageError(Exception):
    """A per-file problem: the message is the reason shown beside the file's name."""


@dataclass(frozen=True)
class ImageInfo:
    """What the header says, before any pixels are decoded. Sizes are upright; `orientation` is
    what is left to apply after Pillow's decode (1 where Pillow applies it itself)."""

    format: str
    width: int
    height: int
    frames: int
    orientation: int


def describe(e: BaseException) -> str:
    """An exception as a one-line reason; the type is named where the message alone is unclear."""
    if isinstance(e, MemoryError):
        return "not enough memory"
    if isinstance(e, OSError) and e.strerror:  # "Permission denied", not "[Errno 13] ...: 'path'"
        return e.strerror
    text = " ".join(str(e).split())
    if isinstance(e, OSError) and ("AWS Error " in text or text.startswith("google::cloud::")):
        return storage.reason(e)  # without request ids and retry details
    if isinstance(e, OSError) and text:
        return text
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


_heif_lock = threading.Lock()
_heif_state: list[bool] = []  # [True] once pillow-heif is registered, [False] when not installed


def _heif_brand(path: Path) -> bool:
    """Whether the file starts like a HEIF image (an ISO 'ftyp' box with a HEIF brand)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


# Leading bytes -> what the file is, for a clearer reason when Pillow cannot identify it.
_MAGIC = ((b"II*\0", "TIFF"), (b"MM\0*", "TIFF"), (b"II+\0", "BigTIFF"), (b"MM\0+", "BigTIFF"),
          (b"\xff\xd8\xff", "JPEG"), (b"\x89PNG", "PNG"), (b"GIF8", "GIF"), (b"BM", "BMP"),
          (b"\xff\x0a", "JPEG XL"), (b"\0\0\0\x0cJXL ", "JPEG XL"), (b"8BPS", "Photoshop (PSD)"))
_NOT_RASTER = ((b"%PDF", "a PDF document"), (b"<svg", "an SVG drawing"), (b"<?xml", "an XML file"))


def _unidentified(path: Path) -> str:
    """Why Pillow could not identify the file, naming the format its first bytes show."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        head = b""
    for magic, what in _NOT_RASTER:
        if head.lstrip().startswith(magic):
            return f"{what}, not a raster image"
    name = next((n for magic, n in _MAGIC if head.startswith(magic)), None)
    if name is None and head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        name = "AVIF"
    if name is None and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        name = "WebP"
    if name is None:
        return "not a recognised image (unknown format or corrupt header)"
    if name == "JPEG XL":
        return "JPEG XL image: Pillow cannot read JPEG XL; convert it to JPEG or PNG"
    if name.endswith("TIFF"):
        return (f"{name} that Pillow cannot read (a sample format or compression it does not "
                "support, such as 64-bit float samples, or a corrupt header): save it as an 8- or "
                "16-bit integer TIFF, or as PNG")
    return f"{name} header, but Pillow cannot read the file (a variant it does not support, or corrupt)"


def _failed(e: BaseException, doing: str) -> ImageError:
    """Why a file could not be opened or decoded, as one phrase: a system error (permission
    denied, an I/O error) as "cannot read file: REASON", as when it cannot be found; else
    "`doing`: REASON"."""
    if isinstance(e, OSError) and e.errno is not None:
        return ImageError(f"cannot read file: {describe(e)}")
    return ImageError(f"{doing}: {describe(e)}")


def _heif_available() -> bool:
    """Register pillow-heif's opener once, if installed (imported only when a HEIF file is met)."""
    with _heif_lock:
        if not _heif_state:
            try:
                import pillow_heif
            except ImportError:
                _heif_state.append(False)
            else:
                pillow_heif.register_heif_opener(thumbnails=False)
                _heif_state.append(True)
        return _heif_state[0]


def read_info(path: Path, max_pixels: int) -> ImageInfo:
    """Header facts; refuses non-images and images over `max_pixels` without decoding."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise _failed(e, "cannot read file") from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageError("is a directory, not an image")
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
        raise ImageError("not a regular file")
    if st.st_size == 0:
        raise ImageError("empty file (0 bytes)")
    if _heif_brand(path) and not _heif_available():
        raise ImageError(HEIF_MISSING)
    try:
        with Image.open(path) as im:
            width, height = im.size
            fmt = im.format or "unknown"
            if width < 1 or height < 1:
                raise ImageError(f"image has no pixels ({width}x{height})")
            if width * height > max_pixels:  # before anything that could decode pixels
                raise ImageError(f"{width}x{height} = {width * height / 1e6:.3g} megapixels is over "
                                 f"the limit of {max_pixels / 1e6:g} (see --max-pixels)")
            orientation = _pending_orientation(im)
            frames = int(getattr(im, "n_frames", 1) or 1)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(_unidentified(path)) from None
    except Exception as e:  # Pillow raises many types on malformed headers
        if str(e) == "could not create decoder object" and _unidentified(path).startswith("WebP"):
            raise ImageError("truncated or damaged WebP") from None  # libwebp's only word on it
        raise _failed(e, "cannot read image header") from None
    if orientation in _SWAPS:
        width, height = height, width
    return ImageInfo(fmt, width, height, frames, orientation)


@functools.cache
def _pillow_turns_tiff() -> bool:
    """Whether this Pillow applies a TIFF's Orientation tag itself (13 and later do: the size at
    open is upright and the decode is turned). Probed once on a tiny TIFF, not by version."""
    buf = io.BytesIO()
    Image.new("L", (2, 1)).save(buf, format="TIFF", tiffinfo={0x0112: 6})
    buf.seek(0)
    with Image.open(buf) as im:
        return im.size == (1, 2)


def _pending_orientation(im: Image.Image) -> int:
    """The EXIF orientation still to apply after Pillow's decode: 1 where Pillow applies it itself
    (TIFF from Pillow 13), which otherwise turned the photo twice."""
    if im.format == "TIFF" and _pillow_turns_tiff():
        return 1
    return _orientation(im)


def _orientation(im: Image.Image) -> int:
    """EXIF orientation 1-8, else 1. A PNG's eXIf after the pixel data is not read (it would decode)."""
    if im.format == "PNG" and "exif" not in im.info:
        return 1
    value = im.getexif().get(0x0112, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _decode(path: Path, draft_size: tuple[int, int] | None = None,
            orientation: int | None = None) -> Image.Image:
    """Open, decode (reduced via JPEG draft mode if asked), and rotate upright.

    `orientation` (from `read_info`) keeps the rotation consistent with the header's size.
    """
    try:
        im = Image.open(path)
    except Exception as e:
        raise _failed(e, "cannot decode image") from None
    try:
        if draft_size and im.format == "JPEG":
            # DCT scaling: decodes at 1/2, 1/4 or 1/8 size, no smaller than draft_size.
            im.draft(im.mode if im.mode in ("RGB", "L") else None, draft_size)
        im.load()
        method = _TRANSPOSE.get(_pending_orientation(im) if orientation is None else orientation)
        if method is None and getattr(im, "fp", None) is None:
            # load() closed the file (single-frame formats): the decode itself is the result,
            # without the copy (48 MB for a 12 MP photo) that closing the image would need.
            return colour.with_nclx_icc(im)
        upright = im.transpose(method) if method is not None else im.copy()
        upright.format = im.format
        upright.info = dict(im.info)
    except Exception as e:  # truncated or malformed data: OSError, SyntaxError, struct.error, ...
        im.close()
        raise ImageError(f"cannot decode image: {describe(e)}") from None
    im.close()
    return colour.with_nclx_icc(upright)


def decode_for_model(path: Path, info: ImageInfo) -> Image.Image:
    """The one decode the model's input is made from, whatever the run's flags: JPEG shrunk on
    load (DCT scaling) to the smallest scale whose short side keeps MODEL_DECODE_SHORT_SIDE
    pixels, other formats in full. The crops reuse it when it holds enough pixels for them.

    One way only, so the same file gives the same map and boxes on a dry run, with --size or
    --ratio, and whatever --jobs.
    """
    scale = MODEL_DECODE_SHORT_SIDE / min(info.width, info.height)
    if scale >= 1:
        return _decode(path, None, info.orientation)
    w, h = math.ceil(info.width * scale), math.ceil(info.height * scale)
    # The draft size is in stored (not upright) orientation.
    return _decode(path, (h, w) if info.orientation in _SWAPS else (w, h), info.orientation)


def shrink_for_model(im: Image.Image, min_side: tuple[int, int]) -> Image.Image:
    """The model's RGB input from `decode_for_model`'s image: a box-filter reduce by the
    largest whole factor that keeps at least `min_side` (w, h)."""
    factor = min(im.width // min_side[0], im.height // min_side[1])
    if factor > 1:
        im = to_8bit(im)
        if im.mode in ("1", "P", "PA", "I;16", "I;16B", "I;16L", "I;16N"):
            im = to_rgb(im)  # modes reduce() does not take
        im = im.reduce(factor)
    return to_rgb(im)


def load_for_model(path: Path, info: ImageInfo, min_side: tuple[int, int]) -> Image.Image:
    """An upright RGB image at least `min_side` (w, h) in size, decoded as small as possible
    (for views such as the debug overlay; the model's input comes from `decode_for_model`)."""
    # The draft size is in stored (not upright) orientation.
    draft = (min_side[1], min_side[0]) if info.orientation in _SWAPS else min_side
    return to_rgb(_decode(path, draft, info.orientation))


def load_full(path: Path, orientation: int | None = None,
              min_size: tuple[int, int] | None = None) -> Image.Image:
    """The whole image upright (first frame for animations), at full resolution or, for JPEG,
    reduced by DCT scaling to no less than `min_size` (upright w, h) when that is given."""
    draft = None
    if min_size:
        draft = (min_size[1], min_size[0]) if orientation in _SWAPS else min_size
    return _decode(path, draft, orientation)


def has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        im.mode in ("P", "L", "RGB") and "transparency" in im.info)


def straight_alpha(im: Image.Image) -> Image.Image:
    """Premultiplied alpha (La, RGBa) made straight (LA, RGBA): Pillow converts La to nothing
    else, and no format writes either."""
    return im.convert(im.mode.upper()) if im.mode in ("La", "RGBa") else im


def to_8bit(im: Image.Image) -> Image.Image:
    """16/32-bit integer greyscale scaled (not clipped) to 8-bit L, float clipped, premultiplied
    alpha made straight; others as is."""
    im = straight_alpha(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.int64)
        hi = 65535 if arr.max(initial=0) > 255 else 255
        return Image.fromarray((arr * 255 // hi).clip(0, 255).astype(np.uint8), "L")
    if im.mode == "F":
        return Image.fromarray(np.asarray(im).clip(0, 255).astype(np.uint8), "L")
    return im


def to_rgb(im: Image.Image, background: tuple[int, int, int] = (128, 128, 128)) -> Image.Image:
    """RGB for the model: alpha composited over `background`, 16-bit and CMYK converted."""
    im = to_8bit(im)
    if has_alpha(im):
        rgba = im.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")  # no copy of a full-size RGB decode


def output_extension(source_format: str, chosen: str) -> str:
    """Extension of the written file for the source format and the --format choice."""
    if chosen != "keep":
        return CHOSEN_EXTENSIONS[chosen]
    return KEEP_FORMATS.get(source_format, ".png")


def _for_format(im: Image.Image, fmt: str) -> Image.Image:
    """Convert modes the target format cannot store. JPEG has no alpha: it goes onto white."""
    im = straight_alpha(im)
    if fmt == "TIFF" or (fmt == "PNG" and im.mode in ("I;16", "I")):
        return im  # deep greyscale kept; every 8-bit format below gets it scaled, not clipped
    im = to_8bit(im)
    if fmt == "JPEG":
        if im.mode in ("L", "RGB", "CMYK"):
            return im
        if im.mode in ("1", "LA", "La"):
            return to_rgb(im, (255, 255, 255)).convert("L")
        return to_rgb(im, (255, 255, 255))
    if fmt == "PNG":
        if im.mode in ("1", "L", "LA", "RGB", "RGBA", "P"):
            return im
        return im.convert("RGBA" if has_alpha(im) else "RGB")
    if fmt in ("WEBP", "AVIF", "GIF", "BMP"):
        if fmt == "GIF" and im.mode in ("P", "L"):
            return im
        if fmt == "BMP" and im.mode in ("1", "L", "P", "RGB"):
            return im
        return im.convert("RGBA" if has_alpha(im) and fmt != "BMP" else "RGB")
    return im


def flatten_for(im: Image.Image, path) -> Image.Image:
    """`im` as `save_atomic` turns it for `path`'s format where that format keeps no alpha
    (JPEG: composited onto white), for work that draws around it (padding) to see the colours
    the output shows; else `im` as it is."""
    fmt = EXTENSION_FORMAT[path.suffix.lower()]
    return _for_format(im, fmt) if fmt in ("JPEG", "BMP") and has_alpha(im) else im


def resize_exact(im: Image.Image, size: tuple[int, int],
                 box: tuple[int, int, int, int] | None = None) -> Image.Image:
    """The `box` region (default all) resized to exactly `size`, bicubic (1-bit and palette
    images converted first: they would get nearest). Resizing from the box skips a crop copy.

    Bicubic rather than Lanczos: a quarter cheaper, and on dataset photos shrunk by 1.4 (a
    typical step after JPEG shrink-on-load) the two differ by 47 dB PSNR, less than the
    40 dB that JPEG q90 itself loses (README, "Resizing").
    """
    box = box or (0, 0, *im.size)
    if (box[2] - box[0], box[3] - box[1]) == size:
        return im if box == (0, 0, *im.size) else im.crop(box)
    if im.mode in ("1", "P", "PA"):
        im = im.crop(box).convert("RGBA" if has_alpha(im) else ("RGB" if im.mode != "1" else "L"))
        box = (0, 0, *im.size)
    return im.resize(size, Image.Resampling.BICUBIC, box=box, reducing_gap=3.0)


def save_atomic(im: Image.Image | list[Image.Image], path: Path, quality: int,
                icc_profile: bytes | None = None, durations: list[int] | None = None,
                loop: int | None = None, metadata: dict | None = None) -> None:
    """Write to a temporary file beside `path`, then rename: never a partial file at `path`.
    A `StoredPath` (object storage) gets one complete object instead (StoredPath.write_bytes).

    A list of images is written as an animation (GIF/WebP) with the given frame durations.
    `metadata` (``exif``/``xmp`` bytes, from smartcrop.metadata) goes into JPEG, PNG, WebP and
    AVIF outputs, `icc_profile` where it fits the written mode; nothing else is ever copied from
    the source (see `_bare`).
    """
    fmt = EXTENSION_FORMAT[path.suffix.lower()]
    frames = im if isinstance(im, list) else [im]
    frames = [_for_format(f, fmt) for f in frames]
    source_compression = frames[0].info.get("compression")
    frames = [_bare(f, fmt) for f in frames]
    params: dict = {}
    if fmt in ("JPEG", "WEBP", "AVIF"):
        params["quality"] = quality
    if fmt == "AVIF":
        params["speed"] = AVIF_SPEED
    if fmt == "TIFF":
        params["compression"] = tiff_compression(source_compression, frames[0].mode)
    if fmt == "JPEG":
        params["subsampling"] = 0 if quality >= 90 else 2  # 4:4:4 at high quality, as libvips
    if icc_profile and fmt in ("JPEG", "PNG", "WEBP", "AVIF", "TIFF") \
            and _icc_fits(icc_profile, frames[0].mode):
        params["icc_profile"] = icc_profile
    if metadata and fmt in ("JPEG", "WEBP", "AVIF", "PNG"):
        params.update({k: v for k, v in metadata.items() if k == "exif" or fmt != "PNG"})
        if fmt == "PNG" and metadata.get("xmp"):  # PNG keeps XMP in an iTXt chunk
            from PIL import PngImagePlugin

            info = PngImagePlugin.PngInfo()
            info.add_itxt("XML:com.adobe.xmp", metadata["xmp"].decode("utf-8"))
            params["pnginfo"] = info
    if len(frames) > 1:
        params.update(save_all=True, append_images=frames[1:], duration=durations or 100,
                      loop=0 if loop is None else loop)
    if isinstance(path, StoredPath):  # object storage: encode here, then one complete object
        buf = io.BytesIO()
        frames[0].save(buf, format=fmt, **params)
        path.write_bytes(buf.getbuffer())
        return
    write_atomic(path, lambda f: frames[0].save(f, format=fmt, **params))


def _bare(im: Image.Image, fmt: str) -> Image.Image:
    """`im` as a plain Image sharing its pixels (no copy), whose `info` holds only how the pixels
    read: the transparent colour, and a GIF's background index.

    Pillow's savers take from `info` what they are not given: the JPEG and GIF savers the
    source's comment, the PNG and AVIF savers its ICC profile even where it does not fit the
    mode (a CMYK profile on RGB pixels), the TIFF saver its compression; and the TIFF saver
    copies XMP, IPTC and resolution from a TiffImageFile's own tags. `info` survives crop,
    resize and convert, and an uncropped output is the decoded file itself. Writing from this
    image, an output carries only what `save_atomic` passes.
    """
    im.load()
    bare = im._new(im.im)  # a new Image on the same pixel memory (shared, not copied)
    keep = ("transparency", "background") if fmt == "GIF" else ("transparency",)
    bare.info = {k: im.info[k] for k in keep if k in im.info}
    return bare


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call `write` on a temporary file beside `path`, then rename it to `path`: a reader
    never sees a partial file, and an interrupted write leaves nothing behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The name is chosen before the file exists, so that a Ctrl-C or SIGTERM landing anywhere
    # from its creation on (even before the handle is returned, as it could in mkstemp) removes it.
    tmp: Path | None = path.parent / f".{path.name}.{secrets.token_hex(6)}.part"
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
        except FileExistsError:
            tmp = None  # not ours to remove
            raise
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        raise


def tiff_compression(source: object, mode: str) -> str:
    """The compression of a TIFF output of `mode`: the source's (as Pillow names it in `info`)
    where it can hold that mode, else TIFF_COMPRESSION. Pillow's saver would reuse the source's
    even where the output's mode cannot have it (Group 4 on a 1-bit scan resized to greyscale)."""
    if source not in _TIFF_KEPT or (source in _TIFF_BILEVEL and mode != "1"):
        return TIFF_COMPRESSION
    return str(source)


def _icc_fits(profile: bytes, mode: str) -> bool:
    """Whether an ICC profile's colour space describes images of `mode` (else it must be dropped)."""
    return mode in _ICC_MODES.get(bytes(profile[16:20]), set())


def animation_frames(path: Path, max_pixels: int | None = None
                     ) -> tuple[list[Image.Image], list[int], int | None]:
    """All frames of an animated image, upright and RGBA, with durations (ms) and loop count.

    Refuses animations whose frames together hold more than `max_pixels`, before decoding.
    """
    try:
        with Image.open(path) as im:
            n = int(getattr(im, "n_frames", 1) or 1)
            if max_pixels and n * im.width * im.height > max_pixels:
                raise ImageError(f"animation of {n} frames of {im.width}x{im.height} is over the "
                                 f"limit of {max_pixels / 1e6:g} megapixels (see --max-pixels)")
            loop = im.info.get("loop")
            frames, durations = [], []
            for frame in ImageSequence.Iterator(im):
                rgba = frame.convert("RGBA")  # loads the frame: WebP sets its duration only then
                durations.append(int(frame.info.get("duration", im.info.get("duration", 100)) or 100))
                frames.append(ImageOps.exif_transpose(rgba))
    except ImageError:
        raise
    except Exception as e:
        raise _failed(e, "cannot decode animation") from None
    return frames, durations, loop
