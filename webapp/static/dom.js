// Tiny DOM helpers: build elements without innerHTML (no markup from data ever reaches the page).

export function h(tag, attrs = {}, ...children) {
  const svg = ["svg", "rect", "circle", "line", "text", "g", "title", "path", "polyline"].includes(tag);
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Numbers as people read them: integers as they are, others to 4 significant digits.
export function fmt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
  }
  return String(v);
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

// The colour of a shape class, shared by the bar chart, the thumbnails and the 3D view.
const CLASS_COLORS = {
  dot: "#2bb3a3", rod: "#e8833a", donut: "#9b6ee8", network: "#5bbf4f",
  mega: "#e05656", "nano-tunnel": "#4f8fe0", nano_tunnel: "#4f8fe0",
};
const SPARE = ["#d4b84a", "#c76bb0", "#7fa3b8", "#b3845a"];
export function classColor(name) {
  if (CLASS_COLORS[name]) return CLASS_COLORS[name];
  if (name === "measuring" || name === "unclassified" || !name) return "#8a8f98";
  let k = 0;
  for (const ch of String(name)) k = (k * 31 + ch.charCodeAt(0)) >>> 0;
  return SPARE[k % SPARE.length];
}
