"""Face detection with MediaPipe's BlazeFace (full range) on LiteRT, decoded here: no mediapipe.

The model sees the photo letterboxed into its input (192x192; or, for the whole-photo pass, the
same network on a 224x192 input for landscape photos and 192x224 for portrait ones, which a 4:3
photo fills, `smartcrop.model.face_inputs`) and answers, for each anchor (a grid of stride 4:
48x48 on the square), a score logit and a box regressor. Decoding is the SSD recipe MediaPipe
uses for this model: anchor centres, sigmoid scores, boxes relative to the anchor, weighted
non-maximum suppression, then the letterbox undone so that boxes are in upright-image pixels.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from smartcrop.saliency import _quiet_stderr, check_hash, resolve_weights

MODEL_NAME = "faces"
STRIDE = 4  # the anchor grid's: one anchor per 4x4 input pixels
DEFAULTS = {
    # Lowest sigmoid score kept. Measured on the validation photos (docs/faces.md,
    # tests/bench/face_settings.py): window crops cut a reference face in 7.5% of cases at
    # 0.75, 3.9% at 0.6, 2.3% at 0.5, 1.6% at 0.4 and 2.0% at 0.3. A missed face costs a cut;
    # a false one (a statue, a toy) costs little.
    "min_score": 0.4,
    # Faces whose shorter side is under this share of the image's long side are dropped (about
    # 4 px of the 192 px input). A guard only: on the validation photos the detector found no
    # face under 0.04, and 0, 0.02 and 0.04 gave the same crops.
    "min_size": 0.02,
    # Two detections overlapping more than this (intersection over union) are one face.
    "nms_iou": 0.3,
    # With `tiles` (the CLI's --thorough), lowest score kept from the four quarter passes. The
    # quarters see faces 1.5x larger, and more false ones; measured on the cross-dataset folds
    # (docs/faces.md, tests/bench/face_tiles.py): at 0.6 the window cut fewer faces but kept
    # fewer fixations than at 0.75.
    "tile_min_score": 0.75,
    # Boxes of the whole-photo pass scoring from this to min_score are candidates: faces the
    # detector is unsure of, kept only in photos where it is sure of one face (`candidates`).
    # At 0.2 boxes reach 73% of the crowd fold's reference faces of 3-4% of the long side (52%
    # at 0.4) and 89% at 4-5% (77%), with about 3 boxes per photo on no reference face. The
    # window avoids cutting them where that costs little (cropping.DEFAULTS["candidate_penalty"]);
    # they are not reported as faces. Measured (tests/bench/face_settings.py, penalty 0.01,
    # before the sure-face condition): crowd-fold window cuts 2.59% at 0.2, 2.65% at 0.1,
    # 3.14% at 0.3, 3.62% with none (2.65% at 0.2 with the condition, which costs less).
    # None: no candidates.
    "candidate_score": 0.2,
}


def quarters(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Four overlapping tiles (left, top, right, bottom), 2/3 of each side, one per corner."""
    tw, th = round(width * 2 / 3), round(height * 2 / 3)
    return [(0, 0, tw, th), (width - tw, 0, width, th), (0, height - th, tw, height),
            (width - tw, height - th, width, height)]


@dataclass(frozen=True)
class Face:
    """A face box in upright-image pixels (floats) and the detector's score (0..1)."""

    left: float
    top: float
    width: float
    height: float
    score: float

    def corners(self) -> list[float]:
        """(left, top, right, bottom)."""
        return [self.left, self.top, self.left + self.width, self.top + self.height]

    def as_list(self) -> list[int]:
        """[left, top, width, height] rounded outward to whole pixels."""
        x0, y0 = int(np.floor(self.left)), int(np.floor(self.top))
        x1, y1 = int(np.ceil(self.left + self.width)), int(np.ceil(self.top + self.height))
        return [x0, y0, x1 - x0, y1 - y0]


def ssd_anchors(width: int, height: int, stride: int) -> np.ndarray:
    """(n, 2) anchor centres (x, y) in the unit square, row by row: one per grid cell of a
    width x height input."""
    cols, rows = width // stride, height // stride
    ys, xs = np.meshgrid((np.arange(rows) + 0.5) / rows, (np.arange(cols) + 0.5) / cols, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def decode_boxes(regressors: np.ndarray, anchors: np.ndarray, width: int, height: int) -> np.ndarray:
    """(n, 4) boxes [x0, y0, x1, y1] in the unit square from (n, >=4) regressors.

    A regressor is [dx, dy, w, h, key points...] in the pixels of the width x height input; the
    centre is relative to the anchor's (MediaPipe's fixed anchor size: anchors have no size of
    their own).
    """
    cx = regressors[:, 0] / width + anchors[:, 0]
    cy = regressors[:, 1] / height + anchors[:, 1]
    w, h = regressors[:, 2] / width, regressors[:, 3] / height
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one [x0, y0, x1, y1] box with each of `boxes`."""
    w = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = w * h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float,
                 weighted: bool = True) -> list[tuple[np.ndarray, float]]:
    """Non-maximum suppression, best score first: each kept detection absorbs those overlapping
    it by more than `threshold` IoU. Weighted (MediaPipe's variant): the kept box is the
    score-weighted mean of its cluster, its score the best one; plain: the best box as it is.
    """
    order = np.argsort(-scores, kind="stable")
    boxes, scores = boxes[order], scores[order]
    alive = np.ones(len(scores), dtype=bool)
    kept = []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        cluster = alive & (iou(boxes[i], boxes) > threshold)
        cluster[i] = True
        box = boxes[i]
        if weighted:
            weights = scores[cluster]
            box = (boxes[cluster] * weights[:, None]).sum(axis=0) / weights.sum()
        kept.append((box, float(scores[i])))
        alive &= ~cluster
    return kept


@dataclass(frozen=True)
class Letterbox:
    """Where an image of (width, height) sits, scaled, inside a model input of `input_size`."""

    scale: float
    left: int
    top: int
    width: int
    height: int
    input_size: tuple[int, int] = (192, 192)

    @classmethod
    def fit(cls, width: int, height: int, input_width: int, input_height: int | None = None) -> Letterbox:
        input_height = input_width if input_height is None else input_height
        scale = min(input_width / width, input_height / height)
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        return cls(scale, (input_width - w) // 2, (input_height - h) // 2, w, h, (input_width, input_height))


class FaceDetector:
    """Finds faces in an upright RGB image; boxes come back in the pixels of a given size.

    Holds `workers` interpreters per model input so that as many threads can detect at once.
    A single whole-photo pass runs on the input shaped like the photo (the manifest's `"shaped"`
    files: landscape and portrait); square photos and quarters on the square one. With `tiles`,
    each image is also searched in its four quarters (five model calls instead of one), which
    finds faces down to about 2/3 the size the single pass needs.
    """

    def __init__(self, model_path: Path | None = None, threads: int = 1, workers: int = 1,
                 min_score: float = DEFAULTS["min_score"], min_size: float = DEFAULTS["min_size"],
                 nms_iou: float = DEFAULTS["nms_iou"], tiles: bool = False,
                 tile_min_score: float = DEFAULTS["tile_min_score"],
                 candidate_score: float | None = DEFAULTS["candidate_score"]):
        self.path, self.manifest = resolve_weights(model_path, MODEL_NAME)
        self.min_score, self.min_size, self.nms_iou = min_score, min_size, nms_iou
        self.tiles, self.tile_min_score = tiles, tile_min_score
        self.candidate_score = candidate_score
        self.threads, self.workers = threads, max(1, workers)
        # (width, height) of each model input -> an interpreter not yet allocated, its file;
        # pools of `workers` allocated interpreters are made on first use (an all-landscape
        # batch never pays for the portrait or square models' memory and set-up)
        self._spare: dict[tuple[int, int], tuple[object, Path]] = {}
        self._models: dict[tuple[int, int], tuple[queue.SimpleQueue, int, int]] = {}
        self._anchors: dict[tuple[int, int], np.ndarray] = {}
        self._lock = threading.Lock()
        width, height = self._check(self.path)
        if width != height:
            raise ValueError(f"{self.path}: model input {width}x{height} is not square")
        self.side = width
        for name in (self.manifest or {}).get("shaped", []):
            path = self.path.parent / name
            if not path.is_file():
                manifest = self.path.with_suffix(".json")
                raise ValueError(f"face model not found at {path} (listed in {manifest})")
            check_hash(path, self.manifest)
            self._check(path)

    def _check(self, path: Path) -> tuple[int, int]:
        """Open the model at `path` (not allocated: cheap), check its input, and keep it for its
        input size's pool; return that input (width, height)."""
        from ai_edge_litert.interpreter import Interpreter

        with _quiet_stderr():
            interp = Interpreter(model_path=str(path), num_threads=self.threads)
        shape = tuple(int(v) for v in interp.get_input_details()[0]["shape"])
        if len(shape) != 4 or shape[3] != 3 or shape[1] % STRIDE or shape[2] % STRIDE:
            raise ValueError(f"{path}: model input {shape} is not (1, H, W, 3) in steps of {STRIDE}")
        size = (shape[2], shape[1])
        if size in self._spare:
            raise ValueError(f"{path}: a second face model for a {size[0]}x{size[1]} input")
        self._spare[size] = (interp, path)
        return size

    def _pool(self, size: tuple[int, int]) -> tuple[queue.SimpleQueue, int, int]:
        """The pool of interpreters for a (width, height) input, made on first use."""
        if size not in self._models:
            with self._lock:
                if size not in self._models:
                    from ai_edge_litert.interpreter import Interpreter

                    first, path = self._spare[size]
                    pool: queue.SimpleQueue = queue.SimpleQueue()
                    with _quiet_stderr():
                        interps = [first] + [Interpreter(model_path=str(path), num_threads=self.threads)
                                             for _ in range(self.workers - 1)]
                        for interp in interps:
                            interp.allocate_tensors()
                            pool.put(interp)
                    # output shapes are known once allocated (the shaped files keep the square's)
                    outputs = sorted(first.get_output_details(), key=lambda d: -int(d["shape"][-1]))
                    if int(outputs[0]["shape"][1]) != (size[0] // STRIDE) * (size[1] // STRIDE):
                        raise ValueError(f"{path}: {int(outputs[0]['shape'][1])} anchors is not one grid "
                                         f"of stride {STRIDE} over {size[0]}x{size[1]} px")
                    self._models[size] = (pool, outputs[0]["index"], outputs[1]["index"])
        return self._models[size]

    def input_size(self, width: int, height: int, shaped: bool = True) -> tuple[int, int]:
        """The model input (w, h) a width x height image is letterboxed into: with `shaped`, the
        one of its orientation when there is one; else (and for square images) the square."""
        if shaped and width != height:
            fits = [s for s in self._spare if s[0] != s[1] and (s[0] > s[1]) == (width > height)]
            if fits:
                return fits[0]
        return (self.side, self.side)

    def model_input(self, image: Image.Image, shaped: bool = True) -> tuple[np.ndarray, Letterbox]:
        """The image letterboxed into its model input, RGB scaled to [-1, 1] (padding 0)."""
        box = Letterbox.fit(image.width, image.height, *self.input_size(*image.size, shaped))
        width, height = box.input_size
        canvas = np.zeros((1, height, width, 3), dtype=np.float32)
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        inside = canvas[0, box.top:box.top + box.height, box.left:box.left + box.width]
        inside[...] = np.asarray(rgb.resize((box.width, box.height), Image.Resampling.BILINEAR))
        inside /= 127.5  # in place: the same float32 arithmetic as x / 127.5 - 1, no temporaries
        inside -= 1
        return canvas, box

    def raw(self, canvas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The model's (regressors (n, 16), score logits (n,)) for one input."""
        pool, regressors, scores = self._pool((canvas.shape[2], canvas.shape[1]))
        interp = pool.get()
        try:
            interp.set_tensor(interp.get_input_details()[0]["index"], canvas)
            interp.invoke()
            return interp.get_tensor(regressors)[0].copy(), interp.get_tensor(scores)[0, :, 0].copy()
        finally:
            pool.put(interp)

    def anchors(self, size: tuple[int, int]) -> np.ndarray:
        """The anchor centres of a (width, height) model input."""
        if size not in self._anchors:
            self._anchors[size] = ssd_anchors(*size, STRIDE)
        return self._anchors[size]

    def detect(self, image: Image.Image, image_size: tuple[int, int] | None = None,
               tiles: bool | None = None, shaped: bool | None = None) -> list[Face]:
        """Faces in `image`, boxes in the pixels of `image_size` (default: the image's own).

        `image` may be a reduced copy of the photo (the one made for the saliency model);
        `image_size` is then the upright photo's full size. `tiles` overrides the detector's own
        setting (one pass, or the quarters as well). The whole-photo pass runs on the input
        shaped like the photo when it is the only pass, and on the square one with the quarters
        (`--strategy box`, `--thorough`: the box cut more faces with the shaped pass, README
        "Faces"); `shaped` overrides that (`smartcrop.evaluate_faces`' fixed reference: False).
        """
        return self.find(image, image_size, tiles, shaped, candidates=False)[0]

    def find(self, image: Image.Image, image_size: tuple[int, int] | None = None,
             tiles: bool | None = None, shaped: bool | None = None,
             candidates: bool = True) -> tuple[list[Face], list[Face]]:
        """(faces, candidates): `detect`'s faces, and the whole-photo pass's boxes scoring from
        `candidate_score` to `min_score` that overlap no face (`candidates`): faces it is unsure
        of, for the window to spare where that costs little."""
        width, height = image_size or image.size
        use_tiles = self.tiles if tiles is None else tiles
        canvas, letterbox = self.model_input(image, not use_tiles if shaped is None else shaped)
        regressors, logits = self.raw(canvas)
        faces = self.decode(regressors, logits, letterbox, (width, height))
        if use_tiles:
            faces = self.add_tiles(faces, image, (width, height))
        if not candidates:
            return faces, []
        return faces, self.candidates(regressors, logits, letterbox, (width, height), faces)

    def candidates(self, regressors: np.ndarray, logits: np.ndarray, letterbox: Letterbox,
                   image_size: tuple[float, float], faces: list[Face]) -> list[Face]:
        """A pass's boxes scoring from `candidate_score` to `min_score` that overlap none of
        `faces` (IoU 0.3); none when `faces` is empty: with no face it is sure of, an unsure box
        is more often a texture than a person. A second decode, so that the faces stay exactly
        those at min_score (the weighted suppression would average low-scoring boxes into them)."""
        if not faces or self.candidate_score is None or self.candidate_score >= self.min_score:
            return []
        low = self.decode(regressors, logits, letterbox, image_size, self.candidate_score)
        corners = np.array([f.corners() for f in faces])
        return [f for f in low
                if f.score < self.min_score and iou(np.array(f.corners()), corners).max() <= 0.3]

    def add_tiles(self, faces: list[Face], image: Image.Image, image_size: tuple[int, int]) -> list[Face]:
        """The whole-photo pass's `faces` merged with the quarters' (`tile_faces`)."""
        return with_tiles(faces, self.tile_faces(image, image_size))

    def tile_faces(self, image: Image.Image, image_size: tuple[int, int]) -> list[tuple[Face, float, float]]:
        """The quarters' faces (scoring at least `tile_min_score`), each with its tile's offset
        in the pixels of `image_size`, for `merge_faces`. The quarters run on the square input:
        they are four calls, and each already sees faces 1.5x larger than the whole-photo pass."""
        width, height = image_size
        fx, fy = width / image.width, height / image.height
        found = []
        for x0, y0, x1, y1 in quarters(image.width, image.height):
            canvas, letterbox = self.model_input(image.crop((x0, y0, x1, y1)), shaped=False)
            size = ((x1 - x0) * fx, (y1 - y0) * fy)
            found += [(f, x0 * fx, y0 * fy) for f in self.decode(*self.raw(canvas), letterbox, size,
                                                                   self.tile_min_score, (width, height))]
        return found

    def decode(self, regressors: np.ndarray, logits: np.ndarray, letterbox: Letterbox,
               image_size: tuple[float, float], min_score: float | None = None,
               photo_size: tuple[float, float] | None = None) -> list[Face]:
        """Model outputs to faces in image pixels, best score first. For a tile, `image_size` is
        the tile's size and `photo_size` the photo's, which `min_size` is measured against."""
        scores = 1 / (1 + np.exp(-np.clip(logits.astype(np.float64), -100, 100)))
        keep = scores >= (self.min_score if min_score is None else min_score)
        in_w, in_h = letterbox.input_size
        boxes = decode_boxes(regressors[keep].astype(np.float64), self.anchors(letterbox.input_size)[keep],
                             in_w, in_h)
        faces = []
        width, height = image_size
        # Unit square -> letterbox pixels -> image pixels.
        fx = width / letterbox.width
        fy = height / letterbox.height
        for box, score in weighted_nms(boxes, scores[keep], self.nms_iou):
            x0 = np.clip((box[0] * in_w - letterbox.left) * fx, 0, width)
            x1 = np.clip((box[2] * in_w - letterbox.left) * fx, 0, width)
            y0 = np.clip((box[1] * in_h - letterbox.top) * fy, 0, height)
            y1 = np.clip((box[3] * in_h - letterbox.top) * fy, 0, height)
            if min(x1 - x0, y1 - y0) < self.min_size * max(photo_size or image_size):
                continue
            faces.append(Face(float(x0), float(y0), float(x1 - x0), float(y1 - y0), score))
        return faces


def merge_faces(found: list[tuple[Face, float, float]], threshold: float = 0.3) -> list[Face]:
    """Faces from several passes, each shifted by its tile's offset, as one list: of boxes
    overlapping more than `threshold` IoU the best-scoring one stays (plain suppression, so a
    face seen whole in one pass is not averaged with its cut-off half from a tile's edge)."""
    if not found:
        return []
    boxes = np.array([[f.left + dx, f.top + dy, f.left + dx + f.width, f.top + dy + f.height]
                      for f, dx, dy in found])
    scores = np.array([f.score for f, _, _ in found])
    return [Face(float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1]), score)
            for b, score in weighted_nms(boxes, scores, threshold, weighted=False)]


def with_tiles(faces: list[Face], tiles: list[tuple[Face, float, float]]) -> list[Face]:
    """A whole-photo pass's `faces` merged with the quarters' (`FaceDetector.tile_faces`)."""
    return merge_faces([(f, 0.0, 0.0) for f in faces] + tiles)


def face_array(faces) -> np.ndarray:
    """(n, 4) rows of left, top, width, height: faces as the crop searches take them."""
    return np.array([[f.left, f.top, f.width, f.height] for f in faces], dtype=np.float64).reshape(-1, 4)
