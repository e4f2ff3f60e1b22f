"""Requests smartcrop makes to S3, counted by operation (README, "Projection: 10 million photos").

    python tests/bench/s3_requests.py [--photos 8]

Starts moto_server (moto[server], the dev extra) on a free port on 127.0.0.1, uploads
--photos synthetic 1600x1200 JPEGs to s3://src/in/, then runs the CLI (local engine) from
s3://src/in to s3://dst/out with --ratio 16:9 --size 1080x1350 four times:
  fresh          OUTPUT empty: every output is checked, then written;
  skip-existing  a rerun over the finished outputs (--skip-existing);
  from-list      a fresh OUTPUT, the keys given with --from-list (no listing);
  overwrite      --overwrite over existing outputs (no check per output).
Each request in moto's access log is classified by method and query (HeadObject, GetObject,
PutObject, CreateMultipartUpload, ListObjectsV2, ...) and printed per run and per photo.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import photo  # noqa: E402

LINE = re.compile(r'"(GET|HEAD|PUT|POST|DELETE) (\S+) HTTP/[\d.]+"')


def operation(method: str, target: str) -> str:
    path, _, query = target.partition("?")
    key = "/" in path.strip("/")  # /bucket/key, or /bucket alone
    if method == "GET" and "list-type=2" in query:
        return "ListObjectsV2"
    if method == "POST" and "uploads" in query.split("&")[0]:
        return "CreateMultipartUpload"
    if method == "PUT" and "partNumber=" in query:
        return "UploadPart"
    if method == "POST" and "uploadId=" in query:
        return "CompleteMultipartUpload"
    names = {"HEAD": "HeadObject" if key else "HeadBucket", "GET": "GetObject" if key else "GetBucket",
             "PUT": "PutObject" if key else "CreateBucket", "DELETE": "DeleteObject"}
    return names.get(method, f"{method} {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=8)
    args = parser.parse_args()
    import boto3

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    work = Path(tempfile.mkdtemp(prefix="s3-requests-"))
    log = work / "moto.log"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
           "PYTHONPATH": str(ROOT)}
    moto = Path(sys.executable).with_name("moto_server")
    with open(log, "wb") as out:
        server = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=out,
                                  stderr=subprocess.STDOUT, env=env)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
        s3 = boto3.client("s3")
        for bucket in ("src", "dst", "dst2"):
            s3.create_bucket(Bucket=bucket)
        keys = []
        for i in range(args.photos):
            path = work / f"p{i}.jpg"
            photo((1600, 1200), seed=i, centre=(500 + 80 * i, 600)).save(path, quality=90)
            keys.append(path.name)
            s3.upload_file(str(path), "src", f"in/{path.name}")
        (work / "keys.txt").write_text("".join(f"{k}\n" for k in keys))
        base = [sys.executable, "-m", "smartcrop", "s3://src/in", "--ratio", "16:9", "--size", "1080x1350",
                "-q"]
        runs = {"fresh": ["s3://dst/out"], "skip-existing": ["s3://dst/out", "--skip-existing"],
                "from-list": ["s3://dst2/out", "--from-list", str(work / "keys.txt")],
                "overwrite": ["s3://dst/out", "--overwrite"]}
        outputs = 2 * args.photos
        print(f"{args.photos} photos, {outputs} outputs (--ratio 16:9 --size 1080x1350), local engine")
        for name, extra in runs.items():
            time.sleep(0.5)  # the log written so far
            mark = log.stat().st_size
            cmd = base[:4] + extra[:1] + base[4:] + extra[1:]
            done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
            time.sleep(0.5)
            with open(log, "rb") as f:
                f.seek(mark)
                lines = re.sub(r"\x1b\[[0-9;]*m", "", f.read().decode("utf-8", "replace"))  # colours
            if os.environ.get("SHOW_REQUESTS"):
                print(lines)
            counts = Counter(operation(*m.groups()) for m in LINE.finditer(lines))
            per = ", ".join(f"{op} {n} ({n / args.photos:g}/photo)" for op, n in sorted(counts.items()))
            print(f"  {name:14} exit {done.returncode}: {sum(counts.values())} requests: {per}")
            if done.returncode:
                print(done.stderr)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
