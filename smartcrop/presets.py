"""Named output sizes for social networks (``--preset``): one table, with where each size comes from.

A preset expands to ``--size`` targets, so its outputs are named by size tag
(``beach_1080x1350.jpg``) exactly as ``--size 1080x1350`` would name them.
"""

from __future__ import annotations

import difflib

from smartcrop.options import Target, parse_size

# Compiled on 2026-12-01 from the platforms' published specifications (their pages below) as
# known to the author that day; the development machine has no web access, so the pages were
# not re-fetched. Platforms change these: check the page, then edit this table (the only place
# they live).
CHECKED = "2026-12-01"
SOURCES = {
    "instagram": "https://help.instagram.com/1631821640426723 (photo sizes), "
                 "https://help.instagram.com/1038071743007909 (stories)",
    "facebook": "https://www.facebook.com/business/ads-guide (image and story specs)",
    "x": "https://developer.x.com/en/docs/x-for-websites/cards/overview/summary-card-with-large-image, "
         "https://business.x.com/en/help/campaign-setup/advertiser-card-specifications",
    "linkedin": "https://www.linkedin.com/help/linkedin/answer/a563309 (image specs)",
    "pinterest": "https://help.pinterest.com/en/business/article/pinterest-product-specs",
    "youtube": "https://support.google.com/youtube/answer/72431 (custom thumbnails)",
    "og": "https://ogp.me and https://developers.facebook.com/docs/sharing/webmasters/images",
}

# name -> (width, height, what it is for). Group names (the part before '-') expand to all
# of their members, e.g. "instagram" -> square, portrait, landscape and story.
PRESETS: dict[str, tuple[int, int, str]] = {
    "instagram-square": (1080, 1080, "feed post, 1:1"),
    "instagram-portrait": (1080, 1350, "feed post, 4:5 (the tallest the feed shows)"),
    "instagram-landscape": (1080, 566, "feed post, 1.91:1"),
    "instagram-story": (1080, 1920, "story and reel, 9:16"),
    "facebook-post": (1080, 1350, "feed image, 4:5"),
    "facebook-link": (1200, 630, "link share image, 1.91:1"),
    "facebook-cover": (851, 315, "page cover (desktop)"),
    "facebook-story": (1080, 1920, "story, 9:16"),
    "x-post": (1600, 900, "in-stream image, 16:9"),
    "x-header": (1500, 500, "profile header, 3:1"),
    "linkedin-post": (1200, 627, "shared image or link, 1.91:1"),
    "linkedin-square": (1200, 1200, "image post, 1:1"),
    "linkedin-cover": (1584, 396, "profile background, 4:1"),
    "pinterest-pin": (1000, 1500, "standard pin, 2:3"),
    "youtube-thumbnail": (1280, 720, "video thumbnail, 16:9"),
    "og": (1200, 630, "Open Graph / link preview image (og:image), 1.91:1"),
}


ALIASES = {"open-graph": "og", "opengraph": "og", "twitter": "x"}


def groups() -> dict[str, list[str]]:
    """Group name -> member preset names, in table order."""
    out: dict[str, list[str]] = {}
    for name in PRESETS:
        out.setdefault(name.split("-")[0], []).append(name)
    return out


def expand(names: list[str] | tuple[str, ...]) -> tuple[Target, ...]:
    """The size targets of the named presets and groups, each size once, in the order given.

    Raises ValueError naming an unknown preset (with the closest known names).
    """
    known = groups()
    targets: list[Target] = []
    for name in names:
        key = name.strip().lower()
        key = ALIASES.get(key, key)
        members = [key] if key in PRESETS else known.get(key)
        if not members:
            close = difflib.get_close_matches(key, [*PRESETS, *known, *ALIASES], n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise ValueError(f"unknown preset {name!r} (see --preset list){hint}")
        for member in members:
            w, h, _ = PRESETS[member]
            target = parse_size(f"{w}x{h}")
            if target not in targets:
                targets.append(target)
    return tuple(targets)


def listing() -> str:
    """The table `--preset list` prints."""
    lines = [f"{'preset':<22}{'size':>11}  use", f"{'-' * 22}{'-' * 11}  {'-' * 40}"]
    for name, (w, h, use) in PRESETS.items():
        lines.append(f"{name:<22}{f'{w}x{h}':>11}  {use}")
    lines.append("")
    lines.append("Groups: " + ", ".join(f"{g} ({len(m)})" for g, m in groups().items() if len(m) > 1)
                 + " expand to all of their members. Aliases: "
                 + ", ".join(f"{a} = {n}" for a, n in ALIASES.items()) + ".")
    lines.append(f"Sizes compiled {CHECKED} from these pages (check them: platforms change sizes):")
    lines += [f"  {group}: {url}" for group, url in SOURCES.items()]
    return "\n".join(lines)
