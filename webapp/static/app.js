// The single-page app: a hash router over the Library, Instance, Dataset and Segment pages.

import { get, guarded, hideError } from "./api.js";
import { datasetPage } from "./dataset.js";
import { h } from "./dom.js";
import { instancePage } from "./instance.js";
import { libraryPage } from "./library.js";
import { segmentPage } from "./segment.js";

const main = document.getElementById("main");
let info = null;

async function render() {
  const [page = "library", ...args] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  for (const a of document.querySelectorAll("nav.top a"))
    a.setAttribute("aria-current", a.dataset.page === (page === "instance" ? "library" : page) ? "page" : "false");
  document.body.dataset.page = page;
  delete main.dataset.ready;
  delete main.dataset.views;
  hideError();
  if (!info) info = await guarded(() => get("/api/info"));
  if (!info) return;
  document.getElementById("version").textContent = `mitoshape ${info.version}`;
  if (page === "instance") return instancePage(main, args[0], args[1]);
  if (page === "dataset") return datasetPage(main);
  if (page === "segment") return segmentPage(main);
  if (!info.libraries.length) {
    main.replaceChildren(h("h2", {}, "Library"), h("p", {}, "No library is served: start `mitoshape serve --library DIR`."));
    main.dataset.ready = "1";
    return;
  }
  return libraryPage(main);
}

document.getElementById("error-close").addEventListener("click", hideError);
window.addEventListener("hashchange", render);
render();
