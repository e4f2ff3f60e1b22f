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


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server on 127.0.0.1 for the module, the AWS_* environment pointing at it;
    yields a boto3 client."""
    pytest.importorskip("pyarrow", reason="needs pyarrow (the s3 or ray extra)")
    moto_server = pytest.importorskip("moto.server", reason="needs moto[server] (the dev extra)")
    import socket

    import boto3

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = pytest.MonkeyPatch()
    for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t",
                       "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}.items():
        env.setenv(key, value)
    env.setattr(storage, "_filesystems", {})
    try:
        yield boto3.client("s3")
    finally:
        server.stop()
        env.undo()


def test_object_round_trip_through_a_local_s3_server(s3):
    s3.create_bucket(Bucket="bkt")
    try:
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
        listed = s3.list_objects_v2(Bucket="bkt")["Contents"]
        assert [o["Key"] for o in listed] == ["photos/a.jpg"]  # no temporary object
    finally:
        s3.delete_object(Bucket="bkt", Key="photos/a.jpg")
        s3.delete_bucket(Bucket="bkt")


def test_gcs_gives_up_on_a_failing_request_after_a_bounded_time(monkeypatch):
    """Google's client retries a failing request for 15 minutes by default (a run without
    credentials seemed to hang): smartcrop bounds it."""
    pafs = pytest.importorskip("pyarrow.fs", reason="needs pyarrow (the s3 or ray extra)")
    made = []
    monkeypatch.setattr(pafs, "GcsFileSystem", lambda **kw: made.append(kw) or object())
    monkeypatch.setattr(storage, "_filesystems", {})
    storage.filesystem("gs")
    limit = made[0]["retry_time_limit"]
    assert 5 <= limit.total_seconds() <= 30


def test_storage_errors_read_as_one_short_line():
    aws = OSError("When initiating multiple part upload for key 'out/a_16x9.jpg' in bucket 'nobucket': "
                  "AWS Error NO_SUCH_BUCKET during CreateMultipartUpload operation: The specified "
                  "bucket does not exist (Request ID: vHjr12f2Dk3BUoJTVvEMkp3swua7I9GAXxKksZ5cLos)")
    assert storage.reason(aws) == ("The specified bucket does not exist "
                                   "(NO_SUCH_BUCKET, CreateMultipartUpload)")
    hung = OSError("When getting information for bucket 'bkt': AWS Error NETWORK_CONNECTION during "
                   "HeadBucket operation: curlCode: 28, Timeout was reached; Details: Operation too "
                   "slow. Less than 1 bytes/sec transferred the last 3 seconds")
    assert storage.reason(hung) == "curlCode: 28, Timeout was reached (NETWORK_CONNECTION, HeadBucket)"
    denied = OSError("When getting information for key 'k' in bucket 'b': AWS Error ACCESS_DENIED "
                     "during HeadObject operation: No response body.")
    assert storage.reason(denied) == "ACCESS_DENIED (HeadObject)"
    gcs = OSError(
        "google::cloud::Status(UNAVAILABLE: Retry policy exhausted, with a last message of Could not "
        "create a OAuth2 access token to authenticate the request. The request was not sent, as such "
        "an access token is required to complete the request successfully.\nThe underlying error "
        "message was: PerformWork() - CURL error [6]=Could not resolve hostname error_info={reason=, "
        "domain=, metadata={gcloud-cpp.retry.on-entry=false}})")
    assert storage.reason(gcs).startswith("no Google credentials found (looked for "
                                          "GOOGLE_APPLICATION_CREDENTIALS")
    gcs = OSError("google::cloud::Status(UNAVAILABLE: Retry policy exhausted, with a last message of "
                  "PerformWork() - CURL error [7]=Could not connect to server error_info={reason=, "
                  "domain=, metadata={gcloud-cpp.retry.on-entry=false}})")
    assert storage.reason(gcs) == "PerformWork() - CURL error [7]=Could not connect to server (UNAVAILABLE)"
    for e in (aws, hung, denied, gcs):
        assert "\n" not in storage.reason(e) and "Request ID" not in storage.reason(e)


class _StuckStorage:
    """A filesystem whose every request blocks until released (or 10 s pass), then finds nothing."""

    def __init__(self):
        import threading

        self.release = threading.Event()

    def get_file_info(self, key):
        from pyarrow.fs import FileInfo, FileType

        self.release.wait(10)
        return FileInfo(key, FileType.NotFound)


def test_a_storage_check_that_gets_no_answer_is_a_one_line_usage_error(monkeypatch, tmp_path):
    pytest.importorskip("pyarrow", reason="needs pyarrow (the s3 or ray extra)")
    from click.testing import CliRunner

    from smartcrop.cli import main

    stuck = _StuckStorage()
    monkeypatch.setattr(storage, "_filesystems", {"gs": stuck})
    monkeypatch.setattr(storage, "CHECK_SECONDS", 0.5)
    try:
        t0 = time.monotonic()
        r = CliRunner().invoke(main, ["gs://bkt/in", str(tmp_path / "out"), "--ratio", "1:1"])
        assert time.monotonic() - t0 < 5
    finally:
        stuck.release.set()
    assert r.exit_code == 2
    errors = [line for line in r.output.splitlines() if "Error" in line]
    assert errors == ["Error: cannot open gs://bkt/in: no answer in 0.5 s (is the endpoint right? "
                      "AWS_ENDPOINT_URL for S3-compatible stores)"]
    assert not (tmp_path / "out").exists()


def test_ctrl_c_stops_a_storage_request_blocked_in_native_code(tmp_path):
    """A GCS request to an endpoint that takes the connection and never answers blocks in C++
    for 120 s, where Python cannot run its Ctrl-C handler: the check waits in another thread,
    so Ctrl-C ends the run at once with status 130."""
    pytest.importorskip("pyarrow", reason="needs pyarrow (the s3 or ray extra)")
    import signal
    import socket
    import subprocess
    import sys

    from conftest import ROOT

    with socket.socket() as server:  # connections are taken (the backlog) and never answered
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        script = (
            "import sys\n"
            "from datetime import timedelta\n"
            "from pyarrow import fs\n"
            "from smartcrop import storage\n"
            "from smartcrop.cli import main\n"
            f"storage._filesystems['gs'] = fs.GcsFileSystem(anonymous=True, scheme='http', "
            f"endpoint_override='127.0.0.1:{server.getsockname()[1]}')\n"
            "print('ready', flush=True)\n"
            f"main(['gs://bkt/in', {str(tmp_path / 'out')!r}, '--ratio', '1:1'])\n")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert proc.stdout.readline() == "ready\n"
            time.sleep(1.5)  # in the blocked request by now
            proc.send_signal(signal.SIGINT)
            t0 = time.monotonic()
            _, err = proc.communicate(timeout=20)
        finally:
            proc.kill()
    assert proc.returncode == 130 and time.monotonic() - t0 < 5
    assert err.strip() == "smartcrop: interrupted; nothing was written"
    assert not (tmp_path / "out").exists()


def test_an_output_bucket_that_does_not_exist_is_a_usage_error_before_any_work(s3, tmp_path, monkeypatch):
    """Else every image would be read and run through the model, then fail to be written."""
    from click.testing import CliRunner
    from conftest import photo

    import smartcrop.pipeline
    from smartcrop.cli import main

    def no_model(options):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(smartcrop.pipeline, "load_model", no_model)
    (tmp_path / "in").mkdir()
    photo().save(tmp_path / "in" / "a.jpg")
    r = CliRunner().invoke(main, [str(tmp_path / "in"), "s3://nobucket/out", "--ratio", "1:1"])
    assert r.exit_code == 2
    assert [line for line in r.output.splitlines() if "Error" in line] == [
        "Error: OUTPUT s3://nobucket/out: bucket s3://nobucket does not exist"]


def test_a_storage_error_on_one_output_is_one_line():
    from smartcrop.images import describe

    e = OSError("When uploading object with key 'out/a_1x1.jpg' in bucket 'gone': AWS Error "
                "NO_SUCH_BUCKET during PutObject operation: The specified bucket does not exist "
                "(Request ID: 2APbIfviOdxRAYHp6dhcDZUi5xRjFL6Hi1veehQOKVfymmHtM92n)")
    assert describe(e) == "The specified bucket does not exist (NO_SUCH_BUCKET, PutObject)"


def _requests(monkeypatch, tmp_path, action) -> list[str]:
    """The S3 requests `action()` makes ("HEAD /bkt/key", "PUT /bkt/key?partNumber=1&…"), from
    moto's request recorder (which writes ./moto_recording: run in tmp_path)."""
    import json
    import urllib.request

    monkeypatch.chdir(tmp_path)
    api = os.environ["AWS_ENDPOINT_URL"] + "/moto-api/recorder"
    for step in ("reset-recording", "start-recording"):
        urllib.request.urlopen(urllib.request.Request(f"{api}/{step}", method="POST")).read()
    try:
        action()
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{api}/stop-recording", method="POST")).read()
    lines = urllib.request.urlopen(f"{api}/download-recording").read().decode().splitlines()
    return [f"{e['method']} {e['url'].split('//', 1)[1].split('/', 1)[1]}" for e in map(json.loads, lines)]


def test_an_output_is_one_put_and_its_existence_one_head(s3, monkeypatch, tmp_path):
    """A write under 10 MiB is one PutObject (not CreateMultipartUpload, UploadPart and Complete,
    whose upload cut short stays in the bucket, unseen and billed); exists() is one HEAD, with
    no listing to tell a missing key from a "folder"."""
    s3.create_bucket(Bucket="counted")
    out = StoredPath("s3://counted/out/a_16x9.jpg")
    assert _requests(monkeypatch, tmp_path, lambda: out.exists() and pytest.fail("exists")) == [
        "HEAD counted/out/a_16x9.jpg"]
    assert _requests(monkeypatch, tmp_path, lambda: out.write_bytes(b"x" * 300_000)) == [
        "PUT counted/out/a_16x9.jpg"]
    assert _requests(monkeypatch, tmp_path, lambda: out.exists() or pytest.fail("missing")) == [
        "HEAD counted/out/a_16x9.jpg"]
    assert s3.get_object(Bucket="counted", Key="out/a_16x9.jpg")["Body"].read() == b"x" * 300_000
    assert not StoredPath("s3://counted/out").exists()  # a prefix is no object
    assert written_before(out, time.time() + 5).exists()
    assert not written_before(out, time.time() - 30).exists()  # written since
    assert s3.list_multipart_uploads(Bucket="counted").get("Uploads", []) == []


def test_outputs_get_the_content_type_of_their_format(s3):
    """Not application/octet-stream, which a browser or CDN serves as a download."""
    from smartcrop.images import EXTENSION_FORMAT

    s3.create_bucket(Bucket="typed")
    for ext in EXTENSION_FORMAT:
        StoredPath(f"s3://typed/out/a{ext}").write_bytes(b"x")
    StoredPath("s3://typed/out/notes.bin").write_bytes(b"x")
    types = {key: s3.head_object(Bucket="typed", Key=key)["ContentType"]
             for key in [f"out/a{ext}" for ext in EXTENSION_FORMAT] + ["out/notes.bin"]}
    assert types == {"out/a.jpg": "image/jpeg", "out/a.png": "image/png", "out/a.webp": "image/webp",
                     "out/a.avif": "image/avif", "out/a.gif": "image/gif", "out/a.tif": "image/tiff",
                     "out/a.bmp": "image/bmp", "out/notes.bin": "application/octet-stream"}


def test_the_python_api_takes_uris_as_strings(s3, model, tmp_path, monkeypatch):
    """run_batch(options, ["s3://src/photos"], "s3://dst/out"): a str is a location as on the
    command line; a Path made from a URI (pathlib: "s3:/src/photos") is refused, not written as
    a local folder named s3:."""
    from conftest import photo

    from smartcrop.engines import local
    from smartcrop.options import CropOptions, parse_ratio

    assert storage.location("s3://b/in") == StoredPath("s3://b/in")
    assert storage.location("in/trips") == Path("in/trips") == storage.location(Path("in/trips"))
    with pytest.raises(ValueError, match="give it as a string, 's3://b/in'"):
        storage.location(Path("s3://b/in"))
    s3.create_bucket(Bucket="api-src")
    s3.create_bucket(Bucket="api-dst")
    (tmp_path / "in").mkdir()
    photo().save(tmp_path / "in" / "a.jpg")
    s3.upload_file(str(tmp_path / "in" / "a.jpg"), "api-src", "photos/a.jpg")
    options = CropOptions(targets=(parse_ratio("1:1"),), jobs=1)
    records = []
    summary = local.run_batch(options, ["s3://api-src/photos"], "s3://api-dst/out",
                              lambda r: records.extend(r.records), model)
    assert (summary.images, summary.outputs, summary.failures) == (1, 1, 0)
    assert [r["output"] for r in records] == ["s3://api-dst/out/a_1x1.jpg"]
    assert s3.head_object(Bucket="api-dst", Key="out/a_1x1.jpg")["ContentLength"] > 0
    summary = local.run_batch(options, [str(tmp_path / "in")], str(tmp_path / "out"), model=model)
    assert summary.outputs == 1 and (tmp_path / "out" / "a_1x1.jpg").is_file()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="is a URI made into a Path"):
        local.run_batch(options, [tmp_path / "in"], Path("s3://api-dst/out"), model=model)
    assert not (tmp_path / "s3:").exists()


def test_a_uri_one_slash_short_is_a_usage_error(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from smartcrop.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    r = CliRunner().invoke(main, ["in", "s3:/dst/out", "--ratio", "1:1"])
    assert r.exit_code == 2 and "s3:/dst/out is not a URI (one slash short): write s3://dst/out" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]
