"""Where inputs and outputs live: local paths stay plain `pathlib.Path`; `s3://` and `gs://` URIs
become `StoredPath`, which opens them through `pyarrow.fs` (imported only when a URI is used).

`StoredPath` offers the slice of pathlib's API the per-image core uses (`/`, `parent`, `name`,
`suffix`, `exists`), plus whole-object reads and writes: a write is one complete PUT on object
storage (no temporary object) and a temporary file and a rename on local disk.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

SCHEMES = ("s3", "gs", "gcs")

_filesystems: dict[str, object] = {}
_lock = threading.Lock()


def is_uri(text: str | os.PathLike) -> bool:
    """Whether `text` names object storage (``s3://bucket/key``, ``gs://…``) rather than a local path."""
    scheme, sep, _ = str(text).partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


def as_location(text: str | os.PathLike) -> Path | StoredPath:
    """A URI as StoredPath, anything else as Path (the local fast path is untouched)."""
    return StoredPath(str(text)) if is_uri(text) else Path(text)


def filesystem(scheme: str):
    """One pyarrow filesystem per scheme and process, configured from the standard environment.

    S3 credentials and region come from the AWS SDK's usual sources (AWS_ACCESS_KEY_ID, …,
    ~/.aws); pyarrow's SDK ignores AWS_ENDPOINT_URL, so it is passed on here for S3-compatible
    stores (MinIO, Ceph, R2, moto). GCS uses Google's default credentials.
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
                fs = pafs.S3FileSystem(**kwargs)
            else:
                fs = pafs.GcsFileSystem()
            _filesystems[scheme] = fs
        return fs


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
        from pyarrow.fs import FileType

        info = self._info()
        if info.type == FileType.NotFound:
            return False
        if self.written_before is not None and isinstance(info.mtime, datetime):
            return info.mtime.timestamp() < self.written_before
        return True

    def is_file(self) -> bool:
        from pyarrow.fs import FileType

        return self._info().type == FileType.File

    def is_dir(self) -> bool:
        """A bucket, or a prefix with objects under it."""
        from pyarrow.fs import FileType

        return self._info().type == FileType.Directory

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Nothing to do: object storage has no folders."""

    def read_bytes(self) -> bytes:
        with self._fs.open_input_stream(self.key) as f:
            return f.read()

    def write_bytes(self, data: bytes) -> None:
        """One complete object: nothing appears under the key unless the whole upload succeeds."""
        with self._fs.open_output_stream(self.key) as f:
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
