// Dataset page: a simulator dataset's images beside their masks and instance labels, with the
// objects and classes of each image from dataset.json.

import { blobUrl, get, guarded } from "./api.js";
import { clear, fmt, h } from "./dom.js";

const PAGE = 6;
const state = { key: "", offset: 0 };
const OBJECT_COLUMNS = ["label", "id", "class", "x_nm", "y_nm", "depth_nm", "n_emitters"];

function picture(ds, layer, name) {
  const img = h("img", { alt: `${layer} of ${name}`, width: 192, height: 192 });
  blobUrl(`/api/datasets/${encodeURIComponent(ds.key)}/${layer}/${encodeURIComponent(name)}.png`)
    .then((url) => { img.src = url; img.classList.add("loaded"); })
    .catch(() => { img.alt = `${layer} could not be read`; });
  return h("figure", { dataset: { layer } }, img, h("figcaption", {}, layer));
}

function objects(list) {
  if (!list.length) return h("p", { class: "small" }, "no objects recorded (no dataset.json)");
  return h("table", { class: "objects" },
    h("thead", {}, h("tr", {}, OBJECT_COLUMNS.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, list.map((o) => h("tr", {}, OBJECT_COLUMNS.map((c) => h("td", {}, fmt(o[c])))))));
}

export async function datasetPage(root) {
  const infos = await guarded(() => get("/api/datasets"));
  if (!infos) return;
  if (!infos.length) {
    clear(root).append(h("h2", {}, "Dataset"), h("p", {}, "No dataset is served: start `mitoshape serve --dataset DIR` (a folder written by `mitoshape dataset`)."));
    root.dataset.ready = "1";
    return;
  }
  if (!infos.some((d) => d.key === state.key)) { state.key = infos[0].key; state.offset = 0; }
  const ds = infos.find((d) => d.key === state.key);
  const page = await guarded(() => get(`/api/datasets/${encodeURIComponent(ds.key)}?offset=${state.offset}&limit=${PAGE}`,
    { busy: "reading the dataset" }));
  if (!page) return;
  const select = h("select", { id: "ds-select", "aria-label": "dataset",
    onchange: (e) => { state.key = e.target.value; state.offset = 0; datasetPage(root); } },
  infos.map((d) => h("option", { value: d.key, selected: d.key === ds.key }, d.name)));
  const facts = [`${ds.n_images} images`, ds.microscope && `microscope ${ds.microscope}`,
    ds.pixel_size_nm && `${fmt(ds.pixel_size_nm)} nm pixels`, ds.classes.length && `classes: ${ds.classes.join(", ")}`]
    .filter(Boolean).join(" · ");
  const go = (off) => { state.offset = off; datasetPage(root); };
  const last = Math.max(0, page.total - PAGE);
  const pager = h("nav", { class: "pager", "aria-label": "pages" },
    h("button", { type: "button", disabled: state.offset === 0, onclick: () => go(Math.max(0, state.offset - PAGE)) }, "← previous"),
    h("span", {}, ` ${state.offset + 1}–${Math.min(page.total, state.offset + PAGE)} of ${page.total} `),
    h("button", { type: "button", disabled: state.offset >= last, onclick: () => go(Math.min(last, state.offset + PAGE)) }, "next →"));
  const items = page.images.map((im) => h("article", { class: "ds-item", dataset: { name: im.name } },
    h("h4", {}, im.name, h("small", {}, ` ${im.objects.length} objects`)),
    h("div", { class: "triple" }, ds.layers.map((layer) => picture(ds, layer, im.name))),
    objects(im.objects)));
  clear(root).append(h("h2", {}, "Dataset"),
    h("p", { class: "filters" }, h("label", {}, "Dataset ", select), h("span", { class: "count" }, facts)),
    pager, h("div", { class: "ds-list" }, items));
  root.dataset.ready = "1";
}
