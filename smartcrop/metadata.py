"""What metadata outputs carry (``--metadata none|rights|all``); GPS never.

- ``none`` (default): no EXIF, XMP or IPTC at all (the ICC profile is colour, not metadata).
- ``rights``: only who made the photo and on what terms: EXIF Artist and Copyright, and an XMP
  packet with dc:creator, dc:rights, photoshop:Credit/Source and xmpRights:* taken from the
  source's XMP, or from its IPTC IIM fields (By-line, Copyright Notice, Credit, Source).
- ``all``: the source's EXIF and XMP, less every GPS field, and less the EXIF thumbnail (it
  shows the uncropped photo).

Outputs are upright, so Orientation is written as 1, and pixel dimensions are the output's.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import ExifTags, Image, IptcImagePlugin

MODES = ("none", "rights", "all")

ARTIST, COPYRIGHT, ORIENTATION = 0x013B, 0x8298, 0x0112
IMAGE_WIDTH, IMAGE_LENGTH = 0x0100, 0x0101
PIXEL_X, PIXEL_Y = 0xA002, 0xA003  # in the Exif sub-IFD
# XMP properties kept by `rights` (namespace URI, local name).
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
}
RIGHTS = [("dc", "creator"), ("dc", "rights"), ("photoshop", "Credit"), ("photoshop", "Source"),
          ("xmpRights", "UsageTerms"), ("xmpRights", "WebStatement"), ("xmpRights", "Marked"),
          ("xmpRights", "Owner")]
# IPTC IIM record 2 datasets -> the XMP property IPTC Core maps them to, and its container.
# Every property here is one of RIGHTS, which orders the packet.
IIM_RIGHTS = {(2, 80): ("dc", "creator", "Seq"), (2, 116): ("dc", "rights", "Alt"),
              (2, 110): ("photoshop", "Credit", None), (2, 115): ("photoshop", "Source", None)}
_GPS_XMP = [re.compile(rb'\s[\w.-]+:GPS\w*="[^"]*"'),  # attribute form
            re.compile(rb"<([\w.-]+:GPS\w*)\b[^>]*/>"),  # empty element
            re.compile(rb"<([\w.-]+:GPS\w*)\b[^>]*>.*?</\1>", re.S)]  # element form


@dataclass(frozen=True)
class Source:
    """The source file's metadata, read from its header."""

    exif: Image.Exif | None
    xmp: bytes | None
    iptc: dict | None


def read_source(path: Path) -> Source:
    """EXIF, XMP and IPTC IIM of `path`, without decoding pixels (a PNG's eXIf after the image
    data is not read)."""
    with Image.open(path) as im:
        exif = im.getexif() if (im.format != "PNG" or "exif" in im.info) else None
        xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
        iptc = None
        if im.format in ("JPEG", "MPO", "TIFF"):
            try:
                iptc = IptcImagePlugin.getiptcinfo(im)
            except Exception:  # a damaged IPTC block is dropped, not an error for the photo
                iptc = None
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    return Source(exif if exif else None, xmp or None, iptc or None)


def for_output(source: Source | None, mode: str, size: tuple[int, int]) -> dict:
    """Save parameters ``exif``/``xmp`` (bytes) for an output of `size`; empty for ``none``."""
    if mode == "none" or source is None:
        return {}
    if mode not in MODES:
        raise ValueError(f"metadata must be one of {MODES}, not {mode!r}")
    out = {}
    if mode == "rights":
        exif = Image.Exif()
        for tag in (ARTIST, COPYRIGHT):
            if source.exif and source.exif.get(tag):
                exif[tag] = source.exif[tag]
        xmp = _rights_xmp(source)
    else:
        exif = _all_exif(source.exif, size) if source.exif else Image.Exif()
        xmp = _all_xmp(source.xmp, size) if source.xmp else _rights_xmp(source)
    if len(exif):
        out["exif"] = exif.tobytes()
    if xmp:
        out["xmp"] = xmp
    return out


def _all_exif(src: Image.Exif, size: tuple[int, int]) -> Image.Exif:
    """A copy of the EXIF without GPS or thumbnail, upright, with the output's dimensions."""
    exif = Image.Exif()
    exif.load(src.tobytes())  # tobytes writes IFD0 and its sub-IFDs, never the IFD1 thumbnail
    exif.get_ifd(ExifTags.IFD.GPSInfo)
    exif.pop(ExifTags.IFD.GPSInfo, None)
    exif._ifds.pop(ExifTags.IFD.GPSInfo, None)
    exif[ORIENTATION] = 1
    for tag, value in ((IMAGE_WIDTH, size[0]), (IMAGE_LENGTH, size[1])):
        if tag in exif:
            exif[tag] = value
    if ExifTags.IFD.Exif in exif:  # get_ifd would add an empty sub-IFD otherwise
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        for tag, value in ((PIXEL_X, size[0]), (PIXEL_Y, size[1])):
            if tag in sub:
                sub[tag] = value
    return exif


def _all_xmp(xmp: bytes, size: tuple[int, int]) -> bytes:
    """The source XMP without GPS properties, upright, with the output's pixel dimensions."""
    for pattern in _GPS_XMP:
        xmp = pattern.sub(b"", xmp)
    values = {b"tiff:Orientation": b"1", b"exif:PixelXDimension": str(size[0]).encode(),
              b"exif:PixelYDimension": str(size[1]).encode(), b"tiff:ImageWidth": str(size[0]).encode(),
              b"tiff:ImageLength": str(size[1]).encode()}
    for name, value in values.items():
        n = re.escape(name)
        xmp = re.sub(rb'(\s' + n + rb'=")[^"]*(")', rb"\g<1>" + value + rb"\g<2>", xmp)
        xmp = re.sub(rb"(<" + n + rb">)[^<]*(</" + n + rb">)", rb"\g<1>" + value + rb"\g<2>", xmp)
    return xmp


def _rights_xmp(source: Source) -> bytes | None:
    """A new XMP packet holding only the rights and credit properties of the source."""
    found: dict[tuple[str, str], str] = {}
    if source.xmp:
        try:
            root = ET.fromstring(_packet_body(source.xmp))
        except ET.ParseError:
            root = None
        if root is not None:
            for desc in root.iter(f"{{{NS['rdf']}}}Description"):
                for prefix, name in RIGHTS:
                    qname = f"{{{NS[prefix]}}}{name}"
                    if (prefix, name) in found:
                        continue
                    if desc.get(qname) is not None:
                        value = escape(desc.get(qname))
                        found[(prefix, name)] = f"<{prefix}:{name}>{value}</{prefix}:{name}>"
                    elif (el := desc.find(qname)) is not None:
                        found[(prefix, name)] = _serialise(el)
    for (record, dataset), (prefix, name, container) in IIM_RIGHTS.items():
        raw = (source.iptc or {}).get((record, dataset))
        if raw is None or (prefix, name) in found:
            continue
        items = raw if isinstance(raw, list) else [raw]
        texts = [escape(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)) for v in items]
        if container == "Seq":
            inner = "".join(f"<rdf:li>{t}</rdf:li>" for t in texts)
            found[(prefix, name)] = f"<{prefix}:{name}><rdf:Seq>{inner}</rdf:Seq></{prefix}:{name}>"
        elif container == "Alt":
            inner = f'<rdf:li xml:lang="x-default">{texts[0]}</rdf:li>'
            found[(prefix, name)] = f"<{prefix}:{name}><rdf:Alt>{inner}</rdf:Alt></{prefix}:{name}>"
        else:
            found[(prefix, name)] = f"<{prefix}:{name}>{texts[0]}</{prefix}:{name}>"
    if not found:
        return None
    xmlns = " ".join(f'xmlns:{p}="{u}"' for p, u in NS.items() if p not in ("x", "rdf"))
    body = "".join(found[k] for k in RIGHTS if k in found)  # IIM_RIGHTS map into RIGHTS
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            f'<x:xmpmeta xmlns:x="{NS["x"]}"><rdf:RDF xmlns:rdf="{NS["rdf"]}">'
            f'<rdf:Description rdf:about="" {xmlns}>{body}</rdf:Description>'
            '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode()


def _packet_body(xmp: bytes) -> bytes:
    """The XML inside an XMP packet (processing instructions and padding removed)."""
    start = xmp.find(b"<x:xmpmeta")
    start = xmp.find(b"<rdf:RDF") if start < 0 else start
    end_tag = b"</x:xmpmeta>" if xmp.startswith(b"<x:xmpmeta", start) else b"</rdf:RDF>"
    end = xmp.find(end_tag, start)
    return xmp[start:end + len(end_tag)] if start >= 0 and end >= 0 else xmp


def _serialise(el: ET.Element) -> str:
    """An XMP property element written back with the fixed prefixes this module declares."""
    def inner(e: ET.Element) -> str:
        tag = e.tag.split("}")[-1]
        ns = e.tag[1:].split("}")[0] if e.tag.startswith("{") else ""
        p = next((k for k, u in NS.items() if u == ns), None)
        if p is None:  # a namespace we do not declare: keep its text only
            return escape(e.text or "")
        attrs = "".join(f' xml:lang="{escape(v)}"' for k, v in e.attrib.items()
                        if k == "{http://www.w3.org/XML/1998/namespace}lang")
        children = "".join(inner(c) for c in e)
        return f"<{p}:{tag}{attrs}>{escape(e.text or '') if not len(e) else ''}{children}</{p}:{tag}>"

    return inner(el)
