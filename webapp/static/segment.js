// Segment page: an image with the mask over it, the uncertainty map, suggested clicks as
// markers; click = object (+), shift-click or right-click = background (−); commit the object
// the clicks built (it gets a label of its own; the next clicks build a new one); brush, eraser,
// delete and merge objects on the mask; after a change only the box it touched is fetched and
// redrawn on the mask and map canvases; zoom (wheel, + −, 0) and pan (drag, arrows); undo, reset; next and previous
// image of the served folder (the work on each is kept); the per-object morphology table with
// the library's classes; a choice of model when several runs are served; instance labels (TIFF) and the table (CSV) for download; the saved
// sessions to reopen (every session is saved on the server; its URL reopens it).

import { blobUrl, del, download, get, getBlob, guarded, post, postForm, sessionId, sessionUrl } from "./api.js";
import { clear, fmt, h } from "./dom.js";

const TABLE_COLUMNS = ["label", "shape_class", "area_um2", "perimeter_um", "major_axis_um", "minor_axis_um",
  "aspect_ratio", "solidity", "feret_um", "centroid_x_px", "centroid_y_px"];
const KEYS = [["click / drag", "object (+) / pan"], ["shift-click, right-click", "background (−)"],
  ["c, b, e, d, g", "click, brush, eraser, delete object, merge two objects"],
  ["Enter", "commit the object (a label of its own; clicks start a new one)"], ["wheel, + −, 0", "zoom in, out, fit"], ["arrows", "pan"],
  ["z (ctrl-z)", "undo"], ["m", "mask on or off"], ["n, p", "next, previous image"]];
let els = null;
let current = null;
let tool = "click";
const view = { z: 1, tx: 0, ty: 0 };
let tableSeq = 0;
let picked = null; // the first object of a merge, {x, y}

function marks(svg, st, { withClicks }) {
  clear(svg);
  svg.setAttribute("viewBox", `0 0 ${st.width_px} ${st.height_px}`);
  const r = Math.max(2.5, Math.min(st.width_px, st.height_px) / 40);
  st.suggestions.forEach((s, i) => svg.append(h("g", { class: "suggestion", dataset: { x: s.x_px, y: s.y_px } },
    h("circle", { cx: s.x_px + 0.5, cy: s.y_px + 0.5, r: r * 1.4 }),
    h("text", { x: s.x_px + 0.5 + r * 1.6, y: s.y_px + 0.5 - r * 1.2, "font-size": (r * 1.6).toFixed(2) }, String(i + 1)))));
  if (!withClicks) return;
  for (const c of st.clicks) {
    const cls = c.positive ? "click pos" : "click neg";
    svg.append(h("g", { class: cls, dataset: { x: c.x_px, y: c.y_px } },
      h("circle", { cx: c.x_px + 0.5, cy: c.y_px + 0.5, r }),
      h("text", { x: c.x_px + 0.5, y: c.y_px + 0.5 + r * 0.45, "text-anchor": "middle", "font-size": (r * 1.4).toFixed(2) },
        c.positive ? "+" : "−")));
  }
}

// The table after the mask: fetched once the picture is shown; an older answer is dropped.
async function objectsTable(st) {
  const box = els.objects;
  if (st.pixel_size_nm === null || st.pixel_size_nm === undefined) {
    clear(box).append(h("p", { class: "small" }, "This image carries no pixel size: enter it above (nm) to measure its objects."));
    return;
  }
  const seq = ++tableSeq;
  const t = await guarded(() => get("/api/segment/objects", { busy: "measuring the objects" }));
  if (!t || seq !== tableSeq || t.superseded) return;
  const cols = TABLE_COLUMNS.filter((c) => t.columns.includes(c));
  clear(box).append(h("p", { class: "small" }, `${t.rows.length} objects; pixel size ${fmt(t.pixel_size_nm)} nm; `
      + "label = the object's value in the labels TIFF; shape_class = the library's classes (from the 2D skeleton)"),
    h("div", { class: "table-wrap" }, h("table", { class: "objects", id: "seg-table" },
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, t.rows.map((r) => h("tr", {}, cols.map((c) => h("td", { class: typeof r[c] === "number" ? "num" : "" }, fmt(r[c])))))))));
}

function applyView() {
  els.stack.style.transform = `translate(${view.tx}px, ${view.ty}px) scale(${view.z})`;
  els.zoom.textContent = `${Math.round(view.z * 100)} %`;
}

function zoomAt(factor, cx, cy) {
  const z = Math.min(32, Math.max(1, view.z * factor));
  if (cx === undefined) { const r = els.viewport.getBoundingClientRect(); cx = r.width / 2; cy = r.height / 2; }
  view.tx = cx - ((cx - view.tx) * z) / view.z;
  view.ty = cy - ((cy - view.ty) * z) / view.z;
  view.z = z;
  clampView();
}

function clampView() {
  const r = els.viewport.getBoundingClientRect();
  view.tx = Math.min(0, Math.max(r.width * (1 - view.z), view.tx));
  view.ty = Math.min(0, Math.max(r.height * (1 - view.z), view.ty));
  if (view.z === 1) { view.tx = 0; view.ty = 0; }
  applyView();
}

async function show(st) {
  if (!st.image) { current = st; els.stage.hidden = true; return; }
  els.stage.hidden = false;
  const queue = st.queued > 1 ? ` · ${st.queued} model calls queued` : "";
  els.name.textContent = `${st.image} · ${st.width_px} × ${st.height_px} px · run ${st.run} · model ${st.seconds.toFixed(2)} s${queue}`;
  els.note.textContent = st.note || els.note.textContent;
  els.px.value = st.pixel_size_nm ?? "";
  els.select.value = st.image;
  // the image itself changes only when another one is opened; mask and map with every answer
  const fresh = !current || current.opened !== st.opened || !els.img.src;
  if (fresh) { view.z = 1; view.tx = 0; view.ty = 0; applyView(); }
  const image = fresh ? guarded(() => blobUrl(`/api/segment/layers/image.png?v=${st.version}`)) : null;
  await Promise.all([paintLayer(els.mask, "mask", st, fresh), paintLayer(els.unc, "uncertainty", st, fresh)]);
  const url = await image;
  if (url) {
    const old = els.img.src;
    els.img.classList.remove("loaded");
    els.img.onload = () => els.img.classList.add("loaded");
    els.img.src = url;
    if (old.startsWith("blob:")) URL.revokeObjectURL(old);
  }
  current = st;
  marks(els.marks, st, { withClicks: true });
  marks(els.uncMarks, st, { withClicks: false });
  els.strokes.setAttribute("viewBox", `0 0 ${st.width_px} ${st.height_px}`);
  els.uncLabel.textContent = `${st.uncertainty_label}; 0 (dark) to ${fmt(st.uncertainty_vmax)} (bright), square-root scale; here at most ${fmt(st.uncertainty_max)}`;
  clear(els.suggested).append(...(st.suggestions.length
    ? st.suggestions.map((s) => h("li", {}, `(${s.x_px}, ${s.y_px}) uncertainty ${fmt(s.score)} (the map's value there)`))
    : [h("li", {}, "none: the map is flat")]));
  const edits = (st.edits ? ` · ${st.edits} edit${st.edits === 1 ? "" : "s"} by hand` : "")
    + (st.committed ? ` · ${st.committed} committed or merged object${st.committed === 1 ? "" : "s"} (orange)` : "");
  els.count.textContent = `${st.clicks.length} click${st.clicks.length === 1 ? "" : "s"} (${st.clicks.filter((c) => c.positive).length} +, ${st.clicks.filter((c) => !c.positive).length} −)${edits} · foreground ${(100 * st.foreground_fraction).toFixed(1)} %`;
  const done = new Set([st.image, ...(st.shelved || [])]);
  for (const o of els.select.options) o.textContent = o.value + (done.has(o.value) ? " ✓" : "");
  els.stage.dataset.version = String(st.version);
  await objectsTable(st);
}

// A layer on its canvas: the whole picture, or after a change from the version the canvas
// shows only the box the change touched (cleared and drawn again); an older answer that comes
// late is dropped.
async function paintLayer(canvas, layer, st, fresh) {
  const win = !fresh && st.changed_box && canvas.dataset.version === String(st.changed_from);
  const [y0, y1, x0, x1] = win ? st.changed_box : [0, st.height_px, 0, st.width_px];
  canvas.dataset.want = String(st.version);
  const box = win ? `&box=${y0},${y1},${x0},${x1}` : "";
  const blob = await guarded(() => getBlob(`/api/segment/layers/${layer}.png?v=${st.version}${box}`));
  if (!blob) return;
  const bitmap = await createImageBitmap(blob);
  if (canvas.dataset.want !== String(st.version)) return;
  if (!win) { canvas.width = st.width_px; canvas.height = st.height_px; }
  const ctx = canvas.getContext("2d");
  ctx.clearRect(x0, y0, x1 - x0, y1 - y0);
  ctx.drawImage(bitmap, x0, y0);
  canvas.dataset.version = String(st.version);
  canvas.dataset.drawn = win ? "box" : "whole";
  canvas.classList.add("loaded");
}

function pixelOf(e) {
  const r = els.img.getBoundingClientRect();
  const x = Math.floor(((e.clientX - r.left) / r.width) * current.width_px);
  const y = Math.floor(((e.clientY - r.top) / r.height) * current.height_px);
  return { x: Math.min(current.width_px - 1, Math.max(0, x)), y: Math.min(current.height_px - 1, Math.max(0, y)) };
}

async function addClick(e, positive) {
  if (!current || !current.image) return;
  const { x, y } = pixelOf(e);
  const st = await guarded(() => post("/api/segment/click", { x_px: x, y_px: y, positive }, { busy: "updating the mask" }));
  if (st) await show(st);
}

// Pointer on the image: in click mode a press that moves pans, one that does not clicks; in
// brush and eraser modes a drag paints (sent when the button is released).
function pointer(viewport) {
  let drag = null;
  viewport.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = viewport.getBoundingClientRect();
    zoomAt(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  viewport.addEventListener("mousedown", (e) => {
    if (!current || !current.image || e.button === 2) return;
    const paint = (tool === "brush" || tool === "eraser") && e.button === 0;
    drag = { x: e.clientX, y: e.clientY, tx: view.tx, ty: view.ty, moved: false, paint, points: [] };
    if (paint) { const p = pixelOf(e); drag.points.push([p.x, p.y]); }
  });
  window.addEventListener("mousemove", (e) => {
    if (!drag) return;
    if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 4) drag.moved = true;
    if (drag.paint) {
      const p = pixelOf(e);
      const last = drag.points[drag.points.length - 1];
      if (p.x !== last[0] || p.y !== last[1]) drag.points.push([p.x, p.y]);
      els.stroke.setAttribute("points", drag.points.map(([x, y]) => `${x + 0.5},${y + 0.5}`).join(" "));
      els.stroke.setAttribute("stroke-width", String(2 * Number(els.radius.value) + 1));
      els.stroke.setAttribute("class", `stroke ${tool}`);
    } else if (drag.moved) {
      view.tx = drag.tx + e.clientX - drag.x;
      view.ty = drag.ty + e.clientY - drag.y;
      clampView();
    }
  });
  window.addEventListener("mouseup", async () => {
    const d = drag;
    drag = null;
    if (!d || !d.paint) { if (d && d.moved) viewport.dataset.dragged = "1"; return; }
    els.stroke.setAttribute("points", "");
    const body = { points: d.points.slice(0, 2000), radius_px: Number(els.radius.value) || 0, on: tool === "brush" };
    const st = await guarded(() => post("/api/segment/paint", body, { busy: tool === "brush" ? "brushing" : "erasing" }));
    if (st) await show(st);
  });
  viewport.addEventListener("click", async (e) => {
    if (viewport.dataset.dragged) { delete viewport.dataset.dragged; return; }
    if (tool === "click") addClick(e, !e.shiftKey);
    if (tool === "merge" && current && current.image) {
      const p = pixelOf(e);
      if (!picked) { picked = p; markPicked(); return; }
      const a = picked;
      picked = null;
      markPicked();
      const st = await guarded(() => post("/api/segment/merge", { a: { x_px: a.x, y_px: a.y }, b: { x_px: p.x, y_px: p.y } }, { busy: "merging the objects" }));
      if (st) await show(st);
    }
    if (tool === "delete" && current && current.image) {
      const { x, y } = pixelOf(e);
      const st = await guarded(() => post("/api/segment/delete-object", { x_px: x, y_px: y }, { busy: "deleting the object" }));
      if (st) await show(st);
    }
  });
  viewport.addEventListener("contextmenu", (e) => { e.preventDefault(); if (tool === "click") addClick(e, false); });
}

// The first object picked for a merge, marked until the second is picked.
function markPicked() {
  for (const g of els.marks.querySelectorAll("g.picked")) g.remove();
  if (!picked) return;
  const r = Math.max(2.5, Math.min(current.width_px, current.height_px) / 40);
  els.marks.append(h("g", { class: "picked", dataset: { x: picked.x, y: picked.y } },
    h("circle", { cx: picked.x + 0.5, cy: picked.y + 0.5, r: r * 1.8 })));
}

function setTool(name) {
  tool = name;
  picked = null;
  if (els.marks) markPicked();
  for (const b of els.tools.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.tool === name));
  els.viewport.dataset.tool = name;
}

async function savedSessions() {
  const list = await guarded(() => get("/api/segment/sessions"));
  if (!list) return;
  const mine = sessionId();
  clear(els.sessions).append(...(list.sessions.length ? list.sessions.map((m) => h("li", {},
    h("a", { href: sessionUrl(m.id), class: m.id === mine ? "this" : "" }, m.name || "(no image)"),
    ` · ${m.clicks} click${m.clicks === 1 ? "" : "s"}, ${m.steps} step${m.steps === 1 ? "" : "s"} · `,
    new Date(m.updated * 1000).toLocaleString(), m.id === mine ? " (this tab)" : "",
    m.owned && m.id !== mine ? h("button", { type: "button", class: "seg-delete-session", dataset: { id: m.id },
      title: "delete this saved session (opened by this browser)",
      onclick: async () => { if (await guarded(() => del(`/api/segment/sessions/${encodeURIComponent(m.id)}`))) savedSessions(); } }, "Delete") : null))
    : [h("li", {}, "none yet")]));
}

export async function segmentPage(root) {
  const status = await guarded(() => get("/api/segment"));
  if (!status) return;
  if (!status.available) {
    clear(root).append(h("h2", {}, "Segment"), h("p", {}, `No model is served: ${status.note}.`));
    root.dataset.ready = "1";
    return;
  }
  const select = h("select", { id: "seg-image", "aria-label": "image to segment" },
    status.images.length ? status.images.map((n) => h("option", { value: n }, n)) : h("option", { value: "" }, "(no --images folder)"));
  const file = h("input", { type: "file", id: "seg-file", accept: ".tif,.tiff,.png", "aria-label": "upload an image" });
  const px = h("input", { type: "number", id: "seg-px", step: "any", min: 0, placeholder: "nm", "aria-label": "pixel size in nm" });
  const run = async (fn) => { const st = await guarded(fn); if (st) await show(st); };
  const runs = status.runs || [];
  const runSel = runs.length > 1 ? h("select", { id: "seg-run", "aria-label": "model" }, runs.map((r) => h("option", { value: r }, r))) : null;
  const chosen = () => (runSel ? runSel.value : undefined);
  const openName = (name) => run(() => post("/api/segment/open", { name, run: chosen() }, { busy: `opening ${name}` }));
  const step = (by) => {
    const names = status.images;
    if (!names.length) return;
    // the image whose name the page shows (set with it, before its layers have loaded)
    const i = names.indexOf((els && els.select.value) || (current && current.image));
    openName(names[(i + by + names.length) % names.length]);
  };
  file.addEventListener("change", () => {
    if (!file.files.length) return;
    const form = new FormData();
    form.append("file", file.files[0]);
    if (px.value) form.append("pixel_size_nm", px.value);
    if (chosen()) form.append("run", chosen());
    run(() => postForm("/api/segment/upload", form, { busy: `uploading and predicting ${file.files[0].name}` }));
    file.value = "";
  });
  const img = h("img", { id: "seg-img", alt: "image", draggable: "false" });
  const mask = h("canvas", { id: "seg-mask", class: "overlay", "aria-hidden": "true" });
  const svg = h("svg", { id: "seg-marks", class: "overlay marks", preserveAspectRatio: "none" });
  const stroke = h("polyline", { class: "stroke", points: "", fill: "none" });
  const strokes = h("svg", { id: "seg-stroke", class: "overlay marks", preserveAspectRatio: "none" }, stroke);
  const stack = h("div", { class: "stack", id: "seg-stack" }, img, mask, svg, strokes);
  const viewport = h("div", { class: "viewport", id: "seg-viewport", tabindex: 0,
    "aria-label": "image: click for object, shift-click or right-click for background; drag to pan, wheel to zoom" }, stack);
  const unc = h("canvas", { id: "seg-unc", class: "layer", role: "img", "aria-label": "uncertainty map" });
  const uncMarks = h("svg", { id: "seg-unc-marks", class: "overlay marks", preserveAspectRatio: "none" });
  const showMask = h("input", { type: "checkbox", id: "seg-show-mask", checked: true,
    onchange: () => mask.classList.toggle("off", !showMask.checked) });
  const radius = h("input", { type: "number", id: "seg-radius", min: 0, max: 256, value: 4, "aria-label": "brush radius in pixels" });
  const tools = h("span", { class: "tool-group", role: "group", "aria-label": "tool" },
    ["click", "brush", "eraser", "delete", "merge"].map((t) => h("button", { type: "button", id: `seg-tool-${t}`, dataset: { tool: t },
      onclick: () => setTool(t) }, t[0].toUpperCase() + t.slice(1))));
  els = {
    stage: h("div", { class: "seg-main", id: "seg-stage", hidden: true }), select, viewport, stack, stroke, strokes, radius, tools,
    name: h("p", { class: "small", id: "seg-name" }), px, img, mask, unc, marks: svg, uncMarks,
    uncLabel: h("p", { class: "small", id: "seg-unc-label" }), suggested: h("ol", { id: "seg-suggested" }),
    count: h("span", { id: "seg-count" }), objects: h("div", { id: "seg-objects" }), zoom: h("span", { id: "seg-zoom" }, "100 %"),
    sessions: h("ul", { id: "seg-sessions" }), note: h("p", { class: "note", id: "seg-note", role: "note" }, status.note),
  };
  pointer(viewport);
  const undo = () => run(() => post("/api/segment/undo"));
  const commit = () => run(() => post("/api/segment/commit", {}, { busy: "committing the object" }));
  const stem = () => current.image.replace(/\.[^.]+$/, "");
  els.stage.append(
    h("div", { class: "seg-left" }, els.name, viewport,
      h("div", { class: "tools" },
        h("button", { type: "button", id: "seg-undo", onclick: undo }, "Undo"),
        h("button", { type: "button", id: "seg-reset", onclick: () => run(() => post("/api/segment/reset")) }, "Reset"),
        h("button", { type: "button", id: "seg-commit", title: "commit the object the clicks built (Enter)", onclick: commit }, "Commit object"),
        tools, h("label", {}, "radius ", radius, " px"),
        h("label", {}, showMask, " mask"),
        h("button", { type: "button", id: "seg-zoom-out", onclick: () => zoomAt(0.8) }, "−"), els.zoom,
        h("button", { type: "button", id: "seg-zoom-in", onclick: () => zoomAt(1.25) }, "+")),
      h("p", { class: "small" }, els.count),
      h("p", { class: "legend small" }, h("span", { class: "key pos" }, "+"), " click: object   ",
        h("span", { class: "key neg" }, "−"), " shift-click or right-click: background   ",
        h("span", { class: "key sug" }, "1"), " suggested: look here first")),
    h("div", { class: "seg-right" }, h("h3", {}, "Uncertainty"), h("div", { class: "stack small-stack" }, unc, uncMarks),
      els.uncLabel, h("h3", {}, "Suggested clicks"), els.suggested,
      h("h3", {}, "Keys"), h("dl", { class: "keys small", id: "seg-keys" }, KEYS.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))),
    h("div", { class: "seg-bottom" }, h("h3", {}, "Objects"), els.objects,
      h("p", {},
        h("button", { type: "button", id: "seg-export-labels", onclick: () => guarded(() => download("/api/segment/export/labels.tif", `${stem()}_labels.tif`)) }, "Labels (TIFF)"), " ",
        h("button", { type: "button", id: "seg-export-csv", onclick: () => guarded(() => download("/api/segment/export/objects.csv", `${stem()}_objects.csv`)) }, "Table (CSV)"), " ",
        h("button", { type: "button", id: "seg-export-all", title: "labels of every image of this tab (✓) and one table",
          onclick: () => guarded(() => download("/api/segment/export/all.zip", `${stem()}_and_others_labels.zip`, { busy: "exporting every image" })) }, "All images (ZIP)"))));
  const link = h("a", { id: "seg-session-link", href: sessionUrl() }, "link to this session");
  clear(root).append(h("h2", {}, "Segment ", h("small", {}, `run ${status.run}`)),
    h("form", { class: "filters", onsubmit: (e) => e.preventDefault() },
      h("button", { type: "button", id: "seg-prev", title: "previous image (p)", disabled: !status.images.length, onclick: () => step(-1) }, "◀"),
      runSel ? h("label", {}, "Model ", runSel) : null,
      h("label", {}, "Image ", select),
      h("button", { type: "button", id: "seg-next", title: "next image (n)", disabled: !status.images.length, onclick: () => step(1) }, "▶"),
      h("button", { type: "button", id: "seg-open", disabled: !status.images.length, onclick: () => openName(select.value) }, "Open"),
      h("label", {}, "or upload (TIFF/PNG) ", file),
      h("label", {}, "Pixel size ", px, " nm"),
      h("button", { type: "button", id: "seg-px-set", onclick: () => run(() => post("/api/segment/pixel-size", { pixel_size_nm: Number(px.value) })) }, "Set")),
    els.note,
    h("p", { class: "small" }, "Every click and edit is saved on the server; ", link,
      " reopens it (after a restart too). Another image of the folder keeps the work on this one (✓)."),
    els.stage,
    h("details", { id: "seg-saved", ontoggle: (e) => { if (e.target.open) savedSessions(); } },
      h("summary", {}, "Saved sessions"), els.sessions));
  setTool("click");
  document.onkeydown = (e) => {
    if (document.body.dataset.page !== "segment" || !current || !current.image) return;
    if (e.target.closest && e.target.closest("input, select, textarea")) return;
    const k = e.key;
    if ((k === "z" || k === "Z") && !e.altKey) { e.preventDefault(); undo(); }
    else if (e.ctrlKey || e.metaKey || e.altKey) return;
    else if (k === "m") { showMask.checked = !showMask.checked; mask.classList.toggle("off", !showMask.checked); }
    else if (k === "c") setTool("click");
    else if (k === "b") setTool("brush");
    else if (k === "e") setTool("eraser");
    else if (k === "d") setTool("delete");
    else if (k === "g") setTool("merge");
    else if (k === "Enter") { if (e.target.closest && e.target.closest("button, a")) return; e.preventDefault(); commit(); }
    else if (k === "n") step(1);
    else if (k === "p") step(-1);
    else if (k === "+" || k === "=") zoomAt(1.25);
    else if (k === "-") zoomAt(0.8);
    else if (k === "0") { view.z = 1; clampView(); }
    else if (k.startsWith("Arrow")) {
      e.preventDefault();
      const d = 40;
      if (k === "ArrowLeft") view.tx += d; else if (k === "ArrowRight") view.tx -= d;
      else if (k === "ArrowUp") view.ty += d; else view.ty -= d;
      clampView();
    }
  };
  const st = await guarded(() => get("/api/segment/state"));
  if (st) await show(st);
  root.dataset.ready = "1";
}
