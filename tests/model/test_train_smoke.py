"""End to end on the shared data: a tiny training run, then export to LiteRT and compare with Keras."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.train, pytest.mark.data]

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
litert = pytest.importorskip("ai_edge_litert.interpreter")

from smartcrop.canvas import RUN_HEIGHT, RUN_WIDTH  # noqa: E402
from smartcrop.fixations import load_dataset  # noqa: E402
from smartcrop.model import export, train  # noqa: E402
from smartcrop.model.data import prepare  # noqa: E402
from smartcrop.model.network import NetworkConfig  # noqa: E402
from smartcrop.saliency import SaliencyModel  # noqa: E402

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
DATASETS = [SHARED / "datasets" / name for name in ("osie", "eyecrowd", "scene500")]
PRETRAINED = SHARED / "pretrained" / "mobilenet_v1_1.0_224_quant_embedding_extractor.tflite"

if not (SHARED / "datasets").is_dir() or not all(d.is_dir() for d in DATASETS) or not PRETRAINED.is_file():
    pytest.skip(f"needs the shared datasets and pretrained MobileNet under {SHARED}", allow_module_level=True)

# LiteRT vs Keras on the same canvas. Float export: the same graph, so only float round-off.
# Quantized exports: weights (and for int8 the convolutions' activations) in 8 bits, so the
# maps differ a little but must keep their shape.
TOLERANCE = {  # --quantize: (min correlation, max |difference| / map max)
    "int8": (0.98, 0.25),  # measured: 0.996, 0.14
    "weights": (0.99, 0.15),  # measured: 0.998, 0.07
    "float": (0.9999, 1e-3),  # measured: 1.0, 2e-6
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("smoke") / "run"
    train.main([*map(str, DATASETS), "--pretrained", str(PRETRAINED), "--out", str(out),
                "--limit", "8", "--steps", "2", "--epochs-frozen", "1", "--epochs-finetune", "1",
                "--batch-size", "4", "--keep-epochs"])
    return out


def test_training_writes_its_outputs(run_dir):
    for name in ("best.weights.h5", "last.weights.h5", "frozen.weights.h5", "finetune.weights.h5",
                 "log_frozen.csv", "log_finetune.csv", "config.json", "best.json"):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "data.npz").exists()  # no cache for --limit runs
    assert NetworkConfig(**json.loads((run_dir / "config.json").read_text())) == NetworkConfig()
    for phase in ("frozen", "finetune"):
        header, *rows = (run_dir / f"log_{phase}.csv").read_text().splitlines()
        assert "val_cc" in header.split(",") and len(rows) == 1
    assert np.isfinite(json.loads((run_dir / "best.json").read_text())["val_cc"])
    # --keep-epochs: one weights file per phase and epoch
    kept = sorted(p.name for p in run_dir.glob("*_epoch*.weights.h5"))
    assert kept == ["finetune_epoch01.weights.h5", "frozen_epoch01.weights.h5"]


def test_rerun_resumes_without_training(run_dir, capsys):
    before = (run_dir / "log_frozen.csv").read_text()
    train.main([*map(str, DATASETS), "--pretrained", str(PRETRAINED), "--out", str(run_dir),
                "--limit", "8", "--steps", "2", "--epochs-frozen", "1", "--epochs-finetune", "1",
                "--batch-size", "4"])
    out = capsys.readouterr().out
    assert "frozen: already done" in out and "finetune: already done" in out
    assert (run_dir / "log_frozen.csv").read_text() == before


def test_teacher_maps_are_blended_into_training_targets(tmp_path, capsys, training_canvas_teacher):
    """--teacher: the run computes the shipped model's maps (exported on the training canvas) for
    its train images and trains on them."""
    out = tmp_path / "distill"
    weights = training_canvas_teacher
    train.main([*map(str, DATASETS), "--pretrained", str(PRETRAINED), "--out", str(out),
                "--limit", "8", "--steps", "2", "--epochs-frozen", "1", "--epochs-finetune", "0",
                "--batch-size", "4", "--teacher", str(weights), "--teacher-weight", "0.3"])
    assert "teacher maps from 1 model(s)" in capsys.readouterr().out
    assert json.loads((out / "args.json").read_text())["teacher"] == [str(weights)]
    assert (out / "best.weights.h5").is_file()
    assert not list(out.glob("*_epoch*.weights.h5"))  # only --keep-epochs keeps them


def test_cosine_schedule_decays_within_each_phase(tmp_path):
    """--schedule cosine: the logged learning rate falls from epoch to epoch towards 0."""
    out = tmp_path / "cosine"
    train.main([*map(str, DATASETS), "--pretrained", str(PRETRAINED), "--out", str(out),
                "--limit", "8", "--steps", "2", "--epochs-frozen", "3", "--epochs-finetune", "0",
                "--batch-size", "4", "--schedule", "cosine"])
    header, *rows = (out / "log_frozen.csv").read_text().splitlines()
    lrs = [float(row.split(",")[header.split(",").index("learning_rate")]) for row in rows]
    assert len(lrs) == 3 and lrs[0] > lrs[1] > lrs[2] and lrs[0] < 1e-3, lrs


def test_portrait_batches_train_one_model_on_both_canvases(tmp_path, capsys):
    """--portrait-share: the run prepares portrait cuts of its photos and trains on them and on
    the landscape canvas (here --canvas 336x256); the weights then load into either canvas's model."""
    out = tmp_path / "portrait"
    train.main([*map(str, DATASETS), "--pretrained", str(PRETRAINED), "--out", str(out),
                "--limit", "8", "--steps", "4", "--epochs-frozen", "1", "--epochs-finetune", "1",
                "--batch-size", "2", "--portrait-share", "0.5", "--seed", "3", "--canvas", "336x256"])
    out_text = capsys.readouterr().out
    assert "portrait sources for 8 images" in out_text and "finetune: 1 epochs" in out_text
    args = json.loads((out / "args.json").read_text())
    assert args["portrait_share"] == 0.5 and args["canvas"] == [336, 256]
    config = NetworkConfig(**json.loads((out / "config.json").read_text()))
    for width, height in ((336, 256), (240, 320)):
        model = export.load_model(out / "best.weights.h5", config, (width, height))
        got = keras.ops.convert_to_numpy(model(np.full((1, height, width, 3), 128, np.float32)))
        assert got.shape == (1, height // 8, width // 8, 1)
        assert np.isfinite(got).all() and got.sum() == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("value", ["336", "330x256", "336x256x3", "axb"])
def test_training_canvas_must_be_multiples_of_16(value, capsys):
    with pytest.raises(SystemExit):
        train.parse_args(["--canvas", value])
    assert "multiples of 16" in capsys.readouterr().err


@pytest.fixture(scope="module")
def canvases() -> np.ndarray:
    records = load_dataset(DATASETS[0])[:2]
    return np.stack([prepare(r)[0] for r in records]).astype(np.float32)


def _litert_maps(path: Path, canvases: np.ndarray, batch: bool = False) -> np.ndarray:
    interp = litert.Interpreter(model_path=str(path))
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    assert tuple(inp["shape"]) == (1, *canvases.shape[1:]) and inp["dtype"] == np.float32
    assert inp["shape_signature"][0] == -1  # dynamic batch, for --batch-size
    if batch:
        interp.resize_tensor_input(inp["index"], canvases.shape)
        interp.allocate_tensors()
        interp.set_tensor(inp["index"], canvases)
        interp.invoke()
        return interp.get_tensor(out["index"]).copy()
    maps = []
    for canvas in canvases:
        interp.set_tensor(inp["index"], canvas[None])
        interp.invoke()
        maps.append(interp.get_tensor(out["index"])[0].copy())
    return np.stack(maps)


@pytest.mark.parametrize("kind", ["int8", "weights", "float"])
def test_export_matches_keras(run_dir, canvases, tmp_path, kind):
    out = tmp_path / "w"
    export.main([str(run_dir / "best.weights.h5"), "--config", str(run_dir / "config.json"),
                 "--out", str(out), "--quantize", kind, "--calibrate", *map(str, DATASETS),
                 "--calibration-images", "16", "--canvas", "320x240"])  # the training canvases
    manifest = json.loads((out / "saliency.json").read_text())
    assert manifest["quantization"] == export.QUANTIZATIONS[kind]
    assert ("calibration" in manifest) == (kind == "int8")
    for name in ("saliency.tflite", "saliency_portrait.tflite", "saliency.weights.h5"):
        assert manifest["files"][name]["bytes"] == (out / name).stat().st_size
        assert manifest["files"][name]["sha256"] == export.sha256(out / name)
    assert manifest["portrait"]["model"] == "saliency_portrait.tflite"
    assert manifest["portrait"]["input"]["shape"] == [-1, 320, 240, 3]

    config = NetworkConfig(**manifest["config"])
    model = export.load_model(out / "saliency.weights.h5", config)
    expected = np.stack([keras.ops.convert_to_numpy(model(c[None], training=False))[0] for c in canvases])
    got = _litert_maps(out / "saliency.tflite", canvases)
    assert got.shape == expected.shape == (2, 30, 40, 1)
    # The portrait file is the same weights on the turned canvas: checked on the turned canvases.
    upright = np.ascontiguousarray(canvases.transpose(0, 2, 1, 3))
    portrait = export.load_model(out / "saliency.weights.h5", config, (240, 320))
    expected_p = np.stack([keras.ops.convert_to_numpy(portrait(c[None], training=False))[0] for c in upright])
    got_p = _litert_maps(out / "saliency_portrait.tflite", upright)
    assert got_p.shape == expected_p.shape == (2, 40, 30, 1)
    min_corr, max_rel = TOLERANCE[kind]
    for g, e in zip([*got, *got_p], [*expected, *expected_p], strict=True):
        assert g.sum() == pytest.approx(1.0, abs=1e-4)
        corr = np.corrcoef(g.ravel(), e.ravel())[0, 1]
        rel = np.abs(g - e).max() / e.max()
        print(f"{kind}: correlation {corr:.5f}, max diff {rel:.4f} of max")
        assert corr > min_corr and rel < max_rel, f"{kind}: correlation {corr:.5f}, max diff {rel:.4f} of max"
    if kind == "float":  # --no-portrait: the main model only, and no stale portrait file
        export.main([str(run_dir / "best.weights.h5"), "--config", str(run_dir / "config.json"),
                     "--out", str(out), "--quantize", kind, "--no-portrait"])
        manifest = json.loads((out / "saliency.json").read_text())
        assert "portrait" not in manifest and "saliency_portrait.tflite" not in manifest["files"]
        assert not (out / "saliency_portrait.tflite").exists()
        # without --canvas: the run canvas, a little larger than the training one
        assert manifest["input"]["shape"] == [-1, RUN_HEIGHT, RUN_WIDTH, 3]
        assert _litert_maps(out / "saliency.tflite", np.full((1, RUN_HEIGHT, RUN_WIDTH, 3), 128,
                                                             np.float32)).shape == (1, 32, 42, 1)
    if kind == "int8":  # the shipped kind: a batch gives each image the map it gets alone
        batched = _litert_maps(out / "saliency.tflite", canvases, batch=True)
        np.testing.assert_allclose(batched, got, rtol=1e-4, atol=1e-7)


def test_two_heads_train_export_and_run_as_one_map(tmp_path, canvases):
    """--heads 2: the config carries it, the int8 export runs both heads and gives their mean,
    one map that sums to 1, like the Keras model it came from."""
    out = tmp_path / "heads"
    train.main([*map(str, DATASETS), "--pretrained", str(PRETRAINED), "--out", str(out),
                "--limit", "8", "--steps", "2", "--epochs-frozen", "1", "--epochs-finetune", "0",
                "--batch-size", "4", "--heads", "2"])
    assert json.loads((out / "config.json").read_text())["heads"] == 2
    header = (out / "log_frozen.csv").read_text().splitlines()[0].split(",")
    assert {"val_cc", "val_nss"} <= set(header)
    w = tmp_path / "w"
    export.main([str(out / "best.weights.h5"), "--config", str(out / "config.json"), "--out", str(w),
                 "--calibrate", *map(str, DATASETS), "--calibration-images", "8", "--no-portrait",
                 "--canvas", "320x240"])
    config = NetworkConfig(**json.loads((w / "saliency.json").read_text())["config"])
    assert config.heads == 2
    model = export.load_model(w / "saliency.weights.h5", config)
    expected = np.stack([keras.ops.convert_to_numpy(model(c[None], training=False))[0] for c in canvases])
    got = _litert_maps(w / "saliency.tflite", canvases)
    assert got.shape == expected.shape == (2, 30, 40, 1)
    for g, e in zip(got, expected, strict=True):
        assert g.sum() == pytest.approx(1.0, abs=1e-4)
        assert np.corrcoef(g.ravel(), e.ravel())[0, 1] > TOLERANCE["int8"][0]


def test_export_names_its_ensemble(run_dir, tmp_path):
    """--ensemble NAME records a model exported beside it with --name NAME, which the runtime then
    averages in (smartcrop --thorough); a name with no model there is refused."""
    out = tmp_path / "w"
    base = [str(run_dir / "best.weights.h5"), "--config", str(run_dir / "config.json"),
            "--out", str(out), "--quantize", "float", "--no-portrait"]
    with pytest.raises(SystemExit):
        export.main([*base, "--ensemble", "second"])
    export.main([*base, "--name", "second"])
    export.main([*base, "--ensemble", "second"])
    manifest = json.loads((out / "saliency.json").read_text())
    assert manifest["ensemble"] == ["second"] and "ensemble" not in json.loads(
        (out / "second.json").read_text())
    model = SaliencyModel(out, ensemble=True)
    assert [m.path.name for m in model.members] == ["second.tflite"]
