/* symae explorer: helpers shared by the events page and the event page (no library). */
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    })[c]);
  }
  function fmt(x, digits) {
    return x == null || !isFinite(x) ? "–" : Number(x).toFixed(digits == null ? 1 : digits);
  }
  async function getJSON(url) {
    const resp = await fetch(url, { headers: { Accept: "application/json" } });
    if (!resp.ok) throw new Error(url + ": HTTP " + resp.status);
    return resp.json();
  }
  function el(tag, attrs, parent) {
    const node = document.createElementNS(NS, tag);
    for (const k in attrs || {}) if (attrs[k] != null) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function clear(svg) { while (svg.firstChild) svg.removeChild(svg.firstChild); }
  function times(stf) { return stf.values.map((_, i) => stf.t0 + stf.dt * i); }

  /* Duration (first to last sample above 10 % of the peak) and centroid, as on the server. */
  function durationCentroid(stf, level) {
    level = level == null ? 0.1 : level;
    const v = stf.values.map((x) => Math.max(0, x));
    const peak = Math.max.apply(null, v);
    if (!(peak > 0)) return { duration: null, centroid: null };
    let first = -1, last = -1;
    v.forEach((x, i) => { if (x >= level * peak) { if (first < 0) first = i; last = i; } });
    let m0 = 0, m1 = 0;
    for (let i = first; i <= last; i++) { m0 += v[i]; m1 += v[i] * (stf.t0 + stf.dt * i); }
    return { duration: (last - first) * stf.dt, centroid: m1 / m0 };
  }

  function niceTicks(lo, hi, n) {
    const span = hi - lo || 1;
    const raw = span / (n || 5), mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) || raw;
    const out = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) out.push(+t.toFixed(10));
    return out;
  }
  function polyline(xs, ys) {
    let d = "";
    for (let i = 0; i < xs.length; i++) d += (i ? "L" : "M") + xs[i].toFixed(1) + " " + ys[i].toFixed(1);
    return d;
  }

  /* A line plot into an SVG with a viewBox: axes, ticks, labels, series with optional bands.
     series: [{x: [...], y: [...], lower?, upper?, cls, key, label}]. Returns the scales. */
  function linePlot(svg, opts) {
    clear(svg);
    const vb = svg.viewBox.baseVal, W = vb.width, H = vb.height;
    const m = { l: 48, r: 12, t: 10, b: 36 };
    const all = (k) => [].concat.apply([], opts.series.map((s) => s[k] || []));
    const xsAll = all("x");
    const x0 = opts.xlim ? opts.xlim[0] : Math.min.apply(null, xsAll);
    const x1 = opts.xlim ? opts.xlim[1] : Math.max.apply(null, xsAll);
    const ysAll = all("y").concat(all("lower"), all("upper")).filter(isFinite);
    let y0 = opts.ylim ? opts.ylim[0] : Math.min(0, Math.min.apply(null, ysAll));
    let y1 = opts.ylim ? opts.ylim[1] : Math.max.apply(null, ysAll);
    if (y1 <= y0) y1 = y0 + 1;
    const sx = (x) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
    const sy = (y) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
    const axis = el("g", { class: "axis" }, svg);
    el("path", { d: `M${m.l} ${m.t}V${H - m.b}H${W - m.r}` }, axis);
    niceTicks(x0, x1, opts.xticks || 8).forEach((t) => {
      el("line", { x1: sx(t), x2: sx(t), y1: H - m.b, y2: H - m.b + 4 }, axis);
      el("text", { x: sx(t), y: H - m.b + 16, "text-anchor": "middle" }, axis).textContent = t;
    });
    niceTicks(y0, y1, 5).forEach((t) => {
      el("line", { x1: m.l - 4, x2: m.l, y1: sy(t), y2: sy(t) }, axis);
      el("text", { x: m.l - 6, y: sy(t) + 4, "text-anchor": "end" }, axis).textContent = t;
    });
    if (opts.xlabel) el("text", { x: (m.l + W - m.r) / 2, y: H - 4, "text-anchor": "middle" }, axis).textContent = opts.xlabel;
    if (opts.ylabel) el("text", { x: 12, y: (m.t + H - m.b) / 2, "text-anchor": "middle", transform: `rotate(-90 12 ${(m.t + H - m.b) / 2})` }, axis).textContent = opts.ylabel;
    opts.series.forEach((s) => {
      const xs = s.x.map(sx);
      if (s.lower && s.upper) {
        const d = polyline(xs, s.upper.map(sy)) + "L" + polyline(xs.slice().reverse(), s.lower.map(sy).reverse()).slice(1) + "Z";
        el("path", { d: d, class: "band", "data-series": s.key }, svg);
      }
      if (s.points) {
        s.x.forEach((x, i) => el("circle", { cx: sx(x), cy: sy(s.y[i]), r: s.r ? s.r[i] : 4, class: (s.cls || "dot") + (s.failed && s.failed[i] ? " failed" : "") }, svg)
          .appendChild(document.createElementNS(NS, "title")).textContent = s.titles ? s.titles[i] : "");
      } else {
        const p = el("path", { d: polyline(xs, s.y.map(sy)), class: s.cls || "series", "data-series": s.key, style: s.style }, svg);
        if (s.label) el("title", {}, p).textContent = s.label;
      }
    });
    return { sx: sx, sy: sy };
  }

  /* Coastline polylines [[lon, lat, lon, lat, ...], ...] projected by `project(lon, lat)`
     (returns [x, y] or null); a path breaks where a segment jumps more than `maxJump`. */
  function coastPath(lines, project, maxJump) {
    let d = "";
    for (const line of lines) {
      let prev = null;
      for (let i = 0; i < line.length; i += 2) {
        const p = project(line[i], line[i + 1]);
        if (!p) { prev = null; continue; }
        const jump = prev && Math.hypot(p[0] - prev[0], p[1] - prev[1]) > maxJump;
        d += (!prev || jump ? "M" : "L") + p[0].toFixed(1) + " " + p[1].toFixed(1);
        prev = p;
      }
    }
    return d;
  }
  let coastPromise = null;
  function coastline() {
    coastPromise = coastPromise || getJSON("/static/vendor/coastline-110m.json").then((c) => c.lines);
    return coastPromise;
  }

  /* Live updates: Server-Sent Events from /api/v1/stream, or polling where unavailable. */
  function live(after, onRevision, onReset, statusEl) {
    const say = (text, on) => { if (statusEl) { statusEl.textContent = text; statusEl.classList.toggle("on", !!on); } };
    if (!window.EventSource) {
      let seq = after;
      setInterval(async () => {
        const data = await getJSON("/api/v1/events?since=" + seq);
        seq = data.seq;
        data.events.forEach(onRevision);
      }, 5000);
      say("live (polling)", true);
      return;
    }
    const src = new EventSource("/api/v1/stream?after=" + after);
    src.addEventListener("hello", () => say("live", true));
    src.addEventListener("revision", (e) => onRevision(JSON.parse(e.data)));
    src.addEventListener("reset", () => onReset());
    src.onerror = () => say("reconnecting…", false);
    window.addEventListener("pagehide", () => src.close());
  }

  window.Symae = { esc, fmt, getJSON, el, clear, times, durationCentroid, linePlot, niceTicks, polyline, coastPath, coastline, live };
})();
