"""``smartcrop``: the command line. Parses and checks options, runs the batch, reports."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import warnings
from pathlib import Path

import click

from smartcrop import __version__
from smartcrop.options import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_UPSCALE,
    FITS,
    FORMATS,
    METADATA,
    STRATEGIES,
    CropOptions,
    parse_size,
    to_ratio,
)


def _targets(ctx, param, values):
    parse = to_ratio if param.name == "ratio" else parse_size  # --ratio 1080x1080: a hint
    try:
        return tuple(parse(v) for v in values)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _background(ctx, param, value):
    """--background checked where a bad value can be traced to the config file that gave it."""
    from smartcrop.options import valid_background

    if not valid_background(value):
        raise click.BadParameter(f"{value!r} is not auto, blur or a colour #rrggbb")
    return value


def _finite(value: float) -> float:
    if value == float("inf"):  # FloatRange(1.0) lets it through
        raise click.BadParameter(f"{value} is not a finite number")
    return value


class _Command(click.Command):
    """The command, whose bad option values name the config file when it gave them."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from click.core import ParameterSource

        try:
            return super().parse_args(ctx, args)
        except click.BadParameter as e:
            param = e.param
            if param is None or param.name is None or param.name == "config" \
                    or ctx.get_parameter_source(param.name) is not ParameterSource.DEFAULT_MAP:
                raise
            path = ctx.meta.get("smartcrop.config", "the config file")
            key = next((o[2:] for o in param.opts if o.startswith("--")), param.name)
            raise click.UsageError(f"{path}: invalid value for {key!r}: {e.message}", ctx) from None


EXISTS = "exists (use --overwrite or --skip-existing)"


class _Reporter:
    """Writes manifest lines, per-file errors and warnings, the progress bar; counts outputs."""

    def __init__(self, manifest, quiet: bool, verbose: bool, report=None):
        self.manifest = manifest
        self.report = report  # a smartcrop.report.ReportWriter, or None
        self.quiet = quiet
        self.verbose = verbose
        self.counts = {"ok": 0, "skipped": 0, "exists": 0, "error": 0, "upscaled": 0}
        self.first_existing: str | None = None
        self.bar = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(unit="img", file=sys.stderr, leave=False)

    def planned(self, items, ignored=(), empty=()) -> None:
        """The batch's input list is known: it sets the progress bar's total and says what the
        walk left out (one warning line) and which input folders held no image (one each)."""
        if self.bar is not None:
            self.bar.total = len(items)
            self.bar.refresh()
        for line in [*_ignored_lines(ignored), *empty]:
            if line:
                self._echo(line)

    def __call__(self, result) -> None:
        if self.manifest:
            from smartcrop.pipeline import to_json

            for rec in result.records:
                self.manifest.write(to_json(rec) + "\n")
            self.manifest.flush()
        if self.report is not None:
            self.report.add(result.item.stem, result.records)
        verbose = self.verbose and not self.quiet  # -q -v: quiet wins
        said = set()  # one error line per failed file (per distinct reason)
        for r in result.records:  # lines in the order of the records: the run's targets
            if r["status"] == "error" and r["error"].endswith(EXISTS):  # one line at the end
                self.counts["exists"] += 1
                self.first_existing = self.first_existing or (
                    r["error"].removesuffix(EXISTS).removeprefix("output ").strip())
            else:
                self.counts[r["status"]] += 1
                if r["status"] == "error" and not verbose and r["error"] not in said:
                    said.add(r["error"])
                    self._echo(f"smartcrop: error: {result.item.path}: {r['error']}", always=True)
            self.counts["upscaled"] += bool(r.get("upscale"))
            if r.get("warning"):
                self._echo(f"smartcrop: warning: {result.item.path}: {r['warning']}")
            if verbose:  # a line per output, a failed one's the error line (with its target)
                self._echo(_verbose_line(r))
        if self.bar is not None:
            self.bar.update(1)

    def _echo(self, line: str, always: bool = False) -> None:
        if always or not self.quiet:
            if self.bar is not None:
                self.bar.write(line, file=sys.stderr)
            else:
                click.echo(line, err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def summary(self, images: int, seconds: float, dry_run: bool) -> str:
        """The closing line; every count is of outputs, and they add up to the outputs asked."""
        c = self.counts
        total = sum(c[k] for k in ("ok", "skipped", "exists", "error"))
        parts = [f"{c['ok']} {'would be written' if dry_run else 'written'}"
                 + (f" ({c['upscaled']} upscaled)" if c["upscaled"] else "")]
        parts += [f"{c['skipped']} skipped (exist)"] if c["skipped"] else []
        parts += [f"{c['error']} failed"]
        # They make the exit status 1 as failures do: the line says why, and what to give.
        parts += [f"{c['exists']} {'would not be' if dry_run else 'not'} written "
                  f"(exist: --skip-existing or --overwrite)"] if c["exists"] else []
        counted = f"{images} image{'s' * (images != 1)}, {total} output{'s' * (total != 1)}"
        return f"smartcrop: {counted}: {', '.join(parts)}, {seconds:.1f} s"

    def existing_line(self, dry_run: bool = False) -> str | None:
        """One line for all outputs that exist and were left alone (a rerun without a flag); a
        dry run says they would be."""
        n = self.counts["exists"]
        if not n:
            return None
        verb = "would not be" if dry_run else "were not" if n > 1 else "was not"
        them = "them" if n > 1 else "it"
        return (f"smartcrop: error: {n} output{'s exist' if n > 1 else ' exists'} already "
                f"({self.first_existing}{' and others' if n > 1 else ''}) and {verb} "
                f"replaced: rerun with --overwrite to replace {them} or --skip-existing to keep {them}")


def _ignored_lines(ignored) -> list[str]:
    """The warnings for what was found but not read: the files in input folders that are not
    images by their extension, and the --from-list paths in output folders."""
    from smartcrop.pipeline import ListedOutput

    outputs = [p for p in ignored if isinstance(p, ListedOutput)]
    lines = [_ignored_line([p for p in ignored if not isinstance(p, ListedOutput)])]
    if outputs:
        n = len(outputs)
        lines.append(f"smartcrop: warning: {n} {'path' if n == 1 else 'paths'} in --from-list "
                     f"{'is' if n == 1 else 'are'} in OUTPUT or a --save-saliency, --debug or "
                     f"--report folder and {'was' if n == 1 else 'were'} left out, as a walk leaves "
                     f"those folders out (e.g. {outputs[0]})")
    return [line for line in lines if line]


def _ignored_line(ignored) -> str | None:
    """One warning for the files found in input folders but not read (not images by their
    extension): how many, which extensions, and the first one as an example."""
    if not ignored:
        return None
    exts = sorted({p.suffix.lower() or "no extension" for p in ignored})
    shown = ", ".join(exts[:8]) + (f" and {len(exts) - 8} more" if len(exts) > 8 else "")
    what = ("1 file in the input folders is not an image by its extension and was" if len(ignored) == 1
            else f"{len(ignored)} files in the input folders are not images by their extension and were")
    return f"smartcrop: warning: {what} left out ({shown}; e.g. {ignored[0]})"


def _empty_lines(inputs, items, from_list=None, ignored=()) -> list[str]:
    """A warning for each input folder (or prefix) in which nothing was found to crop, so that
    a mistyped folder shows; with --from-list, one when the list names nothing (paths left out
    as outputs have their own line). Not an error: a nightly run with nothing new is a normal run."""
    from smartcrop.storage import StoredPath

    if from_list is not None:
        return [] if items or ignored else [f"smartcrop: warning: --from-list {from_list} names no paths"]

    def under(path, folder) -> bool:
        if isinstance(folder, StoredPath):
            return isinstance(path, StoredPath) and path.is_relative_to(folder)
        return isinstance(path, Path) and path.is_relative_to(folder)

    lines = []
    for inp in inputs:
        if not any(under(it.path, inp) for it in items):
            where = f"in {inp}" if isinstance(inp, Path) else f"under {inp}"
            lines.append(f"smartcrop: warning: no images {where.rstrip('/')}/")
    return lines


def _verbose_line(r: dict) -> str:
    """`-v`: one line per output, without Python's None; a failed output's is its error line,
    which names the target too (it takes the place of the error line per failed file)."""
    target = r.get("ratio") or "x".join(map(str, r.get("size") or []))
    if r["status"] == "error":
        return f"smartcrop: error: {r['input']} [{target}]: {r['error']}"
    where = r["output"] or "(dry run, not written)"
    box = f" box {r['box']}" if r["box"] else ""
    size = f" {r['output_size'][0]}x{r['output_size'][1]}" if r.get("output_size") else ""
    return f"{r['input']} -> {where} [{target}]{box}{size} {r['status']}"


def _check_focus(options: CropOptions, items) -> None:
    """--focus lines against the batch (inputs, image sizes, targets), before any work."""
    from smartcrop import focus
    from smartcrop.images import ImageError, read_info

    def size(path):
        try:
            info = read_info(path, options.max_pixels)
        except ImageError as e:  # the file's own error record will say why
            raise ValueError(str(e)) from None
        return info.width, info.height

    try:
        focus.check(options.focus, [it.path for it in items], options.targets, size)
    except ValueError as e:
        raise click.UsageError(str(e)) from None


def _presets(ctx, param, values):
    """--preset NAME... -> size targets; --preset list prints the table and exits."""
    from smartcrop import presets

    if any(v.strip().lower() == "list" for v in values):
        click.echo(presets.listing())
        ctx.exit(0)
    try:
        return presets.expand(values)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _config(ctx, param, value):
    """--config FILE, else ./smartcrop.toml when there is one: its values become the defaults,
    so flags on the command line win. Unknown keys are a usage error naming the key."""
    from smartcrop import config

    path = value
    if path is None and Path(config.DEFAULT_NAME).is_file():
        path = Path(config.DEFAULT_NAME)
        ctx.meta["smartcrop.found_config"] = path  # said on stderr: a stray file is no surprise
    if path is None:
        return None
    ctx.meta["smartcrop.config"] = path  # named when two of its values exclude each other
    keys = {}
    for p in ctx.command.params:
        longs = [o for o in p.opts if o.startswith("--")]
        if isinstance(p, click.Option) and p.expose_value and longs and p.name != "config":
            keys[longs[0][2:]] = (p.name, p.multiple, _config_kind(p))
    try:
        ctx.default_map = {**(ctx.default_map or {}), **config.to_defaults(config.read(path), keys, path)}
    except config.BadValue as e:  # as a value the option refuses: "ci.toml: invalid value for ..."
        raise click.UsageError(str(e), ctx) from None
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None
    return path


def _config_kind(p: click.Option) -> str:
    """What TOML type the option takes from a config file (see smartcrop.config.KINDS)."""
    if p.is_flag:
        return "flag"
    if p.name == "ratio":  # ratio = 1.91, as --ratio 1.91
        return "ratio"
    if isinstance(p.type, click.types.IntParamType):
        return "int"
    if isinstance(p.type, click.types.FloatParamType):
        return "number"
    if isinstance(p.type, (click.Path, click.File, _Location)):
        return "path"
    return "string"


# Options that clash: two names, whether their values clash, and the usage error when the config
# file alone gives the clash (None: it stands, as it would on the command line). Each option has
# an explicit default, the value it goes back to (click 8.3 leaves a flag's default unset).
_CLASHES = (
    ("skip_existing", "overwrite", lambda skip, overwrite: skip and overwrite,
     "skip-existing and overwrite are both set in {path}, and they exclude each other: remove one"),
    ("engine", "ray_address", lambda engine, address: bool(address) and engine != "ray",
     'ray-address is set in {path}, and it needs engine = "ray" (in the file, or --engine ray)'),
    ("quiet", "verbose", lambda quiet, verbose: quiet and verbose, None),  # quiet wins, as with -q -v
)


def _settle_config_clashes(ctx: click.Context, values: dict) -> None:
    """Settle clashing options in `values` (parameter name -> value, changed in place). One from
    the command line and one from the config file: the file only sets defaults, so its option
    goes back to the built-in default. Only from the file: a usage error naming it. Both from
    the command line: left to the usual checks."""
    from click.core import ParameterSource

    params = {p.name: p for p in ctx.command.params}
    for a, b, clash, file_error in _CLASHES:
        if not clash(values[a], values[b]):
            continue
        source = {n: ctx.get_parameter_source(n) for n in (a, b)}
        for given, dropped in ((a, b), (b, a)):
            if source[given] is ParameterSource.COMMANDLINE \
                    and source[dropped] is ParameterSource.DEFAULT_MAP:
                values[dropped] = params[dropped].default
        if file_error and clash(values[a], values[b]) \
                and ParameterSource.COMMANDLINE not in source.values():
            path = ctx.meta.get("smartcrop.config", "the config file")
            raise click.UsageError(file_error.format(path=path))


class _Location(click.ParamType):
    """A local path (checked as click.Path would) or an object-storage URI (s3://, gs://)."""

    name = "path"

    def __init__(self, local: click.Path):
        self.local = local

    def convert(self, value, param, ctx):
        from smartcrop.storage import StoredPath, is_uri, mangled_uri

        if isinstance(value, (Path, StoredPath)):
            return value
        uri = None if is_uri(value) else mangled_uri(Path(value))
        if uri:  # s3:/bucket: a slash short, and pathlib would make it a folder named s3:
            self.fail(f"{value} is not a URI (one slash short): write {uri}", param, ctx)
        if not is_uri(value):
            if param is not None and param.name == "output" and Path(value).is_file():
                self.fail(f"{value} is a file, and OUTPUT (the last argument) must be a folder: "
                          f"give the output folder after the inputs", param, ctx)
            return self.local.convert(value, param, ctx)
        try:
            return StoredPath(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


class _OptionPath(click.Path):
    """An option's path value: one that reads as an option (``--debug --thorough``) is refused,
    since the option it swallowed would otherwise be dropped without a word; so is a URI
    (``s3://b/m.jsonl``), which would be written as a local folder named ``s3:``."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value.startswith("--"):
            self.fail(f"{value!r} is an option, not a path: put the path right after "
                      f"{param.opts[0]} (or write ./{value} for a path of that name)", param, ctx)
        if isinstance(value, str) and "://" in value:
            scheme = value.split("://", 1)[0]
            article = "an" if scheme[:1].lower() in "aefhilmnorsx" else "a"  # an s3://, a gs://
            self.fail(f"{param.opts[0]} takes a local path, not {article} {scheme}:// URI", param, ctx)
        return super().convert(value, param, ctx)


def _check_storage(inputs, output, engine) -> None:
    """Usage errors for what the run needs but the install lacks, or a URI that names nothing."""
    from smartcrop.storage import StoredPath

    if engine == "ray" and not all(importlib.util.find_spec(m) for m in ("ray", "pyarrow")):
        raise click.UsageError("--engine ray needs the ray extra: pip install 'smartcrop[ray]'")
    uris = [p for p in (*inputs, output) if isinstance(p, StoredPath)]
    if uris and importlib.util.find_spec("pyarrow") is None:
        raise click.UsageError(f"{uris[0]}: object storage needs pyarrow: pip install 'smartcrop[s3]'")
    for inp in inputs:
        if isinstance(inp, StoredPath) and not _stored(inp, StoredPath.found):
            raise click.UsageError(f"input {inp} does not exist (no such object or prefix)")
    if isinstance(output, StoredPath):  # its bucket: else every image is read and cropped, then not written
        bucket = StoredPath(f"{output.scheme}://{output.bucket}")
        if not _stored(bucket, lambda p: p.is_dir(), f"OUTPUT {output}"):
            raise click.UsageError(f"OUTPUT {output}: bucket {bucket} does not exist")


def _stored(location, question, name=None):
    """`question(location)` asked of object storage before any work: in a thread of its own,
    so that Ctrl-C stops the wait at once, and given up after storage.CHECK_SECONDS. An error
    is a usage error naming the URI (or `name`), in one line."""
    from smartcrop import storage

    try:
        return storage.interruptible(question, location, timeout=storage.CHECK_SECONDS)
    except TimeoutError as e:
        raise click.UsageError(f"cannot open {name or location}: {e} (is the endpoint right? "
                               f"AWS_ENDPOINT_URL for S3-compatible stores)") from None
    except OSError as e:
        raise click.UsageError(f"cannot open {name or location}: {storage.reason(e)}") from None


def _same_folder(a, b) -> bool:
    """Whether two folders are one: local paths once resolved (links, ``..``), URIs as written."""
    if isinstance(a, Path) and isinstance(b, Path):
        return a.resolve() == b.resolve()
    return str(a).rstrip("/") == str(b).rstrip("/")


def _check_extras(output, save_saliency, debug, report=None) -> None:
    """--save-saliency, --debug and --report's thumbnail folder (HTML_files/) each need a folder
    of their own: in OUTPUT, the overlay of a_1x1.jpg and the 1:1 crop of a.jpg would both be
    a_1x1.jpg, one silently replacing the other; an overlay and a sprite are both a.jpg."""
    for flag, folder, what in (("--save-saliency", save_saliency, "a saliency map"),
                               ("--debug", debug, "an overlay")):
        if folder and _same_folder(folder, output):
            raise click.UsageError(f"{flag} folder {folder} is also the output folder: {what} and "
                                   f"a crop could get the same name (give {flag} a folder of its own)")
    if save_saliency and debug and _same_folder(save_saliency, debug):
        raise click.UsageError(f"--save-saliency and --debug are the same folder {debug}: give each "
                               f"a folder of its own")
    if report:
        from smartcrop.report import files_dir

        thumbs = files_dir(report)
        if _same_folder(output, thumbs):
            raise click.UsageError(f"--report {report} keeps its thumbnails in {thumbs}, which is "
                                   f"also the output folder: a sprite and a crop could get the same "
                                   f"name (give the report another name or folder)")
        for flag, folder, what in (
                ("--save-saliency", save_saliency, "the maps would be mixed with the report's files"),
                ("--debug", debug, "an overlay and a sprite get the same name, one replacing the other")):
            if folder and _same_folder(folder, thumbs):
                raise click.UsageError(f"{flag} folder {folder} is also --report's thumbnail folder: "
                                       f"{what} (give {flag} a folder of its own)")


def _unwritable(folder: Path) -> str | None:
    """Why `folder` could not be made or written into, else None. Nothing is created: the
    nearest part of the path that exists must be a folder this process can write in."""
    for p in (folder, *folder.parents):
        if p.exists():
            if not p.is_dir():
                return f"{p} is not a folder"
            if not os.access(p, os.W_OK | os.X_OK):
                return f"{p} is not writable (permission denied)"
            return None
    return None


def _check_report(report: Path) -> None:
    """--report names a file whose folder and thumbnail folder (HTML_files/) can be made and
    written: checked before any work and before OUTPUT is made (a usage error, exit 2)."""
    from smartcrop.report import files_dir

    if str(report) == "-":
        raise click.UsageError("--report needs a file path (its thumbnails go to a folder beside it), "
                               "not '-'")
    for folder in (report.parent, files_dir(report)):
        reason = _unwritable(folder)
        if reason:
            raise click.UsageError(f"cannot write --report {report}: {reason}")


def _terminate(signum, frame):
    raise KeyboardInterrupt  # unwinds like Ctrl-C, so temporary files are removed


@click.command(cls=_Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1, metavar="INPUTS...",
                type=_Location(click.Path(exists=True, path_type=Path)))
@click.argument("output", type=_Location(click.Path(file_okay=False, path_type=Path)))
@click.option("--ratio", "ratio", multiple=True, callback=_targets, metavar="W:H",
              help="Aspect ratio to crop to: 16:9, 16x9, 1.91:1 or 1.91. Repeatable.")
@click.option("--size", "size", multiple=True, callback=_targets, metavar="WxH",
              help="Crop to this aspect, then resize to exactly WxH (enlarging a smaller crop, with a "
                   "warning). Repeatable.")
@click.option("--config", "config", type=_OptionPath(dir_okay=False, path_type=Path), callback=_config,
              is_eager=True, expose_value=False,  # before --preset: it sets defaults metavar="FILE",
              help="TOML file of option values (keys are the long option names); default: "
                   "./smartcrop.toml when present. Flags override it.")
@click.option("--preset", "preset", multiple=True, callback=_presets, is_eager=True, metavar="NAME",
              help="Sizes for a platform: instagram, instagram-story, facebook, x, linkedin, "
                   "pinterest, youtube, og ... ('--preset list' shows them all). Repeatable.")
@click.option("--strategy", type=click.Choice(STRATEGIES), default="window", show_default=True,
              help="window: largest window of the ratio at maximum saliency; box: best-IoU box around "
                   "the salient region and its peak, grown to the ratio (may zoom in; it also "
                   "searches each photo's quarters for smaller faces, about 17 ms more per photo).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="keep", show_default=True,
              help="Output format; keep writes the input's format (HEIC becomes JPEG, formats not "
                   "written here PNG).")
@click.option("--quality", type=click.IntRange(1, 100), default=90, show_default=True,
              help="JPEG/WebP/AVIF quality.")
@click.option("--metadata", type=click.Choice(METADATA), default="none", show_default=True,
              help="What outputs carry from the source: none; rights (EXIF Artist/Copyright, XMP/IPTC "
                   "creator, rights, credit); all (EXIF and XMP). Never GPS.")
@click.option("--upscale/--no-upscale", default=True, show_default=True,
              help="Enlarge crops smaller than --size to exactly WxH (each one warned about); "
                   "--no-upscale writes them at the crop's size instead.")
@click.option("--max-upscale", type=click.FloatRange(1.0), default=DEFAULT_MAX_UPSCALE, show_default=True,
              callback=lambda ctx, param, value: _finite(value),
              metavar="FACTOR", help="An output that needs a larger enlargement than this fails.")
@click.option("--manifest", type=_OptionPath(dir_okay=False, allow_dash=True, path_type=Path),
              help="Write JSON Lines records, one per output ('-' for stdout).")
@click.option("--save-saliency", type=_OptionPath(file_okay=False, path_type=Path), metavar="DIR",
              help="Save each saliency map as an 8-bit PNG the size of the upright input.")
@click.option("--debug", type=_OptionPath(file_okay=False, path_type=Path), metavar="DIR",
              help="Save an overlay per input: heat map and labelled crop boxes.")
@click.option("--dry-run", is_flag=True, help="Compute and report, write no crops.")
@click.option("--skip-existing", is_flag=True, default=False,
              help="Leave outputs that exist alone (resume a batch).")
@click.option("--overwrite", is_flag=True, default=False,
              help="Replace outputs that exist (default: report an error).")
@click.option("--weights", type=click.Path(exists=True, path_type=Path),
              help="Another saliency model (.tflite, or a folder holding saliency.tflite).")
@click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Model instances running at once, each on cpu_count/N threads.")
@click.option("--batch-size", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Images per model call (N x jobs images in flight).")
@click.option("--max-pixels", type=click.IntRange(1), default=DEFAULT_MAX_PIXELS, show_default=True,
              help="Refuse images with more pixels than this, before decoding.")
@click.option("--report", type=_OptionPath(dir_okay=False, path_type=Path), metavar="HTML",
              help="Write a review page for the batch (flagged crops first); thumbnails go to "
                   "HTML_files/ beside it.")
@click.option("--focus", "focus_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              metavar="FILE", help="Overrides, CSV or JSON Lines: input,x,y or input,left,top,width,height "
                   "[,target] in upright pixels. Overridden outputs are redone even with --skip-existing.")
@click.option("--fit", type=click.Choice(FITS), default="crop", show_default=True,
              help="pad: letterbox the whole image into the target; auto: pad only when the crop "
                   "would lose too much (a face cut, a prominent face left out, or under 65% of the "
                   "saliency), or is too small for --size within --max-upscale while the whole "
                   "image is not.")
@click.option("--background", default="auto", show_default=True, metavar="blur|#rrggbb|auto",
              callback=_background,
              help="Behind padded images: the photo blurred and darkened, a colour, or auto (the "
                   "border's colour when it is plain, else blur).")
@click.option("--engine", type=click.Choice(("local", "ray")), default="local", show_default=True,
              help="local: threads in this process. ray: a Ray cluster (pip install 'smartcrop[ray]').")
@click.option("--ray-address", default=None, metavar="ADDR",
              help="Join this Ray cluster (e.g. auto, 10.0.0.5:6379); default: start a local one.")
@click.option("--from-list", type=click.File("r", encoding="utf-8"), metavar="FILE",
              help="Paths or object keys relative to the one INPUT, one a line ('-' for stdin), "
                   "instead of walking or listing it.")
@click.option("--faces/--no-faces", default=True, show_default=True,
              help="Detect faces and keep them whole: crops avoid cutting through a face, and the "
                   "manifest lists the faces and how many each crop cuts.")
@click.option("--thorough", is_flag=True,
              help="Slower, better crops: the saliency map is the mean of two models' maps, each "
                   "averaged with its mirror image's, and each photo's quarters are searched for "
                   "smaller faces (about 50 ms more per photo on one core).")
@click.option("-q", "--quiet", is_flag=True, default=False, help="Only errors on stderr.")
@click.option("-v", "--verbose", is_flag=True, default=False, help="A line per output on stderr.")
@click.version_option(__version__, "--version", prog_name="smartcrop")
def main(inputs, output, ratio, size, strategy, fmt, quality, upscale, max_upscale, manifest, save_saliency,
         debug, dry_run, skip_existing, overwrite, weights, jobs, batch_size, max_pixels, report, focus_file,
         fit, background, faces, thorough, engine, ray_address, from_list, quiet, verbose, preset, metadata):
    """Crop photos to the part people look at.

    INPUTS are image files and/or folders (walked recursively); OUTPUT is the output folder
    (created if missing). Outputs mirror the input's sub-folders:
    out/trips/beach_16x9.jpg, out/trips/beach_1080x1350.jpg. Both may be object-storage URIs
    (s3://bucket/prefix, gs://...; endpoint and credentials from the AWS_* environment).

    Exit status: 0 all done, 1 some input failed (the rest were still done), 2 usage error,
    130 interrupted.
    """
    ctx = click.get_current_context()
    found = ctx.meta.get("smartcrop.found_config")
    clashing = {"skip_existing": skip_existing, "overwrite": overwrite, "engine": engine,
                "ray_address": ray_address, "quiet": quiet, "verbose": verbose}
    _settle_config_clashes(ctx, clashing)  # before anything uses them: --quiet decides the next line
    skip_existing, overwrite, engine, ray_address, quiet, verbose = clashing.values()
    if found and not quiet:
        click.echo(f"smartcrop: options from ./{found} (flags override it)", err=True)
    if not inputs:  # click gave the only path to OUTPUT: it is the output folder that is missing
        raise click.UsageError(f"Missing argument 'OUTPUT': give the output folder after the inputs "
                               f"(smartcrop {output} OUT/ ...)")
    try:
        from smartcrop.focus import read_focus

        overrides = read_focus(focus_file) if focus_file else ()
        options = CropOptions(
            targets=ratio + size + tuple(t for t in preset if t not in size),  # a preset = its --size
            strategy=strategy, format=fmt, quality=quality,
            upscale=upscale, dry_run=dry_run, skip_existing=skip_existing, overwrite=overwrite,
            save_saliency=save_saliency, debug=debug, weights=weights, jobs=jobs,
            batch_size=batch_size, max_pixels=max_pixels, report=report, focus=overrides, fit=fit,
            background=background, max_upscale=max_upscale, metadata=metadata, faces=faces,
            thorough=thorough,
        )
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    extras = [p for p in (save_saliency, debug) if p]
    if report:
        _check_report(report)
    _check_extras(output, save_saliency, debug, report)
    if ray_address and engine != "ray":
        raise click.UsageError("--ray-address needs --engine ray")
    if from_list and len(inputs) != 1:
        raise click.UsageError("--from-list takes exactly one INPUT, the folder or prefix it lists")
    if manifest and str(manifest) != "-":  # opened only once the batch is planned and checked
        reason = _unwritable(manifest.parent)
        if reason:
            raise click.ClickException(f"cannot write --manifest {manifest}: {reason}")
    if focus_file and not all(isinstance(p, Path) for p in inputs):
        raise click.UsageError("--focus works with local inputs only, not s3:// or gs:// URIs")
    try:
        _check_storage(inputs, output, engine)
    except KeyboardInterrupt:
        click.echo("smartcrop: interrupted; nothing was written", err=True)
        sys.exit(130)
    for inp in inputs:  # outputs are never read back as inputs, so this would find nothing
        if any(_same_folder(inp, p) for p in (output, *extras)):
            raise click.UsageError(f"input folder {inp} is also an output folder")

    # Pillow warns about damaged files ("Corrupt EXIF data"); the error line per file is the report.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
    from smartcrop.allocator import keep_freed_blocks
    from smartcrop.engines import local
    from smartcrop.pipeline import load_detector, load_model  # the runtime loads only now

    keep_freed_blocks()

    try:
        model = load_model(options)  # for the ray engine too: bad weights fail before a cluster starts
        detector = load_detector(options)  # a missing face model fails here too
        # One path a line, split on "\n" only (str.splitlines also splits on \x0c, \x85,
        # \u2028, which a key may hold); a CRLF file's "\r" is dropped, other whitespace kept.
        listed = [line.removesuffix("\r") for line in from_list.read().split("\n")] if from_list else None
    except (ValueError, OSError, RuntimeError) as e:
        raise click.ClickException(str(e)) from None
    page = None
    if report:
        from smartcrop.report import ReportWriter

        page = ReportWriter(report, [t.label for t in options.targets])
    reporter = _Reporter(None, quiet, verbose, page)

    started = []

    def planned(items, ignored):
        """The input list is known: the checks that need it first (--focus), and only once they
        pass is anything written: the manifest opened (an earlier one replaced), the report's
        folders and OUTPUT made. A usage error here leaves every file as it was."""
        try:
            if options.focus:
                _check_focus(options, items)
            try:
                if manifest:  # its folder is created as --debug's is; opened before OUTPUT is made
                    if str(manifest) != "-":
                        manifest.parent.mkdir(parents=True, exist_ok=True)
                    reporter.manifest = (sys.stdout if str(manifest) == "-"
                                         else manifest.open("w", encoding="utf-8"))
                if report:  # checked above; made now, so that a problem shows before any crop
                    from smartcrop.report import files_dir

                    files_dir(report).mkdir(parents=True, exist_ok=True)
                if not dry_run:
                    output.mkdir(parents=True, exist_ok=True)
            except (ValueError, OSError, RuntimeError) as e:
                raise click.ClickException(str(e)) from None
        except click.ClickException:
            reporter.close()  # the progress bar, on a terminal
            raise
        started.append(True)
        reporter.planned(items, ignored, _empty_lines(inputs, items, from_list and (
            "-" if from_list.name == "<stdin>" else from_list.name), ignored))

    page_failed = []

    def write_page():
        try:
            page.write()
        except OSError as e:  # a full disk, the folder removed meanwhile: one line, exit 1
            page_failed.append(True)
            from smartcrop.images import describe

            where = f"{e.filename}: " if e.filename else ""
            click.echo(f"smartcrop: error: cannot write --report {report}: {where}{describe(e)}", err=True)

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if engine == "ray":
            from smartcrop.engines import ray as ray_engine

            del model, detector  # each worker loads its own
            summary = ray_engine.run_batch(options, inputs, output, reporter, on_plan=planned,
                                           listed=listed, address=ray_address)
        else:
            summary = local.run_batch(options, inputs, output, reporter, model, on_plan=planned,
                                      listed=listed, detector=detector)
    except KeyboardInterrupt:
        reporter.close()
        click.echo("smartcrop: interrupted; finished outputs are complete, rerun with "
                   "--skip-existing to do the rest", err=True)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if reporter.manifest and reporter.manifest is not sys.stdout:
            reporter.manifest.close()
        if page is not None and started:  # interrupted too: the page shows what was done
            write_page()
    reporter.close()
    existing = reporter.existing_line(dry_run)
    if existing:
        click.echo(existing, err=True)
    if not quiet:
        click.echo(reporter.summary(summary.images, summary.seconds, dry_run), err=True)
    sys.exit(1 if summary.failures or page_failed else 0)
