"""smartcrop.storage: URI names without I/O, local paths untouched, run-start existence, local copies."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from smartcrop import storage
from smartcrop.storage import StoredPath, as_location, is_uri, local_copy, written_before


def test_uris_are_told_from_local_paths():
    assert is_uri("s3://bucket/photos") and is_uri("gs://b/x") and is_uri("S3://b")
    assert not is_uri("photos/s3:/x") and not is_uri("/tmp/x") and not is_uri("http://host/x")
    assert as_location("in/trips") == Path("in/trips")
    assert as_location("s3://b/in") == StoredPath("s3://b/in")


def test_stored_path_names_like_pathlib():
    out = StoredPath("s3://crops/out/")
    path = out / Path("trips") / "beach_16x9.jpg"
    assert str(path) == "s3://crops/out/trips/beach_16x9.jpg"
    assert str(out / Path(".") / "a.jpg") == "s3://crops/out/a.jpg"  # a top-level stem's parent is "."
    assert (path.name, path.suffix, path.stem) == ("beach_16x9.jpg", ".jpg", "beach_16x9")
    assert path.bucket == "crops"
    assert path.parent == out / "trips"
    assert path.relative_to(out) == Path("trips/beach_16x9.jpg")
    assert path.is_relative_to(out) and not StoredPath("s3://crops/outer/x").is_relative_to(out)
    assert str(StoredPath("gcs://b/k")) == "gs://b/k"
    with pytest.raises(ValueError):
        StoredPath("s3://")


def test_written_before_ignores_files_written_since(tmp_path):
    (tmp_path / "old.jpg").write_bytes(b"x")
    old = time.time() - 100
    os.utime(tmp_path / "old.jpg", (old, old))
    root = written_before(tmp_path, time.time() - 10)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "new.jpg").write_bytes(b"x")
    assert (root / "old.jpg").exists()
    assert not (root / "sub" / "new.jpg").exists()  # written during the run: not "existing"
    assert not (root / "missing.jpg").exists()
    assert str(root / "sub" / "new.jpg") == str(tmp_path / "sub" / "new.jpg")
    assert StoredPath("s3://b/k").exists.__func__ is StoredPath.exists  # same class for URIs
    assert written_before(StoredPath("s3://b/k"), 5.0).written_before == 5.0


def test_local_copy_keeps_a_local_path_as_is(tmp_path):
    with local_copy(tmp_path / "a.jpg") as p:
        assert p == tmp_path / "a.jpg"


def test_object_round_trip_through_a_local_s3_server(monkeypatch):
    pytest.importorskip("pyarrow", reason="needs pyarrow (the s3 or ray extra)")
    moto_server = pytest.importorskip("moto.server", reason="needs moto[server] (the dev extra)")
    import socket

    import boto3

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t",
                           "AWS_DEFAULT_REGION": "us-east-1",
                           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(storage, "_filesystems", {})
        boto3.client("s3").create_bucket(Bucket="bkt")
        obj = StoredPath("s3://bkt/photos/a.jpg")
        assert not obj.exists() and not StoredPath("s3://bkt/photos").is_dir()
        obj.write_bytes(b"jpeg bytes")
        assert obj.exists() and obj.is_file() and obj.read_bytes() == b"jpeg bytes"
        assert StoredPath("s3://bkt/photos").is_dir()
        assert not written_before(obj, time.time() - 30).exists()  # written since
        assert list(StoredPath("s3://bkt/photos").walk_files()) == [obj]
        assert list(obj.walk_files()) == [obj]
        with local_copy(obj) as copy:
            assert str(copy) == "s3://bkt/photos/a.jpg"
            assert Path(os.fspath(copy)).read_bytes() == b"jpeg bytes"
            assert os.stat(copy).st_size == len(b"jpeg bytes")
            local = os.fspath(copy)
        assert not os.path.exists(local) or Path(local).read_bytes() != b"jpeg bytes"
        listed = boto3.client("s3").list_objects_v2(Bucket="bkt")["Contents"]
        assert [o["Key"] for o in listed] == ["photos/a.jpg"]  # no temporary object
    finally:
        server.stop()
