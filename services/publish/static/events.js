/* symae explorer, events page: sortable, filterable table beside a map; live updates. */
"use strict";
(function () {
  const S = window.Symae;
  const state = { events: new Map(), key: "time", dir: -1, text: "", mw: null, flagged: false, seq: 0, fresh: new Set() };
  const tbody = document.getElementById("rows");
  const world = document.getElementById("world");
  const live = document.getElementById("live");
  let quakes = null, renderToken = 0;
  const FIRST_ROWS = 60;

  const value = {
    time: (e) => e.origin.time || "",
    event_id: (e) => e.event_id,
    region: (e) => e.region || "",
    mw: (e) => e.origin.magnitude,
    depth: (e) => e.origin.depth_km,
    duration_s: (e) => e.duration_s,
    centroid_s: (e) => e.centroid_s,
    revision: (e) => e.revision,
    model: (e) => e.model.name + ":" + e.model.version,
    flags: (e) => (e.flags || []).join(" "),
  };

  function visible() {
    const text = state.text.toLowerCase();
    const get = value[state.key];
    return Array.from(state.events.values())
      .filter((e) => state.mw == null || (e.origin.magnitude != null && e.origin.magnitude >= state.mw))
      .filter((e) => !state.flagged || (e.flags && e.flags.length))
      .filter((e) => !text || [e.event_id, e.region, value.model(e), value.flags(e), e.origin.time]
        .join(" ").toLowerCase().includes(text))
      .sort((a, b) => {
        const x = get(a), y = get(b);
        if (x == null || x === "") return 1;
        if (y == null || y === "") return -1;
        return (x < y ? -1 : x > y ? 1 : 0) * state.dir;
      });
  }

  function row(e) {
    const flags = (e.flags || []).map((f) => `<span class="flag">${S.esc(f)}</span>`).join("");
    const cls = state.fresh.has(e.event_id) ? ' class="fresh"' : "";
    return `<tr tabindex="0" data-id="${S.esc(e.event_id)}" data-page="${S.esc(e.page)}"${cls}>` +
      `<td>${S.esc((e.origin.time || "").replace("T", " ").replace("Z", ""))}</td>` +
      `<td><a href="${S.esc(e.page)}" tabindex="-1">${S.esc(e.event_id)}</a></td>` +
      `<td>${S.esc(e.region || "–")}</td>` +
      `<td class="num">${S.fmt(e.origin.magnitude, 1)}</td>` +
      `<td class="num">${S.fmt(e.origin.depth_km, 0)}</td>` +
      `<td class="num">${S.fmt(e.duration_s, 1)}</td>` +
      `<td class="num">${S.fmt(e.centroid_s, 1)}</td>` +
      `<td class="num">${e.revision}</td>` +
      `<td>${S.esc(value.model(e))}</td><td>${flags}</td></tr>`;
  }

  function render() {
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.id : null;
    const list = visible(), token = ++renderToken;
    // the rows in sight first; the rest in the next task, so the page shows at once
    tbody.innerHTML = list.length ? list.slice(0, FIRST_ROWS).map(row).join("")
      : `<tr><td colspan="10">${state.events.size ? "no event matches the filter" : "no events published yet"}</td></tr>`;
    const rest = () => {
      if (token !== renderToken) return;
      tbody.insertAdjacentHTML("beforeend", list.slice(FIRST_ROWS).map(row).join(""));
      tbody.dataset.rows = String(list.length);
      performance.mark("events-complete");
      if (focused) refocus(focused);
    };
    delete tbody.dataset.rows;
    if (list.length > FIRST_ROWS) setTimeout(rest, 0); else tbody.dataset.rows = String(list.length);
    document.getElementById("count").textContent = `${list.length} of ${state.events.size} events`;
    document.querySelectorAll("#events th").forEach((th) => {
      th.setAttribute("aria-sort", th.dataset.key === state.key ? (state.dir > 0 ? "ascending" : "descending") : "none");
    });
    drawQuakes(list);
    if (focused) refocus(focused);
  }

  function refocus(id) {
    const again = tbody.querySelector(`tr[data-id="${CSS.escape(id)}"]`);
    if (again) again.focus();
  }

  const project = (lon, lat) => [(lon + 180) * 2, (90 - lat) * 2];

  function drawBasemap(lines) {
    const g = S.el("g", {}, world);
    let d = "";
    for (let lon = -150; lon <= 150; lon += 30) d += `M${project(lon, 90)}V360`;
    for (let lat = -60; lat <= 60; lat += 30) d += `M0 ${project(0, lat)[1]}H720`;
    S.el("path", { d: d, class: "grat" }, g);
    if (lines) S.el("path", { d: S.coastPath(lines, project, 300), class: "land" }, g);
    quakes = S.el("g", {}, world);
  }

  function drawQuakes(list) {
    if (!quakes) return;
    // one string, parsed once; largest first so that small events stay clickable on top
    quakes.innerHTML = list.slice().sort((a, b) => (b.origin.magnitude || 0) - (a.origin.magnitude || 0)).map((e) => {
      if (e.origin.latitude == null || e.origin.longitude == null) return "";
      const [x, y] = project(e.origin.longitude, e.origin.latitude);
      const r = Math.max(2, ((e.origin.magnitude || 6) - 5) * 2.2);
      const cls = "quake" + (state.fresh.has(e.event_id) ? " fresh" : "");
      const title = `${e.event_id} Mw ${S.fmt(e.origin.magnitude, 1)} ${e.region || ""} (revision ${e.revision})`;
      return `<a href="${S.esc(e.page)}" data-id="${S.esc(e.event_id)}"><circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r.toFixed(1)}" class="${cls}"><title>${S.esc(title)}</title></circle></a>`;
    }).join("");
  }

  function highlight(id, on) {
    quakes && quakes.querySelectorAll(`a[data-id="${CSS.escape(id)}"] circle`).forEach((c) => c.classList.toggle("hl", on));
  }

  function open(tr) { if (tr && tr.dataset.page) window.location.href = tr.dataset.page; }
  tbody.addEventListener("click", (ev) => { if (!ev.target.closest("a")) open(ev.target.closest("tr")); });
  tbody.addEventListener("keydown", (ev) => {
    const tr = ev.target.closest("tr");
    if (!tr) return;
    if (ev.key === "Enter") open(tr);
    else if (ev.key === "ArrowDown" && tr.nextElementSibling) { tr.nextElementSibling.focus(); ev.preventDefault(); }
    else if (ev.key === "ArrowUp" && tr.previousElementSibling) { tr.previousElementSibling.focus(); ev.preventDefault(); }
  });
  ["mouseover", "focusin"].forEach((t) => tbody.addEventListener(t, (ev) => { const tr = ev.target.closest("tr"); if (tr && tr.dataset.id) highlight(tr.dataset.id, true); }));
  ["mouseout", "focusout"].forEach((t) => tbody.addEventListener(t, (ev) => { const tr = ev.target.closest("tr"); if (tr && tr.dataset.id) highlight(tr.dataset.id, false); }));
  document.querySelectorAll("#events th button").forEach((b) => b.addEventListener("click", () => {
    const key = b.parentElement.dataset.key;
    state.dir = key === state.key ? -state.dir : (key === "time" || key === "mw" ? -1 : 1);
    state.key = key;
    render();
  }));
  document.getElementById("filter-text").addEventListener("input", (ev) => { state.text = ev.target.value; render(); });
  document.getElementById("filter-mw").addEventListener("input", (ev) => { const v = parseFloat(ev.target.value); state.mw = isFinite(v) ? v : null; render(); });
  document.getElementById("filter-flagged").addEventListener("change", (ev) => { state.flagged = ev.target.checked; render(); });

  function onRevision(e) {
    state.events.set(e.event_id, e);
    state.seq = Math.max(state.seq, e.seq || 0);
    state.fresh.add(e.event_id);
    setTimeout(() => state.fresh.delete(e.event_id), 10000);
    render();
    live.textContent = `live · ${e.event_id} revision ${e.revision} published`;
  }

  async function load() {
    const data = await S.getJSON("/api/v1/events");
    performance.mark("events-data");
    state.events = new Map(data.events.map((e) => [e.event_id, e]));
    state.seq = data.seq;
    render();
    return data.seq;
  }

  async function main() {
    const [seq, lines] = await Promise.all([load(), S.coastline().catch(() => null)]);
    performance.mark("events-table");
    drawBasemap(lines);
    performance.mark("events-basemap");
    drawQuakes(visible());
    performance.mark("events-rendered");
    document.body.dataset.ready = "1";
    S.live(seq, onRevision, load, live);
  }
  main().catch((err) => { live.textContent = "error: " + err.message; throw err; });
})();
