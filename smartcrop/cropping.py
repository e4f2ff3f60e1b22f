"""From a saliency map to crop boxes: exact searches over a summed-area table. Pure numpy.

Two strategies:
- ``window``: the largest window of the aspect ratio (optionally zoomed), slid to the position
  that covers the most saliency.
- ``box``: the box that best matches the salient region by intersection-over-union, then grown
  to the aspect ratio (and at least the output size), zooming in where the region is small.

Maps may be smaller than the image: window sizes are computed in image pixels (so aspect
ratios are exact), positions are searched on the map and scaled back once.

Faces (boxes in image pixels, found elsewhere) make both strategies keep subjects whole: among
the positions that cut no face the one with the most saliency wins; when every position cuts
one, the one cutting the least face area. Faces also add saliency to the map, so windows hold
them rather than merely miss them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULTS = {
    # box: the salient region is the smallest set of map cells holding this share of saliency.
    "box_mass": 0.5,
    # box: a grown box is at least this fraction of the largest window's side, so a tiny
    # salient spot does not turn into an extreme close-up.
    "box_min_scale": 0.35,
    # box: the region search runs on a map at most this many cells on its long side.
    "box_grid": 48,
    # box: the region holds the map's peak: the cells of at least this share of the maximum
    # that connect to it. Without it the region (best IoU with the mask) left the peak cell out
    # of 16.3% of validation crops of photos with no face (a horse's head, out of a crop of its
    # body). Measured (tests/bench/box_peak.py, face rule of 2026-12-06): 0.3 / 0.5 / 0.7 leave
    # it out of 0.6% / 0% / 0%, keep 0.527 / 0.499 / 0.503 of the fixations against 0.490,
    # crops 0.235 / 0.205 / 0.208 of the photo against 0.198, box face cuts 2.6% / 2.3% / 2.6%
    # against 3.0%, face area kept 0.687 / 0.680 / 0.689 against 0.647.
    "box_peak": 0.7,
    # faces: each face box is widened by this share of its width and height on the sides and
    # below (above: face_margin_top) before the search (the detector's box runs from the brows
    # to the chin; the forehead is outside it). Measured (with the margin above the same and
    # margin_whole 0.02; tests/bench/face_settings.py): window / box cuts 2.3% / 4.6% at
    # 0, 2.0% / 3.3% at 0.1, 1.6% / 1.3% at 0.2, 2.0% / 2.3% at 0.3 with more fixations lost.
    "face_margin": 0.2,
    # faces: the margin above the box (the forehead), larger so that an edge running through
    # it (margin_whole) still leaves the forehead: with 0.35 and margin_whole 0.1 an edge stays
    # at least 0.19 of the face's height above the box, about what the 0.2 margin held before.
    "face_margin_top": 0.35,
    # faces: a face with at most this share of its area on the wrong side of an edge is whole
    # (the manifest's face_cut, on the detector's boxes).
    "face_whole": 0.02,
    # faces: the same for the widened boxes the searches hold whole. Above 0.02, an edge may run
    # through the margin but not the face: a whole 0.2 margin strip is 14% of a widened box.
    # Measured on the leave-one-dataset-out folds (tests/bench/face_settings.py, margin_whole
    # and face_margin_top): eyecrowd window / box cuts 4.2% / 6.2% at 0.02 (top margin 0.2),
    # 4.1% / 5.6% at 0.1 (0.35), gap closed 74.6% / 76.5% -> 77.0% / 78.5%; osie cuts 1.1% /
    # 1.1% -> 1.3% / 1.2%, gap closed 81.3% / 77.4% -> 82.1% / 78.2%. At 0.14 (top margin 0.2)
    # eyecrowd cut 4.5% of window crops; at 0.2, 6.8% (docs/faces.md).
    "margin_whole": 0.1,
    # faces: saliency added to the map (which sums to 1) over face boxes, shared in proportion
    # to their area; for window and for box (where it draws the salient region to faces).
    # Measured (tests/bench/face_settings.py): window weights 0 to 0.5 cut the same faces;
    # retention falls as they grow (0.8847 at 0, 0.8843 at 0.1, 0.8831 at 0.5) while 0.1 keeps
    # more face area inside (0.864 -> 0.894). Box cuts (with the multi-level model of
    # 2026-12-03) 3.9% at 0.25, 3.3% at 0.5, 2.3% at 1, which also keeps the most face area
    # (0.691 against 0.673); with the model before it, 3.6% / 1.3% / 2.0%.
    "face_weight": 0.1,
    # window, photos taller than wide: their maps come from the portrait canvas, finer, with
    # more mass on other things beside a face. Measured on portrait cuts of the eyecrowd and
    # osie folds (tests/bench/face_settings.py --portrait-cuts): face area kept 0.952 / 0.947
    # at 0.1, 0.955 / 0.956 at 0.2; fixation retention 0.8859 / 0.8785 and 0.8857 / 0.8784.
    "portrait_face_weight": 0.2,
    "box_face_weight": 1.0,
    # faces: how much a cut weighs against saliency. inf: a position that cuts a face never
    # beats one that cuts none (the strict rule). A number: each position's score loses this
    # times the map's total for every face it cuts, in proportion to the share of the face cut.
    # Measured (tests/bench/face_settings.py, photos with a face): 0.5 cuts 2.0% / 2.0% of
    # window / box crops and keeps 0.8667 of fixations; strict cuts 1.6% / 1.3% and keeps 0.8630.
    "face_penalty": math.inf,
    # edge penalty: saliency within this many map cells of a crop edge (not an image border)
    # is subtracted from the window's score, times the weight. Off: every weight tried lowered
    # fixation retention (docs/faces.md).
    "edge_band": 2,
    "edge_weight": 0.0,
    # window: positions whose score is within this share of the map's total of the best one
    # compete, and the one nearest the centre wins (0: only ties to float noise). Off: on the
    # leave-one-dataset-out folds 0.005 gained on scene500 but lost 1.0 / 0.5 points of gap
    # closed on the three-fold mean (model card, "Centre tolerance").
    "centre_tolerance": 0.0,
    # window: the crop holds the map's peak (peak_region at this level) whole or leaves it out
    # whole, when some position allowed by the face rule does. None: off. Measured at 0.7
    # (tests/bench/face_settings.py): the edge crossed the peak in 0.2-3.3% of largest windows
    # and the rule removed nearly all, but retention fell (osie fold 0.8890 -> 0.8888, eyecrowd
    # 0.8494 -> 0.8492, scene500 0.8946 -> 0.8942, validation split 0.8855 -> 0.8853; zoomed
    # -0.0005 to -0.0049).
    "window_peak": None,
    # window: faces the detector is unsure of (`FaceDetector.find`'s candidates, scoring from
    # its candidate_score to min_score; small faces in crowds, and things that are not faces)
    # are not held whole by the rule; each costs a position this share of the map's total,
    # times the share of it cut. Measured on the leave-one-dataset-out folds and the validation
    # split (tests/bench/face_settings.py, docs/faces.md), none -> 0.005 -> 0.01 -> 0.02 (the
    # last without the sure-face condition): crowd-fold window cuts 3.62% -> 2.92% -> 2.65% ->
    # 2.43%, gap closed (largest) 78.0% -> 78.0% -> 77.7% -> 77.5%; osie cuts 0.45% at each,
    # gap 81.8% -> 81.8% -> 81.75%; validation split cuts 2.62% -> 2.30% -> 2.30%, gap 85.8%
    # -> 85.6% -> 85.6%. A rule instead (spare every candidate when it costs at most 2% of the
    # map) cut 2.27% of the crowd fold's pairs but lost 0.8 points of gap closed there.
    "candidate_penalty": 0.01,
    # faces: where every position cuts some face itself (two faces stacked taller than a wide
    # crop), the cut no longer decides alone: each position's score loses this times the map's
    # total times the face area it cuts (the faces' own boxes), in units of the largest face,
    # so a small false face weighs less than a large real one. inf: the least face area cut
    # wins whatever it costs (a 2:1 crop of a 3:4 cut of OSIE 1550: the boys' hair, 0.05 of
    # the map, beside their faces). On 3:4 cuts of the osie fold (docs/faces.md): face area kept
    # 0.9663 -> 0.9670, gap closed 81.36% / 75.66% -> 81.49% / 75.74%, the same faces cut.
    "crowded_penalty": 1.0,
    # faces: where every position that cuts no face itself leaves every face out (two faces
    # side by side, wider together than the crop: OSIE 1361 at 9:16 gave an arm and an egg
    # cup, 0.25 of the map, beside a mother and child), the cut is weighed against saliency as
    # where every position cuts a face (crowded_penalty), so a crop may clip one face's edge to
    # hold a person. False: the faceless position wins whatever it costs. Measured (False ->
    # True, tests/bench/face_settings.py, docs/faces.md): osie fold window / box cuts 0.30% /
    # 0.15% -> 0.37% / 0.30%, face area kept 0.9360 -> 0.9374, gap closed 81.75% / 78.80% ->
    # 81.88% / 79.02%; its 3:4 cuts box cuts 0.09% -> 0.28%, gap 81.49% / 75.74% -> 81.56% /
    # 76.56%; crowd fold and split: the same cuts and largest windows, zoomed +0.14 / +0.30.
    "weigh_faceless": True,
}

Faces = np.ndarray  # (n, 4) float: left, top, width, height in image pixels


@dataclass(frozen=True)
class Box:
    """An integer box in image pixels: left, top, width, height."""

    left: int
    top: int
    width: int
    height: int

    def as_list(self) -> list[int]:
        return [self.left, self.top, self.width, self.height]


def summed_area_table(saliency: np.ndarray) -> np.ndarray:
    """(h+1, w+1) table whose [y, x] entry is the sum of saliency[:y, :x]."""
    sat = np.zeros((saliency.shape[0] + 1, saliency.shape[1] + 1), dtype=np.float64)
    np.cumsum(np.cumsum(saliency, axis=0), axis=1, out=sat[1:, 1:])
    return sat


def window_sums(sat: np.ndarray, width: int, height: int) -> np.ndarray:
    """Sum of every width x height window: entry [y, x] is the window with top-left (x, y)."""
    return (sat[height:, width:] - sat[:-height, width:]
            - sat[height:, :-width] + sat[:-height, :-width])


def box_sum(sat: np.ndarray, left: int, top: int, width: int, height: int) -> float:
    return float(sat[top + height, left + width] - sat[top, left + width]
                 - sat[top + height, left] + sat[top, left])


def largest_window(image_width: int, image_height: int, aspect: float) -> tuple[int, int]:
    """Largest (width, height) inside the image with width / height closest to `aspect`."""
    if aspect <= 0:
        raise ValueError(f"aspect ratio must be positive, got {aspect}")
    if image_width / image_height >= aspect:  # image is wider: full height
        height = image_height
        width = min(image_width, max(1, round(height * aspect)))
    else:
        width = image_width
        height = min(image_height, max(1, round(width / aspect)))
    return width, height


def _argmax_near_centre(sums: np.ndarray, tolerance: float = 0.0) -> tuple[int, int]:
    """Position of the maximum; among those within `tolerance` of it (float noise at least),
    the one nearest the centre."""
    best = sums.max()
    ys, xs = np.nonzero(sums >= best - max(tolerance, 1e-9 * max(abs(best), 1e-12)))
    cy, cx = (sums.shape[0] - 1) / 2, (sums.shape[1] - 1) / 2
    k = np.argmin((ys - cy) ** 2 + (xs - cx) ** 2)
    return int(ys[k]), int(xs[k])


def best_window(saliency: np.ndarray, image_size: tuple[int, int], aspect: float,
                zoom: float = 1.0, faces: Faces | None = None,
                edge_weight: float = DEFAULTS["edge_weight"],
                face_penalty: float = DEFAULTS["face_penalty"],
                centre_tolerance: float = DEFAULTS["centre_tolerance"],
                margin_whole: float = DEFAULTS["margin_whole"],
                peak_level: float | None = DEFAULTS["window_peak"],
                candidates: Faces | None = None,
                candidate_penalty: float = DEFAULTS["candidate_penalty"],
                cores: Faces | None = None,
                crowded_penalty: float = DEFAULTS["crowded_penalty"],
                weigh_faceless: bool = DEFAULTS["weigh_faceless"]) -> Box:
    """The window of `aspect` (sides `zoom` times the largest) covering the most saliency,
    among the positions cutting the least face area (see `place_window`).

    `saliency` covers the whole image at any resolution; the box is in image pixels.
    """
    if not 0 < zoom <= 1:
        raise ValueError(f"zoom must be in (0, 1], got {zoom}")
    image_w, image_h = image_size
    w, h = largest_window(image_w, image_h, aspect)
    if zoom < 1:
        w, h = _shrink(w, h, aspect, zoom)
    return place_window(saliency, image_size, w, h, faces, edge_weight=edge_weight,
                        face_penalty=face_penalty, centre_tolerance=centre_tolerance,
                        margin_whole=margin_whole, peak_level=peak_level,
                        candidates=candidates, candidate_penalty=candidate_penalty, cores=cores,
                        crowded_penalty=crowded_penalty, weigh_faceless=weigh_faceless)


def _shrink(width: int, height: int, aspect: float, zoom: float) -> tuple[int, int]:
    if aspect >= 1:
        h = max(1, round(height * zoom))
        return max(1, min(width, round(h * aspect))), h
    w = max(1, round(width * zoom))
    return w, max(1, min(height, round(w / aspect)))


# Face areas (square pixels) closer than this are equal: widened boxes have fractional sides,
# and the same area summed two ways can differ in its last bits; such ties go to saliency.
TIE = 1e-6


def place_window(saliency: np.ndarray, image_size: tuple[int, int], width: int,
                 height: int, faces: Faces | None = None, within: tuple | None = None,
                 edge_weight: float = DEFAULTS["edge_weight"],
                 face_penalty: float = DEFAULTS["face_penalty"],
                 centre_tolerance: float = DEFAULTS["centre_tolerance"],
                 margin_whole: float = DEFAULTS["margin_whole"],
                 peak_level: float | None = None, candidates: Faces | None = None,
                 candidate_penalty: float = DEFAULTS["candidate_penalty"],
                 cores: Faces | None = None,
                 crowded_penalty: float = DEFAULTS["crowded_penalty"],
                 weigh_faceless: bool = DEFAULTS["weigh_faceless"]) -> Box:
    """Slide a width x height window (image pixels) to the position of maximum covered saliency.

    With `faces`, only positions cutting the least face area compete (none, when any position
    cuts none); with a finite `face_penalty`, cuts are instead subtracted from the score
    (`DEFAULTS["face_penalty"]`). A face is whole while at most `margin_whole` of its area lies
    across an edge (`faces` are the widened boxes, which may reach past the image: `cut_area`).
    `cores` (the faces' own boxes, unwidened, in the same order) decide first: the positions
    cutting the least of the faces themselves compete (those cutting none, when any do), and
    among them those cutting the least of the widened boxes (an edge through a margin rather
    than through a face). Where every position cuts some face itself, a finite
    `crowded_penalty` weighs the cut against saliency instead: every position competes, its
    score less the penalty times the map's total times the area of the faces' own boxes cut,
    in units of the largest face (else the least cut wins whatever it costs: a strip of hair
    above two stacked faces). With `cores`, a widened box too large for the window has its
    margins trimmed to fit (`fit_margins`), so that a face the window can hold is not only
    left out. `peak_level` then keeps to the positions that hold the map's peak
    (`peak_region`) whole or leave it out whole, when any remain (measured, off:
    `DEFAULTS["window_peak"]`). `within` (left, top, right, bottom; image pixels) then keeps
    to the positions whose window contains that region, when any of them remain. Neither
    applies where the cut is weighed. `edge_weight` subtracts saliency along the edges.
    `centre_tolerance` (a share of the map's total) lets positions nearly as good as the best
    compete, and the one nearest the centre wins. `candidates` (widened like `faces`) are boxes
    that may be faces: each costs a position `candidate_penalty` times the map's total, times
    the share of it cut, so the window spares them where that costs little.
    """
    image_w, image_h = image_size
    map_h, map_w = saliency.shape
    sx, sy = map_w / image_w, map_h / image_h
    ww = min(map_w, max(1, round(width * sx)))
    wh = min(map_h, max(1, round(height * sy)))
    sat = summed_area_table(saliency)
    score = window_sums(sat, ww, wh)
    if edge_weight:
        score = score - edge_weight * edge_sums(sat, ww, wh)
    lefts = np.minimum(np.maximum(0, np.round(np.arange(score.shape[1]) / sx)), image_w - width)
    tops = np.minimum(np.maximum(0, np.round(np.arange(score.shape[0]) / sy)), image_h - height)
    if candidates is not None and len(candidates):  # unsure faces: a cost, not a rule
        score = score - candidate_penalty * sat[-1, -1] * cut_area(
            candidates, lefts, tops, width, height, margin_whole, share=True, image_size=image_size)
    allowed = np.ones(score.shape, dtype=bool)
    weighed = False  # every position cuts a face itself: the cut is weighed against saliency
    if faces is not None and len(faces):
        if cores is not None and len(cores):
            faces = fit_margins(faces, cores, width, height)
        if math.isinf(face_penalty):
            own = None
            if cores is not None and len(cores):  # the faces themselves first, then margins
                own = cut_area(cores, lefts, tops, width, height, DEFAULTS["face_whole"],
                               image_size=image_size)
                # every position cuts a face itself, or (weigh_faceless) those sparing every
                # face hold none (asked only where the cut can be weighed)
                weighed = math.isfinite(crowded_penalty) and (own.min() > TIE or (
                    weigh_faceless and not ((own <= TIE) & held(cores, lefts, tops, width, height)).any()))
            if weighed:  # every position competes, on saliency less the face area it cuts
                sides = np.asarray(cores, dtype=np.float64).reshape(-1, 4)[:, 2:]
                score = score - crowded_penalty * sat[-1, -1] * own / sides.prod(axis=1).max()
            else:
                cut = cut_area(faces, lefts, tops, width, height, margin_whole, image_size=image_size)
                if own is not None:
                    cut = np.where(own <= own.min() + TIE, cut, np.inf)
                allowed = cut <= cut.min() + TIE
        else:
            score = score - face_penalty * sat[-1, -1] * cut_area(
                faces, lefts, tops, width, height, margin_whole, share=True, image_size=image_size)
    # After the face rule, sparing the peak and holding the region never cost a face; where the
    # cut is weighed against saliency, that weighing decides alone.
    if peak_level is not None and not weighed:
        peak = peak_box(saliency, image_size, peak_level)
        clear = allowed & (cut_area(peak, lefts, tops, width, height, margin_whole,
                                    image_size=image_size) <= 0)
        allowed = clear if clear.any() else allowed
    if within is not None and not weighed:
        x0, y0, x1, y1 = within
        inside = allowed & (tops[:, None] <= y0 + 1e-6) & (tops[:, None] + height >= y1 - 1e-6) \
            & (lefts[None, :] <= x0 + 1e-6) & (lefts[None, :] + width >= x1 - 1e-6)
        allowed = inside if inside.any() else allowed
    y, x = _argmax_near_centre(np.where(allowed, score, -np.inf), centre_tolerance * sat[-1, -1])
    return Box(int(lefts[x]), int(tops[y]), width, height)


def fit_margins(faces: Faces, cores: Faces, width: float, height: float) -> np.ndarray:
    """The widened `faces` with their margins trimmed, each side in proportion, so that each fits
    a `width` x `height` window where its own box (`cores`, in the same order) does. A face too
    large for the window with its margins can then be held tightly, not only left out."""
    f = np.array(faces, dtype=np.float64).reshape(-1, 4)
    c = np.asarray(cores, dtype=np.float64).reshape(-1, 4)
    for axis, size in ((0, width), (1, height)):
        extra = f[:, 2 + axis] - c[:, 2 + axis]  # both margins along this axis
        room = np.clip(size - c[:, 2 + axis], 0.0, None)
        keep = np.where(extra > room, room / np.maximum(extra, 1e-12), 1.0)
        f[:, axis] = c[:, axis] - (c[:, axis] - f[:, axis]) * keep
        f[:, 2 + axis] = c[:, 2 + axis] + extra * keep
    return f


def _overlaps(starts: np.ndarray, length: int, lo: float, hi: float,
              extent: float | None = None) -> np.ndarray:
    """Length of [lo, hi) inside [start, start + length) for each start. With the image's
    `extent`, a window flush with the image's start or end runs on past it: beyond the image
    nothing is cut, so a face's margin there lies inside such a window and outside any other."""
    starts = np.asarray(starts, dtype=np.float64)
    ends = starts + length
    if extent is not None:
        starts = np.where(starts <= 0, -np.inf, starts)
        ends = np.where(ends >= extent, np.inf, ends)
    return np.clip(np.minimum(hi, ends) - np.maximum(lo, starts), 0, None)


def cut_area(faces: Faces, lefts: np.ndarray, tops: np.ndarray, width: int, height: int,
             whole: float = DEFAULTS["face_whole"], share: bool = False,
             image_size: tuple[int, int] | None = None) -> np.ndarray:
    """(len(tops), len(lefts)): face area on the wrong side of the window's edges, summed over
    faces, for the window at each (top, left). A face is cut by the smaller of its parts in
    and out of the window; parts up to `whole` of its area do not count. Exact: the area
    inside is the product of the overlaps in x and in y. `share`: each face's part as a share
    of its area (so every face weighs the same, whatever its size). With `image_size`, faces
    may reach past the image (a widened face at its border), and what lies past a border is
    inside the windows flush with it (`_overlaps`).
    """
    ext_w, ext_h = image_size if image_size is not None else (None, None)
    total = np.zeros((len(tops), len(lefts)))
    for left, top, fw, fh in np.asarray(faces, dtype=np.float64).reshape(-1, 4):
        area = fw * fh
        if area <= 0:
            continue
        inside = np.outer(_overlaps(tops, height, top, top + fh, ext_h),
                          _overlaps(lefts, width, left, left + fw, ext_w))
        wrong = np.minimum(inside, area - inside)
        total += np.where(wrong > whole * area, wrong / area if share else wrong, 0.0)
    return total


def held(faces: Faces, lefts: np.ndarray, tops: np.ndarray, width: int, height: int,
         whole: float = DEFAULTS["face_whole"]) -> np.ndarray:
    """(len(tops), len(lefts)) bool: whether the window at each (top, left) holds some face
    whole (all but `whole` of its area inside)."""
    out = np.zeros((len(tops), len(lefts)), dtype=bool)
    for left, top, fw, fh in np.asarray(faces, dtype=np.float64).reshape(-1, 4):
        if fw * fh > 0:
            inside = np.outer(_overlaps(tops, height, top, top + fh),
                              _overlaps(lefts, width, left, left + fw))
            out |= inside >= (1 - whole) * fw * fh
    return out


def faces_cut(box: Box, faces: Faces, whole: float = DEFAULTS["face_whole"]) -> int:
    """How many faces `box` cuts (more than `whole` of the face on each side of an edge)."""
    count = 0
    for face in np.asarray(faces, dtype=np.float64).reshape(-1, 4):
        count += cut_area(face[None], np.array([box.left]), np.array([box.top]),
                          box.width, box.height, whole)[0, 0] > 0
    return int(count)


def widen_faces(faces: Faces, image_size: tuple[int, int],
                margin: float = DEFAULTS["face_margin"], top: float | None = None,
                clip: bool = True) -> Faces:
    """Face boxes widened by `margin` of their sides on every side (`top` above them; None: the
    same). `clip`: cut to the image. Unclipped, a face at the image's border keeps its margin
    past it, so that the searches (`cut_area` with `image_size`) let an edge run through the
    margin only where there is one, not through the face itself."""
    f = np.asarray(faces, dtype=np.float64).reshape(-1, 4)
    top = margin if top is None else top
    x0, y0 = f[:, 0] - margin * f[:, 2], f[:, 1] - top * f[:, 3]
    x1, y1 = f[:, 0] + (1 + margin) * f[:, 2], f[:, 1] + (1 + margin) * f[:, 3]
    if clip:
        x0, x1 = np.clip(x0, 0, image_size[0]), np.clip(x1, 0, image_size[0])
        y0, y1 = np.clip(y0, 0, image_size[1]), np.clip(y1, 0, image_size[1])
    return np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)


def add_faces(saliency: np.ndarray, image_size: tuple[int, int], faces: Faces,
              weight: float = DEFAULTS["face_weight"]) -> np.ndarray:
    """The map plus `weight` times its total, spread evenly over the face boxes (each face's
    share in proportion to its area; cells partly covered get their covered part)."""
    f = np.asarray(faces, dtype=np.float64).reshape(-1, 4)
    areas = f[:, 2] * f[:, 3]
    if not len(f) or weight <= 0 or areas.sum() <= 0:
        return saliency
    map_h, map_w = saliency.shape
    sx, sy = map_w / image_size[0], map_h / image_size[1]
    added = np.zeros_like(saliency, dtype=np.float64)
    for left, top, fw, fh in f:
        # Cell coverage: overlap of each unit cell with the face box in map units.
        cover = np.outer(_overlaps(np.arange(map_h), 1, top * sy, (top + fh) * sy),
                         _overlaps(np.arange(map_w), 1, left * sx, (left + fw) * sx))
        if cover.sum() > 0:
            added += cover / cover.sum() * (fw * fh)
    total = float(saliency.sum())
    return saliency + weight * (total if total > 0 else 1.0) * added / areas.sum()


def with_faces(saliency: np.ndarray, image_size: tuple[int, int], faces: Faces | None,
               margin: float = DEFAULTS["face_margin"],
               weight: float = DEFAULTS["face_weight"],
               margin_top: float = DEFAULTS["face_margin_top"]) -> tuple[np.ndarray, Faces | None]:
    """(map with faces added, widened faces) for the searches; (map, None) without faces.
    The widened faces may reach past the image (`widen_faces`); the map gets their parts inside."""
    if faces is None or not len(faces):
        return saliency, None
    clipped = widen_faces(faces, image_size, margin, margin_top)
    return add_faces(saliency, image_size, clipped, weight), widen_faces(
        faces, image_size, margin, margin_top, clip=False)


def edge_sums(sat: np.ndarray, width: int, height: int,
              band: int = DEFAULTS["edge_band"]) -> np.ndarray:
    """For every width x height window (as `window_sums`), the saliency within `band` cells of
    its four edges, edges on the map's border excluded (there the crop cuts nothing)."""
    map_h, map_w = sat.shape[0] - 1, sat.shape[1] - 1
    ny, nx = map_h - height + 1, map_w - width + 1
    ys, xs = np.arange(ny)[:, None], np.arange(nx)[None, :]

    def rect(x0, y0, x1, y1):
        x0, x1 = np.clip(x0, 0, map_w), np.clip(x1, 0, map_w)
        y0, y1 = np.clip(y0, 0, map_h), np.clip(y1, 0, map_h)
        return sat[y1, x1] - sat[y0, x1] - sat[y1, x0] + sat[y0, x0]

    total = np.zeros((ny, nx))
    total += np.where(xs > 0, rect(xs - band, ys, xs + band, ys + height), 0)
    total += np.where(xs + width < map_w, rect(xs + width - band, ys, xs + width + band, ys + height), 0)
    total += np.where(ys > 0, rect(xs, ys - band, xs + width, ys + band), 0)
    total += np.where(ys + height < map_h, rect(xs, ys + height - band, xs + width, ys + height + band), 0)
    return total


def coverage(saliency: np.ndarray, image_size: tuple[int, int], box: Box) -> float:
    """Share of the map's saliency inside `box` (image pixels), on the map's own grid."""
    map_h, map_w = saliency.shape
    sx, sy = map_w / image_size[0], map_h / image_size[1]
    x0, x1 = round(box.left * sx), round((box.left + box.width) * sx)
    y0, y1 = round(box.top * sy), round((box.top + box.height) * sy)
    total = float(saliency.sum())
    if total <= 0 or x1 <= x0 or y1 <= y0:
        return 0.0
    return box_sum(summed_area_table(saliency), x0, y0, x1 - x0, y1 - y0) / total


def salient_mask(saliency: np.ndarray, mass: float = DEFAULTS["box_mass"]) -> np.ndarray:
    """The smallest set of cells holding `mass` of the total saliency (a boolean map)."""
    flat = np.sort(saliency.ravel())[::-1]
    total = flat.sum()
    if total <= 0:
        return np.ones_like(saliency, dtype=bool)
    k = int(np.searchsorted(np.cumsum(flat), mass * total))
    return saliency >= flat[min(k, flat.size - 1)]


def peak_region(saliency: np.ndarray, level: float = DEFAULTS["box_peak"]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) in cells, ends exclusive: the bounding box of the map's peak, the cells
    of at least `level` times the maximum that connect (side by side) to the maximum's cell."""
    y, x = np.unravel_index(np.argmax(saliency), saliency.shape)
    hot = saliency >= level * saliency[y, x]
    blob = np.zeros_like(hot)
    blob[y, x] = True
    while True:  # grow one cell at a time through the hot cells until nothing changes
        grown = blob.copy()
        grown[1:] |= blob[:-1]
        grown[:-1] |= blob[1:]
        grown[:, 1:] |= blob[:, :-1]
        grown[:, :-1] |= blob[:, 1:]
        grown &= hot
        if (grown == blob).all():
            break
        blob = grown
    ys, xs = np.nonzero(blob)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def peak_box(saliency: np.ndarray, image_size: tuple[int, int],
             level: float = DEFAULTS["box_peak"]) -> Faces:
    """`peak_region` as one box (left, top, width, height) in image pixels, shaped like `Faces`."""
    x0, y0, x1, y1 = peak_region(saliency, level)
    sx, sy = saliency.shape[1] / image_size[0], saliency.shape[0] / image_size[1]
    return np.array([[x0 / sx, y0 / sy, (x1 - x0) / sx, (y1 - y0) / sy]])


def best_iou_box(mask: np.ndarray, hold: tuple[int, int, int, int] | None = None
                 ) -> tuple[int, int, int, int]:
    """(left, top, width, height) in mask cells of the box with the highest IoU with `mask`,
    among the boxes holding the cells `hold` (x0, y0, x1, y1, ends exclusive) when given.

    Exact: every box is scored from a summed-area table, one (top, bottom) pair at a time.
    """
    h, w = mask.shape
    x0, y0, x1, y1 = hold or (w, h, 0, 0)  # no hold: every box qualifies
    sat = summed_area_table(mask.astype(np.float64))
    total = sat[-1, -1]
    lefts, rights = np.triu_indices(w + 1, k=1)  # every column span [l, r)
    keep = (lefts <= x0) & (rights >= x1)
    lefts, rights = lefts[keep], rights[keep]
    best, best_box = -1.0, (0, 0, w, h)
    for top in range(min(h, y0 + 1)):
        bottoms = np.arange(max(top + 1, y1), h + 1)
        rows = sat[bottoms] - sat[top]  # (n_bottoms, w+1) column prefix sums of the row band
        inside = rows[:, rights] - rows[:, lefts]
        area = (bottoms - top)[:, None] * (rights - lefts)[None, :]
        iou = inside / (area + total - inside)
        i, j = np.unravel_index(np.argmax(iou), iou.shape)
        if iou[i, j] > best:
            best = iou[i, j]
            best_box = (int(lefts[j]), top, int(rights[j] - lefts[j]), int(bottoms[i] - top))
    return best_box


def grow_box(box: tuple[float, float, float, float], image_size: tuple[int, int],
             aspect: float, min_size: tuple[int, int] = (1, 1),
             min_scale: float = DEFAULTS["box_min_scale"]) -> Box:
    """Grow a box (image pixels, floats) about its centre to `aspect`, inside the image.

    The result is at least `min_size` and `min_scale` of the largest window per side, and at
    most the largest window of the aspect.
    """
    image_w, image_h = image_size
    max_w, max_h = largest_window(image_w, image_h, aspect)
    left, top, bw, bh = box
    cx, cy = left + bw / 2, top + bh / 2
    # Height that satisfies every lower bound; the aspect then fixes the width.
    h = max(bh, bw / aspect, min_size[1], min_size[0] / aspect, min_scale * max_h)
    if h >= max_h or h * aspect >= max_w:
        w, h = max_w, max_h
    else:
        # Round up (past float noise) so that the rounded width still meets min_size[0].
        h = max(1, math.ceil(h - 1e-6))
        w = min(max_w, max(1, round(h * aspect)))
    x = int(round(min(max(cx - w / 2, 0), image_w - w)))
    y = int(round(min(max(cy - h / 2, 0), image_h - h)))
    return Box(x, y, w, h)


def best_box(saliency: np.ndarray, image_size: tuple[int, int], aspect: float,
             min_size: tuple[int, int] = (1, 1), mass: float = DEFAULTS["box_mass"],
             grid: int = DEFAULTS["box_grid"], faces: Faces | None = None,
             face_penalty: float = DEFAULTS["face_penalty"],
             peak_level: float | None = DEFAULTS["box_peak"],
             margin_whole: float = DEFAULTS["margin_whole"], cores: Faces | None = None,
             crowded_penalty: float = DEFAULTS["crowded_penalty"],
             weigh_faceless: bool = DEFAULTS["weigh_faceless"]) -> Box:
    """The `box` strategy: best-IoU box around the salient region, grown to `aspect`.

    The region holds the map's peak (`peak_region`; `peak_level` None: it need not). With
    `faces`, it then grows to hold every face it touches. A region larger than the largest
    window cannot be held: the window then slides, holding the peak. A grown box that cuts a
    face moves, keeping the region, by the rule of `place_window` (`cores`: the faces' own boxes).
    """
    small, factor = _reduce(saliency, grid)
    peak = None if peak_level is None else peak_region(small, peak_level)
    left, top, w, h = best_iou_box(salient_mask(small, mass), hold=peak)
    sx = factor * image_size[0] / saliency.shape[1]
    sy = factor * image_size[1] / saliency.shape[0]
    region = (left * sx, top * sy, (left + w) * sx, (top + h) * sy)
    if faces is not None and len(faces):
        x0, y0, x1, y1 = _hold_faces(region, faces)  # widened faces may reach past the image
        region = (max(x0, 0.0), max(y0, 0.0), min(x1, image_size[0]), min(y1, image_size[1]))
    else:
        faces = None
    x0, y0, x1, y1 = region
    box = grow_box((x0, y0, x1 - x0, y1 - y0), image_size, aspect, min_size)

    def fits(r) -> bool:  # no larger than the box (grow_box's rounding: 1 px)
        return r[2] - r[0] <= box.width + 1 and r[3] - r[1] <= box.height + 1

    if peak is not None:
        peak = (peak[0] * sx, peak[1] * sy, peak[2] * sx, peak[3] * sy)
        if not fits(region) and fits(peak):  # centred on the region, the box may miss the peak
            return place_window(saliency, image_size, box.width, box.height, faces, within=peak,
                                face_penalty=face_penalty, margin_whole=margin_whole, cores=cores,
                                crowded_penalty=crowded_penalty, weigh_faceless=weigh_faceless)
    if faces is None or not cut_area(faces, np.array([box.left]), np.array([box.top]), box.width,
                                     box.height, margin_whole, image_size=image_size).any():
        return box
    return place_window(saliency, image_size, box.width, box.height, faces, within=region,
                        face_penalty=face_penalty, margin_whole=margin_whole, cores=cores,
                        crowded_penalty=crowded_penalty, weigh_faceless=weigh_faceless)


def _hold_faces(region: tuple[float, float, float, float], faces: Faces) -> tuple:
    """The region (x0, y0, x1, y1) grown until every face box it overlaps lies inside it."""
    f = np.asarray(faces, dtype=np.float64).reshape(-1, 4)
    fx0, fy0, fx1, fy1 = f[:, 0], f[:, 1], f[:, 0] + f[:, 2], f[:, 1] + f[:, 3]
    x0, y0, x1, y1 = region
    while True:
        touch = (fx0 < x1) & (fx1 > x0) & (fy0 < y1) & (fy1 > y0)
        grown = (min(x0, *fx0[touch], x0), min(y0, *fy0[touch], y0),
                 max(x1, *fx1[touch], x1), max(y1, *fy1[touch], y1))
        if grown == (x0, y0, x1, y1):
            return grown
        x0, y0, x1, y1 = grown


def _reduce(saliency: np.ndarray, grid: int) -> tuple[np.ndarray, int]:
    """Block-average by an integer factor until the long side is at most `grid` cells.

    The remainder rows/columns (fewer than `factor`) are dropped; returns (map, factor).
    """
    factor = max(1, int(np.ceil(max(saliency.shape) / grid)))
    h, w = saliency.shape[0] // factor, saliency.shape[1] // factor
    if factor == 1 or h == 0 or w == 0:
        return saliency, 1
    return saliency[:h * factor, :w * factor].reshape(h, factor, w, factor).mean(axis=(1, 3)), factor


def default_face_weight(strategy: str, image_size: tuple[int, int]) -> float:
    """The face weight `find_box` uses: the box's, or the window's (portrait photos' own)."""
    if strategy == "box":
        return DEFAULTS["box_face_weight"]
    return DEFAULTS["portrait_face_weight" if image_size[1] > image_size[0] else "face_weight"]


def find_box(saliency: np.ndarray, image_size: tuple[int, int], aspect: float,
             strategy: str = "window", min_size: tuple[int, int] = (1, 1),
             faces: Faces | None = None, face_margin: float = DEFAULTS["face_margin"],
             face_weight: float | None = None,
             edge_weight: float = DEFAULTS["edge_weight"],
             face_penalty: float = DEFAULTS["face_penalty"],
             margin_whole: float = DEFAULTS["margin_whole"],
             face_margin_top: float = DEFAULTS["face_margin_top"],
             window_peak: float | None = DEFAULTS["window_peak"],
             candidates: Faces | None = None,
             candidate_penalty: float = DEFAULTS["candidate_penalty"],
             box_peak: float | None = DEFAULTS["box_peak"],
             zoom: float = 1.0,
             centre_tolerance: float = DEFAULTS["centre_tolerance"],
             crowded_penalty: float = DEFAULTS["crowded_penalty"],
             weigh_faceless: bool = DEFAULTS["weigh_faceless"]) -> Box:
    """The crop box for one target by the named strategy ("window" or "box").

    `faces` are the detector's boxes: they are widened (`widen_faces`) and added to the map
    (`add_faces`, `face_weight`; default: `default_face_weight`) here, so every caller applies
    the face rule the same way; the boxes themselves decide where every position cuts a widened
    face (`place_window`'s `cores`). `candidates` (boxes the detector is unsure of) are widened the
    same way and cost the window a little where it cuts them (`place_window`); the box
    strategy, whose quarter passes see small faces, does not use them. `box_peak` is the box's
    peak level (`best_box`'s `peak_level`); `zoom` and `centre_tolerance` are the window's
    (`best_window`), for scoring zoomed crops as the product would place them.
    """
    if strategy not in ("window", "box"):
        raise ValueError(f"unknown strategy {strategy!r}")
    if strategy == "box" and zoom != 1:
        raise ValueError("zoom is the window's; the box chooses its own size")
    if face_weight is None:
        face_weight = default_face_weight(strategy, image_size)
    cores = faces
    saliency, faces = with_faces(saliency, image_size, faces, face_margin, face_weight,
                                 face_margin_top)
    if strategy == "box":
        return best_box(saliency, image_size, aspect, min_size=min_size, faces=faces,
                        face_penalty=face_penalty, peak_level=box_peak,
                        margin_whole=margin_whole, cores=cores, crowded_penalty=crowded_penalty,
                        weigh_faceless=weigh_faceless)
    if candidates is not None and len(candidates):
        candidates = widen_faces(candidates, image_size, face_margin, face_margin_top, clip=False)
    return best_window(saliency, image_size, aspect, zoom, faces=faces, edge_weight=edge_weight,
                       face_penalty=face_penalty, centre_tolerance=centre_tolerance,
                       margin_whole=margin_whole, peak_level=window_peak, candidates=candidates,
                       candidate_penalty=candidate_penalty, cores=cores,
                       crowded_penalty=crowded_penalty, weigh_faceless=weigh_faceless)


def focus_box(image_size: tuple[int, int], aspect: float,
              point: tuple[float, float] | None = None,
              box: tuple[float, float, float, float] | None = None,
              strategy: str = "window", min_size: tuple[int, int] = (1, 1)) -> Box:
    """The crop a reviewer asked for: it contains `box`, centred on it as far as the image
    allows, or is centred on `point` (image pixels; give exactly one).

    window: the largest window of the aspect, placed on the focus. box: the focus box grown to
    the aspect (and `min_size`) about its centre, as the model's box would be; a point gets the
    largest window. A box wider or taller than the largest window cannot be held whole: the
    window is centred on it (`fit="pad"` is the way to keep it whole).
    """
    if (point is None) == (box is None):
        raise ValueError("give a focus point or a focus box, not both or neither")
    image_w, image_h = image_size
    if box is not None and strategy == "box":
        return grow_box(box, image_size, aspect, min_size)
    if box is not None:
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    else:
        cx, cy = point
    w, h = largest_window(image_w, image_h, aspect)
    return Box(_clamp(round(cx - w / 2), image_w - w), _clamp(round(cy - h / 2), image_h - h), w, h)


def _clamp(value: int, upper: int) -> int:
    return min(max(value, 0), upper)


def contains(outer: Box, inner: tuple[float, float, float, float]) -> bool:
    """Whether `outer` holds the box (left, top, width, height) whole."""
    left, top, width, height = inner
    return (outer.left <= left and outer.top <= top and left + width <= outer.left + outer.width
            and top + height <= outer.top + outer.height)
