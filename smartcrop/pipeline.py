"""One image at a time: find inputs, predict a saliency map, crop every target, write, record.

Data flows one way: inputs -> saliency model -> crop search -> writer -> one record per output.
A failure in one image becomes an error record for that image; the batch goes on. Running many
(threads, a cluster) is the engines' job (`smartcrop.engines`).
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from smartcrop import colour, cropping, focus, images, metadata, padding
from smartcrop.faces import FaceDetector, face_array
from smartcrop.images import ImageError, ImageInfo
from smartcrop.options import CropOptions, Target
from smartcrop.saliency import SaliencyModel, work_map
from smartcrop.storage import StoredPath

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".tif", ".tiff",
                    ".bmp", ".mpo", ".avif", ".heic", ".heif", ".hif"}
# The largest side each written format can hold, by output extension (README, "Formats"): an
# output over it fails on its own with this reason, before any encode. libjpeg refuses over
# 65500 (printing a line of its own on stderr), libwebp over 16383, Pillow's libavif over 65536
# (measured: 65536x16 encodes, 65537x16 fails "Invalid argument"), GIF stores 16-bit sizes.
MAX_SIDE = {".jpg": ("JPEG", 65500), ".webp": ("WebP", 16383), ".avif": ("AVIF", 65536),
            ".gif": ("GIF", 65535)}


@dataclass(frozen=True)
class InputItem:
    """One input file and the stem its outputs are named after (relative to OUTPUT)."""

    path: Path | StoredPath  # StoredPath: an object-storage URI (smartcrop.storage)
    stem: Path  # e.g. trips/beach -> out/trips/beach_16x9.jpg
    error: str | None = None  # found but unusable (a folder that could not be listed)


@dataclass(frozen=True)
class ListedOutput:
    """A --from-list path in OUTPUT or in the --save-saliency, --debug or --report folders: left
    out, as a walk leaves those folders out, and reported with the files a walk leaves out."""

    path: Path | StoredPath

    def __str__(self) -> str:
        return str(self.path)


@dataclass
class ImageResult:
    """All records of one input, in target order; `failed` when any output failed."""

    item: InputItem
    records: list[dict] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r["status"] == "error" for r in self.records)


def to_json(obj, **kw) -> str:
    """`obj` as JSON text that encodes as UTF-8 (manifest lines, the report's data). A file name
    that is not UTF-8 reaches Python with its bytes as lone surrogates (surrogateescape); such
    text is written with ASCII escapes (``\\udce9``): still valid JSON, whose string in Python
    turns back into the name's bytes with ``os.fsencode``."""
    text = json.dumps(obj, ensure_ascii=False, **kw)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, **kw)
    return text


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def _is_hidden(rel: Path) -> bool:
    """Whether a path relative to a walked folder is hidden: a part of it starts with a dot."""
    return any(part.startswith(".") for part in rel.parts)


def _is_left_out(name: str) -> bool:
    """A walked file that is not read and should be reported: not an image by its extension,
    and not hidden (dot-files such as .DS_Store are left out silently)."""
    return not name.startswith(".") and not _is_image_name(Path(name))


def _walk(root: Path, skip: set[Path], errors: dict[Path, str], ignored: list) -> Iterator[Path]:
    """Image files under `root`, sorted, following links but visiting each folder once; hidden
    files and folders (names starting with a dot) left out.

    Folders that cannot be listed are yielded too, their reason put in `errors`; files left
    out as not images go to `ignored`.
    """
    seen: set[tuple[int, int]] = set()
    unlisted: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=unlisted.append, followlinks=True):
        while unlisted:
            e = unlisted.pop()
            errors[Path(e.filename)] = f"cannot list folder: {e.strerror or e}"
            yield Path(e.filename)
        here = Path(dirpath)
        st = here.stat()
        if (st.st_dev, st.st_ino) in seen or here.resolve() in skip:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        # Hidden folders (.git, .thumbnails) are not walked, as hidden files are not read; the
        # folder given (`root`) is walked even when hidden.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        # A folder named like an image (x.jpg/) is reported as a bad input, not walked.
        for d in [d for d in dirnames if _is_image_name(Path(d))]:
            dirnames.remove(d)
            yield here / d
        for name in sorted(filenames):
            if _is_image_name(Path(name)):
                yield here / name
            elif _is_left_out(name):
                ignored.append(here / name)
    for e in unlisted:
        errors[Path(e.filename)] = f"cannot list folder: {e.strerror or e}"
        yield Path(e.filename)


def walk_order(rel: Path) -> tuple:
    """Sort key giving a folder walk's order: a folder's files first, then its sub-folders."""
    return (*((1, part) for part in rel.parts[:-1]), (0, rel.name))


def _list_objects(root: StoredPath, skip: Sequence[StoredPath],
                  ignored: list) -> list[tuple[StoredPath, Path]]:
    """Image objects under a prefix (or the one object named), in walk order, outputs left out;
    objects left out as not images go to `ignored`."""
    found, others = [], []
    for obj in root.walk_files():
        if obj == root:
            return [(obj, Path(obj.name))]
        if any(obj.is_relative_to(s) for s in skip) or _is_hidden(obj.relative_to(root)):
            continue  # outputs; hidden objects and "folders", as a folder walk leaves them out
        if _is_image_name(Path(obj.name)):
            found.append((obj, obj.relative_to(root)))
        elif _is_left_out(obj.name):
            others.append(obj)
    ignored += sorted(others, key=lambda o: walk_order(o.relative_to(root)))
    return sorted(found, key=lambda f: walk_order(f[1]))


def _listed_rel(root: Path | StoredPath, entry: str) -> tuple[Path, str | None]:
    """A --from-list entry as a path relative to `root`, and why it cannot be read (None when it
    can). An entry is never read from, or named for an output, outside `root`: one with a
    ``..`` part is refused, and so is a local absolute path that is not under `root`; an object
    key's leading ``/`` is dropped (keys are relative to the prefix)."""
    text = entry
    if isinstance(root, StoredPath) or not os.path.isabs(text):
        text = text.lstrip("/")
    else:
        for base in (root.absolute(), root.resolve()):  # `find "$PWD/in"` names them so
            if Path(text).is_relative_to(base):
                text = Path(text).relative_to(base).as_posix()
                break
        else:
            return Path(Path(text).name or "_"), f"--from-list path is not under INPUT {root}"
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:  # its stem keeps no "..": nothing is named outside OUTPUT, even for an error
        return Path(*[p for p in parts if p != ".."] or ["_"]), "--from-list path leaves INPUT"
    if not parts:
        return Path("_"), "--from-list path names INPUT itself, not a file in it"
    return Path(*parts), None


def _listed(root: Path | StoredPath,
            listed: Sequence[str]) -> list[tuple[Path | StoredPath, Path, str | None]]:
    """Given paths relative to `root` (not checked here: a missing one fails on its own); an
    entry that would lead outside `root` is kept with its reason, to become an error record.
    Blank lines are skipped; other whitespace is part of a name (a key may start with a space)."""
    found = {}
    for entry in listed:
        if entry.strip():
            rel, error = _listed_rel(root, entry)
            path = root / entry if error else root / rel
            found.setdefault(path, (path, rel, error))
    return sorted(found.values(), key=lambda f: walk_order(f[1]))


def collect_inputs(inputs: Sequence[Path | StoredPath], output: Path | StoredPath,
                   skip: Sequence[Path] = (), listed: Sequence[str] | None = None,
                   ignored: list | None = None) -> list[InputItem]:
    """Expand files and folders (local, or object-storage prefixes) into items with
    collision-free output stems.

    Files keep their path relative to the folder given; a file given directly has just its
    name. Stems that would collide get the source extension appended (``a_png``), then a
    counter (``a-2``), in input order, so the same inputs always give the same names.
    `listed` (paths relative to the one input, e.g. a list of object keys) replaces walking
    it, and gives the same names a walk would. Files found in folders but not read (not
    images by their extension; hidden files and folders aside) are appended to `ignored` when
    given, and so are listed paths in OUTPUT or an extras folder (as `ListedOutput`).
    """
    ignored = [] if ignored is None else ignored
    skip_resolved = {p.resolve() for p in (output, *skip) if isinstance(p, Path)}
    found: list[tuple[Path | StoredPath, Path]] = []
    errors: dict[Path, str] = {}
    stored_skip = [p for p in (output, *skip) if isinstance(p, StoredPath)]
    for inp in inputs:
        if listed is not None:
            for path, rel, error in _listed(inp, listed):
                if not error and (any(path.is_relative_to(s) for s in stored_skip)
                                  if isinstance(path, StoredPath) else
                                  any(path.resolve().is_relative_to(s) for s in skip_resolved)):
                    ignored.append(ListedOutput(path))  # an output is never read as an input
                    continue
                found.append((path, rel))
                if error:
                    errors[path] = error
        elif isinstance(inp, StoredPath):
            found += _list_objects(inp, stored_skip, ignored)
        elif inp.is_dir():
            found += [(p, p.relative_to(inp) if p != inp else Path(inp.resolve().name))
                      for p in _walk(inp, skip_resolved, errors, ignored)]
        else:
            found.append((inp, Path(inp.name)))
    stems = [rel.with_suffix("") for _, rel in found]
    # A listed path refused before reading (an error record, no output) takes no name from another.
    refused = set(errors) if listed is not None else set()
    counts = Counter(s.as_posix().casefold() for (path, _), s in zip(found, stems, strict=True)
                     if path not in refused)
    items, used = [], set()
    for (path, rel), stem in zip(found, stems, strict=True):
        if path in refused:
            items.append(InputItem(path, stem, errors[path]))
            continue
        if counts[stem.as_posix().casefold()] > 1 and rel.suffix:
            stem = stem.with_name(f"{stem.name}_{rel.suffix[1:].lower()}")
        base, n = stem, 2
        while stem.as_posix().casefold() in used:
            stem = base.with_name(f"{base.name}-{n}")
            n += 1
        used.add(stem.as_posix().casefold())
        items.append(InputItem(path, stem, errors.get(path)))
    return items


def load_model(options: CropOptions) -> SaliencyModel:
    """One interpreter per job, the cores shared between them, batching as the options say."""
    threads = max(1, (os.cpu_count() or 1) // options.jobs)
    return SaliencyModel(options.weights, threads=threads, workers=options.jobs,
                         batch_size=options.batch_size, flip=options.thorough,
                         ensemble=options.thorough)


def load_detector(options: CropOptions) -> FaceDetector | None:
    """The face detector (one interpreter per job, one thread each), or None with --no-faces;
    with --thorough or --strategy box it also searches each photo's quarters (the box zooms in,
    where faces too small for the whole-photo pass are large)."""
    if not options.faces:
        return None
    return FaceDetector(workers=options.jobs, tiles=options.thorough or options.strategy == "box")


class Cropper:
    """The per-image core for one CropOptions: `process` turns one input into its crops and records.

    Engines (`smartcrop.engines`) decide how many run at once and where.
    """

    def __init__(self, options: CropOptions, output: Path | StoredPath, model: SaliencyModel | None = None,
                 detector: FaceDetector | None = None):
        self.options = options
        self.output = output
        self.model = model or load_model(options)
        self.detector = detector or load_detector(options)
        self.overrides = focus.by_input(options.focus)  # reviewer overrides, by input

    # -- one image ---------------------------------------------------------------------
    def process(self, item: InputItem) -> ImageResult:
        """All records of one input. Never raises for a bad file: failures become error records."""
        result = ImageResult(item)
        try:
            if item.error:
                raise ImageError(item.error)
            result.records = self._process(item)
        except ImageError as e:
            result.records = [self._error(item, t, str(e)) for t in self.options.targets]
        except Exception as e:  # malformed files make Pillow/numpy raise almost anything
            result.records = [self._error(item, t, images.describe(e)) for t in self.options.targets]
        return result

    def _process(self, item: InputItem) -> list[dict]:
        info = images.read_info(item.path, self.options.max_pixels)
        outputs = self._outputs(item, info)
        overrides = self._overrides(item)
        # One existence check per output (a HEAD request on object storage), used twice below;
        # a dry run checks too, so that it reports the refusals the real run would make.
        exists = {t: not self.options.overwrite and p.exists() for t, p in outputs.items()}
        # An overridden output is redone even under --skip-existing: the override is the change.
        todo = [t for t in outputs if not (self.options.skip_existing and exists[t] and not overrides[t])]
        # Existing outputs are refused before any decode, so a rerun without --overwrite is cheap.
        blocked = {t: f"output {outputs[t]} exists (use --overwrite or --skip-existing)"
                   for t in todo if exists[t] and not (self.options.skip_existing and overrides[t])}
        wanted = [t for t in todo if t not in blocked]  # written, or on a dry run would be
        writes = [] if self.options.dry_run else wanted
        extras = self.options.save_saliency or self.options.debug or self.options.report
        if not wanted and not extras:  # no decode, no model
            return [self._record(item, t, info, None, outputs[t], "skipped", overrides[t])
                    if t not in blocked else
                    {**self._record(item, t, info, None, outputs[t], "error", overrides[t]),
                     "error": blocked[t]} for t in self.options.targets]
        # The model's input is made one way only (images.decode_for_model), whatever the flags,
        # so a dry run, --size or --ratio and --jobs all give the same boxes. The crops reuse
        # that decode when it holds enough pixels for them (always for formats other than JPEG).
        decoded = images.decode_for_model(item.path, info)
        unshown = colour.warning(decoded)  # said once per file, with its first output
        small = images.shrink_for_model(decoded, self.model.input_size(*decoded.size))
        saliency = self.model.predict(small)
        # Faces from the same small image (a few ms), in upright full-image pixels; candidates
        # are boxes the detector is unsure of, which the window spares where it costs little
        # (the box strategy does not use them, so they are not looked for).
        faces, candidates = (self.detector.find(small, (info.width, info.height),
                                                candidates=self.options.strategy == "window")
                             if self.detector else (None, []))
        face_rows, unsure = face_array(faces or ()), face_array(candidates)
        animated = info.frames > 1 and outputs[self.options.targets[0]].suffix in (".gif", ".webp")
        work = work_map(saliency, info.width, info.height)
        boxes = {t: self._box(work, info, t, overrides[t], face_rows, unsure) for t in self.options.targets}
        fits = {t: self._fit(work, info, boxes[t], t, overrides[t], face_rows) for t in self.options.targets}
        boxes.update({t: cropping.Box(0, 0, info.width, info.height) for t in fits if fits[t] == "pad"})
        # Outputs that would need too much enlargement, or are too large for their format, fail
        # before any encode (a dry run says so too).
        unfit = {t: self._too_small(boxes[t], t, fits[t], (info.width, info.height))
                 or self._too_large(boxes[t], t, fits[t], outputs[t]) for t in wanted}
        unfit = {t: reason for t, reason in unfit.items() if reason}
        # Before the crops: an overlay that cannot be written fails the input, none written yet.
        self._write_extras(item, info, saliency, boxes, faces, candidates, failed={*blocked, *unfit})
        writes = [t for t in writes if t not in unfit]
        full = None
        if decoded.size == (info.width, info.height):
            full = decoded
        elif writes and not animated:
            need = self._decode_size(info, {t: (boxes[t].width, boxes[t].height) for t in writes}, writes)
            full = decoded if need and decoded.width >= need[0] and decoded.height >= need[1] else None
        del decoded
        failed = {**blocked, **unfit,
                  **self._write_crops(item, info, outputs, boxes, writes, animated, full, fits)}
        records = []
        for t in self.options.targets:
            status = "error" if t in failed else "ok" if t in todo else "skipped"
            rec = self._record(item, t, info, boxes[t], outputs[t], status, overrides[t], fits[t])
            if faces is not None:
                rec["faces"] = [f.as_list() for f in faces]
                rec["face_cut"] = cropping.faces_cut(boxes[t], face_rows)
            if status == "error":
                rec["error"] = failed[t]
            else:
                score = cropping.coverage(work, (info.width, info.height), boxes[t])
                rec["score"] = round(min(1.0, max(0.0, score)), 4)
            if status == "ok":
                size, factor = self._output_size(boxes[t], t, fits[t])
                rec["output_size"] = list(size)
                crop = f"{boxes[t].width}x{boxes[t].height} {'image' if fits[t] == 'pad' else 'crop'}"
                if factor and self.options.upscale:
                    rec["upscale"] = round(factor, 2)
                    rec["warning"] = f"{t.label} upscaled {factor:.2f}x from a {crop}"
                elif factor:
                    rec["warning"] = (f"{t.label} written at {size[0]}x{size[1]}, smaller than asked "
                                      f"(--no-upscale; {factor:.2f}x would be needed)")
                if unshown:
                    rec["warning"] = "; ".join(filter(None, (rec.get("warning"), unshown)))
                    unshown = None
            records.append(rec)
        if self.options.report:  # after the crops: a thumbnail that cannot be written fails none
            note = self._write_thumbnails(item, info, small, saliency, boxes, fits)
            if note:  # one line on stderr per input: on its first record
                first = records[0]
                first["warning"] = f"{first['warning']}; {note}" if first.get("warning") else note
        return records

    def _write_thumbnails(self, item, info, small, saliency, boxes, fits) -> str | None:
        """The input's sprite for --report; a warning when it cannot be written (disk full)."""
        from smartcrop.report import write_thumbnails

        try:
            write_thumbnails(self.options.report, item.stem, small, saliency, (info.width, info.height),
                             [(boxes[t], fits[t], t.aspect) for t in self.options.targets],
                             self.options.background)
        except (ImageError, OSError) as e:
            return f"report thumbnail not written: {e if isinstance(e, ImageError) else images.describe(e)}"
        return None

    def _outputs(self, item: InputItem, info: ImageInfo) -> dict[Target, Path]:
        ext = images.output_extension(info.format, self.options.format)
        return {t: self.output / item.stem.parent / f"{item.stem.name}_{t.tag}{ext}"
                for t in self.options.targets}

    def _overrides(self, item: InputItem) -> dict[Target, focus.Focus | None]:
        entries = self.overrides.get(focus.input_key(item.path), []) if self.overrides else []
        return {t: focus.pick(entries, t, self.options.targets) for t in self.options.targets}

    def _fit(self, work: np.ndarray, info: ImageInfo, box: cropping.Box, target: Target,
             override: focus.Focus | None = None, faces: np.ndarray | None = None) -> str:
        """"crop" or "pad" for one output, as --fit says. auto: by the crop's saliency share and
        whether it loses a face (`padding.faces_lost`); for an overridden output, by whether the
        crop holds the reviewer's box (a point always fits). auto also pads a crop too small for
        `target`'s size within --max-upscale when the whole image is not: an output, not an error."""
        if self.options.fit != "auto":
            return self.options.fit
        if self._over_limit(box, target) and self._pad_fits((info.width, info.height), target):
            return "pad"
        if override:
            return "pad" if override.box and not cropping.contains(box, override.box) else "crop"
        return padding.choose(cropping.coverage(work, (info.width, info.height), box),
                              padding.faces_lost(box, faces) if faces is not None else None)

    def _box(self, work: np.ndarray, info: ImageInfo, target: Target,
             override: focus.Focus | None = None, faces: np.ndarray | None = None,
             candidates: np.ndarray | None = None) -> cropping.Box:
        # The box strategy grows small boxes to the output size rather than upscale later.
        min_size = target.size or (1, 1)
        if override:
            return cropping.focus_box((info.width, info.height), target.aspect, override.point,
                                      override.box, self.options.strategy, min_size)
        return cropping.find_box(work, (info.width, info.height), target.aspect,
                                 self.options.strategy, min_size, faces, candidates=candidates)

    def _write_crops(self, item, info, outputs, boxes, todo, animated, full, fits=None) -> dict[Target, str]:
        """Write the outputs in `todo` (existing ones already refused); returns the reason for
        each output not written. `full` is the image if already decoded. Animations stay
        animated in GIF/WebP (every frame cropped with the same box); other formats get the
        first frame.
        """
        failed: dict[Target, str] = {}
        if not todo:
            return failed
        if animated:
            frames, durations, loop = images.animation_frames(item.path, self.options.max_pixels)
            icc, decoded = None, frames[0].size
        else:
            if full is None:
                sizes = {t: (boxes[t].width, boxes[t].height) for t in todo}
                full = self._load_full(item, info, self._decode_size(info, sizes, todo))
            icc, decoded = full.info.get("icc_profile"), full.size
        fx, fy = decoded[0] / info.width, decoded[1] / info.height
        # --metadata: what outputs carry from the source (smartcrop.metadata; never GPS).
        source = metadata.read_source(item.path) if self.options.metadata != "none" else None
        for t in todo:
            b = boxes[t]
            area = (round(b.left * fx), round(b.top * fy), round((b.left + b.width) * fx),
                    round((b.top + b.height) * fy))
            fit = (fits or {}).get(t, "crop")
            size, _ = self._output_size(b, t, fit)
            meta = metadata.for_output(source, self.options.metadata, size)
            try:
                if fit == "pad" and animated:  # the whole image, letterboxed
                    out = [padding.pad(f, size, self.options.background) for f in frames]
                    images.save_atomic(out, outputs[t], self.options.quality, None, durations, loop,
                                       metadata=meta)
                elif fit == "pad":  # a format without alpha: flattened as a crop is, then padded
                    out = padding.pad(images.flatten_for(full, outputs[t]), size, self.options.background)
                    images.save_atomic(out, outputs[t], self.options.quality, icc, metadata=meta)
                elif animated:
                    out = [images.resize_exact(f, size, area) for f in frames]
                    images.save_atomic(out, outputs[t], self.options.quality, None, durations, loop,
                                       metadata=meta)
                else:
                    out = images.resize_exact(full, size, area)
                    images.save_atomic(out, outputs[t], self.options.quality, icc, metadata=meta)
            except OSError as e:  # unwritable folder, disk full, a folder in the way
                failed[t] = f"cannot write {outputs[t]}: {e.strerror or images.describe(e)}"
            except (ImageError, ValueError, RuntimeError, MemoryError) as e:
                # An encoder's refusal (Pillow's savers raise ValueError or RuntimeError) fails
                # this output only; the temporary file is gone (images.write_atomic).
                failed[t] = f"cannot write {outputs[t]}: {images.describe(e)}"
        return failed

    @staticmethod
    def _load_full(item: InputItem, info: ImageInfo, reduced: tuple[int, int] | None) -> Image.Image:
        """The upright image for the crops, shrunk on load to `reduced` when given (JPEG)."""
        full = images.load_full(item.path, info.orientation, reduced)
        # Only a shrink-on-load decode may differ from the header's size, and only smaller.
        w, h = full.size
        if (w, h) != (info.width, info.height) and not (reduced and w <= info.width and h <= info.height):
            raise ImageError(f"decoded size {w}x{h} differs from the header's "
                             f"{info.width}x{info.height}")
        return full

    def _decode_size(self, info: ImageInfo, box_sizes: dict[Target, tuple[int, int]],
                     todo) -> tuple[int, int] | None:
        """Smallest decode (upright w, h) that still gives every output its full pixel count.

        Only when every output is a --size target: each crop (of the given box size) must keep
        at least its output's pixels, so the image may shrink by the smallest box-to-output
        ratio (JPEG only).
        """
        if not all(t.size for t in todo):
            return None
        factor = min(min(box_sizes[t][0] / t.size[0], box_sizes[t][1] / t.size[1]) for t in todo)
        if factor < 2:
            return None
        return math.ceil(info.width / factor), math.ceil(info.height / factor)

    def _output_size(self, box: cropping.Box, target: Target,
                     fit: str = "crop") -> tuple[tuple[int, int], float | None]:
        """The size written for `box`, and the enlargement that needs (None when none)."""
        if fit == "pad":  # the canvas holding the whole image stands in for the crop box
            box = cropping.Box(0, 0, *padding.canvas_size(box.width, box.height, target.aspect))
        if not target.size:
            return (box.width, box.height), None
        w, h = target.size
        factor = max(w / box.width, h / box.height)
        if factor <= 1:
            return (w, h), None
        return ((w, h) if self.options.upscale else (box.width, box.height)), factor

    def _over_limit(self, box: cropping.Box, target: Target, fit: str = "crop") -> float | None:
        """The enlargement reaching the target's size needs, when over --max-upscale; else None."""
        _, factor = self._output_size(box, target, fit)
        if not factor or not self.options.upscale or factor <= self.options.max_upscale:
            return None
        return factor

    def _pad_fits(self, image_size: tuple[int, int], target: Target) -> bool:
        """Whether the whole image, padded, reaches the target's size within --max-upscale."""
        return self._over_limit(cropping.Box(0, 0, *image_size), target, "pad") is None

    def _too_small(self, box: cropping.Box, target: Target, fit: str,
                   image_size: tuple[int, int]) -> str | None:
        """Why the output fails when reaching its size needs more than --max-upscale. The
        message points to --fit pad only where padding the image would fit."""
        factor = self._over_limit(box, target, fit)
        if factor is None:
            return None
        pad_helps = fit != "pad" and self._pad_fits(image_size, target)
        return (f"{'image' if fit == 'pad' else 'crop'} {box.width}x{box.height} is too small for "
                f"{target.label}: {factor:.2f}x upscale is over the limit of "
                f"{self.options.max_upscale:g}x (see --max-upscale, --no-upscale"
                f"{', --fit pad' if pad_helps else ''})")

    def _too_large(self, box: cropping.Box, target: Target, fit: str, output) -> str | None:
        """Why the output fails when its size is over what its format can hold (MAX_SIDE)."""
        fmt, limit = MAX_SIDE.get(output.suffix.lower(), (None, None))
        (w, h), _ = self._output_size(box, target, fit)
        if limit is None or max(w, h) <= limit:
            return None
        return (f"cannot write {output}: {fmt} images are at most {limit} pixels a side, "
                f"this one is {w}x{h}")

    def _write_extras(self, item, info, saliency, boxes, faces=None, candidates=(), failed=()) -> None:
        """The saliency map (8-bit PNG, the upright image's size) and the debug overlay, if asked;
        the overlay marks the boxes of the `failed` targets (outputs refused before writing)."""
        if self.options.save_saliency:
            from smartcrop.saliency import to_png_array

            # Scaled in 8 bits: a float map the size of a 100-megapixel photo would need 800 MB.
            small = Image.fromarray(to_png_array(saliency))
            full_map = small.resize((info.width, info.height), Image.Resampling.BILINEAR)
            peak = full_map.getextrema()[1]
            if 0 < peak < 255:  # interpolation can shave the peak: keep the maximum at 255
                full_map = full_map.point(lambda v: round(v * 255 / peak))
            path = self.options.save_saliency / item.stem.parent / f"{item.stem.name}.png"
            self._save_extra(full_map, path)
        if self.options.debug:
            from smartcrop.overlay import VIEW_SIDE, draw_overlay

            path = self.options.debug / item.stem.parent / f"{item.stem.name}.jpg"
            view = images.load_for_model(item.path, info, (VIEW_SIDE, VIEW_SIDE))
            overlay = draw_overlay(view, saliency, (info.width, info.height),
                                   {t.label: b for t, b in boxes.items()}, faces or (), candidates,
                                   failed={t.label for t in failed})
            self._save_extra(overlay, path)

    @staticmethod
    def _save_extra(im: Image.Image, path: Path) -> None:
        try:
            images.save_atomic(im, path, 90)
        except OSError as e:
            raise ImageError(f"cannot write {path}: {e.strerror or images.describe(e)}") from None

    def _record(self, item, target, info, box, output, status, override=None, fit="crop") -> dict:
        written = status == "ok" and not self.options.dry_run
        return {
            "input": str(item.path),
            "output": str(output) if written or status == "skipped" else None,
            **target.record_fields(),
            "box": box.as_list() if box else None,
            "image_size": [info.width, info.height],
            "strategy": self.options.strategy,
            "score": None,
            "status": status,
            "error": None,
            "fit": fit if box else None,
            "source": "focus" if override else "model",
            "focus": override.fingerprint if override else None,
            "faces": None,  # face boxes [left, top, width, height] found (None: not looked for)
            "face_cut": None,  # how many of them the crop cuts
        }

    def _error(self, item: InputItem, target: Target, reason: str) -> dict:
        return {"input": str(item.path), "output": None, **target.record_fields(), "box": None,
                "image_size": None, "strategy": self.options.strategy, "score": None,
                "status": "error", "error": reason, "fit": None, "source": "model", "focus": None,
                "faces": None, "face_cut": None}
