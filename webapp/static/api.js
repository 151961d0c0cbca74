// Every call to the server: token and tab session headers, busy indicator, readable errors.

const TOKEN_KEY = "mitoshape-token";
const SID_KEY = "mitoshape-session";
const OWNER_KEY = "mitoshape-owner";

// This browser's owner secret (localStorage: every tab of the browser shares it): sessions it
// opens are its own, and only it may delete them from the list.
export function ownerSecret() {
  let s = localStorage.getItem(OWNER_KEY);
  if (!s) {
    const b = new Uint8Array(24);
    crypto.getRandomValues(b);
    s = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    localStorage.setItem(OWNER_KEY, s);
  }
  return s;
}

// The token comes once in the URL printed by `mitoshape serve`; it is kept for this tab and
// removed from the address bar.
(function takeToken() {
  const params = new URLSearchParams(location.search);
  const t = params.get("token");
  if (t) {
    sessionStorage.setItem(TOKEN_KEY, t);
    params.delete("token");
    const q = params.toString();
    history.replaceState(null, "", location.pathname + (q ? "?" + q : "") + location.hash);
  }
})();

// One id per browser tab (sessionStorage is per tab), so two tabs never share clicks. A URL
// with ?session=ID reopens that saved session (after a restart too, or in another tab).
(function takeSession() {
  const s = new URLSearchParams(location.search).get("session");
  if (s && /^[A-Za-z0-9_-]{8,64}$/.test(s)) sessionStorage.setItem(SID_KEY, s);
})();

export function sessionId() {
  let s = sessionStorage.getItem(SID_KEY);
  if (!s) {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    s = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem(SID_KEY, s);
  }
  return s;
}

// The address that reopens this tab's session.
export function sessionUrl(sid = sessionId()) {
  return `${location.origin}${location.pathname}?session=${encodeURIComponent(sid)}#/segment`;
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

// --- the busy bar: shown for anything that takes more than a moment ----------------------
const jobs = new Map();
let jobSeq = 0;
let ticker = null;

function paintBusy() {
  const bar = document.getElementById("busy");
  if (!bar) return;
  const now = performance.now();
  const shown = [...jobs.values()].filter((j) => now - j.t0 > 250);
  bar.classList.toggle("on", shown.length > 0);
  if (shown.length) {
    const j = shown[0];
    const more = shown.length > 1 ? ` (+${shown.length - 1} more)` : "";
    document.getElementById("busy-label").textContent =
      `${j.label}… ${((now - j.t0) / 1000).toFixed(1)} s${more}`;
  }
}

export function startBusy(label) {
  const id = ++jobSeq;
  jobs.set(id, { label, t0: performance.now() });
  if (!ticker) ticker = setInterval(paintBusy, 100);
  return () => {
    jobs.delete(id);
    paintBusy();
    if (!jobs.size) { clearInterval(ticker); ticker = null; }
  };
}

export function showError(message) {
  const box = document.getElementById("error");
  document.getElementById("error-text").textContent = message;
  box.hidden = false;
}

export function hideError() {
  document.getElementById("error").hidden = true;
}

async function call(path, { method = "GET", body, form, as = "json", busy } = {}) {
  const headers = { "X-Session-Id": sessionId(), "X-Owner": ownerSecret() };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers["X-Mitoshape-Token"] = token;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const done = busy ? startBusy(busy) : null;
  try {
    const r = await fetch(path, { method, headers, body: payload });
    if (!r.ok) {
      let detail = "";
      try { detail = (await r.json()).detail; } catch { detail = r.statusText; }
      throw new ApiError(r.status, `${detail || "request failed"} (HTTP ${r.status})`);
    }
    if (as === "none") return true;
    if (as === "json") return await r.json();
    if (as === "blob") return await r.blob();
    return await r.arrayBuffer();
  } finally {
    if (done) done();
  }
}

export const get = (path, opts) => call(path, opts);
export const del = (path, opts) => call(path, { ...opts, method: "DELETE", as: "none" });
export const getBlob = (path, opts) => call(path, { ...opts, as: "blob" });
export const post = (path, body, opts) => call(path, { ...opts, method: "POST", body: body ?? {} });
export const postForm = (path, form, opts) => call(path, { ...opts, method: "POST", form });
export const getBuffer = (path, opts) => call(path, { ...opts, as: "buffer" });

// An object URL of a picture from the API (headers cannot ride on <img src>).
export async function blobUrl(path, opts) {
  return URL.createObjectURL(await call(path, { ...opts, as: "blob" }));
}

export async function download(path, filename, opts) {
  const url = URL.createObjectURL(await call(path, { ...opts, as: "blob" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// Run an action; any failure lands in the error banner as one line.
export async function guarded(fn) {
  try {
    return await fn();
  } catch (err) {
    showError(err instanceof ApiError ? err.message : `error: ${err.message || err}`);
    return undefined;
  }
}
