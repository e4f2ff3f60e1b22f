"""Saliency prediction on LiteRT: finds and verifies the shipped model, maps images to maps.

Never imports TensorFlow. One `SaliencyModel` holds one interpreter per thread, so worker
threads can predict at once (LiteRT releases the GIL while it runs).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import site
import sys
import sysconfig
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from smartcrop.canvas import MAP_STRIDE, place, to_canvas

MODEL_NAME = "saliency"
CENTRE_SIGMA = 0.25  # centre prior: Gaussian with sigma = 1/4 of each side


def centre_prior(width: int, height: int, sigma: float = CENTRE_SIGMA) -> np.ndarray:
    """A centred Gaussian over a (height, width) map, summing to 1."""
    ys = (np.arange(height) + 0.5) / height - 0.5
    xs = (np.arange(width) + 0.5) / width - 0.5
    g = np.exp(-0.5 * (ys[:, None] ** 2 + xs[None, :] ** 2) / sigma**2)
    return g / g.sum()


def concentration(saliency: np.ndarray) -> float:
    """Share of the map's mass in its top tenth of cells: about 0.1 for a flat map, near 1 for
    one sharp peak. It tells a confident map from an unsure one."""
    values = np.sort(saliency, axis=None)[::-1]
    total = values.sum()
    return float(values[:max(1, values.size // 10)].sum() / total) if total > 0 else 0.0


def centre_weight(saliency: np.ndarray, weight: float,
                  fade: tuple[float, float] | None = None) -> float:
    """The centre mix for this map: `weight`, or with `fade` = (lo, hi), `weight` down to 0
    as the map's concentration rises from lo to hi, so a confident map (one clear subject, even
    at the photo's edge) is trusted and an unsure one leans on the centre."""
    if weight == 0 or fade is None:
        return weight
    lo, hi = fade
    return weight * float(np.clip((hi - concentration(saliency)) / (hi - lo), 0.0, 1.0))


def mix_centre(saliency: np.ndarray, weight: float,
               fade: tuple[float, float] | None = None) -> np.ndarray:
    """(1 - w) x the map + w x the centre prior at the map's size, w = `centre_weight`; sums to 1."""
    w = centre_weight(saliency, weight, fade)
    if w == 0:
        return saliency
    return (1 - w) * saliency + w * centre_prior(saliency.shape[1], saliency.shape[0])


def check_centre_mix(weight: float, fade) -> tuple[float, tuple[float, float] | None]:
    """(weight, fade) as numbers; ValueError naming the setting when out of range."""
    weight = float(weight)
    if not 0 <= weight <= 1:
        raise ValueError(f"centre_mix must be between 0 and 1, not {weight}")
    if fade is None:
        return weight, None
    try:
        lo, hi = (float(v) for v in fade)
    except (TypeError, ValueError):
        raise ValueError(f"centre_fade must be two numbers [lo, hi], not {fade!r}") from None
    if not 0 <= lo < hi <= 1:
        raise ValueError(f"centre_fade must be 0 <= lo < hi <= 1, not {[lo, hi]}")
    return weight, (lo, hi)


# This package's folder: its parent is the source checkout, or the site-packages it is installed in.
PACKAGE_DIR = Path(__file__).resolve().parent
# Where pyproject's data-files put the weights, under an install scheme's `data` folder.
SHARED_WEIGHTS = Path("share", "smartcrop", "weights")
# The sysconfig variables an install scheme's paths are built from.
_BASE_VARS = ("base", "platbase", "userbase", "installed_base", "installed_platbase")


def _scheme_data_dirs(site_dir: Path) -> list[Path]:
    """The `data` folder of every install scheme (venv, prefix, --user, --home, ...) whose
    purelib or platlib is `site_dir`: the package's own site-packages tell where pip put the
    data files, whatever the scheme and base (`pip install --prefix P` is P, not sys.prefix)."""
    mark = Path(site_dir.anchor, "smartcrop-base")  # a stand-in base, to read each scheme's layout
    found = []
    for scheme in sysconfig.get_scheme_names():
        try:
            paths = sysconfig.get_paths(scheme, vars=dict.fromkeys(_BASE_VARS, str(mark)))
            data = Path(paths["data"]).relative_to(mark)
        except (KeyError, AttributeError, ValueError):  # a scheme not built on these variables
            continue
        for key in ("purelib", "platlib"):
            try:
                lib = Path(paths[key]).relative_to(mark).parts
            except (KeyError, ValueError):
                continue
            if lib and site_dir.parts[-len(lib):] == lib:
                found.append(site_dir.parents[len(lib) - 1] / data)
    return found


def weights_dirs() -> list[Path]:
    """Folders the shipped weights may be in, in the order they are looked in: the source
    checkout's ``weights/``, the installed copy beside the package's own site-packages (every
    matching install scheme, then ``pip --target``'s folder), then sys.prefix and the user base."""
    site_dir = PACKAGE_DIR.parent
    dirs = [site_dir / "weights"]
    dirs += [data / SHARED_WEIGHTS for data in _scheme_data_dirs(site_dir)]
    dirs.append(site_dir / SHARED_WEIGHTS)  # pip install --target puts data files beside the packages
    dirs += [Path(sys.prefix) / SHARED_WEIGHTS, Path(site.getuserbase()) / SHARED_WEIGHTS]
    return list(dict.fromkeys(dirs))


def default_weights_dir(name: str = MODEL_NAME) -> Path:
    """The first of `weights_dirs` that holds ``<name>.tflite``; ValueError listing every folder
    looked in when none does (the saliency model, or ``faces`` for the face detector)."""
    dirs = weights_dirs()
    for folder in dirs:
        if (folder / f"{name}.tflite").is_file():
            return folder
    hint = "give --weights PATH" if name == MODEL_NAME else "or run with --no-faces"
    raise ValueError(f"{name} model ({name}.tflite) not found in any of: "
                     f"{', '.join(map(str, dirs))} ({hint})")


def resolve_weights(path: Path | None = None, name: str = MODEL_NAME) -> tuple[Path, dict | None]:
    """Find the .tflite model and its manifest; check the hash when a manifest lists it.

    `path` may be a .tflite file or a folder holding ``<name>.tflite`` (``saliency``, or
    ``faces`` for the face detector); without it, the shipped model is looked for
    (`default_weights_dir`). Raises ValueError with the reason when the model is missing or
    does not match its manifest.
    """
    path = Path(path) if path else default_weights_dir(name)
    model = path / f"{name}.tflite" if path.is_dir() else path
    if not model.is_file():
        hint = "give --weights PATH" if name == MODEL_NAME else "or run with --no-faces"
        raise ValueError(f"{name} model not found at {model} ({hint})")
    manifest_path = model.with_suffix(".json")
    manifest = None
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ValueError(f"{manifest_path}: unreadable model manifest ({e})") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files", {}), dict):
            raise ValueError(f"{manifest_path}: not a model manifest (no \"files\" table)")
    if manifest:
        check_hash(model, manifest)
    return model, manifest


def check_hash(model: Path, manifest: dict) -> None:
    """Raise ValueError when the manifest lists a sha256 for `model` and the file's differs."""
    expected = (manifest.get("files", {}).get(model.name) or {}).get("sha256")
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    if expected and digest != expected:
        raise ValueError(f"{model}: sha256 {digest[:12]}… does not match its manifest "
                         f"({expected[:12]}…); the file is damaged or replaced")


@contextlib.contextmanager
def _quiet_stderr():
    """Silence the runtime's C++ banner ("Created TensorFlow Lite XNNPACK delegate")."""
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _Request:
    """One canvas waiting for its map; `done` is set once `result` or `error` is filled."""

    def __init__(self, canvas: np.ndarray):
        self.canvas = canvas
        self.taken = False
        self.done = threading.Event()
        self.result: np.ndarray | None = None
        self.error: BaseException | None = None


class _Batcher:
    """Gathers `predict` calls from worker threads into model calls of up to `size` canvases.

    No extra thread: the caller that completes a batch runs it; a caller whose batch does not
    fill within `wait` seconds (end of the batch, a slow decode) runs what has gathered.
    """

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], size: int, wait: float = 0.05):
        self._run, self.size, self.wait = run, size, wait
        self._lock = threading.Lock()
        self._pending: list[_Request] = []

    def __call__(self, canvas: np.ndarray) -> np.ndarray:
        request = _Request(canvas)
        with self._lock:
            self._pending.append(request)
            batch = self._take() if len(self._pending) >= self.size else []
        if not batch and not request.done.wait(self.wait):
            with self._lock:
                batch = [] if request.taken else self._take()
        if batch:
            self._execute(batch)
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.result

    def _take(self) -> list[_Request]:
        batch, self._pending = self._pending, []
        for r in batch:
            r.taken = True
        return batch

    def _execute(self, batch: list[_Request]) -> None:
        try:
            out = self._run(np.stack([r.canvas for r in batch]))
            for r, o in zip(batch, out, strict=True):
                r.result = o
        except BaseException as e:  # every waiter learns of the failure, none hangs
            for r in batch:
                r.error = e
        finally:
            for r in batch:
                r.done.set()


class SaliencyModel:
    """Predicts a saliency map (sums to 1) covering an image, at the model's map resolution.

    Holds `workers` interpreters (each running `threads` threads) so that as many threads can
    predict at once; an interpreter is never used by two threads together. Portrait photos go
    to the portrait-canvas model when the manifest names one (its interpreters made on first
    use), so that they fill the model's input rather than a letterboxed part of it. With `batch_size`
    above 1, concurrent `predict` calls are answered together, up to that many per model call
    (the model must have a dynamic batch dimension). With `flip`, each map is the mean of the
    image's map and its mirror image's map mirrored back (test-time augmentation: two canvases
    per photo, one model call of two when not batching). Each map is mixed with the centre
    prior by `centre_mix`, faded out for confident maps by `centre_fade` (None: what the model's
    manifest gives, else no mix), which makes crops hold up better on photos unlike the
    training sets (weights/README.md, "Cross-dataset validation"). With `ensemble`, the further
    models the manifest's `ensemble` names (separately trained, on the same canvases) run too,
    and the map is the mean of all their maps before the mix: one inference more per member.
    """

    def __init__(self, model_path: Path | None = None, threads: int = 1, workers: int = 1,
                 batch_size: int = 1, flip: bool = False, centre_mix: float | None = None,
                 centre_fade: tuple[float, float] | None = None, ensemble: bool = False):
        self.path, self.manifest = resolve_weights(model_path)
        manifest = self.manifest or {}
        try:
            self.centre_mix, self.centre_fade = check_centre_mix(
                manifest.get("centre_mix", 0.0) if centre_mix is None else centre_mix,
                manifest.get("centre_fade") if centre_fade is None else centre_fade)
        except ValueError as e:
            raise ValueError(f"{self.path}: {e}") from None
        self.batch_size = batch_size
        self.flip = flip
        self._pools = {False: _Interpreters(self.path, threads, workers, self._check)}
        self.canvas_size = self._pools[False].make_all()
        # The same weights exported on a portrait canvas (the manifest's), for portrait photos:
        # they fill it instead of a letterboxed 3/4 of the landscape one (weights/README.md,
        # "Portrait canvas").
        self.portrait_path = portrait_model(self.path, manifest)
        self.portrait_size = None  # its canvas (w, h); its interpreters are made on first use
        if self.portrait_path is not None:
            try:
                self.portrait_size = portrait_canvas(manifest, self.canvas_size)
            except ValueError as e:
                raise ValueError(f"{self.path.with_suffix('.json')}: {e}") from None
            self._pools[True] = _Interpreters(self.portrait_path, threads, workers, self._check,
                                              expect=self.portrait_size)
        self._infer = {portrait: _Batcher(partial(self._invoke, portrait), batch_size)
                       if batch_size > 1 else partial(self._invoke_one, portrait)
                       for portrait in self._pools}
        self.members = [SaliencyModel(path, threads, workers, batch_size, flip, centre_mix=0.0)
                        for path in ensemble_models(self.path, manifest)] if ensemble else []
        for member in self.members:  # their maps are averaged cell by cell with this one's
            if (member.canvas_size, member.portrait_size) != (self.canvas_size, self.portrait_size):
                raise ValueError(f"{member.path}: ensemble model's canvases differ from "
                                 f"{self.path.name}'s")

    def _check(self, interp, path: Path) -> tuple[int, int]:
        """The canvas (w, h) of the model's input. A model that is not a saliency model (one
        float (1, H, W, 3) input, one float (1, H/8, W/8, 1) map out), such as the face
        detector, is refused here, naming what it has, rather than failing on every image."""
        inputs, outputs = interp.get_input_details(), interp.get_output_details()
        what = f"{path} is not a saliency model:"
        if len(inputs) != 1:
            raise ValueError(f"{what} it has {len(inputs)} inputs, not one image")
        if len(outputs) != 1:
            raise ValueError(f"{what} it has {len(outputs)} outputs, not one map")
        detail = inputs[0]
        shape = tuple(int(v) for v in detail["shape"])
        if len(shape) != 4 or shape[0] != 1 or shape[3] != 3 or shape[1] % (2 * MAP_STRIDE) \
                or shape[2] % (2 * MAP_STRIDE) or detail["dtype"] != np.float32:
            raise ValueError(f"{what} its input is {np.dtype(detail['dtype']).name} {shape}, not "
                             f"float32 (1, H, W, 3) with H and W multiples of {2 * MAP_STRIDE}")
        out = tuple(int(v) for v in outputs[0]["shape"])
        expected = (1, shape[1] // MAP_STRIDE, shape[2] // MAP_STRIDE, 1)
        if out != expected or outputs[0]["dtype"] != np.float32:
            raise ValueError(f"{what} its output is {np.dtype(outputs[0]['dtype']).name} {out}, "
                             f"not the float32 map {expected} its input {shape} gives")
        if (self.batch_size > 1 or self.flip) and detail["shape_signature"][0] != -1:
            raise ValueError(f"{path}: the model has a fixed batch of 1; "
                             f"re-export it with a dynamic batch to use a batch size above 1 "
                             f"or flip averaging")
        return shape[2], shape[1]

    def _portrait(self, width: int, height: int) -> bool:
        return height > width and True in self._pools

    def input_size(self, width: int = 0, height: int = 0) -> tuple[int, int]:
        """Smallest decode size (w, h) worth giving `predict` for a width x height image: the
        canvas its map is made on (the landscape one when no size is given)."""
        return self.portrait_size if self._portrait(width, height) else self.canvas_size

    def _invoke(self, portrait: bool, canvases: np.ndarray) -> np.ndarray:
        """Raw model output (n, rows, cols) for n canvases, on a free interpreter."""
        pool = self._pools[portrait]
        interp = pool.get()
        try:
            index = interp.get_input_details()[0]["index"]
            if interp.get_input_details()[0]["shape"][0] != len(canvases):
                with _quiet_stderr():
                    interp.resize_tensor_input(index, canvases.shape)
                    interp.allocate_tensors()
            interp.set_tensor(index, canvases)
            interp.invoke()
            return interp.get_tensor(interp.get_output_details()[0]["index"])[..., 0].copy()
        finally:
            pool.put(interp)

    def _invoke_one(self, portrait: bool, canvas: np.ndarray) -> np.ndarray:
        return self._invoke(portrait, canvas[None])[0]

    def predict(self, image: Image.Image) -> np.ndarray:
        """Map (rows, cols) over the image's own area (letterbox removed), summing to 1."""
        portrait = self._portrait(*image.size)
        size = self.input_size(*image.size)
        placement = place(*image.size, *size)
        canvas = to_canvas(image, placement, *size).astype(np.float32)
        mirror = None
        if self.flip:
            mirror = canvas.copy()
            box = (slice(placement.top, placement.top + placement.height),
                   slice(placement.left, placement.left + placement.width))
            mirror[box] = canvas[box][:, ::-1]
        # The ensemble's models share the canvases (checked when loaded): made once, run by each.
        region = self._region(portrait, placement, canvas, mirror)
        if self.members:
            region = np.mean([region] + [m._region(portrait, placement, canvas, mirror)
                                         for m in self.members], axis=0)
        return mix_centre(region, self.centre_mix, self.centre_fade)

    def _region(self, portrait: bool, placement, canvas: np.ndarray,
                mirror: np.ndarray | None) -> np.ndarray:
        """This model's own map of the image on its canvas (averaged with the mirror canvas's,
        mirrored back, when given), summing to 1, before the centre mix."""
        rows, cols = placement.map_slice()
        infer = self._infer[portrait]
        if mirror is not None:
            if self.batch_size > 1:
                out, out_mirror = infer(canvas), infer(mirror)
            else:
                out, out_mirror = self._invoke(portrait, np.stack([canvas, mirror]))
            region = (np.maximum(out[rows, cols].astype(np.float64), 0)
                      + np.maximum(out_mirror[rows, cols].astype(np.float64), 0)[:, ::-1]) / 2
        else:
            out = infer(canvas)
            region = np.maximum(out[rows, cols].astype(np.float64), 0)
        total = region.sum()
        return region / total if total > 0 else np.full_like(region, 1 / region.size)


class _Interpreters:
    """Up to `size` LiteRT interpreters of one model file, made when first needed (each takes
    about 15 ms), each used by one thread at a time. `check(interp, path)` gives the model's
    canvas (w, h) or raises; with `expect`, that canvas must be it."""

    def __init__(self, path: Path, threads: int, size: int, check, expect=None):
        self.path, self.threads, self.size = path, threads, size
        self._check, self.expect = check, expect
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        self._made = 0
        self._lock = threading.Lock()

    def _make(self):
        from ai_edge_litert.interpreter import Interpreter

        try:
            with _quiet_stderr():
                interp = Interpreter(model_path=str(self.path), num_threads=self.threads)
                interp.allocate_tensors()
        except (ValueError, RuntimeError) as e:  # the runtime's messages leave the file out
            reason = " ".join(str(e).split()) or type(e).__name__
            raise ValueError(f"{self.path}: cannot load the model ({reason})") from None
        canvas = self._check(interp, self.path)
        if self.expect is not None and canvas != self.expect:
            raise ValueError(f"{self.path}: portrait model canvas {canvas[0]}x{canvas[1]} is not "
                             f"the {self.expect[0]}x{self.expect[1]} its manifest gives")
        return interp, canvas

    def make_all(self) -> tuple[int, int]:
        """Make every interpreter now (errors surface at start); the canvas (w, h)."""
        canvas = None
        while self._made < self.size:
            interp, canvas = self._make()
            self._made += 1
            self._free.put(interp)
        return canvas

    def get(self):
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            make = self._made < self.size
            self._made += make
        if not make:
            return self._free.get()
        try:
            return self._make()[0]
        except BaseException:
            with self._lock:
                self._made -= 1
            raise

    def put(self, interp) -> None:
        self._free.put(interp)


def _beside(path: Path, file_name: str, what: str) -> Path:
    """The file `path`'s manifest names beside it; ValueError when it is missing."""
    model = path.with_name(file_name)
    if not model.is_file():
        raise ValueError(f"{model}: {what} named in {path.with_suffix('.json').name} is missing")
    return model


def portrait_model(path: Path, manifest: dict) -> Path | None:
    """The portrait-canvas model the manifest names, checked against its sha256; None if none."""
    name = (manifest.get("portrait") or {}).get("model")
    if not name:
        return None
    model = _beside(path, name, "portrait model")
    check_hash(model, manifest)
    return model


def portrait_canvas(manifest: dict, main: tuple[int, int]) -> tuple[int, int]:
    """The portrait model's canvas (w, h): the manifest's `portrait.input.shape` ([-1, H, W, 3]),
    else the main canvas turned upright (manifests before 2026-12-07). It may differ from the
    main one turned: the shipped model runs landscape photos on a canvas larger than it was
    trained on, and portrait ones on the training canvas (weights/README.md, "Session 24")."""
    shape = ((manifest.get("portrait") or {}).get("input") or {}).get("shape")
    if shape is None:
        return main[1], main[0]
    if not (isinstance(shape, list) and len(shape) == 4 and all(isinstance(v, int) for v in shape)
            and shape[1] > shape[2] > 0):
        raise ValueError(f"portrait input shape {shape!r} is not [-1, H, W, 3] with H > W")
    return shape[2], shape[1]


def ensemble_models(path: Path, manifest: dict) -> list[Path]:
    """The further models the manifest's `ensemble` names (beside `path`; each is checked against
    its own manifest when loaded); [] when it names none."""
    names = manifest.get("ensemble") or []
    if not isinstance(names, list) or not all(isinstance(n, str) and n and Path(n).name == n
                                               for n in names):
        raise ValueError(f"{path.with_suffix('.json')}: \"ensemble\" must be a list of model "
                         f"names beside it, not {names!r}")
    return [_beside(path, f"{name}.tflite", "ensemble model") for name in names]


def upsample(saliency: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of a map to (height, width), renormalised to sum 1."""
    im = Image.fromarray(saliency.astype(np.float32), mode="F")
    out = np.asarray(im.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float64)
    out = np.maximum(out, 0)
    total = out.sum()
    return out / total if total > 0 else out


def to_png_array(saliency: np.ndarray) -> np.ndarray:
    """8-bit grayscale view of a map, its maximum at 255."""
    peak = saliency.max()
    scaled = saliency / peak * 255 if peak > 0 else saliency
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)


WORK_MAP_SIDE = 256  # crop searches run on the map resized to at most this long side


def work_map(saliency: np.ndarray, width: int, height: int) -> np.ndarray:
    """The map resized for crop search: the image's aspect, long side at most WORK_MAP_SIDE."""
    scale = min(1.0, WORK_MAP_SIDE / max(width, height))
    return upsample(saliency, max(1, round(width * scale)), max(1, round(height * scale)))
