"""Named output sizes for social networks (``--preset``): one table, with where each size comes from.

A preset expands to ``--size`` targets, so its outputs are named by size tag
(``beach_1080x1350.jpg``) exactly as ``--size 1080x1350`` would name them.
"""

from __future__ import annotations

import difflib

from smartcrop.options import Target, parse_size

# Checked on 2026-12-01 against stored copies of public pages (the project's search tool: this
# machine has no live web access, and a stored copy can be older than the live page). What backs
# each size, platform page first:
#   instagram-*        guides only: no Instagram help page was among the stored copies. Guides agree on
#                      1080 wide, 1080x1080 / 1080x1350 / 1080x566 (1.91:1) / 1080x1920 (9:16), e.g.
#                      recurpost.com/blog/instagram-post-size-guide, picovert.com (2026). 2025-26 guides
#                      also report 3:4 (1080x1440) feed photos, so 4:5 is no longer called the tallest.
#   facebook-link, og  platform page: developers.facebook.com/docs/sharing/webmasters/images, "at least
#                      1200 x 630 pixels" (ogp.me itself sets no size).
#   facebook-story     platform page for the ratio (Meta ads guide, Facebook Stories: 9:16, seen in a
#                      stored copy); 1080x1920 from guides.
#   facebook-cover     Facebook's help text "loads fastest as an sRGB JPG file that's 851 pixels wide,
#                      315 pixels tall" (shows at 820x312 on computers, 640x360 on phones), read in a
#                      verbatim copy (technologybangladesh.com); the facebook.com page was not stored.
#   facebook-post      guides only (1080x1350, 4:5); Meta's ads guide gives ratios and minimums only.
#   x-post, x-header   guides only: no X help page with these sizes was stored. X's creative ad specs
#                      (business.x.com/en/help/campaign-setup/creative-ad-specifications) give only ad
#                      images (800x418, 800x800). Guides: header 1500x500 (also Twitter's help steps as
#                      reproduced by indiatoday.in, 2020); in-stream 16:9 as 1600x900 or 1200x675.
#   linkedin-square    platform page: linkedin.com/help/lms/answer/a426534 (single image ads; 1:1 from
#                      360x360 to 4320x4320; one stored copy also lists 1200x1200 as recommended).
#   linkedin-post      guides (1200x627, the link-preview size); the same LinkedIn ads page recommends
#                      1200x628 for 1.91:1 ad images. Kept 627: one pixel, same ratio, link use.
#   linkedin-cover     guides only (1584x396); LinkedIn's help page was not stored.
#   pinterest-pin      platform page: help.pinterest.com/en/business/article/pinterest-product-specs,
#                      "2:3 aspect ratio, or 1000 x 1500 pixels".
#   youtube-thumbnail  platform page: support.google.com/youtube/answer/72431 (1280x720, minimum width
#                      640; the stored copy is cut short before the numbers, which are as others quote
#                      that page). 2025 reports of 50 MB / 4K thumbnails could not be checked on it.
# Platforms change these: check the page, then edit this table (the only place they live).
CHECKED = "2026-12-01"
SOURCES = {
    "instagram": "guides only (no Instagram help page found): https://recurpost.com/blog/instagram-post-size-guide",
    "facebook": "https://developers.facebook.com/docs/sharing/webmasters/images (link), "
                "https://www.facebook.com/business/ads-guide (story 9:16); cover as Facebook's help text "
                "in a copy; post from guides",
    "x": "guides only (no X page gives these; X's ad specs: "
         "https://business.x.com/en/help/campaign-setup/creative-ad-specifications)",
    "linkedin": "https://www.linkedin.com/help/lms/answer/a426534 (1:1; it gives 1200x628 for 1.91:1 ads); "
                "post 1200x627 and cover from guides",
    "pinterest": "https://help.pinterest.com/en/business/article/pinterest-product-specs",
    "youtube": "https://support.google.com/youtube/answer/72431 (custom thumbnails)",
    "og": "https://developers.facebook.com/docs/sharing/webmasters/images (ogp.me sets no size)",
}

# name -> (width, height, what it is for). Group names (the part before '-') expand to all
# of their members, e.g. "instagram" -> square, portrait, landscape and story.
PRESETS: dict[str, tuple[int, int, str]] = {
    "instagram-square": (1080, 1080, "feed post, 1:1"),
    "instagram-portrait": (1080, 1350, "feed post, 4:5"),
    "instagram-landscape": (1080, 566, "feed post, 1.91:1"),
    "instagram-story": (1080, 1920, "story and reel, 9:16"),
    "facebook-post": (1080, 1350, "feed image, 4:5"),
    "facebook-link": (1200, 630, "link share image, 1.91:1"),
    "facebook-cover": (851, 315, "page cover (the size Facebook says loads fastest)"),
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
    lines.append(f"Sizes checked {CHECKED} against stored copies of these pages and size guides"
                 " (platforms change sizes: check before a campaign):")
    lines += [f"  {group}: {url}" for group, url in SOURCES.items()]
    return "\n".join(lines)
