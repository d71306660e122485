/* symae explorer, event page: STF by method, focal sphere, directivity, stations,
   revisions, model card, downloads. Reads /api/v1/events/{id}; optional fields of newer
   RESULT.json schemas (stf.method, alternatives, pixels[].apparent_stf,
   traces[].misfit|used|reason, inversion) are shown when present. */
"use strict";
(function () {
  const S = window.Symae;
  const ident = decodeURIComponent(location.pathname.replace(/^\/event\//, ""));
  const api = "/api/v1/events/" + encodeURIComponent(ident);
  const state = { data: null, method: "preferred" };
  const $ = (id) => document.getElementById(id);

  /* Every STF the result holds: the preferred one, the alternatives, the baselines. */
  function methods(r) {
    const out = [], pref = (r.stf && r.stf.method) || "";
    out.push({ key: "preferred", label: (pref || "SymAE envelope") + " (preferred)", stf: r.stf });
    for (const [name, stf] of Object.entries(r.alternatives || {})) {
      if (name !== pref && stf && stf.values) out.push({ key: "alt:" + name, label: name, stf: stf });
    }
    for (const [name, stf] of Object.entries(r.baselines || {})) {
      if (stf && stf.values) out.push({ key: "base:" + name, label: name === "mean_envelope" ? "raw mean envelope" : name.replace(/_/g, " ") + " (baseline)", stf: stf });
    }
    return out;
  }

  function drawStf() {
    const r = state.data.result, all = methods(r);
    const chosen = all.find((m) => m.key === state.method) || all[0];
    state.method = chosen.key;
    const box = $("methods");
    box.innerHTML = "";
    all.forEach((m) => {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = m.label; b.dataset.method = m.key;
      b.setAttribute("aria-pressed", String(m.key === chosen.key));
      b.addEventListener("click", () => { state.method = m.key; drawStf(); $("methods").querySelector(`[data-method="${CSS.escape(m.key)}"]`).focus(); });
      box.appendChild(b);
    });
    const series = [];
    if (chosen.key !== "preferred") series.push({ x: S.times(r.stf), y: r.stf.values, cls: "ref", key: "preferred-ref", label: "preferred" });
    const s = chosen.stf;
    series.push({ x: S.times(s), y: s.values, lower: s.lower, upper: s.upper, cls: "series", key: chosen.key, label: chosen.label });
    const svg = $("stf-plot");
    svg.dataset.method = chosen.key;
    S.linePlot(svg, { series: series, xlabel: "time after predicted P (s)", ylabel: "normalised amplitude" });
    const dc = S.durationCentroid(s);
    $("stf-note").textContent = `${chosen.label}: duration ${S.fmt(dc.duration)} s, centroid ${S.fmt(dc.centroid)} s` +
      (s.lower && s.upper ? "; shaded: ±1 std" : "") + (chosen.key !== "preferred" ? "; dashed: preferred STF" : "");
  }

  function kv(dl, pairs) {
    dl.innerHTML = pairs.filter((p) => p[1] != null && p[1] !== "").map((p) => `<dt>${S.esc(p[0])}</dt><dd>${p[2] ? p[1] : S.esc(p[1])}</dd>`).join("");
  }

  function drawSummary() {
    const { event: e, result: r } = state.data;
    document.title = "symae: " + e.event_id;
    $("title").textContent = `${e.event_id}${e.region ? " · " + e.region : ""}`;
    const o = r.origin || {};
    kv($("summary"), [
      ["origin time", o.time], ["latitude, longitude", o.latitude != null ? `${S.fmt(o.latitude, 2)}, ${S.fmt(o.longitude, 2)}` : null],
      ["depth", o.depth_km != null ? S.fmt(o.depth_km, 0) + " km" : null], ["Mw", S.fmt(o.magnitude, 1)],
      ["duration", `${S.fmt(e.duration_s)} s (${e.timing_source === "inversion" ? "inversion" : "measured on the STF"})`],
      ["centroid", S.fmt(e.centroid_s) + " s after P"],
      ["revision", r.revision], ["traces, pixels", `${r.quality.n_traces} traces, ${r.quality.n_pixels} pixels (${r.quality.n_pixels_passed} passed)`],
      ["flags", (r.quality.flags || []).map((f) => `<span class="flag">${S.esc(f)}</span>`).join("") || "none", true],
      ["schema version", r.schema_version],
    ]);
    const inv = r.inversion;
    if (inv) {
      const mech = inv.mechanism && typeof inv.mechanism === "object" ? Object.entries(inv.mechanism).map(([k, v]) => `${k} ${typeof v === "number" ? S.fmt(v, 0) : v}`).join(", ") : inv.mechanism;
      kv($("inversion"), [["depth", inv.depth_km != null ? `${S.fmt(inv.depth_km, 0)} km (${inv.depth_source || "?"})` : null],
        ["mechanism", mech ? `${mech} (${inv.mechanism_source || "?"})` : null],
        ["duration", inv.duration_s != null ? S.fmt(inv.duration_s) + " s" : null], ["centroid", inv.centroid_s != null ? S.fmt(inv.centroid_s) + " s" : null]]);
    } else {
      $("inversion").innerHTML = "<dt>—</dt><dd>no inversion in this result</dd>";
    }
  }

  /* Lower-hemisphere equal-area layout: radius from the take-off angle, angle = azimuth. */
  function drawSphere() {
    const r = state.data.result, svg = $("sphere");
    S.clear(svg);
    const C = 210, R = 170, pixels = r.pixels || [];
    const maxTo = Math.max(30, Math.ceil(Math.max.apply(null, pixels.map((p) => p.takeoff_deg).concat([0])) * 1.15 / 10) * 10);
    const rad = (to) => R * Math.sin((to * Math.PI) / 360) / Math.sin((maxTo * Math.PI) / 360);
    for (let to = 10; to <= maxTo; to += 10) {
      S.el("circle", { cx: C, cy: C, r: rad(to), class: "grat" }, svg);
      S.el("text", { x: C + 3, y: C - rad(to) + 11 }, svg).textContent = to + "°";
    }
    [["N", 0, -1], ["E", 1, 0], ["S", 0, 1], ["W", -1, 0]].forEach(([t, dx, dy]) => S.el("text", { x: C + dx * (R + 14) - 4, y: C + dy * (R + 14) + 4 }, svg).textContent = t);
    const w = 64, h = 34;
    pixels.slice().sort((a, b) => a.takeoff_deg - b.takeoff_deg).forEach((p) => {
      const stf = p.apparent_stf || p.stf, az = (p.azimuth_deg * Math.PI) / 180, d = rad(p.takeoff_deg);
      const x = C + d * Math.sin(az) - w / 2, y = C - d * Math.cos(az) - h / 2;
      const dc = S.durationCentroid(stf);
      const g = S.el("g", { tabindex: 0, role: "img", "data-pixel": p.pixel, "aria-label": `pixel ${p.pixel}: azimuth ${S.fmt(p.azimuth_deg, 0)}°, take-off ${S.fmt(p.takeoff_deg, 0)}°, ${p.n_traces} traces, duration ${S.fmt(dc.duration)} s` }, svg);
      S.el("title", {}, g).textContent = g.getAttribute("aria-label");
      S.el("rect", { x: x, y: y, width: w, height: h, rx: 3, class: "pixbox" }, g);
      const n = stf.values.length, top = Math.max.apply(null, stf.values) || 1;
      const xs = stf.values.map((_, i) => x + 2 + ((w - 4) * i) / Math.max(1, n - 1));
      const ys = stf.values.map((v) => y + h - 3 - ((h - 6) * Math.max(0, v)) / top);
      S.el("path", { d: S.polyline(xs, ys), class: "pix" + (p.quality && !p.quality.passed ? " failed" : "") }, g);
      S.el("text", { x: x + 2, y: y + 10, style: "font-size:9px" }, g).textContent = p.pixel;
    });
  }

  function drawDirectivity() {
    const pixels = state.data.result.pixels || [];
    const pts = pixels.map((p) => ({ p: p, d: S.durationCentroid(p.apparent_stf || p.stf).duration })).filter((q) => q.d != null);
    if (!pts.length) { S.clear($("directivity")); return; }
    S.linePlot($("directivity"), {
      series: [{ points: true, x: pts.map((q) => q.p.azimuth_deg), y: pts.map((q) => q.d), r: pts.map((q) => 3 + Math.sqrt(q.p.n_traces)),
        failed: pts.map((q) => q.p.quality && !q.p.quality.passed), titles: pts.map((q) => `pixel ${q.p.pixel}: ${S.fmt(q.d)} s at ${S.fmt(q.p.azimuth_deg, 0)}°`) }],
      xlim: [0, 360], ylim: [0, Math.max.apply(null, pts.map((q) => q.d)) * 1.2 || 1], xticks: 8,
      xlabel: "azimuth (°)", ylabel: "apparent duration (s)",
    });
  }

  /* Rough P take-off angle to epicentral distance (surface source, teleseismic). */
  function distanceFromTakeoff(to) {
    const table = [[14, 95], [16, 80], [18, 68], [20, 58], [23, 47], [26, 40], [30, 33], [35, 28]];
    if (to <= table[0][0]) return table[0][1];
    for (let i = 1; i < table.length; i++) if (to <= table[i][0]) {
      const [a, da] = table[i - 1], [b, db] = table[i];
      return da + ((to - a) / (b - a)) * (db - da);
    }
    return table[table.length - 1][1];
  }

  function drawStations(lines) {
    const r = state.data.result, byPixel = new Map((r.pixels || []).map((p) => [p.pixel, p]));
    const rows = (r.traces || []).map((t) => {
      const p = byPixel.get(t.pixel) || {};
      const dist = t.distance_deg != null ? t.distance_deg : null;
      const used = t.used == null ? true : !!t.used;
      return { t: t, az: t.azimuth_deg != null ? t.azimuth_deg : p.azimuth_deg, dist: dist, used: used,
        mapDist: dist != null ? dist : p.takeoff_deg != null ? distanceFromTakeoff(p.takeoff_deg) : null };
    });
    $("stations").tBodies[0].innerHTML = rows.map((q) => `<tr tabindex="0"${q.used ? "" : ' class="rejected"'}><td>${S.esc(q.t.id)}</td>` +
      `<td class="num">${S.fmt(q.dist, 1)}</td><td class="num">${S.fmt(q.az, 0)}</td><td class="num">${q.t.pixel}</td>` +
      `<td class="num">${S.fmt(q.t.informativeness, 3)}</td><td class="num">${S.fmt(q.t.misfit, 3)}</td>` +
      `<td>${q.used ? "used" : "rejected" + (q.t.reason ? ": " + S.esc(q.t.reason) : "")}${q.t.selected ? " · selected" : ""}</td></tr>`).join("")
      || '<tr><td colspan="7">no traces</td></tr>';
    // azimuthal equidistant map centred on the epicentre, out to 180°
    const svg = $("station-map"), o = r.origin;
    S.clear(svg);
    const C = 200, R = 185, k = R / 180;
    S.el("circle", { cx: C, cy: C, r: R, class: "grat" }, svg);
    [30, 60, 90, 120].forEach((d) => { S.el("circle", { cx: C, cy: C, r: d * k, class: "grat" }, svg); S.el("text", { x: C + 2, y: C - d * k - 2 }, svg).textContent = d + "°"; });
    if (!o) { $("station-note").textContent = "no origin: map unavailable"; return; }
    const rad = Math.PI / 180, la0 = o.latitude * rad, lo0 = o.longitude * rad;
    const project = (lon, lat) => {
      const la = lat * rad, dl = lon * rad - lo0;
      const c = Math.acos(Math.max(-1, Math.min(1, Math.sin(la0) * Math.sin(la) + Math.cos(la0) * Math.cos(la) * Math.cos(dl))));
      if (c > 175 * rad) return null;
      const az = Math.atan2(Math.sin(dl) * Math.cos(la), Math.cos(la0) * Math.sin(la) - Math.sin(la0) * Math.cos(la) * Math.cos(dl));
      return [C + (c / rad) * k * Math.sin(az), C - (c / rad) * k * Math.cos(az)];
    };
    if (lines) S.el("path", { d: S.coastPath(lines, project, 40), class: "land", style: "fill:none;stroke:#6b7d8c;stroke-width:0.6" }, svg);
    rows.forEach((q) => {
      if (q.az == null || q.mapDist == null) return;
      const a = q.az * rad, c = S.el("circle", { cx: C + q.mapDist * k * Math.sin(a), cy: C - q.mapDist * k * Math.cos(a), r: 3.5, class: "sta" + (q.used ? "" : " rejected") }, svg);
      S.el("title", {}, c).textContent = `${q.t.id} (pixel ${q.t.pixel})`;
    });
    S.el("circle", { cx: C, cy: C, r: 5, class: "epi" }, svg);
    const approx = rows.some((q) => q.dist == null);
    $("station-note").textContent = "Azimuthal equidistant around the epicentre; red: rejected." +
      (approx ? " Distances are not in this result: stations are placed at their pixel's azimuth and a distance estimated from its take-off angle." : "");
  }

  function drawRevisions(revs) {
    $("revisions").tBodies[0].innerHTML = revs.map((v) => `<tr><td class="num">${v.revision}</td><td>${S.esc((v.updated || "").slice(0, 19).replace("T", " "))}</td>` +
      `<td>${S.esc(v.arrival)}</td><td>${S.esc(v.model.name + ":" + v.model.version)}</td><td class="num">${v.n_traces}</td><td class="num">${v.n_pixels}</td>` +
      `<td class="num">${S.fmt(v.duration_s)}</td><td>${(v.flags || []).map((f) => `<span class="flag">${S.esc(f)}</span>`).join("")}</td></tr>`).join("");
    const withStf = revs.filter((v) => v.stf && v.stf.values);
    if (!withStf.length) return;
    const n = withStf.length;
    S.linePlot($("rev-plot"), {
      series: withStf.slice().reverse().map((v, i) => ({ x: S.times(v.stf), y: v.stf.values, cls: "rev", key: "rev-" + v.revision,
        style: `opacity:${(0.25 + (0.75 * (i + 1)) / n).toFixed(2)}`, label: "revision " + v.revision })),
      xlabel: "time after predicted P (s)", ylabel: "normalised amplitude",
    });
  }

  function drawModel() {
    const r = state.data.result, m = r.model || {}, prov = r.provenance || {}, pm = prov.model || {};
    const extra = Object.entries(m).filter(([k]) => !["name", "version", "provider"].includes(k));
    const training = m.training_data || pm.training_data || m.training || pm.training;
    kv($("model"), [["name", m.name], ["version", m.version], ["execution provider", m.provider || "–"]]
      .concat(extra.filter(([, v]) => typeof v !== "object").map(([k, v]) => [k.replace(/_/g, " "), v]))
      .concat([["training data", training ? (typeof training === "object" ? JSON.stringify(training) : training) : "not in this result"]])
      .concat(Object.entries(r.parameters || {}).map(([k, v]) => ["parameter " + k, v])));
    const loss = m.loss_history || pm.loss_history;
    const kl = r.quality.kl_history || [];
    const ys = loss && loss.length ? loss : kl;
    if (ys.length) {
      S.linePlot($("loss-plot"), { series: [{ x: ys.map((_, i) => i), y: ys, cls: "series", key: "loss" }], xlabel: loss && loss.length ? "epoch" : "optimisation step", ylabel: loss && loss.length ? "training loss" : "KL term" });
      $("loss-note").textContent = loss && loss.length ? "Training loss history of the model." : "No training loss history in this result; shown: the KL term of this event's latent optimisation.";
    } else {
      S.clear($("loss-plot"));
      $("loss-note").textContent = "No loss history in this result.";
    }
  }

  function drawDownloads() {
    const e = state.data.event, names = { result: "RESULT.json", scardec: "SCARDEC text", quakeml: "QuakeML", figure: "PNG figure" };
    $("downloads").innerHTML = Object.entries(e.products).map(([k, url]) => `<li><a href="${S.esc(url)}" download>${S.esc(names[k] || k)}</a></li>`).join("") +
      `<li><a href="${S.esc(api)}">API JSON (event and result)</a></li><li><a href="${S.esc(api)}/revisions">API JSON (revisions)</a></li>`;
  }

  async function load(fresh) {
    const [data, revs, lines] = await Promise.all([S.getJSON(api), S.getJSON(api + "/revisions"), S.coastline().catch(() => null)]);
    state.data = data;
    drawSummary(); drawStf(); drawSphere(); drawDirectivity(); drawStations(lines); drawRevisions(revs.revisions); drawModel(); drawDownloads();
    if (fresh) document.querySelectorAll(".card.summary, .card.stf").forEach((c) => { c.classList.remove("fresh"); void c.offsetWidth; c.classList.add("fresh"); });
    document.body.dataset.revision = String(data.result.revision);
    return data.event.seq || 0;
  }

  async function main() {
    await load(false);
    document.body.dataset.ready = "1";
    const live = $("live");
    S.live(state.data.event.seq || 0, (e) => {
      if (e.event_id !== state.data.event.event_id) return;
      load(true).then(() => { live.textContent = `live · revision ${e.revision} arrived`; });
    }, () => load(true), live);
  }
  main().catch((err) => { $("live").textContent = "error: " + err.message; throw err; });
})();
