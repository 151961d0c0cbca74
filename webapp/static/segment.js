// Segment page: an image with the mask over it, the uncertainty map, suggested clicks as
// markers; click = object (+), shift-click or right-click = background (−); undo, reset; the
// per-object morphology table; the mask (TIFF) and the table (CSV) for download.

import { blobUrl, download, get, guarded, post, postForm } from "./api.js";
import { clear, fmt, h } from "./dom.js";

const TABLE_COLUMNS = ["label", "class", "area_um2", "perimeter_um", "major_axis_um", "minor_axis_um",
  "aspect_ratio", "solidity", "feret_um", "centroid_x_px", "centroid_y_px"];
let els = null;
let current = null;

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

async function objectsTable(st) {
  const box = els.objects;
  if (st.pixel_size_nm === null || st.pixel_size_nm === undefined) {
    clear(box).append(h("p", { class: "small" }, "This image carries no pixel size: enter it above (nm) to measure its objects."));
    return;
  }
  const t = await guarded(() => get("/api/segment/objects", { busy: "measuring the objects" }));
  if (!t) return;
  const cols = TABLE_COLUMNS.filter((c) => t.columns.includes(c));
  clear(box).append(h("p", { class: "small" }, `${t.rows.length} objects; pixel size ${fmt(t.pixel_size_nm)} nm (segtrain quantify)`),
    h("div", { class: "table-wrap" }, h("table", { class: "objects", id: "seg-table" },
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, t.rows.map((r) => h("tr", {}, cols.map((c) => h("td", { class: typeof r[c] === "number" ? "num" : "" }, fmt(r[c])))))))));
}

async function show(st) {
  if (!st.image) { current = st; els.stage.hidden = true; return; }
  els.stage.hidden = false;
  els.name.textContent = `${st.image} · ${st.width_px} × ${st.height_px} px · model ${st.seconds.toFixed(2)} s`;
  els.px.value = st.pixel_size_nm ?? "";
  // the image itself changes only when another one is opened; mask and map with every answer
  const fresh = !current || current.opened !== st.opened || !els.img.src;
  const layers = fresh ? ["image", "mask", "uncertainty"] : ["mask", "uncertainty"];
  const urls = await Promise.all(layers.map((layer) =>
    guarded(() => blobUrl(`/api/segment/layers/${layer}.png?v=${st.version}`))));
  const [img, mask, unc] = fresh ? urls : [null, ...urls];
  for (const [el, url] of [[els.img, img], [els.mask, mask], [els.unc, unc]]) {
    if (!url) continue;
    const old = el.src;
    el.classList.remove("loaded");
    el.onload = () => el.classList.add("loaded");
    el.src = url;
    if (old.startsWith("blob:")) URL.revokeObjectURL(old);
  }
  current = st;
  marks(els.marks, st, { withClicks: true });
  marks(els.uncMarks, st, { withClicks: false });
  els.uncLabel.textContent = `${st.uncertainty_label}; 0 (dark) to ${fmt(st.uncertainty_max)} (bright)`;
  clear(els.suggested).append(...(st.suggestions.length
    ? st.suggestions.map((s) => h("li", {}, `(${s.x_px}, ${s.y_px}) uncertainty ${fmt(s.score)}`))
    : [h("li", {}, "none: the map is flat")]));
  els.count.textContent = `${st.clicks.length} click${st.clicks.length === 1 ? "" : "s"} (${st.clicks.filter((c) => c.positive).length} +, ${st.clicks.filter((c) => !c.positive).length} −) · foreground ${(100 * st.foreground_fraction).toFixed(1)} %`;
  els.stage.dataset.version = String(st.version);
  await objectsTable(st);
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
  file.addEventListener("change", () => {
    if (!file.files.length) return;
    const form = new FormData();
    form.append("file", file.files[0]);
    if (px.value) form.append("pixel_size_nm", px.value);
    run(() => postForm("/api/segment/upload", form, { busy: `uploading and predicting ${file.files[0].name}` }));
    file.value = "";
  });
  const img = h("img", { id: "seg-img", alt: "image" });
  const mask = h("img", { id: "seg-mask", class: "overlay", alt: "" });
  const svg = h("svg", { id: "seg-marks", class: "overlay marks", preserveAspectRatio: "none" });
  const stack = h("div", { class: "stack", id: "seg-stack", tabindex: 0,
    "aria-label": "image: click for object, shift-click or right-click for background" }, img, mask, svg);
  stack.addEventListener("click", (e) => addClick(e, !e.shiftKey));
  stack.addEventListener("contextmenu", (e) => { e.preventDefault(); addClick(e, false); });
  const unc = h("img", { id: "seg-unc", alt: "uncertainty map" });
  const uncMarks = h("svg", { id: "seg-unc-marks", class: "overlay marks", preserveAspectRatio: "none" });
  const showMask = h("input", { type: "checkbox", id: "seg-show-mask", checked: true,
    onchange: () => mask.classList.toggle("off", !showMask.checked) });
  els = {
    stage: h("div", { class: "seg-main", id: "seg-stage", hidden: true }),
    name: h("p", { class: "small", id: "seg-name" }), px, img, mask, unc, marks: svg, uncMarks,
    uncLabel: h("p", { class: "small", id: "seg-unc-label" }), suggested: h("ol", { id: "seg-suggested" }),
    count: h("span", { id: "seg-count" }), objects: h("div", { id: "seg-objects" }),
  };
  els.stage.append(
    h("div", { class: "seg-left" }, els.name, stack,
      h("div", { class: "tools" },
        h("button", { type: "button", id: "seg-undo", onclick: () => run(() => post("/api/segment/undo")) }, "Undo"),
        h("button", { type: "button", id: "seg-reset", onclick: () => run(() => post("/api/segment/reset")) }, "Reset"),
        h("label", {}, showMask, " mask"), els.count),
      h("p", { class: "legend small" }, h("span", { class: "key pos" }, "+"), " click: object   ",
        h("span", { class: "key neg" }, "−"), " shift-click or right-click: background   ",
        h("span", { class: "key sug" }, "1"), " suggested: look here first")),
    h("div", { class: "seg-right" }, h("h3", {}, "Uncertainty"), h("div", { class: "stack small-stack" }, unc, uncMarks),
      els.uncLabel, h("h3", {}, "Suggested clicks"), els.suggested),
    h("div", { class: "seg-bottom" }, h("h3", {}, "Objects"), els.objects,
      h("p", {},
        h("button", { type: "button", id: "seg-export-mask", onclick: () => guarded(() => download("/api/segment/export/mask.tif", `${current.image.replace(/\.[^.]+$/, "")}_mask.tif`)) }, "Mask (TIFF)"), " ",
        h("button", { type: "button", id: "seg-export-csv", onclick: () => guarded(() => download("/api/segment/export/objects.csv", `${current.image.replace(/\.[^.]+$/, "")}_objects.csv`)) }, "Table (CSV)"))));
  clear(root).append(h("h2", {}, "Segment ", h("small", {}, `run ${status.run}`)),
    h("form", { class: "filters", onsubmit: (e) => e.preventDefault() },
      h("label", {}, "Image ", select),
      h("button", { type: "button", id: "seg-open", disabled: !status.images.length,
        onclick: () => run(() => post("/api/segment/open", { name: select.value }, { busy: `predicting ${select.value} (the first call loads the model)` })) }, "Open"),
      h("label", {}, "or upload (TIFF/PNG) ", file),
      h("label", {}, "Pixel size ", px, " nm"),
      h("button", { type: "button", id: "seg-px-set", onclick: () => run(() => post("/api/segment/pixel-size", { pixel_size_nm: Number(px.value) })) }, "Set")),
    h("p", { class: "note", id: "seg-note", role: "note" }, status.note),
    els.stage);
  const st = await guarded(() => get("/api/segment/state"));
  if (st) await show(st);
  root.dataset.ready = "1";
}
