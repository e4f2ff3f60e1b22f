"""The face detector for photo-shaped inputs: rebuilt from the square one byte for byte."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

pytestmark = pytest.mark.train

pytest.importorskip("tensorflow")

from smartcrop.model.face_inputs import main, reshape_input  # noqa: E402
from smartcrop.saliency import default_weights_dir  # noqa: E402


def test_rebuilds_the_shipped_shaped_files(tmp_path):
    """`python -m smartcrop.model.face_inputs` gives exactly the committed files and manifest."""
    weights = default_weights_dir()
    shipped = json.loads((weights / "faces.json").read_text())
    shutil.copy(weights / "faces.tflite", tmp_path)
    square = {k: v for k, v in shipped.items() if k != "shaped"}
    square["files"] = {"faces.tflite": shipped["files"]["faces.tflite"]}
    (tmp_path / "faces.json").write_text(json.dumps(square))
    main([str(tmp_path), "--size", "224x192"])
    assert json.loads((tmp_path / "faces.json").read_text()) == shipped
    for name in shipped["shaped"]:
        digest = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        assert digest == shipped["files"][name]["sha256"]


def test_sides_must_be_multiples_of_the_coarsest_stride(tmp_path):
    with pytest.raises(ValueError, match="multiples of 32"):
        reshape_input(default_weights_dir() / "faces.tflite", 240, 192, tmp_path / "x.tflite")
