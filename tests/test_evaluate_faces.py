"""smartcrop-eval's face figure: shares inside a crop, the cut rule, the limit, the summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from smartcrop import evaluate_faces as ef
from smartcrop.cropping import Box
from smartcrop.faces import FaceDetector


def test_inside_shares_and_the_cut_rule():
    faces = np.array([[0.0, 0.0, 10.0, 10.0], [20.0, 0.0, 10.0, 10.0]])
    shares = ef.inside_shares(faces, Box(5, 0, 20, 10))
    assert shares == pytest.approx([0.5, 0.5])
    assert ef.cuts(np.array([0.05, 0.95])) is False  # 5% in or out: not counted as cut
    assert ef.cuts(np.array([0.0, 0.1])) is True


def test_can_avoid_cut_against_every_position():
    faces = np.array([[2.0, 0.0, 6.0, 4.0]])
    assert ef.can_avoid_cut(faces, (10, 4), 6, 4)  # a 6-wide window can hold the 6-wide face
    assert not ef.can_avoid_cut(faces, (10, 4), 3, 4)  # a 3-wide one can neither hold nor miss it
    wide = np.array([[0.0, 0.0, 4.0, 4.0], [6.0, 0.0, 4.0, 4.0]])
    assert ef.can_avoid_cut(wide, (10, 4), 5, 4)  # left face whole, right face just touched
    brute = any(not ef.cuts(ef.inside_shares(wide, Box(x, 0, 3, 4))) for x in range(8))
    assert ef.can_avoid_cut(wide, (10, 4), 3, 4) == brute


def test_face_numbers_with_and_without_faces():
    """A map peak beside a face: the map alone cuts it, the face rule does not."""
    sal = np.full((60, 80), 0.01)
    sal[20:40, 44:54] = 1.0
    face = np.array([[540.0, 200.0, 100.0, 100.0]])  # image 800x600
    off = ef.face_numbers(sal, (800, 600), None, face)
    on = ef.face_numbers(sal, (800, 600), face, face)
    assert off["9:16"]["window_cut"] == 1.0 and off["9:16"]["limit"] == 0.0
    assert all(row["window_cut"] == 0 and row["box_cut"] == 0 for row in on.values())
    assert all(row["window_kept"] == 1.0 for row in on.values())
    s = ef.summarise_faces([off, {}, on])
    assert s["pairs"] == 10 and s["window_cut"] == pytest.approx(off["9:16"]["window_cut"] / 10 + sum(
        r["window_cut"] for k, r in off.items() if k != "9:16") / 10)
    assert "| window |" in ef.format_faces(s)
    assert ef.summarise_faces([{}]) == {"pairs": 0}


def test_reference_faces_find_the_astronaut():
    with Image.open(Path(__file__).parent / "data" / "astronaut.png") as im:
        found = ef.reference_faces(FaceDetector(), im.convert("RGB"))
    assert len(found) == 1
    assert found[0] == pytest.approx([172, 66, 106, 106], abs=6)
