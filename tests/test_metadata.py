"""Output metadata: none by default, rights or all on request, GPS never; read back from files."""

from __future__ import annotations

import io
import struct

import pytest
from conftest import animation, photo
from PIL import ExifTags, Image, TiffImagePlugin

from smartcrop import metadata

XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
       b'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
       b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
       b'photoshop:Credit="Agency X" exif:GPSLatitude="48,51.5N" tiff:Orientation="6" '
       b'exif:PixelXDimension="640" xmp:CreatorTool="Camera 1.0">'
       b'<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) 2026 Ann Artist</rdf:li></rdf:Alt></dc:rights>'
       b'<dc:creator><rdf:Seq><rdf:li>Ann Artist</rdf:li></rdf:Seq></dc:creator>'
       b'<exif:GPSLongitude>2,21.1E</exif:GPSLongitude>'
       b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


def source_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[metadata.ARTIST] = "Ann Artist"
    exif[metadata.COPYRIGHT] = "(c) 2026 Ann Artist"
    exif[metadata.ORIENTATION] = 6
    exif[0x010F] = "CameraMaker"  # Make
    exif.get_ifd(ExifTags.IFD.Exif)[metadata.PIXEL_X] = 640
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[1], gps[2] = "N", (48.0, 51.0, 30.0)
    return exif


def iptc_app13(fields: dict[tuple[int, int], bytes]) -> bytes:
    """A JPEG APP13 segment holding IPTC IIM datasets in a Photoshop 8BIM 0x0404 resource."""
    iim = b"".join(b"\x1c" + bytes([r, d]) + struct.pack(">H", len(v)) + v for (r, d), v in fields.items())
    iim += b"\x00" * (len(iim) % 2)
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iim)) + iim
    body = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(body) + 2) + body


def make_source(tmp_path, with_xmp=True, iptc=None):
    buf = io.BytesIO()
    photo((640, 480)).save(buf, "JPEG", exif=source_exif().tobytes(), **({"xmp": XMP} if with_xmp else {}))
    data = buf.getvalue()
    if iptc:
        data = data[:2] + iptc_app13(iptc) + data[2:]
    path = tmp_path / "in" / "src.jpg"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def read_back(path):
    im = Image.open(path)
    im.load()
    xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp") or b""
    return im.getexif(), xmp.encode() if isinstance(xmp, str) else xmp


def test_default_none_writes_no_metadata():
    src = metadata.Source(source_exif(), XMP, None)
    assert metadata.for_output(src, "none", (100, 100)) == {}


@pytest.mark.parametrize("ext", ["jpg", "png", "webp", "avif"])
@pytest.mark.parametrize("mode", ["none", "rights", "all"])
def test_outputs_read_back(cli, tmp_path, ext, mode):
    src = make_source(tmp_path)
    fmt = {"jpg": "jpeg"}.get(ext, ext)
    r = cli(src, tmp_path / "out", "--ratio", "1:1", "--size", "200x150", "--format", fmt,
            "--metadata", mode, "--manifest", "-")
    assert r.exit_code == 0, r.stderr
    for rec in r.records:
        exif, xmp = read_back(rec["output"])
        assert not exif.get_ifd(ExifTags.IFD.GPSInfo) and b"GPS" not in xmp  # never GPS
        assert exif.get(metadata.ORIENTATION, 1) == 1 and b'tiff:Orientation="6"' not in xmp
        if mode == "none":
            assert not len(exif) and not xmp
        else:
            assert exif[metadata.ARTIST] == "Ann Artist" and "Ann Artist" in exif[metadata.COPYRIGHT]
            assert b"Agency X" in xmp and b"(c) 2026 Ann Artist" in xmp and b"<rdf:li>Ann Artist" in xmp
        if mode == "rights":  # nothing else: no camera, no tool
            assert set(exif) == {metadata.ARTIST, metadata.COPYRIGHT} and b"CreatorTool" not in xmp
        if mode == "all":
            w, h = rec["output_size"]
            assert exif[0x010F] == "CameraMaker" and b"Camera 1.0" in xmp
            assert exif.get_ifd(ExifTags.IFD.Exif)[metadata.PIXEL_X] == w
            assert f'exif:PixelXDimension="{w}"'.encode() in xmp


def test_iptc_rights_become_xmp(tmp_path):
    path = make_source(tmp_path, with_xmp=False,
                       iptc={(2, 80): b"Bob Byline", (2, 116): b"(c) Bob", (2, 110): b"Wire"})
    src = metadata.read_source(path)
    xmp = metadata.for_output(src, "rights", (10, 10))["xmp"]
    assert b"<dc:creator><rdf:Seq><rdf:li>Bob Byline</rdf:li>" in xmp
    assert b'<rdf:li xml:lang="x-default">(c) Bob</rdf:li>' in xmp and b"<photoshop:Credit>Wire" in xmp
    import xml.etree.ElementTree as ET

    ET.fromstring(xmp[xmp.index(b"<x:xmpmeta"):xmp.index(b"<?xpacket end")])  # well-formed


RIGHTS_IIM = {(2, 80): b"Bob Byline", (2, 116): b"(c) Bob", (2, 110): b"Wire", (2, 115): b"Agency"}


@pytest.mark.parametrize("with_xmp, iptc, mode", [(True, None, "rights"), (True, RIGHTS_IIM, "rights"),
                                                  (False, RIGHTS_IIM, "rights"), (False, RIGHTS_IIM, "all")])
def test_rights_packet_has_each_property_once(tmp_path, with_xmp, iptc, mode):
    # The packet was written from RIGHTS + IIM_RIGHTS, which overlap: dc:creator, dc:rights,
    # photoshop:Credit and photoshop:Source appeared twice (from XMP or IPTC alike).
    import xml.etree.ElementTree as ET

    src = metadata.read_source(make_source(tmp_path, with_xmp=with_xmp, iptc=iptc))
    xmp = metadata.for_output(src, mode, (10, 10))["xmp"]
    root = ET.fromstring(xmp[xmp.index(b"<x:xmpmeta"):xmp.index(b"<?xpacket end")])
    (desc,) = root.iter(f"{{{metadata.NS['rdf']}}}Description")
    names = [child.tag for child in desc]
    assert len(names) == len(set(names)) and len(names) >= 3, names
    for prefix, name in [("dc", "creator"), ("dc", "rights"), ("photoshop", "Credit")]:
        assert names.count(f"{{{metadata.NS[prefix]}}}{name}") == 1
    if iptc and not with_xmp:
        assert f"{{{metadata.NS['photoshop']}}}Source" in names


# -- what Pillow's savers would take from the decoded image ------------------------------------
# They fall back to the image's `info` (and a TIFF's own tags) for what they are not given;
# outputs must carry only what --metadata decides.

PRIVATE_TIFF_TAGS = {270: "ImageDescription", 271: "Make", 305: "Software", 315: "Artist",
                     700: "XMP", 33723: "IPTC", 34377: "Photoshop"}


@pytest.mark.parametrize("mode", ["none", "all"])
def test_tiff_outputs_carry_no_tags_even_uncropped(cli, tmp_path, mode):
    # An output box of the whole image (--ratio of the photo's aspect, --size of its pixel size)
    # was the decoded TiffImageFile itself, whose tags the TIFF saver copied: XMP with GPS, Make...
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[700] = XMP.replace(b' tiff:Orientation="6"', b"")  # else Pillow 13 turns the decode
    tags[271], tags[270], tags[305], tags[315] = "CameraMaker", "Ann's flat", "Editor 2", "Ann Artist"
    src = tmp_path / "in" / "scan.tif"
    src.parent.mkdir()
    photo((300, 200)).save(src, tiffinfo=tags, compression="tiff_lzw")
    r = cli(src, tmp_path / "out", "--ratio", "3:2", "--size", "300x200", "--size", "150x100",
            "--metadata", mode, "--manifest", "-")
    assert r.exit_code == 0, r.stderr
    assert len(r.records) == 3
    for rec in r.records:
        with Image.open(rec["output"]) as out:
            assert not set(out.tag_v2) & set(PRIVATE_TIFF_TAGS), rec["output"]
            assert out.info["compression"] == "tiff_lzw"
        assert b"GPS" not in open(rec["output"], "rb").read()


@pytest.mark.parametrize("mode", ["none", "rights", "all"])
def test_comments_are_never_carried(cli, tmp_path, mode):
    # JPEG and GIF comments survived crop, resize and convert in `info`, and the savers wrote them.
    # README: outputs carry EXIF and XMP only, as --metadata says; a comment is neither.
    folder = tmp_path / "in"
    folder.mkdir()
    secret = b"owner=jane@example.com"
    photo((300, 200)).save(folder / "a.jpg", comment=secret, exif=source_exif().tobytes())
    photo((300, 200)).convert("P").save(folder / "b.gif", comment=secret)
    animation(folder / "c.gif", n=3, comment=secret)
    for fmt in ("keep", "jpeg"):
        r = cli(folder, tmp_path / fmt, "--ratio", "3:2", "--size", "150x100", "--format", fmt,
                "--metadata", mode, "--manifest", "-")
        assert r.exit_code == 0, r.stderr
        assert len(r.records) == 6
        for rec in r.records:
            with Image.open(rec["output"]) as out:
                assert "comment" not in out.info, rec["output"]
            assert b"jane@" not in open(rec["output"], "rb").read()
