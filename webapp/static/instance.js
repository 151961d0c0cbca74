// One instance: its mesh in 3D with a scale bar, measurements, skeleton, files, microscope views.

import { blobUrl, download, get, getBuffer, guarded } from "./api.js";
import { bytes, classColor, clear, fmt, h } from "./dom.js";
import { MeshViewer, parseGLB } from "./viewer.js";

function kvTable(obj, id) {
  const rows = Object.entries(obj).filter(([, v]) => v !== null && v !== undefined && typeof v !== "object");
  if (!rows.length) return h("p", { class: "small", id }, "being measured (a released shape): reload in a few seconds");
  return h("table", { class: "kv", id }, h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, fmt(v))))));
}

function viewFigure(base, preset, view) {
  const img = h("img", { alt: `${preset} view ${view}`, width: 128, height: 128 });
  const fig = h("figure", { class: "view", dataset: { preset, view } }, img, h("figcaption", {}, view));
  return { fig, load: (label) => blobUrl(`${base}/views/${preset}/${view}.png`, { busy: label })
    .then((url) => { img.src = url; fig.classList.add("loaded"); }) };
}

function presetRow(base, p, seed, size) {
  const source = p.source === "library"
    ? "from the library's own files"
    : `rendered on request by the simulator (seed ${seed}, ${size} px; what \`mitoshape simulate --seed ${seed}\` writes)`;
  const strip = h("div", { class: "views" });
  const figures = p.views.map((v) => viewFigure(base, p.preset, v));
  const first = figures[0];
  strip.append(first.fig);
  const more = h("button", { type: "button", class: "more", onclick: async () => {
    more.disabled = true;
    for (const f of figures.slice(1)) {
      strip.append(f.fig);
      await guarded(() => f.load(`${p.source === "library" ? "reading" : "rendering"} ${p.preset} view ${f.fig.dataset.view}`));
    }
    more.remove();
  } }, `all ${p.views.length} views`);
  const row = h("section", { class: "preset", dataset: { preset: p.preset, source: p.source } },
    h("h4", {}, p.preset, h("small", {}, ` ${source}`)), strip, figures.length > 1 ? more : "");
  return { row, loadFirst: () => guarded(() => first.load(`${p.source === "library" ? "reading" : "rendering"} ${p.preset} view ${first.fig.dataset.view}`)) };
}

export async function instancePage(root, lib, id) {
  const base = `/api/library/${encodeURIComponent(lib)}/${encodeURIComponent(id)}`;
  const d = await guarded(() => get(base, { busy: "reading the instance" }));
  if (!d) return;
  const color = classColor(d.shape_class);
  const canvas = h("canvas", { id: "viewer", width: 480, height: 480, tabindex: 0,
    "aria-label": "3D view of the mesh: drag to turn, wheel or +/- to zoom, arrows to turn, double-click to reset" });
  const bar = h("div", { class: "bar" });
  const label = h("span", {});
  const scale = h("div", { class: "scalebar", "aria-live": "polite" }, bar, label);
  const files = h("ul", { class: "files" }, d.files.map((f) => h("li", {}, h("button", { type: "button", class: "link",
    onclick: () => guarded(() => download(`${base}/files/${f.path.split("/").map(encodeURIComponent).join("/")}`,
      f.path.split("/").pop(), { busy: `downloading ${f.path}` })) }, f.path), h("small", {}, ` ${bytes(f.bytes)}`))));
  const presets = d.images.map((p) => presetRow(base, p, d.render_seed, d.render_size_px));
  clear(root).append(
    h("p", {}, h("a", { href: "#/library" }, "← Library")),
    h("h2", {}, `Instance ${d.id} · `, h("span", { class: "cls", id: "instance-class" }, d.shape_class || "unclassified"),
      h("small", {}, ` ${d.library}`)),
    h("div", { class: "instance" },
      h("div", { class: "viewer-wrap" }, canvas, scale,
        h("p", { class: "hint" }, "drag to turn · wheel to zoom · double-click to reset · orthographic view, the bar is exact")),
      h("div", { class: "side" },
        h("h3", {}, "Skeleton"), kvTable(d.skeleton, "skeleton"),
        h("h3", {}, "Measurements"), kvTable(d.measurements, "measurements"),
        h("h3", {}, "Files"), files)),
    h("h3", {}, "Under the microscopes"),
    h("div", { class: "presets" }, presets.map((p) => p.row)));
  try {
    const viewer = new MeshViewer(canvas, { color, scaleBar: { bar, label } });
    const buffer = await getBuffer(`${base}/mesh.glb`, { busy: "loading the mesh" });
    viewer.setMesh(parseGLB(buffer));
  } catch (err) {
    guarded(() => { throw err; });
  }
  root.dataset.ready = "1";
  for (const p of presets) await p.loadFirst();
  root.dataset.views = "1";
}
