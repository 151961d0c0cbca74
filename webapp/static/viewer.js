// A small WebGL viewer for one closed mesh, written here rather than vendoring three.js.
//
// Why our own: the page shows one mesh at a time, lit by a headlight, turned with the mouse;
// that is a 250-line job in plain WebGL, while three.js (0.187: ~2 MB of build files plus
// the GLTF loader and its utilities) would ship a general scene graph we would not use and
// need updating. An orthographic camera makes the physical scale bar exact at every depth
// (a perspective view's bar holds at one depth only). The mesh comes as binary glTF (GLB,
// written by trimesh), positions in nm; the parser below reads exactly what trimesh writes
// (one mesh, POSITION, NORMAL, uint32 indices).

const GLB_MAGIC = 0x46546c67; // "glTF"
const CHUNK_JSON = 0x4e4f534a;
const CHUNK_BIN = 0x004e4942;
const TYPES = { 5126: Float32Array, 5125: Uint32Array, 5123: Uint16Array, 5121: Uint8Array };
const WIDTH = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4 };

export function parseGLB(buffer) {
  const dv = new DataView(buffer);
  if (buffer.byteLength < 20 || dv.getUint32(0, true) !== GLB_MAGIC) throw new Error("not a GLB mesh");
  let off = 12, json = null, bin = null;
  while (off + 8 <= buffer.byteLength) {
    const len = dv.getUint32(off, true), type = dv.getUint32(off + 4, true);
    if (type === CHUNK_JSON) json = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, off + 8, len)));
    else if (type === CHUNK_BIN) bin = buffer.slice(off + 8, off + 8 + len);
    off += 8 + len;
  }
  if (!json || !bin) throw new Error("GLB without JSON or binary chunk");
  const prim = json.meshes[0].primitives[0];
  const read = (index) => {
    const acc = json.accessors[index];
    const view = json.bufferViews[acc.bufferView];
    const Type = TYPES[acc.componentType];
    const start = (view.byteOffset || 0) + (acc.byteOffset || 0);
    const n = acc.count * WIDTH[acc.type];
    return new Type(bin.slice(start, start + n * Type.BYTES_PER_ELEMENT));
  };
  const positions = read(prim.attributes.POSITION);
  const normals = prim.attributes.NORMAL !== undefined ? read(prim.attributes.NORMAL) : null;
  let indices = prim.indices !== undefined ? read(prim.indices) : null;
  if (!indices) indices = Uint32Array.from({ length: positions.length / 3 }, (_, i) => i);
  return { positions, normals, indices: Uint32Array.from(indices) };
}

// Centre the mesh on its bounding box; report its size (nm).
function centred(mesh) {
  const p = mesh.positions, lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < p.length; i += 3)
    for (let k = 0; k < 3; k++) { lo[k] = Math.min(lo[k], p[i + k]); hi[k] = Math.max(hi[k], p[i + k]); }
  const c = lo.map((v, k) => (v + hi[k]) / 2);
  const out = new Float32Array(p.length);
  let r2 = 0;
  for (let i = 0; i < p.length; i += 3) {
    const x = p[i] - c[0], y = p[i + 1] - c[1], z = p[i + 2] - c[2];
    out[i] = x; out[i + 1] = y; out[i + 2] = z;
    r2 = Math.max(r2, x * x + y * y + z * z);
  }
  return { positions: out, radius: Math.sqrt(r2) || 1, size: hi.map((v, k) => v - lo[k]) };
}

function vertexNormals(pos, idx) {
  const n = new Float32Array(pos.length);
  for (let t = 0; t < idx.length; t += 3) {
    const a = idx[t] * 3, b = idx[t + 1] * 3, c = idx[t + 2] * 3;
    const ux = pos[b] - pos[a], uy = pos[b + 1] - pos[a + 1], uz = pos[b + 2] - pos[a + 2];
    const vx = pos[c] - pos[a], vy = pos[c + 1] - pos[a + 1], vz = pos[c + 2] - pos[a + 2];
    const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    for (const j of [a, b, c]) { n[j] += nx; n[j + 1] += ny; n[j + 2] += nz; }
  }
  return n;
}

// --- 4x4 matrices, column-major as WebGL wants them ---------------------------------------
function multiply(a, b) {
  const o = new Float32Array(16);
  for (let c = 0; c < 4; c++)
    for (let r = 0; r < 4; r++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[k * 4 + r] * b[c * 4 + k];
      o[c * 4 + r] = s;
    }
  return o;
}
function rotX(t) { const c = Math.cos(t), s = Math.sin(t); return new Float32Array([1, 0, 0, 0, 0, c, s, 0, 0, -s, c, 0, 0, 0, 0, 1]); }
function rotY(t) { const c = Math.cos(t), s = Math.sin(t); return new Float32Array([c, 0, -s, 0, 0, 1, 0, 0, s, 0, c, 0, 0, 0, 0, 1]); }
function ortho(hw, hh, depth) {
  return new Float32Array([1 / hw, 0, 0, 0, 0, 1 / hh, 0, 0, 0, 0, -1 / depth, 0, 0, 0, 0, 1]);
}

const VS = `
attribute vec3 position; attribute vec3 normal;
uniform mat4 modelView; uniform mat4 projection;
varying vec3 vNormal;
void main() { vNormal = mat3(modelView) * normal; gl_Position = projection * modelView * vec4(position, 1.0); }`;
const FS = `
precision mediump float;
varying vec3 vNormal; uniform vec3 color;
void main() {
  float l = abs(normalize(vNormal).z);  // a headlight, both faces lit
  gl_FragColor = vec4(color * (0.28 + 0.72 * l) + vec3(0.10) * pow(l, 24.0), 1.0);
}`;

function hexColor(hex) {
  const v = parseInt(hex.replace("#", ""), 16);
  return [(v >> 16) / 255, ((v >> 8) & 255) / 255, (v & 255) / 255];
}

function compile(gl) {
  const shader = (type, src) => {
    const s = gl.createShader(type);
    gl.shaderSource(s, src);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
    return s;
  };
  const prog = gl.createProgram();
  gl.attachShader(prog, shader(gl.VERTEX_SHADER, VS));
  gl.attachShader(prog, shader(gl.FRAGMENT_SHADER, FS));
  gl.linkProgram(prog);
  if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(prog));
  return prog;
}

// A nice scale-bar length (1, 2 or 5 x 10^k um) near a quarter of the view width.
export function niceLengthUm(viewWidthUm) {
  const target = viewWidthUm / 4;
  const p = 10 ** Math.floor(Math.log10(target));
  return [5, 2, 1].map((m) => m * p).find((v) => v <= target) || p;
}

export class MeshViewer {
  constructor(canvas, { color = "#e8833a", scaleBar = null, background = [0.09, 0.1, 0.12] } = {}) {
    this.canvas = canvas;
    const opts = { antialias: true, preserveDrawingBuffer: true };
    const gl = canvas.getContext("webgl2", opts) || canvas.getContext("webgl", opts);
    if (!gl) throw new Error("this browser has no WebGL; the 3D view cannot be shown");
    if (!(gl instanceof WebGL2RenderingContext) && !gl.getExtension("OES_element_index_uint"))
      throw new Error("WebGL without 32-bit indices");
    this.gl = gl;
    this.prog = compile(gl);
    this.color = hexColor(color);
    this.background = background;
    this.scaleBar = scaleBar;
    this.buffers = null;
    this.reset();
    this._listen();
  }

  reset() {
    this.yaw = 0.5;
    this.pitch = Math.PI + 0.45; // y down, z away, then tilted: x right, as in the images
    this.zoom = 1;
    this.draw();
  }

  setMesh(mesh) {
    const gl = this.gl;
    const c = centred(mesh);
    this.radius = c.radius;
    this.size = c.size;
    const normals = mesh.normals || vertexNormals(c.positions, mesh.indices);
    this._free();
    const buf = (target, data) => {
      const b = gl.createBuffer();
      gl.bindBuffer(target, b);
      gl.bufferData(target, data, gl.STATIC_DRAW);
      return b;
    };
    this.buffers = {
      position: buf(gl.ARRAY_BUFFER, c.positions),
      normal: buf(gl.ARRAY_BUFFER, normals),
      index: buf(gl.ELEMENT_ARRAY_BUFFER, mesh.indices),
      count: mesh.indices.length,
    };
    this.canvas.dataset.triangles = String(mesh.indices.length / 3);
    this.draw();
  }

  _free() {
    if (!this.buffers) return;
    for (const k of ["position", "normal", "index"]) this.gl.deleteBuffer(this.buffers[k]);
    this.buffers = null;
  }

  draw() {
    const gl = this.gl;
    const w = this.canvas.width, ht = this.canvas.height;
    gl.viewport(0, 0, w, ht);
    gl.clearColor(...this.background, 1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    if (!this.buffers) return;
    gl.enable(gl.DEPTH_TEST);
    gl.useProgram(this.prog);
    const half = (this.radius * 1.08) / this.zoom;
    const aspect = w / ht;
    const hw = aspect >= 1 ? half * aspect : half, hh = aspect >= 1 ? half : half / aspect;
    const mv = multiply(rotX(this.pitch), rotY(this.yaw));
    gl.uniformMatrix4fv(gl.getUniformLocation(this.prog, "modelView"), false, mv);
    gl.uniformMatrix4fv(gl.getUniformLocation(this.prog, "projection"), false, ortho(hw, hh, this.radius * 2));
    gl.uniform3fv(gl.getUniformLocation(this.prog, "color"), this.color);
    for (const [name, b] of [["position", this.buffers.position], ["normal", this.buffers.normal]]) {
      const loc = gl.getAttribLocation(this.prog, name);
      gl.bindBuffer(gl.ARRAY_BUFFER, b);
      gl.enableVertexAttribArray(loc);
      gl.vertexAttribPointer(loc, 3, gl.FLOAT, false, 0, 0);
    }
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.buffers.index);
    gl.drawElements(gl.TRIANGLES, this.buffers.count, gl.UNSIGNED_INT, 0);
    this.canvas.dataset.drawn = String(Number(this.canvas.dataset.drawn || 0) + 1);
    this._paintScale(2 * hw);
  }

  // The bar's length in screen pixels is exact: orthographic, so nm per pixel is one number.
  _paintScale(viewWidthNm) {
    if (!this.scaleBar) return;
    const cssWidth = this.canvas.clientWidth || this.canvas.width;
    const um = niceLengthUm(viewWidthNm / 1000);
    const px = (um * 1000 * cssWidth) / viewWidthNm;
    this.scaleBar.bar.style.width = `${px.toFixed(1)}px`;
    this.scaleBar.label.textContent = `${um < 1 ? um.toPrecision(1) : um} µm`;
    this.scaleBar.bar.dataset.um = String(um);
  }

  _listen() {
    const c = this.canvas;
    let drag = null;
    c.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, y: e.clientY }; c.setPointerCapture(e.pointerId); });
    c.addEventListener("pointermove", (e) => {
      if (!drag) return;
      this.yaw += (e.clientX - drag.x) * 0.01;
      this.pitch += (e.clientY - drag.y) * 0.01;
      drag = { x: e.clientX, y: e.clientY };
      this._redraw();
    });
    const stop = () => { drag = null; };
    c.addEventListener("pointerup", stop);
    c.addEventListener("pointercancel", stop);
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      this.zoom = Math.min(20, Math.max(0.2, this.zoom * Math.exp(-e.deltaY * 0.0015)));
      this._redraw();
    }, { passive: false });
    c.addEventListener("dblclick", () => this.reset());
    c.addEventListener("keydown", (e) => {
      const step = { ArrowLeft: [-0.15, 0], ArrowRight: [0.15, 0], ArrowUp: [0, -0.15], ArrowDown: [0, 0.15] }[e.key];
      if (step) { this.yaw += step[0]; this.pitch += step[1]; }
      else if (e.key === "+" || e.key === "=") this.zoom = Math.min(20, this.zoom * 1.2);
      else if (e.key === "-") this.zoom = Math.max(0.2, this.zoom / 1.2);
      else return;
      e.preventDefault();
      this._redraw();
    });
  }

  _redraw() {
    if (this._pending) return;
    this._pending = requestAnimationFrame(() => { this._pending = null; this.draw(); });
  }
}

// Thumbnails: one hidden viewer draws each mesh in turn and hands back a picture.
let thumbViewer = null;
let queue = Promise.resolve();
export function thumbnail(loadBuffer, color) {
  const job = queue.then(async () => {
    if (!thumbViewer) {
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 160;
      thumbViewer = new MeshViewer(canvas, { background: [0.13, 0.14, 0.17] });
    }
    thumbViewer.color = hexColor(color);
    thumbViewer.setMesh(parseGLB(await loadBuffer()));
    return thumbViewer.canvas.toDataURL("image/png");
  });
  queue = job.catch(() => undefined);
  return job;
}
