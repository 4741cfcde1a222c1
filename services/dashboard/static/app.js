// The provincial dashboard: figures from the dashboard API, refreshed every few seconds without a reload.
"use strict";

// The words come from the one catalog (shared/i18n), served as messages.json.
const T = { en: {}, km: {} };

const TOKEN_KEY = "border.dashboard.token";
const LANG_KEY = "border.lang";
const AREA_METRICS = ["received", "in_quarantine", "released", "transported", "handed_over",
  "alerted", "visited", "overdue", "completed"];
const state = {
  lang: new URLSearchParams(location.search).get("lang") || localStorage.getItem(LANG_KEY) || "km",
  token: sessionStorage.getItem(TOKEN_KEY), // gone with the tab: never left on a shared office PC
  config: { api_base: "", identity_url: "", refresh_seconds: 3 },
  scope: [], names: {}, charts: {}, timer: null, last: null,
};

const $ = (sel) => document.querySelector(sel);
const t = (key) => (T[state.lang] && T[state.lang][key]) || T.en[key] || key;
const fmt = (n) => new Intl.NumberFormat(state.lang === "km" ? "km-KH" : "en-GB").format(n);
const areaName = (code) => {
  const n = state.names[code];
  if (code === "KH") return t("nation");
  return n ? (state.lang === "km" ? n.name_km : n.name_en) : code;
};

function currentArea() {
  const m = location.hash.match(/area=(KH|\d{6}|\d{4}|\d{2})\b/);
  return m ? m[1] : (state.scope[0] && state.scope[0].code) || "KH";
}

async function api(path) {
  const res = await fetch(state.config.api_base + path, { headers: { Authorization: "Bearer " + state.token } });
  if (res.status === 401) { signOut(); throw new Error("signed out"); }
  if (!res.ok) throw new Error(path + ": " + res.status);
  return res;
}
const json = async (path) => (await api(path)).json();

function translate() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  $("#lang").textContent = t("other_lang");
  document.title = t("title");
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  clearInterval(state.timer);
  $("#board").hidden = true; $("#logout").hidden = true; $("#login").hidden = false;
}

async function signIn(ev) {
  ev.preventDefault();
  const base = state.config.identity_url || `${location.protocol}//${location.hostname}:8000`;
  const res = await fetch(base + "/auth/token", { method: "POST", body: new URLSearchParams(new FormData(ev.target)) })
    .catch(() => null);
  if (!res || !res.ok) { $("#login-error").textContent = t("login_failed"); return; }
  state.token = (await res.json()).access_token;
  sessionStorage.setItem(TOKEN_KEY, state.token);
  await start();
}

function crumbs(area) {
  const root = state.scope.find((s) => area.startsWith(s.code) || s.code === "KH") || { code: area };
  const chain = [root.code];
  for (let len = root.code === "KH" ? 2 : root.code.length + 2; len <= area.length; len += 2) chain.push(area.slice(0, len));
  $("#crumbs").replaceChildren(...chain.map((code, i) => {
    const a = document.createElement("a");
    a.href = "#area=" + code; a.textContent = areaName(code);
    if (i === chain.length - 1) a.setAttribute("aria-current", "page");
    return a;
  }));
}

function card(key, value, warn) {
  const div = document.createElement("div");
  div.className = "card" + (warn && value ? " warn" : "");
  div.dataset.metric = key;
  div.dataset.value = value;
  div.innerHTML = `<span class="n"></span><span class="l"></span>`;
  div.querySelector(".n").textContent = fmt(value);
  div.querySelector(".l").textContent = t(key);
  return div;
}

function renderCards(s) {
  $("#cards").replaceChildren(
    card("received", s.totals.received), card("screened", s.totals.screened), card("referred", s.totals.referred),
    card("in_quarantine", s.totals.in_quarantine), card("waiting", s.transit.waiting_for_a_bed, true),
    card("released", s.totals.released), card("in_transit", s.transit.in_transit),
    card("overdue_manifests", s.transit.overdue, true), card("handed_over", s.totals.handed_over),
    card("visited", s.followup.visited), card("overdue_followups", s.followup.overdue, true),
  );
}

function table(sel, headers, rows) {
  const el = $(sel);
  if (headers && el.tHead) el.tHead.innerHTML = "<tr>" + headers.map((h) => `<th>${t(h)}</th>`).join("") + "</tr>";
  const body = el.tBodies[0];
  body.replaceChildren(...(rows.length ? rows : [[t("none")]]).map((cells) => {
    const tr = document.createElement("tr");
    const list = Array.isArray(cells) ? cells : cells.cells;
    if (!Array.isArray(cells)) Object.assign(tr.dataset, cells.data || {}), (tr.className = cells.cls || "");
    list.forEach((c) => { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); });
    return tr;
  }));
}

// A chart's figures as text, for screen readers: what the picture shows, in the page's language.
function describe(labels, datasets) {
  if (!labels.length || !datasets.length) return t("no_data");  // an empty label is no alternative at all
  return datasets.map((ds) => {
    const values = labels.map((label, i) => `${label} ${fmt(ds.data[i] ?? 0)}`).join(", ");
    return ds.label ? `${ds.label}: ${values}` : values;
  }).join("; ");
}

function chart(id, type, labels, datasets, options = {}) {
  const canvas = document.getElementById(id);
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", describe(labels, datasets));
  const existing = state.charts[id];
  if (existing) {
    existing.data.labels = labels; existing.data.datasets = datasets; existing.update("none");
    return;
  }
  state.charts[id] = new Chart(canvas, {
    type, data: { labels, datasets },
    options: { animation: false, responsive: true, maintainAspectRatio: false, ...options },
  });
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"];

function renderArrivals(rows) {
  const seen = [...new Set(rows.map((r) => r.day))].sort();
  const days = [];  // every day from the first arrival to the last, quiet days included
  for (let d = seen[0] && new Date(seen[0] + "T00:00:00Z"); d && d.toISOString().slice(0, 10) <= seen[seen.length - 1];
    d = new Date(d.getTime() + 86400000)) days.push(d.toISOString().slice(0, 10));
  const cps = [...new Set(rows.map((r) => r.checkpoint_id))].sort();
  const datasets = cps.map((cp, i) => ({
    label: cp, backgroundColor: PALETTE[i % PALETTE.length],
    data: days.map((d) => (rows.find((r) => r.day === d && r.checkpoint_id === cp) || { count: 0 }).count),
  }));
  chart("arrivals-chart", "bar", days, datasets, { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } });
}

function renderAreas(rows, area) {
  rows.forEach((r) => { state.names[r.code] = r; });
  const drillable = area.length < 6;
  table("#areas", ["area", ...AREA_METRICS], rows.map((r) => ({
    cells: [`${r.code} ${state.lang === "km" ? r.name_km : r.name_en}`, ...AREA_METRICS.map((m) => fmt(r[m]))],
    data: { code: r.code }, cls: drillable ? "drill" : "",
  })));
  $("#areas-hint").hidden = !drillable;
  chart("areas-chart", "bar", rows.map((r) => (state.lang === "km" ? r.name_km : r.name_en)), [
    { label: t("received"), data: rows.map((r) => r.received), backgroundColor: "#1f77b4" },
    { label: t("in_quarantine"), data: rows.map((r) => r.in_quarantine), backgroundColor: "#ff7f0e" },
    { label: t("overdue"), data: rows.map((r) => r.overdue), backgroundColor: "#d62728" },
  ], { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } });
}

function renderPeople(s) {
  const sexes = ["F", "M", "X"], ages = Object.keys(s.age_groups), care = Object.keys(s.special_care);
  chart("people-chart", "bar", [...sexes.map(t), ...ages], [{
    label: t("people"), data: [...sexes.map((k) => s.sex[k]), ...ages.map((k) => s.age_groups[k])],
    backgroundColor: [...sexes.map(() => "#9467bd"), ...ages.map(() => "#17becf")],
  }], { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } });
  chart("care-chart", "bar", care.map(t), [{ label: t("people"), data: care.map((k) => s.special_care[k]), backgroundColor: "#e377c2" }],
    { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } });
}

// Communes as circles on their gazetteer points: no map tiles, which the sites cannot fetch.
function renderMap(points) {
  const panel = $("#map-panel"), svg = $("#map");
  panel.hidden = !points;
  if (!points) return;
  const NS = "http://www.w3.org/2000/svg", W = 640, H = 420, PAD = 24;
  const lats = points.map((p) => p.lat), lons = points.map((p) => p.lon);
  const [south, north, west, east] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const squash = Math.cos(((south + north) / 2) * Math.PI / 180);  // a degree of longitude is shorter here
  const scale = Math.min((W - 2 * PAD) / (((east - west) * squash) || 1), (H - 2 * PAD) / ((north - south) || 1));
  const x = (lon) => PAD + (lon - west) * squash * scale, y = (lat) => H - PAD - (lat - south) * scale;
  const kind = (p) => (p.overdue ? "overdue" : p.in_quarantine ? "isolating" : p.received ? "home" : "quiet");
  svg.replaceChildren(...points.sort((a, b) => a.received - b.received).map((p) => {
    const c = document.createElementNS(NS, "circle");
    c.setAttribute("cx", x(p.lon).toFixed(1)); c.setAttribute("cy", y(p.lat).toFixed(1));
    c.setAttribute("r", (4 + 3 * Math.sqrt(p.received)).toFixed(1));
    c.setAttribute("class", kind(p) + (p.approximate ? " approx" : "")); c.dataset.code = p.code;
    const title = document.createElementNS(NS, "title");
    title.textContent = `${state.lang === "km" ? p.name_km : p.name_en}: ${t("received")} ${fmt(p.received)}, ` +
      `${t("in_quarantine")} ${fmt(p.in_quarantine)}, ${t("overdue")} ${fmt(p.overdue)}`;
    c.appendChild(title);
    return c;
  }));
  const busy = points.filter((p) => p.received).sort((a, b) => b.received - a.received);
  svg.setAttribute("aria-label", busy.length ? `${t("map_title")}: ` + busy.map((p) =>
    `${state.lang === "km" ? p.name_km : p.name_en} ${fmt(p.received)}` + (p.overdue ? ` (${t("overdue")} ${fmt(p.overdue)})` : "")).join(", ")
    : t("no_data"));
}

function renderLists(s, checkpoints) {
  const time = (iso) => (iso ? new Date(iso).toLocaleString(state.lang === "km" ? "km-KH" : "en-GB") : t("never"));
  table("#facilities", ["facility", "occupancy", "capacity"], s.facilities.map((f) => [f.facility_id, fmt(f.occupancy), f.capacity ?? "—"]));
  table("#manifests", ["manifest", "destination", "passengers", "handed_over", "expected"], s.manifests.map((m) => ({
    cells: [m.manifest_id.slice(0, 8), m.destination_province_code || "", fmt(m.passengers), fmt(m.handed_over), time(m.expected_arrival)],
    cls: m.overdue ? "overdue" : "",
  })));
  table("#followup", null, Object.entries(s.followup).map(([k, v]) => ({ cells: [t(k), fmt(v)], cls: k === "overdue" && v ? "overdue" : "" })));
  table("#checkpoints", ["checkpoint", "received", "last_sync"], checkpoints.filter((c) => c.registrations || c.last_sync_at).map((c) => ({
    cells: [`${c.checkpoint_id} ${c.name_en}`, fmt(c.registrations), time(c.last_sync_at) + (c.stale ? ` (${t("stale")})` : "")],
    cls: c.stale ? "overdue" : "",
  })));
}

async function refresh() {
  const area = currentArea();
  const q = "area=" + area;
  try {
    const mapped = area.length === 2 || area.length === 4;  // a province's or a district's communes
    const [summary, arrivals, areas, checkpoints, rebuild, points] = await Promise.all([
      json("/stats/summary?" + q), json("/stats/arrivals?" + q), json("/stats/areas?" + q), json("/stats/checkpoints?" + q),
      json("/rebuild/progress"), mapped ? json("/stats/map?" + q) : null,
    ]);
    renderMap(points);
    const banner = $("#rebuild");
    banner.hidden = !rebuild.rebuilding;
    banner.textContent = t("rebuilding").replace("{n}", fmt(rebuild.events_behind));
    renderAreas(areas, area);
    crumbs(area);
    renderCards(summary);
    renderArrivals(arrivals);
    renderPeople(summary);
    renderLists(summary, checkpoints);
    state.last = new Date();
    $("#updated").textContent = `${t("updated")} ${state.last.toLocaleTimeString(state.lang === "km" ? "km-KH" : "en-GB")}`;
    document.body.dataset.area = area;
  } catch (err) {
    $("#updated").textContent = "⚠ " + err.message;
  }
}

async function download(kind) {
  const q = new URLSearchParams({ area: currentArea(), lang: state.lang });
  if ($("#since").value) q.set("since", $("#since").value);
  if ($("#until").value) q.set("until", $("#until").value);
  const blob = await (await api(`/reports/daily.${kind}?${q}`)).blob();
  const url = URL.createObjectURL(blob);
  if (kind === "html") { window.open(url, "_blank"); return; }
  const a = Object.assign(document.createElement("a"), { href: url, download: `situation-${currentArea()}.${kind}` });
  a.click();
}

async function start() {
  $("#login").hidden = true; $("#board").hidden = false; $("#logout").hidden = false;
  state.scope = await json("/stats/scope");
  state.scope.forEach((s) => { state.names[s.code] = s; });
  await refresh();
  clearInterval(state.timer);
  state.timer = setInterval(refresh, state.config.refresh_seconds * 1000);
}

document.addEventListener("DOMContentLoaded", async () => {
  Object.assign(T, await (await fetch("/dashboard/messages.json")).json());
  translate();
  $("#lang").addEventListener("click", () => {
    state.lang = state.lang === "km" ? "en" : "km";
    localStorage.setItem(LANG_KEY, state.lang);
    translate();
    if (state.token) refresh();
  });
  $("#logout").addEventListener("click", signOut);
  $("#login").addEventListener("submit", signIn);
  $("#areas").addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr.drill");
    if (tr) location.hash = "area=" + tr.dataset.code;
  });
  $("#map").addEventListener("click", (ev) => {
    const code = ev.target.dataset && ev.target.dataset.code;
    if (code) location.hash = "area=" + code;
  });
  window.addEventListener("hashchange", refresh);
  $("#csv").addEventListener("click", () => download("csv"));
  $("#pdf").addEventListener("click", () => download("pdf"));
  $("#print").addEventListener("click", () => download("html"));
  try { state.config = await (await fetch("/dashboard/config.json")).json(); } catch (_) { /* defaults */ }
  if (state.token) await start().catch(signOut); else signOut();
});
