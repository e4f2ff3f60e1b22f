"""smartcrop.engines.local: the thread pool keeps input order, drops queued work when stopped, counts."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest
from conftest import files_under
from test_pipeline import options

from smartcrop.engines import local
from smartcrop.pipeline import Cropper, InputItem


def test_run_drops_queued_images_when_abandoned(tmp_path, model):
    started = []

    class Slow(Cropper):
        def process(self, item):
            started.append(item)
            time.sleep(0.5 if started.index(item) else 0)  # the first is quick, the rest keep both busy
            return super().process(item)

    items = [InputItem(tmp_path / f"missing{i}.jpg", Path(f"m{i}")) for i in range(12)]
    gen = local.run(Slow(options("1:1", jobs=2), tmp_path / "out", model), items)
    next(gen)
    gen.close()  # as when Ctrl-C unwinds the batch
    assert len(started) <= 3, started  # the quick one and at most two running; the rest dropped


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_interrupt_while_waiting_still_reports_the_images_that_were_running(tmp_path, make_image, model,
                                                                               jobs):
    """Ctrl-C as p1's outputs are written (with --jobs 2 while the driver waits for p0): the
    images running finish and are reported before the KeyboardInterrupt goes on. With --jobs 1
    the image used to run in the main thread, and Ctrl-C cut it short after its writes."""
    for i in range(6):
        make_image(f"p{i}.jpg", seed=i)

    class Interrupting(Cropper):
        def process(self, item):
            if item.stem.name == "p0" and jobs == 2:
                time.sleep(1.5)  # the driver waits for this one...
            result = super().process(item)
            if item.stem.name == "p1":  # ...when Ctrl-C comes, p1 written
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
                time.sleep(0.2)
            return result

    seen = []
    opts = options("1:1", "16:9", jobs=jobs)
    items = local.plan(opts, [tmp_path / "in"], tmp_path / "out")
    with pytest.raises(KeyboardInterrupt):
        for result in local.run(Interrupting(opts, tmp_path / "out", model), items):
            seen.append(result)
    assert [r.item.stem.name for r in seen][:2] == ["p0", "p1"]
    written = {r["output"] for res in seen for r in res.records if r["status"] == "ok"}
    assert {str(p) for p in files_under(tmp_path / "out")} == written


def test_run_batch_reports_every_output_written_when_the_reporter_is_interrupted(tmp_path, make_image,
                                                                                model):
    """Ctrl-C in the reporter (as the manifest is written): the images running then finish, and
    their results still reach the reporter and the counts before the KeyboardInterrupt goes on."""
    for i in range(8):
        make_image(f"p{i}.jpg", seed=i)
    seen = []

    def on_result(result):
        seen.append(result)
        if len(seen) == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        local.run_batch(options("1:1", "16:9", jobs=2), [tmp_path / "in"], tmp_path / "out", on_result,
                        model)
    written = {r["output"] for res in seen for r in res.records if r["status"] == "ok"}
    assert len(seen) >= 2 and len(seen) < 8  # the running ones were reported; the queued dropped
    assert {str(p) for p in files_under(tmp_path / "out")} == written


def test_run_batch_summary(tmp_path, make_image, model):
    make_image("a.jpg")
    make_image("b.png")
    (tmp_path / "in" / "bad.jpg").write_bytes(b"nope")
    seen = []
    summary = local.run_batch(options("16:9", "1:1", jobs=2), [tmp_path / "in"], tmp_path / "out",
                              seen.append, model)
    assert (summary.images, summary.outputs, summary.failures) == (3, 4, 1)
    assert [r.item.stem.name for r in seen] == ["a", "b", "bad"]  # input order, though threaded


def test_from_list_names_like_a_walk_and_reports_missing_files(tmp_path, make_image, model):
    make_image("a.jpg")
    make_image("a.png")
    make_image("trips/b.jpg")
    make_image("unlisted.jpg")
    walked = []
    local.run_batch(options("1:1", dry_run=True), [tmp_path / "in"], tmp_path / "out", walked.append, model)
    seen = []
    summary = local.run_batch(options("1:1", dry_run=True), [tmp_path / "in"], tmp_path / "out", seen.append,
                              model, listed=["trips/b.jpg", "a.png", "a.jpg", "gone.jpg", "a.jpg", ""])
    assert [r.item.stem.as_posix() for r in seen] == ["a_jpg", "a_png", "gone", "trips/b"]
    assert {r.item.stem for r in seen} - {r.item.stem for r in walked} == {Path("gone")}
    assert summary.failures == 1 and "cannot read file" in seen[2].records[0]["error"]
