"""Face detector: SSD decoding pieces on made-up outputs, then the shipped model on known photos."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import install_paths
from PIL import Image

from smartcrop import saliency
from smartcrop.faces import (
    Face,
    FaceDetector,
    Letterbox,
    decode_boxes,
    iou,
    merge_faces,
    quarters,
    ssd_anchors,
    weighted_nms,
)
from smartcrop.saliency import SHARED_WEIGHTS, default_weights_dir

DATA = Path(__file__).parent / "data"
# Found by the shipped detector on the committed photos (full size, default settings), checked
# by eye: Collins' face from mid-forehead to chin; the cameraman's face, eye to chin.
ASTRONAUT_FACE = [172, 66, 106, 106]
CAMERA_FACE = [193, 121, 80, 80]


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def _rgb(name: str) -> Image.Image:
    with Image.open(DATA / name) as im:
        return im.convert("RGB")


def test_anchors_are_cell_centres_row_by_row():
    a = ssd_anchors(192, 192, 4)
    assert a.shape == (2304, 2)
    assert a[0] == pytest.approx([0.5 / 48, 0.5 / 48])
    assert a[1] == pytest.approx([1.5 / 48, 0.5 / 48])  # x moves first
    assert a[48] == pytest.approx([0.5 / 48, 1.5 / 48])
    wide = ssd_anchors(224, 192, 4)  # 56 columns, 48 rows
    assert wide.shape == (56 * 48, 2)
    assert wide[1] == pytest.approx([1.5 / 56, 0.5 / 48])
    assert wide[56] == pytest.approx([0.5 / 56, 1.5 / 48])


def test_decode_boxes_offsets_from_the_anchor_in_input_pixels():
    anchors = np.array([[0.5, 0.25]])
    reg = np.zeros((1, 16))
    reg[0, :4] = [19.2, -9.6, 38.4, 19.2]  # centre +0.1, -0.05; size 0.2 x 0.1 of 192
    assert decode_boxes(reg, anchors, 192, 192)[0] == pytest.approx([0.5, 0.15, 0.7, 0.25])
    # on a 224x192 input x is in 224ths, y in 192nds
    reg[0, :4] = [22.4, -9.6, 44.8, 19.2]
    assert decode_boxes(reg, anchors, 224, 192)[0] == pytest.approx([0.5, 0.15, 0.7, 0.25])


def test_iou():
    a = np.array([0.0, 0.0, 2.0, 2.0])
    boxes = np.array([[0, 0, 2, 2], [1, 0, 3, 2], [5, 5, 6, 6]], dtype=float)
    assert iou(a, boxes) == pytest.approx([1.0, 1 / 3, 0.0])


def test_weighted_nms_averages_a_cluster_and_keeps_separate_faces():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=float)
    scores = np.array([0.6, 0.9, 0.7])
    kept = weighted_nms(boxes, scores, 0.3)
    assert [s for _, s in kept] == [0.9, 0.7]  # best first, each cluster's best score
    assert kept[0][0] == pytest.approx((boxes[0] * 0.6 + boxes[1] * 0.9) / 1.5)
    plain = weighted_nms(boxes, scores, 0.3, weighted=False)
    assert plain[0][0] == pytest.approx(boxes[1])
    assert weighted_nms(boxes, scores, 0.99)[0][0] == pytest.approx(boxes[1])  # no merge


def test_letterbox_centres_the_image():
    assert Letterbox.fit(400, 200, 192) == Letterbox(0.48, 0, 48, 192, 96)
    assert Letterbox.fit(100, 300, 192) == Letterbox(0.64, 64, 0, 64, 192)
    assert Letterbox.fit(400, 300, 224, 192) == Letterbox(0.56, 0, 12, 224, 168, (224, 192))


def test_whole_photo_pass_runs_on_the_input_shaped_like_the_photo(detector):
    assert detector.input_size(400, 300) == (224, 192)
    assert detector.input_size(300, 400) == (192, 224)
    assert detector.input_size(300, 300) == (192, 192)
    assert detector.input_size(400, 300, shaped=False) == (192, 192)
    canvas, box = detector.model_input(Image.new("RGB", (400, 300)))
    assert canvas.shape == (1, 192, 224, 3) and box.input_size == (224, 192)


@pytest.mark.parametrize(("name", "expected"), [("astronaut.png", ASTRONAUT_FACE),
                                                ("camera.png", CAMERA_FACE)])
def test_detector_finds_the_known_face(detector, name, expected):
    faces = detector.detect(_rgb(name))
    assert len(faces) == 1
    assert faces[0].score > 0.85
    assert faces[0].as_list() == pytest.approx(expected, abs=2)


def test_reduced_image_gives_boxes_in_full_image_pixels(detector):
    """The pipeline hands the detector its small model input and the photo's full size."""
    small = _rgb("astronaut.png").resize((200, 200), Image.Resampling.BILINEAR)
    faces = detector.detect(small, (1024, 1024))
    assert len(faces) == 1
    assert faces[0].as_list() == pytest.approx([2 * v for v in ASTRONAUT_FACE], abs=8)


def test_letterbox_is_undone_on_a_wide_and_a_tall_photo(detector):
    """The photo pasted into a larger grey canvas: the face moves with it, nothing else found."""
    for size, at in (((1100, 512), (400, 0)), ((512, 1000), (0, 300))):
        canvas = Image.new("RGB", size, (128, 128, 128))
        canvas.paste(_rgb("astronaut.png"), at)
        faces = detector.detect(canvas)
        assert len(faces) == 1
        x, y, w, h = faces[0].as_list()
        ex, ey, ew, eh = ASTRONAUT_FACE
        # At 192 px across 1100 the input is coarser: allow a few model pixels.
        assert abs(x - ex - at[0]) <= 12 and abs(y - ey - at[1]) <= 12
        assert abs(w - ew) <= 16 and abs(h - eh) <= 16


def test_no_face_in_a_flat_image(detector):
    assert detector.detect(Image.new("RGB", (300, 200), (90, 140, 200))) == []


def _group(side: int, size: tuple[int, int] = (1280, 960)) -> tuple[Image.Image, list[tuple[float, float]]]:
    """Six copies of the astronaut, `side` px each, in two rows of three on a grey photo of
    `size`, and where each copy's face centre is (from ASTRONAUT_FACE)."""
    photo = Image.new("RGB", size, (120, 130, 140))
    small = _rgb("astronaut.png").resize((side, side), Image.Resampling.LANCZOS)
    centres = []
    for i in range(3):
        for j in range(2):
            x, y = 40 + i * ((size[0] - 80 - side) // 2), 60 + j * (size[1] - 150 - side)
            photo.paste(small, (x, y))
            k = side / 512
            centres.append((x + (172 + 53) * k, y + (66 + 53) * k))
    return photo, centres


def _on_faces(faces: list[Face], centres: list[tuple[float, float]]) -> list[int]:
    """How many of `faces` hold each face centre."""
    return [sum(f.left <= cx <= f.left + f.width and f.top <= cy <= f.top + f.height for f in faces)
            for cx, cy in centres]


def test_shaped_input_finds_small_faces_the_square_one_misses(detector):
    """A 4:3 photo fills the 224x192 input (faces 1.17x larger than in the square's 192x144)."""
    photo, centres = _group(360)  # faces about 75 px: 5.8% of the long side
    assert detector.detect(photo, shaped=False) == []
    faces = detector.detect(photo)
    assert _on_faces(faces, centres) == [1] * 6 and len(faces) == 6


def test_tiles_find_a_group_of_small_faces_the_single_pass_misses(detector):
    photo, centres = _group(360, (1600, 1200))  # faces about 75 px: 4.7% of the long side
    assert detector.detect(photo) == [] and detector.detect(photo, shaped=False) == []
    faces = FaceDetector(tiles=True).detect(photo)
    assert len(faces) >= 5  # the corner one is missed
    assert max(_on_faces(faces, centres)) == 1 and sum(_on_faces(faces, centres)) == len(faces)
    assert all(f.score >= 0.75 for f in faces)  # the quarters' own threshold


def test_candidates_are_the_faces_the_pass_is_unsure_of(detector):
    """Six faces of 5.3% of the long side: the single pass is sure of one and scores four more
    from 0.2 to 0.4. `find` returns those as candidates (and may add a box on no face), apart
    from the sure face."""
    photo, centres = _group(370, (1400, 1050))
    faces, unsure = detector.find(photo)
    assert faces == detector.detect(photo) and len(faces) == 1
    assert all(0.2 <= f.score < 0.4 for f in unsure)
    sure, maybe = _on_faces(faces, centres), _on_faces(unsure, centres)
    assert sum(n > 0 for n in maybe) == 4 and not any(a and b for a, b in zip(sure, maybe, strict=True))
    assert FaceDetector(candidate_score=None).find(photo) == (faces, [])
    assert detector.find(photo, candidates=False) == (faces, [])


def test_no_candidates_without_a_face_the_pass_is_sure_of(detector):
    """Larger photo, smaller faces: nothing scores 0.4, a few boxes score 0.2-0.4, and with no
    sure face they are not candidates."""
    photo, _ = _group(420, (1600, 1200))
    canvas, letterbox = detector.model_input(photo)
    assert detector.decode(*detector.raw(canvas), letterbox, photo.size, 0.2)
    assert detector.find(photo) == ([], [])


def test_tiles_keep_a_large_face_once_and_report_full_image_pixels(detector):
    im = _rgb("astronaut.png")
    tiled = FaceDetector(tiles=True)
    faces = tiled.detect(im.reduce(2), im.size)
    assert len(faces) == 1  # seen by the full pass and by quarters, merged
    box = faces[0].as_list()
    got = np.array([box[0], box[1], box[0] + box[2], box[1] + box[3]], float)
    assert iou(got, np.array([[172, 66, 278, 172]], float))[0] > 0.7
    assert tiled.detect(im, tiles=False) == detector.detect(im)  # the override: one pass


def test_quarters_cover_the_image_with_overlap():
    tiles = quarters(300, 200)
    assert tiles == [(0, 0, 200, 133), (100, 0, 300, 133), (0, 67, 200, 200), (100, 67, 300, 200)]
    covered = np.zeros((200, 300), int)
    for x0, y0, x1, y1 in tiles:
        covered[y0:y1, x0:x1] += 1
    assert covered.min() >= 1 and covered[67:133, 100:200].min() == 4


def test_merge_faces_shifts_tiles_and_keeps_the_best_of_overlaps():
    whole = Face(10, 10, 20, 20, 0.6)
    same_in_tile = Face(4, 5, 20, 20, 0.9)  # the same face from a tile offset by (5, 5)
    other = Face(50, 0, 10, 10, 0.8)
    merged = merge_faces([(whole, 0, 0), (same_in_tile, 5, 5), (other, 100, 0)])
    assert merged == [Face(9, 10, 20, 20, 0.9), Face(150, 0, 10, 10, 0.8)]
    assert merge_faces([]) == []


def test_min_size_drops_small_faces(detector):
    big = FaceDetector(min_size=0.3)  # the astronaut's face is ~0.21 of the side
    assert big.detect(_rgb("astronaut.png")) == []
    assert detector.detect(_rgb("astronaut.png"))


def test_model_is_verified_against_its_manifest(tmp_path):
    for f in ("faces.tflite", "faces.json", "faces_224x192.tflite", "faces_192x224.tflite"):
        shutil.copy(default_weights_dir() / f, tmp_path / f)
    manifest = json.loads((tmp_path / "faces.json").read_text())
    assert FaceDetector(tmp_path).manifest == manifest
    (tmp_path / "faces_192x224.tflite").write_bytes(b"damaged")
    with pytest.raises(ValueError, match="faces_192x224.tflite: sha256 .* does not match"):
        FaceDetector(tmp_path)
    (tmp_path / "faces_192x224.tflite").unlink()
    with pytest.raises(ValueError, match="face model not found at .*faces_192x224.tflite"):
        FaceDetector(tmp_path)
    shutil.copy(default_weights_dir() / "faces_192x224.tflite", tmp_path)
    manifest["files"]["faces.tflite"]["sha256"] = "0" * 64
    (tmp_path / "faces.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="does not match its manifest"):
        FaceDetector(tmp_path)
    with pytest.raises(ValueError, match="faces model not found"):
        FaceDetector(tmp_path / "missing")


def test_installed_face_model_is_found_as_the_saliency_model_is(tmp_path, monkeypatch):
    # pip install --prefix P: the face detector looked only under sys.prefix (and has no flag).
    shipped = default_weights_dir("faces")
    paths = install_paths("prefix", tmp_path / "p")
    weights = Path(paths["data"]) / SHARED_WEIGHTS
    weights.mkdir(parents=True)
    for f in ("faces.tflite", "faces.json", "faces_224x192.tflite", "faces_192x224.tflite"):
        shutil.copy(shipped / f, weights / f)
    monkeypatch.setattr(saliency, "PACKAGE_DIR", Path(paths["purelib"]) / "smartcrop")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "elsewhere"))
    assert FaceDetector().path == weights / "faces.tflite"
    shutil.rmtree(weights)
    with pytest.raises(ValueError, match=f"faces model .* not found in any of: .*{weights}.*--no-faces"):
        FaceDetector()


def test_interpreters_are_made_for_the_inputs_in_use_only():
    """Each input's interpreters (about 10 MB each) are allocated on its first photo: a batch of
    landscape photos never pays for the portrait and square ones."""
    fresh = FaceDetector(workers=2)
    assert fresh._models == {}
    fresh.detect(Image.new("RGB", (400, 300), (90, 140, 200)))
    assert list(fresh._models) == [(224, 192)]
    fresh.detect(Image.new("RGB", (300, 400), (90, 140, 200)), tiles=True)  # square pass, quarters
    assert sorted(fresh._models) == [(192, 192), (224, 192)]
    assert fresh._models[(192, 192)][0].qsize() == 2  # one per worker
