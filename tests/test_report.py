"""The review page: flags from record fields, fix lines, thumbnails, and the page in a real browser."""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import photo

from smartcrop import cropping, report
from smartcrop.cropping import Box
from smartcrop.focus import read_focus


def rec(name="a.jpg", target="9:16", status="ok", score=0.9, **kw) -> dict:
    r = {"input": f"in/{name}", "output": f"out/{name}", "ratio": target, "box": [10, 0, 90, 160],
         "image_size": [400, 160], "strategy": "window", "score": score, "status": status,
         "error": None, "fit": "crop", "source": "model", "focus": None}
    if status == "error":
        r.update(box=None, image_size=None, score=None, error="cannot decode image: broken", fit=None)
    r.update(kw)
    return r


def test_flags_come_from_record_fields():
    assert report.crop_flags(rec()) == []
    assert report.crop_flags(rec(status="error")) == ["error"]
    # A failed output's record keeps its box and fit: flagged for the failure alone.
    failed = rec(status="error", box=[0, 0, 400, 160], image_size=[400, 160], fit="pad", score=None,
                 face_cut=1, faces=[[0, 0, 5, 5]], error="image 400x160 is too small for 1080x1920")
    assert report.crop_flags(failed) == ["error"]
    assert report.crop_flags(rec(face_cut=2, faces=[[0, 0, 5, 5]])) == ["face_cut"]
    assert report.crop_flags(rec(face_cut=0)) == []
    assert report.crop_flags(rec(upscale=1.5)) == ["upscaled"]
    assert report.crop_flags(rec(upscale=None)) == []
    assert report.crop_flags(rec(score=report.LOW_SCORE - 0.01)) == ["low_score"]
    assert report.crop_flags(rec(score=0.1, source="focus")) == []
    assert report.crop_flags(rec(fit="pad", score=1.0)) == ["padded"]
    assert report.crop_flags(rec(size=[1080, 1080], output_size=[300, 300],
                                 warning="1080x1080 written at 300x300, smaller than asked")) == ["undersize"]
    assert report.crop_flags(rec(size=[1080, 1080], output_size=[1080, 1080])) == []
    # Another warning (a report thumbnail not written) is not an undersize output.
    assert report.crop_flags(rec(warning="report thumbnail not written: disk full")) == []


def test_fix_line_is_a_focus_line_for_this_crop(tmp_path):
    line = report.fix_line(rec(), "9:16")
    assert line == "in/a.jpg,10,0,90,160,9:16"  # the crop's own box
    cut = rec(face_cut=1, faces=[[5, 10, 20, 20], [300, 20, 40, 30]])
    assert report.fix_line(cut, "9:16") == "in/a.jpg,5,10,335,40,9:16"  # a box holding every face
    padded = rec(fit="pad", box=[0, 0, 400, 160])
    assert report.fix_line(padded, "9:16") == "in/a.jpg,0,0,400,160,9:16"  # the whole image
    assert report.fix_line(rec(status="error"), "9:16") is None
    assert report.fix_line(rec(status="error", box=[10, 0, 90, 160], image_size=[400, 160]), "9:16") is None
    (tmp_path / "f.csv").write_text(line + "\n" + report.fix_line(cut, "9:16") + "\n")
    own, box = read_focus(tmp_path / "f.csv")
    assert own.box == (10, 0, 90, 160) and box.box == (5, 10, 335, 40)


def test_fix_line_redoes_a_box_whose_width_rounds_over_the_aspect():
    """769/961 is over 4:5: grown to the aspect, the box itself would be 770x962; the line's box,
    a pixel narrower on each side, grows back to the crop under either strategy."""
    r = rec(ratio="4:5", box=[0, 154, 769, 961], image_size=[779, 1153], strategy="box")
    assert report.fix_line(r, "4:5") == "in/a.jpg,1,154,767,961,4:5"
    # A window is centred on the line's box, which can then be the crop's own.
    assert report.fix_line({**r, "strategy": "window"}, "4:5") == "in/a.jpg,0,154,769,961,4:5"
    crop = Box(0, 154, 769, 961)
    assert cropping.focus_box((779, 1153), 0.8, box=(1, 154, 767, 961), strategy="box") == crop
    assert cropping.focus_box((779, 1153), 0.8, box=tuple(crop.as_list()), strategy="box") != crop
    window = rec(ratio="4:5", box=[0, 90, 779, 974], image_size=[779, 1153])  # the largest window
    assert report.fix_line(window, "4:5") == "in/a.jpg,0,90,779,974,4:5"


@pytest.mark.parametrize("strategy", ["window", "box"])
def test_fix_lines_redo_the_same_outputs(cli, make_image, tmp_path, strategy):
    """Each output's fix line, given back with --focus, redoes that output: the same box, and a
    padded output padded again under --fit auto (where a point or the crop would crop it)."""
    make_image("wide.jpg", size=(640, 360))
    make_image("sub/tall.png", size=(300, 500), seed=1)
    make_image("odd.jpg", size=(779, 1153), seed=2)
    page = tmp_path / "r.html"
    targets = ("--ratio", "9:16", "--ratio", "3:2", "--size", "1080x1350", "--size", "300x300")

    def run(out, *more):
        r = cli(tmp_path / "in", tmp_path / out, *targets, "--strategy", strategy, "--manifest", "-",
                "--report", page, *more)
        assert r.exit_code == 0, r.output
        return {(x["input"], x.get("ratio") or tuple(x["size"])): x for x in r.records}

    def fix_lines():
        text = (report.files_dir(page) / "data.js").read_text()
        data = json.loads(text[text.index("{"):text.rindex("}") + 1])
        lines = [c["fix"] for it in data["items"] for c in it["crops"]]
        assert all(lines)
        (tmp_path / "fixes.csv").write_text("\n".join(lines) + "\n")
        return tmp_path / "fixes.csv"

    for fit, refit in (("crop", "crop"), ("pad", "auto")):
        first = run(fit, "--fit", fit)
        again = run(fit, "--fit", refit, "--focus", fix_lines(), "--skip-existing")
        assert again.keys() == first.keys() and len(first) == 12
        for k, r in first.items():
            assert (again[k]["box"], again[k]["fit"], again[k]["source"]) == (r["box"], fit, "focus"), k
            assert again[k]["output_size"] == r["output_size"] and again[k]["status"] == "ok"


def test_one_sprite_per_input_from_the_decoded_view(tmp_path):
    page = tmp_path / "r" / "report.html"
    view = photo((320, 240))
    sal = np.zeros((30, 40))
    sal[10:20, 30:40] = 1  # hot on the right
    crops = [(Box(925, 0, 675, 1200), "crop", 9 / 16), (Box(0, 0, 1600, 1200), "pad", 1.0)]
    report.write_thumbnails(page, Path("sub/a"), view, sal, (1600, 1200), crops, "#000000")
    files = report.files_dir(page)
    assert sorted(p.relative_to(files).as_posix() for p in files.rglob("*")) == ["sub", "sub/a.jpg"]
    tiles = report.layout((1600, 1200), crops)
    assert tiles == [(0, 240, 180), (240, 240, 180), (480, 90, 160), (576, 160, 160)]
    from PIL import Image

    sprite = np.asarray(Image.open(files / "sub/a.jpg")).astype(int)
    assert sprite.shape == (180, 736, 3)
    plain, heat = sprite[:, :240], sprite[:, 240:480]
    assert np.abs(plain - np.asarray(view.resize((240, 180)))).mean() < 4
    assert np.abs(heat - plain)[:, 200:].mean() > np.abs(heat - plain)[:, :40].mean()  # hot right
    right = np.asarray(view.crop((185, 0, 320, 240)).resize((90, 160))).astype(int)
    assert np.abs(sprite[:160, 480:570] - right).mean() < 12  # the 9:16 crop: the right side
    assert sprite[:18, 576:736].max() < 10 and sprite[24:136, 576:736].mean() > 60  # padded 1:1: bars, photo


def make_report(tmp_path: Path, n_plain=3) -> Path:
    """A report of flagged and unflagged inputs, given in an order that mixes them."""
    page = tmp_path / "report.html"
    writer = report.ReportWriter(page, ["9:16", "1:1"])
    view, sal = photo((320, 240)), np.ones((30, 40))
    order = [("plain0", {}), ("cut", {"face_cut": 1, "faces": [[1, 1, 10, 10]]}), ("plain1", {}),
             ("padded", {"fit": "pad", "score": 1.0}), ("broken", {"status": "error"}),
             ("low", {"score": 0.2})] + [(f"more{i}", {}) for i in range(n_plain)]
    for name, fields in order:
        stem = Path("trips" if name.startswith("p") else "") / name
        recs = [rec(f"{name}.jpg", t, **fields) for t in ("9:16", "1:1")]
        if fields.get("status") != "error":
            crops = [(Box(*r["box"]), r["fit"], a) for r, a in zip(recs, (9 / 16, 1.0), strict=True)]
            report.write_thumbnails(page, stem, view, sal, (400, 160), crops)
        writer.add(stem, recs)
    writer.write()
    return page


def test_data_lists_flagged_inputs_first_most_urgent_first(tmp_path):
    page = make_report(tmp_path)
    text = (report.files_dir(page) / "data.js").read_text()
    data = json.loads(text[text.index("{"):text.rindex("}") + 1])
    names = [Path(it["in"]).stem for it in data["items"]]
    assert names[:4] == ["broken", "cut", "low", "padded"]
    assert names[4:] == ["plain0", "plain1", "more0", "more1", "more2"]
    assert data["items"][0]["img"] is None and data["items"][1]["img"] == "report_files/cut.jpg"
    assert data["items"][1]["tiles"] == [[0, 240, 96], [240, 240, 96]]
    assert [c["tile"] for c in data["items"][1]["crops"]] == [[480, 90, 160], [576, 90, 160]]
    html = page.read_text()
    assert "report_files/data.js" in html and "http" not in html.replace("http-equiv", "")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def dump_dom(page: Path, tmp_path: Path, *flags: str) -> str:
    """The page's DOM after its scripts ran, from headless Chromium (no network, fresh profile)."""
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", *flags, "--dump-dom", page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout


def in_page(page: Path, tmp_path: Path, script: str):
    """What `script` (an async function's body, run after the page's own scripts, with its
    functions and `$`) returns, as JSON, from a copy of the page beside it in headless Chromium."""
    probe = page.with_name(f"{page.stem} probe.html")  # same folder: the page's relative paths hold
    done = ("<script>(async () => {" + script + "})().then("
            "(r) => document.body.dataset.result = JSON.stringify(r),"
            " (e) => document.body.dataset.result = JSON.stringify({error: String(e)}));</script>")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", done + "</body>"), encoding="utf-8")
    for budget in (10_000, 60_000):  # a loaded machine may not finish in the first budget
        dom = dump_dom(probe, tmp_path, f"--virtual-time-budget={budget}")
        found = re.search(r'data-result="([^"]*)"', dom)
        if found:
            break
    assert found, dom[-2000:]
    result = json.loads(html.unescape(found.group(1)))
    assert not (isinstance(result, dict) and "error" in result), result
    return result


def write_report(page: Path, inputs: dict[str, tuple[dict, dict]]) -> Path:
    """A report of `inputs`, each an input's stem and the fields of its 9:16 and 1:1 records
    (as `rec` takes them), sprites included."""
    writer = report.ReportWriter(page, ["9:16", "1:1"])
    view, sal = photo((320, 240)), np.ones((30, 40))
    for stem, fields in inputs.items():
        recs = [rec(f"{stem}.jpg", t, **f) for t, f in zip(("9:16", "1:1"), fields, strict=True)]
        if all(r["box"] for r in recs):
            crops = [(Box(*r["box"]), r["fit"], a) for r, a in zip(recs, (9 / 16, 1.0), strict=True)]
            report.write_thumbnails(page, Path(stem), view, sal, (400, 160), crops)
        writer.add(Path(stem), recs)
    writer.write()
    return page


# Choose an option in each named filter by its label as shown (as a reviewer does), in order;
# how many inputs the page then shows.
SHOWN = """const pick = (choices) => {
  for (const [id, label] of choices) {
    const k = [...$(id).options].findIndex((o) => o.text === label);
    if (k < 0) return `no option ${label} in ${id}`;
    $(id).selectedIndex = k;
    $(id).dispatchEvent(new Event("change"));
  }
  return +/showing (\\d+)/.exec($("summary").textContent)[1];
};
"""


@pytest.mark.browser
@pytest.mark.skipif(chromium() is None, reason="needs Chromium (apt-get install chromium)")
def test_browser_shows_flagged_items_first(tmp_path):
    page = make_report(tmp_path, n_plain=60)  # more than a page (50): the rest is on page 2
    dom = dump_dom(page, tmp_path)
    sections = re.findall(r'<section class="item( flagged)?" data-flags="([^"]*)" data-input="([^"]*)"', dom)
    assert len(sections) == 50
    flags = [f for _, f, _ in sections]
    assert flags[:4] == ["error", "face_cut", "low_score", "padded"]
    assert all(f == "" for f in flags[4:])
    assert [Path(i).stem for _, _, i in sections[:4]] == ["broken", "cut", "low", "padded"]
    assert "page 1 of 2" in dom
    assert 'loading="lazy"' in dom
    assert "in/cut.jpg,1,1,10,10,9:16" in dom  # the fix line, ready to copy
    assert "in/broken.jpg," not in dom  # a failed output has none


def test_the_report_decodes_nothing_more(cli, make_image, tmp_path, monkeypatch):
    """Sprites come from the image decoded for the model: a batch with --report decodes each
    file as many times as one without."""
    import smartcrop.images

    calls = []
    real = smartcrop.images._decode
    monkeypatch.setattr(smartcrop.images, "_decode", lambda *a, **k: calls.append(1) or real(*a, **k))
    make_image("a.jpg", size=(1200, 900))
    make_image("b.png", size=(500, 700), seed=1)
    args = (tmp_path / "in", "--ratio", "9:16", "--size", "300x300", "--overwrite")
    assert cli(*args[:1], tmp_path / "plain", *args[1:]).exit_code == 0
    plain = len(calls)
    calls.clear()
    r = cli(*args[:1], tmp_path / "reviewed", *args[1:], "--report", tmp_path / "r.html")
    assert r.exit_code == 0 and (tmp_path / "r_files" / "a.jpg").is_file()
    assert len(calls) == plain > 0


@pytest.mark.browser
@pytest.mark.skipif(chromium() is None, reason="needs Chromium (apt-get install chromium)")
def test_browser_filters_by_flag_target_and_folder(tmp_path):
    ok, low = {}, {"score": 0.2}
    page = write_report(tmp_path / "report.html", {
        "two  spaces/cut": ({"face_cut": 1, "faces": [[1, 1, 10, 10]]}, ok),
        "two  spaces/plain": (ok, ok),
        "low": (ok, low),  # low only in 1:1
        "trips/padded": ({"fit": "pad"}, {"fit": "pad"}),
        "broken": ({"status": "error"}, {"status": "error"}),
        "plain": (ok, ok)})
    got = in_page(page, tmp_path, SHOWN + """return [
      pick([]), pick([["flag", "face_cut (1)"]]), pick([["flag", "low_score (1)"]]),
      pick([["flag", "error (1)"]]), pick([["flag", "padded (1)"]]), pick([["flag", "any flag"]]),
      pick([["flag", "no flag"]]),
      pick([["flag", "all inputs"], ["folder", "two spaces"]]), pick([["folder", "."]]),  // shown collapsed
      pick([["folder", "trips"]]), pick([["folder", "two spaces"], ["flag", "face_cut (1)"]]),
      pick([["folder", "all folders"], ["flag", "low_score (1)"], ["target", "9:16"]]),
      pick([["target", "1:1"]]),
      pick([["flag", "no flag"], ["target", "9:16"]]),
      [...$("flag").options].map((o) => o.value), [...$("folder").options].map((o) => o.value)];""")
    assert got[:14] == [6, 1, 1, 1, 1, 4, 2, 2, 3, 1, 1, 0, 1, 3]
    assert got[14] == ["", "error", "face_cut", "low_score", "padded", "*", "-"]
    assert got[15] == ["", ".", "trips", "two  spaces"]


@pytest.mark.browser
@pytest.mark.skipif(chromium() is None, reason="needs Chromium (apt-get install chromium)")
def test_browser_finds_files_whose_names_are_not_urls(tmp_path):
    """'#' and '?' end a URL's path and '%' starts an escape: the page's data and every sprite
    load whatever their names hold."""
    names = ["a #1", "b?x=1", "c%20d", "e\nf", "sp ace/g"]
    page = write_report(tmp_path / "rep #1.html", {n: ({}, {}) for n in names})
    assert (tmp_path / "rep #1_files" / "e\nf.jpg").is_file()
    got = in_page(page, tmp_path, """
      const imgs = [...document.querySelectorAll("section .orig > img")];
      imgs.forEach((i) => i.loading = "eager");
      const widths = await Promise.all(imgs.map((i) => i.decode().then(() => i.naturalWidth, () => 0)));
      return [R.items.map((it) => it.in), widths];""")
    assert got[0] == [f"in/{n}.jpg" for n in names]
    assert len(got[1]) == len(names) and min(got[1]) > 0  # every sprite loaded


@pytest.mark.browser
@pytest.mark.skipif(chromium() is None, reason="needs Chromium (apt-get install chromium)")
def test_browser_click_writes_a_point_line_that_reads_back_the_same_input(tmp_path):
    """The page quotes an input as focus.csv_line does: where it starts with '#', '{' or
    whitespace, ends with whitespace, holds a comma, quote or line break, or is the word 'input'
    (a quoted field is read verbatim)."""
    plain = {"plain": "in/plain.jpg", "tab": "in/t\tb.jpg", "inner": "in/#a.jpg"}
    quoted = {"hash": "#a.jpg", "brace": "{b.jpg", "header": "Input", "lead": " lead.jpg",
              "nbsp": "\u00a0n.jpg", "fs": "\x1cfs.jpg", "trail": "in/x.jpg ", "comma": "in/a,b.jpg",
              "quote": 'in/a"b.jpg', "nl": "in/a\nb.jpg", "cr": "in/a\rb.jpg"}
    inputs = {**plain, **quoted}
    page = write_report(tmp_path / "report.html", {k: ({"input": i},) * 2 for k, i in inputs.items()})
    got = in_page(page, tmp_path, """
      return [...document.querySelectorAll("section")].map((sec) => {
        const orig = sec.querySelector(".orig"), r = orig.getBoundingClientRect();
        orig.dispatchEvent(new MouseEvent("click", {bubbles: true, clientX: r.left + r.width / 2,
                                                     clientY: r.top + r.height / 2}));
        return [current[+orig.dataset.n].in, [...sec.querySelectorAll("code")].map((c) => c.textContent)];
      });""")
    assert [i for i, _ in got] == list(inputs.values())
    for name, lines in got:
        field = '"' + name.replace('"', '""') + '"' if name in quoted.values() else name
        x, y = lines[0][len(field) + 1:].split(",")[:2]
        assert abs(int(x) - 200) <= 2 and abs(int(y) - 80) <= 2  # the click, on the input's centre
        assert lines == [f"{field},{x},{y},9:16", f"{field},{x},{y},1:1"]
        assert next(csv.reader([lines[0]])) == [name, x, y, "9:16"]


def failed_output(**kw) -> dict:
    """The fields of an output that failed after its box was found (too small for its size)."""
    return {"status": "error", "box": [120, 0, 160, 160], "image_size": [400, 160], "fit": "pad",
            "score": None, "error": "image 400x160 is too small for 1080x1920: 6.75x upscale ...", **kw}


def test_a_failed_output_gets_no_tile_and_no_fix_line(tmp_path):
    page = write_report(tmp_path / "report.html", {"a": ({}, failed_output())})
    text = (report.files_dir(page) / "data.js").read_text()
    item = json.loads(text[text.index("{"):text.rindex("}") + 1])["items"][0]
    assert item["img"] == "report_files/a.jpg" and item["flags"] == ["error"]
    ok, failed = item["crops"]
    assert ok["tile"] == [480, 90, 160] and ok["fix"] == "in/a.jpg,10,0,90,160,9:16"
    assert (failed["flags"], failed["tile"], failed["fix"]) == (["error"], None, None)


@pytest.mark.browser
@pytest.mark.skipif(chromium() is None, reason="needs Chromium (apt-get install chromium)")
def test_browser_shows_a_failed_output_as_its_error(tmp_path):
    page = write_report(tmp_path / "report.html", {"a": ({}, failed_output())})
    got = in_page(page, tmp_path, """
      const [ok, failed] = document.querySelectorAll("figure");
      return [ok.querySelectorAll("img").length, ok.querySelector("code").textContent,
              failed.querySelectorAll("img, code").length, failed.querySelector(".miss").textContent,
              [...failed.querySelectorAll(".flag")].map((f) => f.textContent)];""")
    assert got == [1, "in/a.jpg,10,0,90,160,9:16", 0, failed_output()["error"], ["error"]]
