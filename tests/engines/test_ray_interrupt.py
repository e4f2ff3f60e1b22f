"""Stopping a Ray run: Ctrl-C and SIGTERM to a real CLI run, and the driver's interrupt flag.

A shell starts a background job (`cmd &`, as `nohup make test &` does) with SIGINT ignored, and
its children inherit that: then a CLI run rightly ignores Ctrl-C, and these tests would fail. So
each test runs with SIGINT's default handler, as in a terminal (the fixture below)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import ROOT, photo
from PIL import Image

pytestmark = [pytest.mark.ray, pytest.mark.slow]
ray = pytest.importorskip("ray", reason="needs the ray extra: pip install '.[ray]'")

from smartcrop.engines import ray as ray_engine  # noqa: E402


@pytest.fixture(autouse=True)
def terminal_signals():
    """SIGINT handled as in a terminal, whatever this process inherited (the CLI started here
    gets SIG_DFL, which Python turns into KeyboardInterrupt)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


# Inputs for the interrupt test. 40 once finished before the signal took effect: measured on
# 2 cores at load 5-7, a CLI run of 40 such photos wrote its first output at 9.7 s and its last
# at 12.7 s, about as long as a stop takes (1.2-2.4 s from the signal to exit). 600 leave about
# 18 s of work after the first output at that rate (400 took 12.6 s); the run is interrupted
# early, so the count costs only the copies.
INTERRUPTED_PHOTOS = 600


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_cli_ray_engine_is_quiet_and_ctrl_c_exits_130(tmp_path, how):
    """A real CLI run that starts its own cluster: only our lines on stderr, nothing on stdout;
    Ctrl-C (SIGINT to the whole process group, as a terminal sends it) or SIGTERM to the driver
    mid-run stops it promptly with 130, leaving whole outputs only (no temporary files)."""
    root = tmp_path / "in"
    root.mkdir()
    distinct = []
    for i in range(8):
        buf = io.BytesIO()
        photo((1000, 750), seed=i).save(buf, "JPEG", quality=95)
        distinct.append(buf.getvalue())
    for i in range(INTERRUPTED_PHOTOS):
        (root / f"c{i:03}.jpg").write_bytes(distinct[i % len(distinct)])
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "smartcrop", str(root), str(out),
                             "--ratio", "1:1", "--engine", "ray"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group, as in a shell
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not list(out.glob("*.jpg")):
            time.sleep(0.05)
        before = len(list(out.glob("*.jpg")))
        assert proc.poll() is None and before, f"no output within 120 s, or the run ended: {proc.poll()}"
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        try:
            stdout, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 60 s after {how}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    written = list(out.glob("*.jpg"))
    assert proc.returncode == 130, (proc.returncode, len(written), err)
    assert err.strip().splitlines() == ["smartcrop: interrupted; finished outputs are complete, rerun with "
                                        "--skip-existing to do the rest"], err
    assert stdout == ""
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)  # no .part files
    # Stopped, not finished: an interrupt that takes effect only at the end fails here.
    assert before <= len(written) < INTERRUPTED_PHOTOS, (before, len(written), time.monotonic() - sent)
    for p in written:
        with Image.open(p) as im:
            im.load()


def _wait_for(condition, seconds: float = 5.0) -> None:
    """Sleep in short steps until `condition()` (signals are delivered asynchronously)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_is_seen_even_when_a_library_swallows_it(signum):
    """Ray can take SIGINT over for a while and drop it (its DeferSigint); the run must still
    stop, so the driver also reads the signal from Python's wakeup pipe. Stdout is muted after."""
    stdout = sys.stdout
    with ray_engine._interruptible() as interrupted:
        assert not interrupted
        previous = signal.signal(signum, lambda s, f: None)  # swallowed, as inside Ray
        try:
            os.kill(os.getpid(), signum)
            _wait_for(lambda: bool(interrupted))
        finally:
            signal.signal(signum, previous)
        assert interrupted and sys.stdout is not stdout
    assert sys.stdout is stdout and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.set_wakeup_fd(-1) == -1  # the pipe is gone with the block


def test_an_interrupt_is_seen_when_a_native_thread_left_it_blocked():
    """A signal blocked in every thread stays pending and no handler runs: it is taken and seen."""
    with ray_engine._interruptible() as interrupted:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            # to this thread, where it stays pending (a process-wide one could reach a native thread)
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)
            _wait_for(lambda: signal.SIGINT in signal.sigpending(), 1.0)
            assert interrupted and signal.SIGINT not in signal.sigpending()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_a_handled_ctrl_c_raises_and_is_seen():
    with pytest.raises(KeyboardInterrupt), ray_engine._interruptible() as interrupted:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            _wait_for(lambda: False)  # the handler raises in here
        finally:
            assert interrupted
