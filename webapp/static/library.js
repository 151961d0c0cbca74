// Library page: class counts per library, filters, the sortable table, the thumbnail grid.

import { get, getBuffer, guarded } from "./api.js";
import { classColor, clear, fmt, h } from "./dom.js";
import { thumbnail } from "./viewer.js";

// Filters and view mode survive going to an instance and back.
const state = {
  library: "", shapeClass: "", mode: "table", sortKey: "id", sortDir: 1,
  ranges: { mesh_volume_um3: [null, null], skeleton_length_um: [null, null], n_branches: [null, null] },
};
const RANGES = [
  ["mesh_volume_um3", "Volume (µm³)"],
  ["skeleton_length_um", "Length (µm)"],
  ["n_branches", "Branches"],
];
const FIRST = ["library", "id", "class", "mesh_volume_um3", "surface_area_um2", "skeleton_length_um", "n_branches", "n_loops"];
const thumbs = new Map(); // "lib/id" -> data URL, drawn once per page load

function passes(row) {
  if (state.library && row.library !== state.library) return false;
  if (state.shapeClass && row.class !== state.shapeClass) return false;
  for (const [key, [lo, hi]] of Object.entries(state.ranges)) {
    const v = row[key];
    if ((lo !== null || hi !== null) && (v === null || v === undefined)) return false;
    if (lo !== null && v < lo) return false;
    if (hi !== null && v > hi) return false;
  }
  return true;
}

function classCounts(rows) {
  const counts = new Map();
  for (const r of rows) counts.set(r.class || "unclassified", (counts.get(r.class || "unclassified") || 0) + 1);
  return [...counts.entries()].sort((a, b) => a[0].localeCompare(b[0]));
}

function barChart(lib, rows, onPick) {
  const counts = classCounts(rows);
  const max = Math.max(1, ...counts.map(([, n]) => n));
  const barH = 22, w = 320, labelW = 92, height = Math.max(1, counts.length) * (barH + 6) + 6;
  const svg = h("svg", { class: "bars", viewBox: `0 0 ${w} ${height}`, width: w, height, role: "img",
    "aria-label": `instances per class in ${lib.name}` });
  counts.forEach(([cls, n], i) => {
    const y = 6 + i * (barH + 6), len = ((w - labelW - 40) * n) / max;
    const g = h("g", { class: "bar", dataset: { shapeClass: cls }, onclick: () => onPick(cls) },
      h("title", {}, `${cls}: ${n} — click to filter`),
      h("text", { x: labelW - 6, y: y + barH * 0.7, "text-anchor": "end" }, cls),
      h("rect", { x: labelW, y, width: Math.max(1, len), height: barH, rx: 3, fill: classColor(cls) }),
      h("text", { x: labelW + len + 5, y: y + barH * 0.7 }, String(n)));
    svg.append(g);
  });
  return h("div", { class: "card lib-card", dataset: { library: lib.key } },
    h("h3", {}, lib.name, h("small", {}, ` ${lib.kind === "3dmsl" ? "released 3DMSL" : "mitoshape"} · ${rows.length}`)),
    svg);
}

function numberInput(value, label, hint, onChange) {
  return h("input", { type: "number", step: "any", placeholder: hint, "aria-label": label, value: value ?? "",
    oninput: (e) => onChange(e.target.value === "" ? null : Number(e.target.value)) });
}

function columnsOf(listing, rows) {
  const seen = new Set();
  const cols = [];
  for (const c of [...FIRST, ...listing.libraries.flatMap((l) => l.columns)]) {
    if (!seen.has(c) && c !== "folder" && rows.some((r) => r[c] !== undefined)) { seen.add(c); cols.push(c); }
  }
  return cols;
}

function table(listing, rows, openInstance) {
  const cols = columnsOf(listing, listing.rows);
  const sorted = [...rows].sort((a, b) => {
    const x = a[state.sortKey], y = b[state.sortKey];
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * state.sortDir;
  });
  const head = h("tr", {}, cols.map((c) => h("th", {
    scope: "col", tabindex: 0, dataset: { key: c },
    "aria-sort": state.sortKey === c ? (state.sortDir > 0 ? "ascending" : "descending") : "none",
    onclick: () => { state.sortDir = state.sortKey === c ? -state.sortDir : 1; state.sortKey = c; rerender(); },
    onkeydown: (e) => { if (e.key === "Enter") e.target.click(); },
  }, c, state.sortKey === c ? (state.sortDir > 0 ? " ▲" : " ▼") : "")));
  const body = sorted.map((r) => h("tr", {
    class: "row", tabindex: 0, dataset: { library: r.library, id: r.id },
    onclick: () => openInstance(r), onkeydown: (e) => { if (e.key === "Enter") openInstance(r); },
  }, cols.map((c) => h("td", { class: typeof r[c] === "number" ? "num" : "" },
    c === "class" ? h("span", { class: "dot", dataset: { color: classColor(r[c]) } }) : null, fmt(r[c])))));
  const t = h("table", { class: "lib-table" }, h("thead", {}, head), h("tbody", {}, body));
  for (const dot of t.querySelectorAll("span.dot")) dot.style.background = dot.dataset.color;
  return h("div", { class: "table-wrap" }, t);
}

function grid(rows, openInstance) {
  const observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      observer.unobserve(e.target);
      const img = e.target.querySelector("img");
      const key = `${img.dataset.library}/${img.dataset.id}`;
      if (thumbs.has(key)) { img.src = thumbs.get(key); img.classList.add("drawn"); continue; }
      const path = `/api/library/${encodeURIComponent(img.dataset.library)}/${img.dataset.id}/mesh.glb`;
      thumbnail(() => getBuffer(path), img.dataset.color)
        .then((url) => { thumbs.set(key, url); img.src = url; img.alt = `mesh of instance ${img.dataset.id}`; img.classList.add("drawn"); })
        .catch(() => { img.alt = "mesh could not be drawn"; });
    }
  });
  const cards = rows.map((r) => {
    const color = classColor(r.class);
    const card = h("button", { class: "thumb", dataset: { library: r.library, id: r.id }, onclick: () => openInstance(r) },
      h("img", { alt: "", width: 160, height: 160, dataset: { library: r.library, id: r.id, color } }),
      h("span", {}, `${r.id} · ${r.class}`, h("small", {}, ` ${r.library}`)));
    observer.observe(card);
    return card;
  });
  return h("div", { class: "grid" }, cards);
}

let rerender = () => {};
let poll = null;

export async function libraryPage(root) {
  if (poll) { clearTimeout(poll); poll = null; }
  let listing = await guarded(() => get("/api/library", { busy: "reading the libraries" }));
  if (!listing) return;
  const openInstance = (r) => { location.hash = `#/instance/${encodeURIComponent(r.library)}/${r.id}`; };
  const classesOf = (l) => [...new Set(l.rows.map((r) => r.class || "unclassified"))].sort();
  const classOptions = (l) => [h("option", { value: "" }, "every class"), ...classesOf(l).map((c) => h("option", { value: c }, c))];
  const charts = h("div", { class: "charts" });
  const view = h("div", { id: "lib-view" });
  const count = h("span", { id: "lib-count", class: "count" });
  const classSelect = h("select", { id: "f-class", "aria-label": "class",
    onchange: (e) => { state.shapeClass = e.target.value; rerender(); } }, classOptions(listing));
  const libSelect = h("select", { id: "f-library", "aria-label": "library",
    onchange: (e) => { state.library = e.target.value; rerender(); } },
  h("option", { value: "" }, "every library"), listing.libraries.map((l) => h("option", { value: l.key }, l.name)));
  const modeButtons = ["table", "grid"].map((m) => h("button", { type: "button", class: "mode", dataset: { mode: m },
    onclick: () => { state.mode = m; rerender(); } }, m === "table" ? "Table" : "Thumbnails"));
  const filters = h("form", { class: "filters", onsubmit: (e) => e.preventDefault() },
    h("label", {}, "Library ", libSelect),
    h("label", {}, "Class ", classSelect),
    RANGES.map(([key, label]) => h("fieldset", { class: "range" }, h("legend", {}, label),
      numberInput(state.ranges[key][0], `${label} min`, "min", (v) => { state.ranges[key][0] = v; rerender(); }),
      " – ",
      numberInput(state.ranges[key][1], `${label} max`, "max", (v) => { state.ranges[key][1] = v; rerender(); }))),
    h("button", { type: "button", id: "f-reset", onclick: () => {
      state.library = ""; state.shapeClass = "";
      for (const k of Object.keys(state.ranges)) state.ranges[k] = [null, null];
      libraryPage(root);
    } }, "Reset"),
    count, h("span", { class: "modes" }, modeButtons));
  const pending = h("p", { class: "pending", role: "status" });
  const showPending = () => {
    pending.textContent = listing.n_pending ? `measuring released shapes: ${listing.n_pending} left (the table fills in)…` : "";
    pending.hidden = !listing.n_pending;
  };
  showPending();
  clear(root).append(h("h2", {}, "Library"), charts, filters, pending, view);

  rerender = () => {
    classSelect.value = state.shapeClass;
    libSelect.value = state.library;
    for (const b of modeButtons) b.setAttribute("aria-pressed", String(b.dataset.mode === state.mode));
    const pick = (cls) => { state.shapeClass = state.shapeClass === cls ? "" : cls; rerender(); };
    clear(charts).append(...listing.libraries.map((lib) => barChart(lib, listing.rows.filter((r) => r.library === lib.key), pick)));
    for (const g of charts.querySelectorAll("g.bar"))
      g.classList.toggle("picked", g.dataset.shapeClass === state.shapeClass);
    const rows = listing.rows.filter(passes);
    count.textContent = `showing ${rows.length} of ${listing.rows.length}`;
    clear(view).append(state.mode === "table" ? table(listing, rows, openInstance) : grid(rows, openInstance));
  };
  rerender();
  root.dataset.ready = "1";
  // While released shapes are measured, refresh the data (not the filters being typed in).
  const refresh = async () => {
    poll = null;
    if (!root.contains(view)) return;
    const next = await guarded(() => get("/api/library"));
    if (!next || !root.contains(view)) return;
    const changed = next.n_pending !== listing.n_pending;
    listing = next;
    if (changed) {
      classSelect.replaceChildren(...classOptions(listing));
      showPending();
      rerender();
    }
    if (listing.n_pending) poll = setTimeout(refresh, 2000);
  };
  if (listing.n_pending) poll = setTimeout(refresh, 2000);
}

