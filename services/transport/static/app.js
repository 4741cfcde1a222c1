// The transfer working group's screen: the queue, manifests from proposal to hand-over, the printed manifest.
// Plain modern JS, no build step, no CDN. The token lives in this tab only (sessionStorage), never on disk.
// The server decides what each caller may do; the screen shows only the buttons the role can use.
"use strict";

// The words come from the one catalog (shared/i18n), served as messages.json.
const T = { en: {}, km: {} };

const LANG_KEY = "transport.lang";
const TOKEN_KEY = "transport.token";
let lang = localStorage.getItem(LANG_KEY) || "km";
let token = sessionStorage.getItem(TOKEN_KEY);
let config = { api_base: "", identity_url: "", provinces: {} };
let data = null; // the last /overview
let vehicles = [];
const kept = new Map(); // manifests acted on in this tab: still shown once closed, to see the hand-over and print
let busy = false;

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
const t = (key, vars = {}) => (T[lang][key] ?? T.en[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? "");
const province = (code) => (code && config.provinces[code] ? config.provinces[code][lang] : code || "");

function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(lang === "km" ? "km-KH" : "en-GB", { dateStyle: "short", timeStyle: "short", hourCycle: "h23" });
}

// --- who is signed in ----------------------------------------------------------------------------------

function claims(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
  } catch {
    return null;
  }
}

function session() {
  const c = token && claims(token);
  if (!c || c.exp * 1000 <= Date.now()) return null;
  const grants = c.roles || [];
  return {
    admin: grants.some((g) => g.role === "national_admin"),
    officerOf: new Set(grants.filter((g) => g.role === "transport_officer").map((g) => g.scope)),
    readerOf: new Set(grants.filter((g) => g.role === "provincial_wg").map((g) => g.scope)),
  };
}

const actsFor = (code) => { const s = session(); return Boolean(s && (s.admin || s.officerOf.has(code))); };
const atOrigin = (m) => actsFor(m.origin_province_code);
const atDestination = (m) => actsFor(m.destination_province_code);

function whoLabel() {
  const s = session();
  if (!s) return "";
  if (s.admin) return t("admin");
  if (s.officerOf.size) return `${t("officer")} · ${[...s.officerOf].map(province).join(", ")}`;
  return `${t("reader")} · ${[...s.readerOf].map(province).join(", ")}`;
}

class LoginNeeded extends Error {}

async function api(path, options = {}) {
  if (!session()) throw new LoginNeeded();
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${token}` };
  if (options.json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(config.api_base + path, {
    method: options.method || "GET",
    headers,
    body: options.json !== undefined ? JSON.stringify(options.json) : undefined,
  });
  if (response.status === 401) throw new LoginNeeded();
  return response;
}

async function problem(response) {
  try {
    const detail = (await response.json()).detail;
    if (Array.isArray(detail)) return detail.map((d) => `${d.loc.slice(1).join(".")}: ${d.msg}`).join("; ");
    return String(detail);
  } catch {
    return `HTTP ${response.status}`;
  }
}

function say(message) {
  $("#notice").textContent = message;
  $("#error").textContent = "";
}

function fail(message) {
  $("#notice").textContent = "";
  $("#error").textContent = message;
}

// One action at a time: its button waits, then the board reloads from the server.
async function act(button, work) {
  if (busy) return;
  busy = true;
  if (button) button.disabled = true;
  try {
    await work();
  } catch (err) {
    if (err instanceof LoginNeeded) return signedOut();
    fail(`${t("action_failed")}: ${err.message}`);
  } finally {
    busy = false;
    if (button) button.disabled = false;
  }
  await load();
}

async function send(path, method, json) {
  const response = await api(path, { method, json });
  if (!response.ok) throw new Error(await problem(response));
  return response.json();
}

// --- tables --------------------------------------------------------------------------------------------

function table(el, headers, rows) {
  el.replaceChildren();
  if (!rows.length) {
    const td = el.insertRow().insertCell();
    td.textContent = t("none");
    td.className = "empty";
    return;
  }
  const head = el.createTHead().insertRow();
  for (const h of headers) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = t(h);
    head.append(th);
  }
  const body = el.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    if (row.late) tr.className = "late";
    for (const cell of row.cells) {
      const td = tr.insertCell();
      if (cell instanceof Node) td.append(cell);
      else td.textContent = cell;
    }
  }
}

function button(label, onClick, className = "", aria = "") {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (className) b.className = className;
  if (aria) b.setAttribute("aria-label", aria);
  b.addEventListener("click", () => onClick(b));
  return b;
}

const personName = (p) => [p.name_km, p.name_latin].filter(Boolean).join(" · ") || p.returnee_id.slice(0, 8);
const careText = (list) => list.map((c) => t(`care_${c}`)).join(", ");

// --- the board -----------------------------------------------------------------------------------------

function render() {
  document.documentElement.lang = lang;
  document.title = t("title");
  $$("[data-t]").forEach((el) => (el.textContent = t(el.dataset.t)));
  $("#lang").textContent = t("other_lang");
  $("#lang").lang = lang === "km" ? "en" : "km";
  $("#who").textContent = whoLabel();
  if (!data) return;
  $("#now").textContent = when(data.now);
  const trip = (m) => ({
    cells: [m.vehicle.plate, province(m.origin_province_code), province(m.destination_province_code), m.passengers.length, when(m.expected_arrival)],
    late: m.overdue,
  });
  table($("#overdue"), ["plate", "from", "to", "people", "expected"], data.overdue.map(trip));
  table($("#missing"), ["name", "to", "returnee"], data.missing.map((p) => ({
    cells: [personName(p), province(p.destination), p.returnee_id.slice(0, 8)],
  })));
  table($("#too-large"), ["from", "to", "people", "largest"], data.households_too_large.map((h) => ({
    cells: [province(h.origin), province(h.destination), h.size, h.largest_vehicle],
  })));
  table($("#queue"), ["from", "to", "people", "since"], data.waiting.map((w) => ({
    cells: [province(w.origin), province(w.destination), w.count, when(w.since)],
  })));
  table($("#not-ready"), ["to", "state", "people"], data.not_ready.map((n) => ({
    cells: [province(n.destination), t(n.held ? "held" : "quarantine"), n.count],
  })));
  renderPropose();
  renderManifests();
  renderFleet();
}

function renderPropose() {
  const origins = [...new Set(data.waiting.map((w) => w.origin))].filter(actsFor);
  $("#propose").replaceChildren(...origins.map((code) =>
    button(`${t("propose")}: ${province(code)}`, (b) => propose(b, code), "primary")));
}

function manifestsShown() {
  const shown = new Map();
  for (const m of [...data.open, ...data.in_transit]) shown.set(m.id, m);
  for (const [id, m] of kept) if (!shown.has(id) && m.status === "closed") shown.set(id, m);
  return [...shown.values()];
}

function renderManifests() {
  const list = manifestsShown();
  if (!list.length) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = t("none");
    $("#manifests").replaceChildren(p);
    return;
  }
  $("#manifests").replaceChildren(...list.map(manifestCard));
}

function manifestCard(m) {
  const card = $("#manifest-template").content.firstElementChild.cloneNode(true);
  card.dataset.id = m.id;
  card.dataset.status = m.status;
  $$("[data-t]", card).forEach((el) => (el.textContent = t(el.dataset.t)));
  $(".m-title", card).textContent =
    `${m.vehicle.plate} → ${province(m.destination_province_code)} · ${t(m.status)} · ${m.passengers.length} ${t("passengers")}`;
  const meta = [
    `${t("from")}: ${province(m.origin_province_code)}`,
    `${t("driver")}: ${m.vehicle.driver}`,
    `${t("escort")}: ${m.vehicle.escort}`,
    `${t("seats")}: ${m.vehicle.seats}`,
  ];
  if (m.expected_arrival) meta.push(`${t("expected")}: ${when(m.expected_arrival)}${m.overdue ? ` (${t("overdue_tag")})` : ""}`);
  $(".m-meta", card).textContent = meta.join(" · ");
  if (m.supply_gaps.length && ["proposed", "confirmed"].includes(m.status)) {
    $(".m-gaps", card).textContent = `${t("gaps")} ${m.supply_gaps.map((g) => t(`gap_${g}`)).join(", ")}`;
  }
  const actions = $(".m-actions", card);
  const preparing = ["proposed", "confirmed"].includes(m.status);
  if (atOrigin(m) && m.status === "proposed") {
    actions.append(button(t("confirm"), (b) => act(b, async () => { remember(await send(`/manifests/${m.id}/confirm`, "POST")); say(t("confirmed_ok")); }), "primary"));
  }
  if (atOrigin(m) && preparing) {
    actions.append(button(t("cancel"), (b) => {
      if (!confirm(t("confirm_cancel"))) return;
      act(b, async () => { kept.delete(m.id); await send(`/manifests/${m.id}/cancel`, "POST"); say(t("cancelled_ok")); });
    }, "danger"));
    const supplies = $(".m-supplies", card);
    supplies.hidden = false;
    for (const key of ["food_rations", "water_litres", "medicine_kits", "notes"]) {
      supplies.elements[key].value = m.supplies[key] ?? (key === "notes" ? "" : 0);
    }
    supplies.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const f = ev.target.elements;
      const body = { food_rations: Number(f.food_rations.value || 0), water_litres: Number(f.water_litres.value || 0),
        medicine_kits: Number(f.medicine_kits.value || 0), notes: f.notes.value };
      act(ev.submitter, async () => { remember(await send(`/manifests/${m.id}/supplies`, "PUT", body)); say(t("supplies_ok")); });
    });
  }
  if (atOrigin(m) && m.status === "confirmed") {
    const form = $(".m-dispatch", card);
    form.hidden = false;
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const minutes = ev.target.elements.duration_minutes.value;
      const body = minutes ? { duration_minutes: Number(minutes) } : {};
      act(ev.submitter, async () => { remember(await send(`/manifests/${m.id}/dispatch`, "POST", body)); say(t("dispatched_ok")); });
    });
  }
  actions.append(button(t("print"), (b) => act(b, () => printManifest(m))));
  passengers($(".m-passengers", card), m);
  return card;
}

// Households together, in the order the printed manifest lists them; people alone last.
function byHousehold(list) {
  const sorted = [...list].sort((a, b) =>
    (a.household_id === null) - (b.household_id === null) || String(a.household_id).localeCompare(String(b.household_id)));
  const groups = [];
  for (const p of sorted) {
    const last = groups[groups.length - 1];
    if (p.household_id && last && last.id === p.household_id) last.people.push(p);
    else groups.push({ id: p.household_id, people: [p] });
  }
  return groups;
}

function passengers(el, m) {
  const recording = atDestination(m) && m.status === "dispatched";
  el.replaceChildren();
  const head = el.createTHead().insertRow();
  for (const h of ["name", "care", "state"]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = t(h);
    head.append(th);
  }
  let n = 0;
  for (const group of byHousehold(m.passengers)) {
    const body = el.createTBody();
    const th = document.createElement("th");
    th.colSpan = 3;
    th.scope = "rowgroup";
    th.textContent = group.id ? `${t("household")} ${++n} · ${group.people.length} ${t("passengers")}` : t("alone");
    const label = body.insertRow();
    label.className = "household";
    label.append(th);
    for (const p of group.people) {
      const tr = body.insertRow();
      tr.dataset.returnee = p.returnee_id;
      tr.dataset.stage = p.stage;
      if (p.stage === "missing") tr.className = "missing";
      tr.insertCell().textContent = personName(p);
      tr.insertCell().textContent = careText(p.special_care);
      const cell = tr.insertCell();
      const state = document.createElement("span");
      state.className = `state ${p.stage}`;
      state.textContent = t(p.stage === "missing" ? "missing_one" : p.stage);
      cell.append(state);
      if (recording && p.stage === "in_transit") {
        const who = personName(p);
        const buttons = document.createElement("div");
        buttons.className = "actions";
        buttons.append(
          button(t("hand_over"), (b) => arrival(b, m, p, "handed_over"), "go hand-over", `${t("hand_over")}: ${who}`),
          button(t("report_missing"), (b) => {
            if (confirm(t("confirm_missing", { name: who }))) arrival(b, m, p, "missing");
          }, "danger report-missing", `${t("report_missing")}: ${who}`),
        );
        cell.append(buttons);
      }
    }
  }
}

function remember(manifest) {
  kept.set(manifest.id, manifest);
  return manifest;
}

function arrival(b, m, p, outcome) {
  return act(b, async () => {
    const after = remember(await send(`/manifests/${m.id}/arrivals`, "POST", { returnee_id: p.returnee_id, outcome }));
    const name = personName(p);
    say(after.status === "closed" ? `${t(outcome === "missing" ? "missing_ok" : "handed_ok", { name })} · ${t("closed_ok")}`
      : t(outcome === "missing" ? "missing_ok" : "handed_ok", { name }));
  });
}

async function propose(b, origin) {
  await act(b, async () => {
    const result = await send("/manifests/propose", "POST", { origin_province_code: origin });
    result.manifests.forEach(remember);
    const parts = [result.manifests.length ? t("proposed_n", { n: result.manifests.length }) : t("proposed_none")];
    if (result.households_too_large.length) parts.push(t("too_large_n", { n: result.households_too_large.length }));
    say(parts.join(" · "));
  });
}

// The PDF needs the bearer token, so it is fetched here and handed to the browser as a download.
async function printManifest(m) {
  const response = await api(`/manifests/${m.id}.pdf`);
  if (!response.ok) throw new Error(await problem(response));
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = `manifest-${m.vehicle.plate.replace(/\s+/g, "")}-${m.id.slice(0, 8)}.pdf`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  say(t("printed"));
}

function renderFleet() {
  table($("#fleet"), ["plate", "seats", "driver", "escort", "from", "status"], vehicles.map((v) => ({
    cells: [v.plate, v.seats, v.driver, v.escort, province(v.origin_province_code), v.busy ? t(v.busy) : t("free")],
  })));
  const s = session();
  const mine = s ? (s.admin ? Object.keys(config.provinces) : [...s.officerOf]) : [];
  const form = $("#vehicle-form");
  form.hidden = !mine.length;
  const select = form.elements.origin_province_code;
  const keep = select.value;
  select.replaceChildren(...mine.map((code) => new Option(province(code), code)));
  if (mine.includes(keep)) select.value = keep;
}

// --- loading and signing in ------------------------------------------------------------------------------

function signedOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  data = null;
  kept.clear();
  $("#board").hidden = true;
  $("#logout").hidden = true;
  $("#who").hidden = true;
  $("#login").hidden = false;
  render();
  $("input[name=username]").focus();
}

async function load() {
  if (!session()) return signedOut();
  try {
    const [overview, fleet] = await Promise.all([api("/overview"), api("/vehicles")]);
    if (overview.status === 403) {
      signedOut();
      $("#login-error").textContent = t("no_access");
      return;
    }
    if (!overview.ok) throw new Error(String(overview.status));
    data = await overview.json();
    vehicles = fleet.ok ? await fleet.json() : [];
    for (const m of [...data.open, ...data.in_transit]) if (kept.has(m.id)) kept.set(m.id, m);
  } catch (err) {
    if (err instanceof LoginNeeded) return signedOut();
    fail(t("load_failed"));
  }
  $("#login").hidden = true;
  $("#board").hidden = false;
  $("#logout").hidden = false;
  $("#who").hidden = false;
  render();
}

// The periodic refresh waits while someone is typing into the board: a redraw would lose their input.
function refresh() {
  if (!session()) return token && signedOut(); // expired while the board was open
  const typing = document.activeElement && document.activeElement.closest("#board form");
  if (!busy && !typing) load();
}

async function logIn(form) {
  const error = $("#login-error");
  error.textContent = "";
  const body = new URLSearchParams({ grant_type: "password", username: form.username.value, password: form.password.value });
  let response;
  try {
    response = await fetch(`${config.identity_url || `${location.protocol}//${location.hostname}:8000`}/auth/token`, { method: "POST", body });
  } catch {
    error.textContent = t("login_offline");
    return;
  }
  if (!response.ok) {
    error.textContent = t("login_failed");
    return;
  }
  token = (await response.json()).access_token;
  sessionStorage.setItem(TOKEN_KEY, token);
  form.reset();
  say("");
  await load();
}

function wire() {
  $("#login-form").addEventListener("submit", (ev) => { ev.preventDefault(); logIn(ev.target); });
  $("#logout").addEventListener("click", signedOut);
  $("#lang").addEventListener("click", () => {
    lang = lang === "km" ? "en" : "km";
    localStorage.setItem(LANG_KEY, lang);
    $("#notice").textContent = ""; // said in the other language
    render();
  });
  $("#vehicle-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    const body = { plate: f.plate.value.trim(), seats: Number(f.seats.value), driver: f.driver.value.trim(),
      escort: f.escort.value.trim(), origin_province_code: f.origin_province_code.value };
    act(ev.submitter, async () => {
      const v = await send("/vehicles", "POST", body);
      ev.target.reset();
      say(t("vehicle_ok", { plate: v.plate }));
    });
  });
}

document.addEventListener("DOMContentLoaded", async () => {
  Object.assign(T, await (await fetch("messages.json")).json());
  wire();
  render();
  try {
    config = { ...config, ...(await (await fetch("config.json")).json()) };
  } catch { /* the defaults: identity on this host, port 8000; province codes shown as codes */ }
  if (session()) await load();
  else signedOut();
  setInterval(refresh, 15000);
});
