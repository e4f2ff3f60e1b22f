"""``--report report.html``: one offline page to review a batch, flagged crops first.

The per-image core calls `write_thumbnails` with the image it already decoded for the model
(no second decode): a small view of the input, one per output and the saliency heat map go to
``report_files/`` beside the page, each written atomically. The CLI feeds every result to a
`ReportWriter`, which writes ``report_files/data.js`` and the page (inline CSS and JS, no
network) once the batch ends. The page shows 50 inputs at a time, loads images lazily and
filters by flag, target and folder, so 10,000 photos open as fast as 50.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from smartcrop import images, padding
from smartcrop.cropping import Box
from smartcrop.focus import csv_line

INPUT_SIDE = 240  # long side of an input's thumbnail
CROP_SIDE = 160  # long side of an output's thumbnail
THUMB_QUALITY = 80
# Flags, most urgent first: the page lists inputs by their most urgent flag.
FLAGS = ("error", "face_cut", "upscaled", "undersize", "low_score", "padded")
# A crop keeping less saliency than --fit auto asks for is flagged low_score.
LOW_SCORE = padding.AUTO_MIN_SCORE


def files_dir(report: Path) -> Path:
    """Where a report's thumbnails and data live: ``report.html`` -> ``report_files/``."""
    return report.parent / f"{report.stem}_files"


def report_files(report: Path | None) -> Path | None:
    """The report's thumbnail folder, or None without a report (never walked as input)."""
    return files_dir(report) if report else None


def _thumb_names(stem: Path) -> tuple[str, str]:
    """(input thumbnail, heat map) paths relative to the files folder; outputs add _<tag>.jpg."""
    base = stem.as_posix()
    return f"{base}.jpg", f"{base}_heat.png"


def write_thumbnails(report: Path, stem: Path, view: Image.Image, saliency: np.ndarray,
                     image_size: tuple[int, int], crops: dict[str, tuple[Box, str, float]],
                     background: str = "auto") -> None:
    """Thumbnails of one input from `view`, the RGB image already decoded for the model.

    `crops` maps a target's tag to its box (upright image pixels), fit ("crop"/"pad") and aspect.
    """
    from smartcrop.overlay import heat_colours

    folder = files_dir(report)
    input_name, heat_name = _thumb_names(stem)
    small = view.copy()
    small.thumbnail((INPUT_SIDE, INPUT_SIDE), Image.Resampling.BILINEAR)
    _save(small, folder / input_name)
    heat = saliency / saliency.max() if saliency.max() > 0 else saliency
    rgba = np.dstack([heat_colours(heat), (np.clip(heat, 0, 1) * 230).astype(np.uint8)])
    _save(Image.fromarray(rgba, "RGBA"), folder / heat_name)
    fx, fy = view.width / image_size[0], view.height / image_size[1]
    for tag, (box, fit, aspect) in crops.items():
        path = folder / f"{stem.as_posix()}_{tag}.jpg"
        if fit == "pad":
            size = _fit_side(*padding.canvas_size(*image_size, aspect), CROP_SIDE)
            _save(padding.pad(view, size, background), path)
            continue
        area = (box.left * fx, box.top * fy, (box.left + box.width) * fx, (box.top + box.height) * fy)
        size = _fit_side(box.width, box.height, CROP_SIDE)
        _save(view.resize(size, Image.Resampling.BILINEAR, box=area, reducing_gap=2.0), path)


def _fit_side(w: float, h: float, side: int) -> tuple[int, int]:
    s = side / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def _save(im: Image.Image, path: Path) -> None:
    try:
        images.save_atomic(im, path, THUMB_QUALITY)
    except OSError as e:
        raise images.ImageError(f"cannot write {path}: {e.strerror or images.describe(e)}") from None


def crop_flags(rec: dict) -> list[str]:
    """The review flags of one record, most urgent first (from its fields alone)."""
    flags = []
    if rec.get("status") == "error":
        flags.append("error")
    if rec.get("face_cut"):
        flags.append("face_cut")
    if (rec.get("upscale") or 0) > 1:
        flags.append("upscaled")
    if rec.get("note"):
        flags.append("undersize")
    score = rec.get("score")
    if score is not None and score < LOW_SCORE and rec.get("fit") != "pad":
        flags.append("low_score")
    if rec.get("fit") == "pad":
        flags.append("padded")
    return flags


def fix_line(rec: dict, target: str) -> str:
    """The --focus line that would redo this crop: a box holding every face when the crop cuts
    one, else the crop's centre as a point (the page moves the point where the reviewer clicks)."""
    faces = rec.get("faces") or []
    if rec.get("face_cut") and faces:
        left = min(f[0] for f in faces)
        top = min(f[1] for f in faces)
        right = max(f[0] + f[2] for f in faces)
        bottom = max(f[1] + f[3] for f in faces)
        return csv_line(rec["input"], (left, top, right - left, bottom - top), target)
    box = rec.get("box")
    if box:
        return csv_line(rec["input"], (round(box[0] + box[2] / 2), round(box[1] + box[3] / 2)), target)
    size = rec.get("image_size") or [0, 0]
    return csv_line(rec["input"], (size[0] // 2, size[1] // 2), target)


def _target_label(rec: dict) -> str:
    return rec["ratio"] if "ratio" in rec else "x".join(str(v) for v in rec["size"])


def _entry(stem: Path, records: list[dict], folder: Path) -> dict:
    """One input's compact entry in data.js."""
    input_name, heat_name = _thumb_names(stem)
    first = records[0]
    has_thumbs = any(r.get("box") for r in records)
    crops = []
    for r in records:
        label = _target_label(r)
        tag = label.replace(":", "x")
        crops.append({
            "t": label, "flags": crop_flags(r), "st": r["status"], "sc": r.get("score"),
            "box": r.get("box"), "fit": r.get("fit"), "src": r.get("source", "model"),
            "err": r.get("error"), "note": r.get("note"), "out": r.get("output"),
            "os": r.get("output_size"), "up": r.get("upscale"), "fc": r.get("face_cut"),
            "img": f"{folder.name}/{stem.as_posix()}_{tag}.jpg" if r.get("box") else None,
            "fix": fix_line(r, label),
        })
    flags = [f for f in FLAGS if any(f in c["flags"] for c in crops)]
    return {
        "in": first["input"], "dir": stem.parent.as_posix() if stem.parent != Path(".") else "",
        "size": first.get("image_size"), "faces": first.get("faces") or [],
        "img": f"{folder.name}/{input_name}" if has_thumbs else None,
        "heat": f"{folder.name}/{heat_name}" if has_thumbs else None,
        "flags": flags, "crops": crops,
    }


class ReportWriter:
    """Collects each input's records during the batch; `write` makes data.js and the page."""

    def __init__(self, path: Path, targets: list[str]):
        self.path = Path(path)
        self.targets = targets
        self.entries: list[dict] = []

    def add(self, stem: Path, records: list[dict]) -> None:
        if records:
            self.entries.append(_entry(stem, records, files_dir(self.path)))

    def write(self) -> None:
        """Flagged inputs first (most urgent flag, then batch order), then the rest."""
        rank = {f: i for i, f in enumerate(FLAGS)}
        order = sorted(range(len(self.entries)), key=lambda i: (
            min((rank[f] for f in self.entries[i]["flags"]), default=len(FLAGS)), i))
        data = {"targets": self.targets, "flags": list(FLAGS), "low_score": LOW_SCORE,
                "items": [self.entries[i] for i in order]}
        folder = files_dir(self.path)
        text = "window.REPORT = " + json.dumps(data, ensure_ascii=False, separators=(",", ":")) + ";\n"
        _write_text(folder / "data.js", text)
        _write_text(self.path, PAGE.replace("__DATA__", f"{folder.name}/data.js"))


def _write_text(path: Path, text: str) -> None:
    """Temporary file beside `path`, then rename: never a partial page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>smartcrop report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f4f4;color:#222}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:8px 12px;z-index:2}
header label{margin-right:12px}
#summary{color:#555;margin-left:8px}
.item{background:#fff;margin:10px 12px;padding:8px 10px;border-left:5px solid #9c9;display:flex;gap:14px;flex-wrap:wrap}
.item.flagged{border-left-color:#d33}
.head{width:100%;display:flex;gap:8px;align-items:baseline}
.name{font-weight:600;word-break:break-all}
.flag{background:#d33;color:#fff;border-radius:3px;padding:0 5px;font-size:12px}
.flag.padded,.flag.low_score,.flag.undersize{background:#c80}
.orig{position:relative;align-self:flex-start;cursor:crosshair;line-height:0}
.orig img{max-width:240px;max-height:240px}
.orig .heat{position:absolute;left:0;top:0;width:100%;height:100%;opacity:0;pointer-events:none}
.orig:hover .heat,body.heat .orig .heat{opacity:.75}
.face{position:absolute;border:2px solid #0f0;box-sizing:border-box;display:none;pointer-events:none}
body.faces .face,.orig:hover .face{display:block}
.box{position:absolute;border:2px dashed #fff;outline:1px solid #000;box-sizing:border-box;display:none;pointer-events:none}
.orig .box.on{display:block}
.dot{position:absolute;width:9px;height:9px;margin:-5px;border-radius:50%;background:#0ff;border:1px solid #000;display:none}
figure{margin:0;width:200px;font-size:12px}
figure img{max-width:160px;max-height:160px;display:block;background:#ddd}
figure.bad .thumb{outline:3px solid #d33}
.miss{width:160px;height:90px;display:flex;align-items:center;justify-content:center;background:#fdd;color:#900;line-height:1.2;padding:4px;box-sizing:border-box}
code{display:block;background:#eee;padding:2px 4px;margin-top:3px;word-break:break-all;user-select:all}
button{font-size:11px}
nav{margin:10px 12px}
</style></head>
<body class="faces">
<header>
<b>smartcrop report</b><span id="summary"></span><br>
<label>flag <select id="flag"></select></label>
<label>target <select id="target"></select></label>
<label>folder <select id="folder"></select></label>
<label><input type="checkbox" id="heat"> heat maps</label>
<label><input type="checkbox" id="faces" checked> faces</label>
<span>Hover an input for its heat map; click it to move the focus point in the lines below.</span>
</header>
<main id="list"></main>
<nav id="pages"></nav>
<script src="__DATA__"></script>
<script>
"use strict";
const t0 = performance.now();
const R = window.REPORT || {items: [], targets: [], flags: []};
const PER_PAGE = 50;
const $ = (id) => document.getElementById(id);
let page = 0;
function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c])); }
function options(sel, values, all) {
  sel.innerHTML = `<option value="">${all}</option>` + values.map((v) => `<option>${esc(v)}</option>`).join("");
}
const counts = {};
R.items.forEach((it) => it.flags.forEach((f) => counts[f] = (counts[f] || 0) + 1));
options($("flag"), R.flags.filter((f) => counts[f]), "all inputs");
[...$("flag").options].slice(1).forEach((o) => o.textContent = `${o.value} (${counts[o.value]})`);
$("flag").insertAdjacentHTML("beforeend", '<option value="*">any flag</option><option value="-">no flag</option>');
options($("target"), R.targets, "all targets");
options($("folder"), [...new Set(R.items.map((it) => it.dir))].sort().map((d) => d || "."), "all folders");
function crops(it) {
  const t = $("target").value;
  return t ? it.crops.filter((c) => c.t === t) : it.crops;
}
function shown() {
  const f = $("flag").value, d = $("folder").value;
  return R.items.filter((it) => {
    if (d && (it.dir || ".") !== d) return false;
    const cf = crops(it).flatMap((c) => c.flags);
    if (f === "*") return cf.length > 0;
    if (f === "-") return cf.length === 0;
    return !f || cf.includes(f);
  });
}
function pct(v, total) { return (100 * v / total).toFixed(2) + "%"; }
function itemHtml(it, n) {
  const cs = crops(it), flags = [...new Set(cs.flatMap((c) => c.flags))];
  let orig = '<div class="miss">no preview</div>';
  if (it.img) {
    const [w, h] = it.size;
    const faces = it.faces.map((f) => `<div class="face" style="left:${pct(f[0], w)};top:${pct(f[1], h)};width:${pct(f[2], w)};height:${pct(f[3], h)}"></div>`).join("");
    const boxes = cs.map((c, k) => c.box ? `<div class="box" data-k="${k}" style="left:${pct(c.box[0], w)};top:${pct(c.box[1], h)};width:${pct(c.box[2], w)};height:${pct(c.box[3], h)}"></div>` : "").join("");
    orig = `<div class="orig" data-n="${n}"><img loading="lazy" src="${esc(it.img)}" alt=""><img class="heat" loading="lazy" src="${esc(it.heat)}" alt="">${faces}${boxes}<div class="dot"></div></div>`;
  }
  const figs = cs.map((c, k) => {
    const info = c.st === "error" ? esc(c.err) :
      `${c.sc == null ? "" : "score " + c.sc.toFixed(2)}${c.fit === "pad" ? " · padded" : ""}${c.src === "focus" ? " · focus" : ""}${c.os ? " · " + c.os.join("x") : ""}`;
    const img = c.img ? `<img class="thumb" loading="lazy" src="${esc(c.img)}" alt="">` : `<div class="miss">${esc(c.err || "not made")}</div>`;
    return `<figure class="${c.flags.length ? "bad" : ""}" data-k="${k}">${img}<figcaption><b>${esc(c.t)}</b> ${info}` +
      `${c.flags.map((f) => ` <span class="flag ${f}">${f}</span>`).join("")}` +
      `<code>${esc(c.fix)}</code><button data-copy>copy</button></figcaption></figure>`;
  }).join("");
  return `<section class="item${flags.length ? " flagged" : ""}" data-flags="${flags.join(" ")}" data-input="${esc(it.in)}">` +
    `<div class="head"><span class="name">${esc(it.in)}</span>${flags.map((f) => `<span class="flag ${f}">${f}</span>`).join("")}</div>${orig}${figs}</section>`;
}
let current = [];
function render() {
  current = shown();
  const pages = Math.max(1, Math.ceil(current.length / PER_PAGE));
  page = Math.min(page, pages - 1);
  const slice = current.slice(page * PER_PAGE, (page + 1) * PER_PAGE);
  $("list").innerHTML = slice.map((it, i) => itemHtml(it, page * PER_PAGE + i)).join("");
  let nav = "";
  if (pages > 1) {
    nav = `<button data-page="${page - 1}" ${page ? "" : "disabled"}>previous</button> page ${page + 1} of ${pages} ` +
      `<button data-page="${page + 1}" ${page < pages - 1 ? "" : "disabled"}>next</button>`;
  }
  $("pages").innerHTML = nav;
  const flagged = R.items.filter((it) => it.flags.length).length;
  $("summary").textContent = ` ${R.items.length} inputs, ${flagged} flagged; showing ${current.length}`;
}
["flag", "target", "folder"].forEach((id) => $(id).addEventListener("change", () => { page = 0; render(); }));
$("heat").addEventListener("change", (e) => document.body.classList.toggle("heat", e.target.checked));
$("faces").addEventListener("change", (e) => document.body.classList.toggle("faces", e.target.checked));
$("pages").addEventListener("click", (e) => {
  if (e.target.dataset.page) { page = +e.target.dataset.page; render(); window.scrollTo(0, 0); }
});
$("list").addEventListener("mouseover", (e) => {
  const fig = e.target.closest("figure"), sec = e.target.closest("section");
  if (!sec) return;
  sec.querySelectorAll(".box").forEach((b) => b.classList.toggle("on", !!fig && b.dataset.k === fig.dataset.k));
});
function copy(text, button) {
  const done = () => { button.textContent = "copied"; setTimeout(() => button.textContent = "copy", 1200); };
  if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done); return; }
  const ta = document.createElement("textarea");
  ta.value = text; document.body.appendChild(ta); ta.select(); document.execCommand("copy"); ta.remove(); done();
}
$("list").addEventListener("click", (e) => {
  if (e.target.dataset.copy !== undefined) { copy(e.target.previousElementSibling.textContent, e.target); return; }
  const orig = e.target.closest(".orig");
  if (!orig) return;
  const it = current[+orig.dataset.n], r = orig.getBoundingClientRect();
  const x = Math.round((e.clientX - r.left) / r.width * it.size[0]);
  const y = Math.round((e.clientY - r.top) / r.height * it.size[1]);
  const dot = orig.querySelector(".dot");
  dot.style.left = pct(x, it.size[0]); dot.style.top = pct(y, it.size[1]); dot.style.display = "block";
  orig.closest("section").querySelectorAll("figure").forEach((fig) => {
    const c = crops(it)[+fig.dataset.k];
    const quoted = /[",\n]/.test(it.in) ? '"' + it.in.replace(/"/g, '""') + '"' : it.in;
    fig.querySelector("code").textContent = `${quoted},${x},${y},${c.t}`;
  });
});
render();
document.body.dataset.renderMs = Math.round(performance.now() - t0);
</script>
</body></html>
"""
