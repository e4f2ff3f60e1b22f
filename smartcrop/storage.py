"""Where inputs and outputs live: local paths stay plain `pathlib.Path`; `s3://` and `gs://` URIs
become `StoredPath`, which opens them through `pyarrow.fs` (imported only when a URI is used).

`StoredPath` offers the slice of pathlib's API the per-image core uses (`/`, `parent`, `name`,
`suffix`, `exists`), plus whole-object reads and writes: on object storage a write under
10 MiB is one PutObject (no temporary object; S3 needs `allow_delayed_open` for that, else
pyarrow makes every write a multipart upload), and on local disk a temporary file and a rename.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

SCHEMES = ("s3", "gs", "gcs")
# How long Google's client retries a failing GCS request (its default is 15 minutes, during which
# a run without credentials seemed to hang). Measured: 15 s of retries end in about 25 s. S3
# needs no such limit: the AWS SDK gives up after 3 attempts with 1 s to connect and 3 s of
# silence each (about 11 s against an endpoint that never answers).
GCS_RETRY_SECONDS = 15
# The checks before a run (does INPUT exist, is OUTPUT's bucket there) give up after this long.
# A GCS request to an endpoint that accepts and never answers takes 120 s whatever the limit above.
CHECK_SECONDS = 45

# The Content-Type an output gets, by its extension (images.EXTENSION_FORMAT); without one a
# store says application/octet-stream, which a browser or CDN serves as a download.
CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
                 ".webp": "image/webp", ".avif": "image/avif", ".gif": "image/gif",
                 ".tif": "image/tiff", ".tiff": "image/tiff", ".bmp": "image/bmp"}

_filesystems: dict[str, object] = {}
_lock = threading.Lock()


def is_uri(text: str | os.PathLike) -> bool:
    """Whether `text` names object storage (``s3://bucket/key``, ``gs://…``) rather than a local path."""
    scheme, sep, _ = str(text).partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


def as_location(text: str | os.PathLike) -> Path | StoredPath:
    """A URI as StoredPath, anything else as Path (the local fast path is untouched)."""
    return StoredPath(str(text)) if is_uri(text) else Path(text)


def location(value: str | os.PathLike) -> Path | StoredPath:
    """An input or output given to the Python API (engines' `run_batch`): a StoredPath or Path as
    is, a str through `as_location` (so ``"s3://b/photos"`` is object storage). A Path whose
    first part is ``s3:`` or ``gs:`` is refused: pathlib turned a URI's ``//`` into ``/``, and
    it would be written as a local folder named ``s3:``."""
    if isinstance(value, StoredPath):
        return value
    if isinstance(value, str):
        return as_location(value)
    path = Path(value)
    uri = mangled_uri(path)
    if uri:
        raise ValueError(f"{str(path)!r} is a URI made into a Path (pathlib turns '//' into '/'): "
                         f"give it as a string, {uri!r}")
    return path


def mangled_uri(path: Path) -> str | None:
    """The URI a local path looks made from (``s3:/b/k``, from ``Path("s3://b/k")`` or a slash
    left out), or None."""
    head = path.parts[0] if path.parts else ""
    if head.endswith(":") and head[:-1].lower() in SCHEMES:
        return f"{head}//{Path(*path.parts[1:]).as_posix()}"
    return None


def filesystem(scheme: str):
    """One pyarrow filesystem per scheme and process, configured from the standard environment.

    S3 credentials and region come from the AWS SDK's usual sources (AWS_ACCESS_KEY_ID, …,
    ~/.aws); pyarrow's SDK ignores AWS_ENDPOINT_URL, so it is passed on here for S3-compatible
    stores (MinIO, Ceph, R2, moto). GCS uses Google's default credentials, and gives up on a
    failing request after GCS_RETRY_SECONDS of retries.
    """
    with _lock:
        fs = _filesystems.get(scheme)
        if fs is None:
            from pyarrow import fs as pafs

            if scheme == "s3":
                endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
                region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
                kwargs = {"endpoint_override": endpoint} if endpoint else {}
                if region:
                    kwargs["region"] = region
                # Delayed open: a write is sent when the stream closes, as one PutObject when
                # under 10 MiB, instead of CreateMultipartUpload + UploadPart + Complete (whose
                # upload, cut short, stays in the bucket, unseen and billed, until aborted).
                fs = pafs.S3FileSystem(allow_delayed_open=True, **kwargs)
            else:
                fs = pafs.GcsFileSystem(retry_time_limit=timedelta(seconds=GCS_RETRY_SECONDS))
            _filesystems[scheme] = fs
        return fs


def interruptible(fn, *args, timeout: float | None = None):
    """`fn(*args)`, run in a daemon thread while this one waits for it.

    A storage request blocks in native code, where Python cannot run its Ctrl-C handler until
    the call returns (a retried request can take minutes). Waiting here instead, Ctrl-C raises
    KeyboardInterrupt at once; the abandoned call ends on its own, or with the process. After
    `timeout` seconds, TimeoutError.
    """
    done: dict = {}

    def call():
        try:
            done["value"] = fn(*args)
        except BaseException as e:  # handed to the waiting thread
            done["error"] = e

    thread = threading.Thread(target=call, name="smartcrop-storage", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"no answer in {timeout:g} s")
    if "error" in done:
        raise done.pop("error")
    return done["value"]


GOOGLE_CREDENTIALS = ("no Google credentials found (looked for GOOGLE_APPLICATION_CREDENTIALS, "
                      "gcloud's application-default credentials and the Google Cloud metadata "
                      "server; see https://cloud.google.com/docs/authentication)")


def reason(e: BaseException) -> str:
    """A storage error as one short line: the SDK's message without its request ids, retry
    details and repeated names of the key (the caller names the URI)."""
    text = " ".join(str(e).split())
    if "OAuth2 access token" in text:  # Google's client found no credentials
        return GOOGLE_CREDENTIALS
    if text.startswith("google::cloud::Status("):  # CODE: Retry policy exhausted, with a last message of ...
        code, _, message = text[len("google::cloud::Status("):].partition(": ")
        message = message.split(" error_info=", 1)[0]
        message = message.rpartition("with a last message of ")[2] or message
        return f"{message.rstrip(' )')} ({code})"
    for cut in (" (Request ID:", "; Details:", " Detail: "):
        text = text.split(cut, 1)[0]
    # "When getting information for key 'k' in bucket 'b': AWS Error NO_SUCH_BUCKET during
    # HeadObject operation: The specified bucket does not exist"
    aws = re.search(r"AWS Error (\w+) during (\w+) operation: ?(.*)$", text)
    if aws:
        code, operation, message = aws.groups()
        message = "" if message.rstrip(".") == "No response body" else message.rstrip(".")
        return f"{message} ({code}, {operation})" if message else f"{code} ({operation})"
    return text or type(e).__name__


class StoredPath:
    """A file or prefix in object storage (``s3://bucket/key``), immutable and hashable.

    `written_before` (seconds since the epoch), when set, makes `exists()` ignore objects
    written at or after that time: an engine that retries work gives its retries the state
    the run started from, so outputs of a killed attempt are redone, not refused.
    """

    __slots__ = ("scheme", "key", "written_before")

    def __init__(self, uri: str, written_before: float | None = None):
        scheme, sep, rest = uri.partition("://")
        if not sep or scheme.lower() not in SCHEMES:
            raise ValueError(f"not an object-storage URI: {uri!r}")
        self.scheme = "gs" if scheme.lower() == "gcs" else scheme.lower()
        self.key = "/".join(p for p in rest.split("/") if p and p != ".")
        if not self.key:
            raise ValueError(f"URI names no bucket: {uri!r}")
        self.written_before = written_before

    # -- names (pure, no I/O) ----------------------------------------------------------
    def __str__(self) -> str:
        return f"{self.scheme}://{self.key}"

    def __repr__(self) -> str:
        return f"StoredPath({str(self)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, StoredPath) and (self.scheme, self.key) == (other.scheme, other.key)

    def __hash__(self) -> int:
        return hash((self.scheme, self.key))

    def __truediv__(self, other: str | os.PathLike) -> StoredPath:
        rel = other if isinstance(other, str) else Path(other).as_posix()
        joined = object.__new__(StoredPath)  # the driver names millions: skip re-parsing self
        joined.scheme, joined.written_before = self.scheme, self.written_before
        joined.key = "/".join((self.key, *(p for p in rel.split("/") if p and p != ".")))
        return joined

    @property
    def bucket(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1] if "/" in self.key else ""

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.name)[1]

    @property
    def stem(self) -> str:
        return os.path.splitext(self.name)[0]

    @property
    def parent(self) -> StoredPath:
        return StoredPath(f"{self.scheme}://{self.key.rsplit('/', 1)[0]}", self.written_before) \
            if "/" in self.key else self

    def relative_to(self, other: StoredPath) -> Path:
        if not self.key.startswith(other.key + "/"):
            raise ValueError(f"{self} is not under {other}")
        return Path(self.key[len(other.key) + 1:])

    def is_relative_to(self, other: StoredPath) -> bool:
        return isinstance(other, StoredPath) and (self == other or self.key.startswith(other.key + "/"))

        # -- I/O -----------------------------------------------------------------------------
    @property
    def _fs(self):
        return filesystem(self.scheme)

    def _info(self):
        return self._fs.get_file_info(self.key)

    def exists(self) -> bool:
        """Whether an object has this key: one request (a HEAD), where `get_file_info` would
        list the prefix too when there is none, to tell a missing key from a "folder". A
        `written_before` path asks once more for the object's time when it exists."""
        from pyarrow.fs import FileType

        try:
            self._fs.open_input_file(self.key).close()  # HEAD only; nothing is read
        except (FileNotFoundError, IsADirectoryError):
            return False
        if self.written_before is None:
            return True
        info = self._info()
        if info.type == FileType.NotFound:
            return False
        if isinstance(info.mtime, datetime):
            return info.mtime.timestamp() < self.written_before
        return True

    def is_file(self) -> bool:
        from pyarrow.fs import FileType

        return self._info().type == FileType.File

    def is_dir(self) -> bool:
        """A bucket, or a prefix with objects under it."""
        from pyarrow.fs import FileType

        return self._info().type == FileType.Directory

    def found(self) -> bool:
        """An object, or a prefix with objects under it (one question, where is_file() then
        is_dir() would ask twice)."""
        from pyarrow.fs import FileType

        return self._info().type in (FileType.File, FileType.Directory)

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Nothing to do: object storage has no folders."""

    def read_bytes(self) -> bytes:
        with self._fs.open_input_stream(self.key) as f:
            return f.read()

    def write_bytes(self, data: bytes) -> None:
        """One complete object: nothing appears under the key unless the whole upload succeeds
        (under 10 MiB, one PutObject; larger, a multipart upload), with the Content-Type of
        its extension."""
        kind = CONTENT_TYPES.get(self.suffix.lower())
        with self._fs.open_output_stream(self.key, metadata={"Content-Type": kind} if kind else None) as f:
            f.write(data)

    def walk_files(self) -> Iterator[StoredPath]:
        """Every object under this prefix (or this object itself), in listing order."""
        from pyarrow.fs import FileSelector, FileType

        info = self._info()
        if info.type == FileType.File:
            yield self
            return
        for entry in self._fs.get_file_info(FileSelector(self.key, recursive=True, allow_not_found=True)):
            if entry.type == FileType.File:
                yield StoredPath(f"{self.scheme}://{entry.path}", self.written_before)


class FetchedFile(os.PathLike):
    """A local copy of an object: opens as the copy (`os.fspath`), prints as the URI (`str`)."""

    def __init__(self, source: StoredPath, local: str):
        self.source, self.local = source, local

    def __fspath__(self) -> str:
        return self.local

    def __str__(self) -> str:
        return str(self.source)

    def __repr__(self) -> str:
        return f"FetchedFile({str(self.source)!r})"


@contextmanager
def local_copy(path: Path | StoredPath, tmpdir: str | None = None) -> Iterator[os.PathLike]:
    """A path the image readers can open: a local path as is; an object's bytes in a file
    whose `str` is still the URI, for records.

    On Linux the file is anonymous memory (memfd, opened as /proc/self/fd/N): it holds the
    bytes only, and vanishes with the process even when a worker is killed mid-image.
    Elsewhere it is a temporary file, removed afterwards.
    """
    if not isinstance(path, StoredPath):
        yield path
        return
    data = path.read_bytes()
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fd = os.memfd_create("smartcrop-input", os.MFD_CLOEXEC)
        try:
            with os.fdopen(fd, "wb", closefd=False) as f:
                f.write(data)
            del data
            yield FetchedFile(path, f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        return
    fd, local = tempfile.mkstemp(dir=tmpdir, prefix="smartcrop-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        del data
        yield FetchedFile(path, local)
    finally:
        os.unlink(local)


def written_before(path: Path | StoredPath, when: float) -> Path | StoredPath:
    """The same location, whose `exists()` (and that of paths made from it with `/`) ignores
    files written at or after `when`: a retried task sees the outputs as the run found them."""
    if isinstance(path, StoredPath):
        return StoredPath(str(path), when)

    class RunPath(type(Path())):
        def exists(self, *args, **kwargs) -> bool:
            try:
                return self.stat().st_mtime < when
            except (FileNotFoundError, NotADirectoryError):
                return False

    return RunPath(path)
