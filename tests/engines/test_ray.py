"""smartcrop.engines.ray on a local 2-CPU Ray cluster: the local engine's records and bytes, S3 in
and out through a moto server on 127.0.0.1, a worker killed mid-run, resume (Ctrl-C and
SIGTERM: test_ray_interrupt.py)."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from conftest import photo
from PIL import Image

pytestmark = [pytest.mark.ray, pytest.mark.slow]  # about 100 s on 2 cores: out of the fast suite
ray = pytest.importorskip("ray", reason="needs the ray extra: pip install '.[ray]'")
pytest.importorskip("pyarrow", reason="needs the ray extra: pip install '.[ray]'")
moto_server = pytest.importorskip("moto.server", reason="needs moto[server] (the dev extra)")

from smartcrop import storage  # noqa: E402
from smartcrop.engines import local  # noqa: E402
from smartcrop.engines import ray as ray_engine  # noqa: E402
from smartcrop.options import CropOptions, parse_ratio, parse_size  # noqa: E402
from smartcrop.storage import StoredPath  # noqa: E402

TARGETS = (parse_ratio("16:9"), parse_size("200x250"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server on 127.0.0.1 and the AWS_* environment pointing at it (set before
    Ray starts, so workers inherit it); yields a boto3 client."""
    import boto3

    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = pytest.MonkeyPatch()
    for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                       "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}.items():
        env.setenv(key, value)
    storage._filesystems.clear()
    yield boto3.client("s3")
    server.stop()
    env.undo()
    storage._filesystems.clear()


@pytest.fixture(scope="module")
def cluster(s3):
    """One local Ray session for the module (2 logical CPUs, the machine's 2 cores)."""
    for key, value in ray_engine.QUIET_ENV.items():
        os.environ.setdefault(key, value)
    ray.init(num_cpus=2, object_store_memory=ray_engine.OBJECT_STORE_BYTES, log_to_driver=False,
             logging_level="ERROR", include_dashboard=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Good photos (JPEG, PNG, a sub-folder, colliding names, an EXIF rotation) and bad files."""
    root = tmp_path_factory.mktemp("photos") / "in"
    (root / "trips").mkdir(parents=True)
    for i in range(5):
        photo((320 + 40 * i, 240), seed=i, centre=(60 + 40 * i, 120)).save(root / f"p{i}.jpg", quality=90)
    photo((240, 320), seed=7).save(root / "trips" / "a.jpg")
    photo((300, 200), seed=8).save(root / "trips" / "a.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    photo((320, 200), seed=9).save(root / "rotated.jpg", exif=exif)
    (root / "bad.jpg").write_bytes(b"not an image")
    (root / "empty.png").write_bytes(b"")
    good = io.BytesIO()
    photo((320, 240), seed=3).save(good, "JPEG")
    (root / "truncated.jpg").write_bytes(good.getvalue()[:600])
    return root


def _options(**kw) -> CropOptions:
    return CropOptions(targets=TARGETS, jobs=1, **kw)


def _run(engine, options, inputs, output, **kw) -> tuple[list[dict], object]:
    records = []
    if engine == "ray":
        summary = ray_engine.run_batch(options, inputs, output, lambda r: records.extend(r.records), **kw)
    else:
        summary = local.run_batch(options, inputs, output, lambda r: records.extend(r.records), **kw)
    return records, summary


def _comparable(records: list[dict], prefixes: dict[str, str]) -> list[dict]:
    """Records sorted by input and target, with the given path prefixes renamed."""
    def rename(value):
        if value is None:
            return None
        for old, new in prefixes.items():
            if value.startswith(old):
                return new + value[len(old):]
        return value

    out = [{**r, "input": rename(r["input"]), "output": rename(r["output"])} for r in records]
    return sorted(out, key=lambda r: (r["input"], json.dumps(r.get("ratio") or r.get("size"))))


def _upload(s3, root: Path, bucket: str, prefix: str) -> None:
    s3.create_bucket(Bucket=bucket)
    for p in sorted(root.rglob("*")):
        if p.is_file():
            key = f"{prefix}/{p.relative_to(root).as_posix()}"
            s3.put_object(Bucket=bucket, Key=key, Body=p.read_bytes())


def _keys(s3, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def test_ray_output_equals_local_output(cluster, folder, tmp_path):
    want, local_summary = _run("local", _options(), [folder], tmp_path / "local")
    got, summary = _run("ray", _options(), [folder], tmp_path / "ray")
    assert _comparable(got, {str(tmp_path / "ray"): "OUT"}) == _comparable(
        want, {str(tmp_path / "local"): "OUT"})
    assert (summary.images, summary.outputs, summary.failures) == (11, 16, 3)
    assert (summary.images, summary.outputs, summary.failures) == (
        local_summary.images, local_summary.outputs, local_summary.failures)
    names = sorted(p.relative_to(tmp_path / "local").as_posix() for p in (tmp_path / "local").rglob("*"))
    assert names == sorted(p.relative_to(tmp_path / "ray").as_posix() for p in (tmp_path / "ray").rglob("*"))
    assert "trips/a_jpg_16x9.jpg" in names and "trips/a_png_200x250.png" in names
    for name in names:
        if "." in Path(name).name:
            assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name


def test_s3_bucket_to_bucket_matches_local_and_leaves_no_temporary_objects(cluster, s3, folder, tmp_path):
    _upload(s3, folder, "photos", "in")
    s3.create_bucket(Bucket="crops")
    want, _ = _run("local", _options(), [folder], tmp_path / "local")
    got, summary = _run("ray", _options(), [StoredPath("s3://photos/in")], StoredPath("s3://crops/out"))
    assert summary.failures == 3
    assert _comparable(got, {"s3://photos/in": "IN", "s3://crops/out": "OUT"}) == _comparable(
        want, {str(folder): "IN", str(tmp_path / "local"): "OUT"})
    keys = _keys(s3, "crops")
    assert keys == sorted(f"out/{p.relative_to(tmp_path / 'local').as_posix()}"
                          for p in (tmp_path / "local").rglob("*") if p.is_file())
    for key in keys:
        body = s3.get_object(Bucket="crops", Key=key)["Body"].read()
        assert body == (tmp_path / "local" / key[len("out/"):]).read_bytes()
    # The local engine reads and writes the same URIs.
    again, _ = _run("local", _options(), [StoredPath("s3://photos/in")], StoredPath("s3://crops/local"))
    assert _comparable(again, {"s3://crops/local": "s3://crops/out"}) == _comparable(got, {})


def test_missing_object_in_a_list_is_an_error_record(cluster, s3, folder):
    _upload(s3, folder, "listed", "in")
    got, summary = _run("ray", _options(dry_run=True), [StoredPath("s3://listed/in")],
                        StoredPath("s3://listed/out"), listed=["p1.jpg", "gone.jpg", "trips/a.png"])
    by_input = {r["input"]: r for r in got}
    assert by_input["s3://listed/in/gone.jpg"]["error"] == "cannot read object: no such object"
    assert by_input["s3://listed/in/p1.jpg"]["status"] == "ok"
    assert summary.images == 3 and summary.failures == 1


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _crop_workers() -> list[int]:
    """Process ids of this test session's Ray workers running CropActor (Ray titles them
    ray::MapWorker(...CropActor)); their raylet is a child of this process."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if not (proc.name.isdigit() and b"CropActor" in (proc / "cmdline").read_bytes()):
                continue
        except OSError:
            continue
        pid = ancestor = int(proc.name)
        while ancestor > 1 and ancestor != os.getpid():
            ancestor = _parent(ancestor)
        if ancestor == os.getpid():
            pids.append(pid)
    return pids


KILLED_PHOTOS = 64


def test_killed_worker_is_retried_and_leaves_no_partial_object(cluster, s3, tmp_path):
    root = tmp_path / "many"
    root.mkdir()
    # Enough work left after the 4th output that the kill lands mid-run even under load: with 24
    # photos it landed 3.9-4.9 s into runs of 7.5-9.7 s (restart included). Copies of 8 photos.
    distinct = []
    for i in range(8):
        buf = io.BytesIO()
        photo((1200, 900), seed=i, centre=(200 + 90 * i, 450)).save(buf, "JPEG", quality=95)
        distinct.append(buf.getvalue())
    for i in range(KILLED_PHOTOS):
        (root / f"k{i:02}.jpg").write_bytes(distinct[i % len(distinct)])
    _upload(s3, root, "kill", "in")
    killed = []

    def kill_one_worker_mid_run():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            if len(_keys(s3, "kill")) >= KILLED_PHOTOS + 4:  # some outputs written, most not
                for pid in _crop_workers()[:1]:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_worker_mid_run)
    killer.start()
    got, summary = _run("ray", _options(), [StoredPath("s3://kill/in")], StoredPath("s3://kill/out"))
    killer.join()
    assert killed, "no worker was killed: the run ended first"
    assert (summary.images, summary.outputs, summary.failures) == (KILLED_PHOTOS, 2 * KILLED_PHOTOS, 0), [
        r["error"] for r in got if r["error"]]
    outputs = [k for k in _keys(s3, "kill") if k.startswith("out/")]
    assert len(outputs) == 2 * KILLED_PHOTOS  # no temporary or duplicate objects
    for key in outputs:  # every object whole
        with Image.open(io.BytesIO(s3.get_object(Bucket="kill", Key=key)["Body"].read())) as im:
            im.load()


@pytest.mark.parametrize("engine", ["ray", "local"])
def test_skip_existing_resumes_a_run_on_either_engine(cluster, folder, tmp_path, engine):
    first, _ = _run("ray", _options(), [folder], tmp_path / "out")
    done = sorted((tmp_path / "out").rglob("*.*"))
    for p in done[::3]:
        p.unlink()
    again, summary = _run(engine, _options(skip_existing=True), [folder], tmp_path / "out")
    status = {r["output"]: r["status"] for r in again if r["output"]}
    assert sorted(o for o, s in status.items() if s == "ok") == sorted(map(str, done[::3]))
    assert summary.skipped == len(done) - len(done[::3]) and summary.failures == 3
    def named(records):
        return sorted((r["input"], r["output"]) for r in records if r["status"] != "error")

    assert named(again) == named(first)
    redone = {r["output"]: r["box"] for r in again if r["status"] == "ok"}
    assert redone == {r["output"]: r["box"] for r in first if r["output"] in redone}


def test_partial_writes_of_this_run_are_removed_and_nothing_else(tmp_path):
    """After a run, the temporary files of writes cut short (a killed worker) go; other files stay."""
    from smartcrop.pipeline import InputItem

    out = tmp_path / "out"
    (out / "trips").mkdir(parents=True)
    items = [InputItem(tmp_path / "a.jpg", Path("a")), InputItem(tmp_path / "b.jpg", Path("trips/b"))]
    cut = [out / ".a_1x1.jpg.x1y2z3w4.part", out / "trips" / ".b.png.abcdefgh.part"]
    kept = [out / "a_1x1.jpg", out / ".ab_1x1.jpg.k2k2k2k2.part", out / ".a_1x1.jpg.oldoldol.part"]
    for p in cut + kept:
        p.write_bytes(b"x")
    os.utime(kept[2], (time.time() - 3600,) * 2)  # from an earlier run: not this run's to remove
    ray_engine._remove_partial_writes(items, [out, tmp_path / "absent"], time.time() - 60)
    assert [p.exists() for p in cut + kept] == [False, False, True, True, True]
