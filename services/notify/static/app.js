// The district and provincial officers' page: commune contacts and their history, alerts held for want of a
// contact, deliveries and their states (retry the failed), and the inbound SMS that matched nothing.
// Plain modern JS, no build step, no CDN: every byte is served by the notify service.
"use strict";

// The words come from the one catalog (shared/i18n), served as messages.json.
const T = { en: {}, km: {} };
// Gone with the tab: never left behind on a shared office computer.
const TOKEN_KEY = "notify.token";
const LANG_KEY = "border.lang";
// The service root; behind the HTTPS proxy, config.json names the API's path instead (docs/https.md).
let API = new URL("..", location.href).pathname.replace(/\/$/, "");
let identityUrl = "";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
const state = { lang: localStorage.getItem(LANG_KEY) || "km", keeper: false };
const t = (key, values = {}) =>
  (T[state.lang][key] ?? T.en[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => values[k] ?? "");
// Times as the officers read them: Cambodia's, whatever the computer's own zone.
const WHEN = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Asia/Phnom_Penh", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
});
const when = (iso) => (iso ? WHEN.format(new Date(iso)) : "—");
const areaName = (row) => `${state.lang === "km" ? row.area_km : row.area_en} (${row.area_code || row.commune_code})`;

function translate(root = document) {
  for (const el of $$("[data-t]", root)) el.textContent = t(el.dataset.t);
}

function setLang(lang) {
  state.lang = lang;
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang;
  document.title = t("title");
  $("#lang").textContent = t("other_lang");
  $("#lang").lang = lang === "km" ? "en" : "km";
  translate();
  if (!$("#app").hidden) load();
}

// --- signing in: identity issues the token; the services verify it ---------------------------------------

const token = () => sessionStorage.getItem(TOKEN_KEY);

function grants() {
  try {
    const claims = JSON.parse(atob(token().split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return claims.roles || [];
  } catch {
    return [];
  }
}

async function loadConfig() {
  try {
    const config = await (await fetch("config.json")).json();
    identityUrl = config.identity_url || "";
    if (config.api_base) API = config.api_base;
  } catch { /* no config: the defaults */ }
  if (!identityUrl) identityUrl = `${location.protocol}//${location.hostname}:8000`;
}

async function logIn(form) {
  const error = $("#login-error");
  error.textContent = "";
  const body = new URLSearchParams({ grant_type: "password", username: form.username.value, password: form.password.value });
  const response = await fetch(`${identityUrl}/auth/token`, { method: "POST", body }).catch(() => null);
  if (!response || !response.ok) {
    error.textContent = t(response ? "login_failed" : "offline");
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, (await response.json()).access_token);
  form.reset();
  start();
}

function askLogin(expired) {
  sessionStorage.removeItem(TOKEN_KEY);
  $("#app").hidden = $("#logout").hidden = $("#refresh").hidden = true;
  $("#login").hidden = false;
  $("#login-note").dataset.t = expired ? "login_expired" : "login_note";
  translate($("#login"));
  $("input[name=username]").focus();
}

class LoginNeeded extends Error {}

async function api(path, options = {}) {
  if (!token()) throw new LoginNeeded();
  const headers = { Authorization: `Bearer ${token()}` };
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options = { ...options, body: JSON.stringify(options.json) };
  }
  const response = await fetch(API + path, { ...options, headers });
  if (response.status === 401) throw new LoginNeeded();
  return response;
}

// The message for a refused request (a 422 names its field in `loc`).
async function refusal(response) {
  if (response.status === 403) return t("forbidden");
  if (response.status === 404) return t("not_found");
  if (response.status === 409) return t("conflict");
  if (response.status === 422) {
    const detail = (await response.json().catch(() => ({}))).detail;
    const loc = Array.isArray(detail) && detail[0] ? detail[0].loc : [];
    return t("rejected", { field: t(loc[loc.length - 1] === "area_code" ? "area_code" : loc[loc.length - 1] || "") });
  }
  return t("failed");
}

async function guarded(call) {
  try {
    return await call();
  } catch (error) {
    if (error instanceof LoginNeeded) askLogin(true);
    else $("#app-error").textContent = t("offline");
    return null;
  }
}

// --- tables -----------------------------------------------------------------------------------------------

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text ?? "—";
  if (cls) td.className = cls;
  return td;
}

function button(key, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = t(key);
  b.addEventListener("click", onClick);
  return b;
}

function fill(sel, rows, make) {
  const body = $(`${sel} tbody`);
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell(t("none"), "none");
    td.colSpan = $$(`${sel} thead th`).length;
    tr.appendChild(td);
    return body.replaceChildren(tr);
  }
  body.replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    make(row, tr);
    return tr;
  }));
}

async function getJson(path) {
  const response = await api(path);
  if (!response.ok) throw new Error(path);
  return response.json();
}

// --- contacts ---------------------------------------------------------------------------------------------

function editContact(contact) {
  const form = $("#contact-form");
  form.area_code.value = contact.area_code;
  form.name.value = contact.name || "";
  form.phone.value = contact.phone || "";
  form.language.value = contact.language || "km";
  form.webhook_url.value = contact.webhook_url || "";
  (contact.name ? form.phone : form.name).focus();
}

async function saveContact(event) {
  event.preventDefault();
  const form = event.target;
  const error = $("#contact-error");
  error.textContent = $("#contact-saved").textContent = "";
  for (const input of $$("input", form)) input.removeAttribute("aria-invalid");
  const code = form.area_code.value.trim();
  if (!/^\d{2}(\d{2}){0,2}$/.test(code)) {
    form.area_code.setAttribute("aria-invalid", "true");
    error.textContent = t("rejected", { field: t("area_code") });
    return form.area_code.focus();
  }
  const body = {
    name: form.name.value, phone: form.phone.value, language: form.language.value,
    webhook_url: form.webhook_url.value.trim() || null,
  };
  const response = await guarded(() => api(`/contacts/${code}`, { method: "PUT", json: body }));
  if (!response) return;
  if (!response.ok) {
    error.textContent = await refusal(response.clone());
    const detail = (await response.json().catch(() => ({}))).detail;
    const field = Array.isArray(detail) && detail[0] && detail[0].loc[detail[0].loc.length - 1];
    if (form[field]) form[field].setAttribute("aria-invalid", "true");
    return;
  }
  const saved = await response.json();
  $("#contact-saved").textContent = saved.webhook_secret
    ? t("saved_secret", { secret: saved.webhook_secret }) : t("saved", { area: areaName(saved) });
  await load();
  await showHistory(saved);
}

async function showHistory(contact) {
  const rows = await guarded(() => getJson(`/contacts/${contact.area_code}/history`).catch(() => []));
  if (!rows) return;
  $("#history").hidden = false;
  $("#history-title").textContent = t("history_of", { area: areaName(contact) });
  fill("#history-list", rows, (c, tr) => {
    tr.append(cell(when(c.at)), cell(c.by), cell(t(`f_${c.field}`)), cell(c.old), cell(c.new));
  });
}

async function loadContacts() {
  const rows = await getJson("/contacts?limit=1000");
  fill("#contact-list", rows, (c, tr) => {
    tr.dataset.area = c.area_code;
    const hook = c.webhook_url ? (c.webhook_disabled ? t("disabled") : c.webhook_url) : "—";
    tr.append(cell(areaName(c)), cell(c.name), cell(c.phone, "phone"), cell(t(`lang_${c.language}`)),
      cell(hook), cell(when(c.updated_at)));
    const actions = cell("");
    actions.replaceChildren(button("edit", () => editContact(c)), button("history", () => showHistory(c)));
    tr.appendChild(actions);
  });
}

// --- alerts and deliveries --------------------------------------------------------------------------------

async function loadHeld() {
  const rows = await getJson("/alerts/no-contact");
  fill("#held-list", rows, (d, tr) => {
    const missing = { area_code: d.recipient_area, area_km: d.recipient_area, area_en: d.recipient_area };
    if (d.recipient_area === d.commune_code) Object.assign(missing, { area_km: d.area_km, area_en: d.area_en });
    tr.append(cell(when(d.created_at)), cell(areaName(missing)), cell(t(`r_${d.reason}`)), cell(t(`ch_${d.channel}`)));
    const actions = cell("");
    if (state.keeper) actions.appendChild(button("add_contact", () => editContact({ area_code: d.recipient_area })));
    tr.appendChild(actions);
  });
}

async function retry(delivery) {
  const response = await guarded(() => api(`/deliveries/${delivery.id}/retry`, { method: "POST" }));
  if (!response) return;
  $("#app-error").textContent = response.ok ? "" : await refusal(response);
  await loadDeliveries();
}

async function loadDeliveries() {
  const filter = $("#state-filter").value;
  const rows = await getJson(`/deliveries?limit=200${filter ? `&state=${filter}` : ""}`);
  fill("#delivery-list", rows, (d, tr) => {
    tr.dataset.state = d.state;
    tr.dataset.id = d.id;
    const st = cell(t(`st_${d.state}`), `state ${d.state}`);
    if (d.last_error) st.title = d.last_error;
    tr.append(cell(when(d.created_at)), cell(areaName(d)), cell(t(`r_${d.reason}`)), cell(t(`ch_${d.channel}`)),
      cell(d.sent_to, "phone"), st, cell(String(d.attempts)));
    const actions = cell("");
    if (state.keeper && d.state === "failed") actions.appendChild(button("retry", () => retry(d)));
    tr.appendChild(actions);
  });
}

async function loadInbound() {
  const rows = await getJson("/inbound?limit=200");
  fill("#inbound-list", rows, (r, tr) => {
    tr.append(cell(when(r.received_at)), cell(r.sender, "phone"), cell(r.text), cell(t(`o_${r.outcome}`)),
      cell(r.area_code ? areaName(r) : t("no_area")));
  });
}

async function load() {
  $("#app-error").textContent = "";
  await guarded(async () => {
    const parts = [loadHeld(), loadDeliveries(), loadInbound()];
    if (state.keeper) parts.push(loadContacts());
    const results = await Promise.allSettled(parts);
    const login = results.find((r) => r.status === "rejected" && r.reason instanceof LoginNeeded);
    if (login) throw login.reason;
    if (results.some((r) => r.status === "rejected")) $("#app-error").textContent = t("failed");
  });
}

async function start() {
  if (!token()) return askLogin(false);
  const roles = grants().map((g) => g.role);
  state.keeper = roles.includes("provincial_wg") || roles.includes("national_admin");
  if (!state.keeper && !roles.includes("district_officer")) {
    askLogin(false);
    $("#login-error").textContent = t("forbidden");
    return;
  }
  $("#login").hidden = true;
  $("#app").hidden = $("#logout").hidden = $("#refresh").hidden = false;
  $("#contacts").hidden = !state.keeper;
  await load();
}

document.addEventListener("DOMContentLoaded", async () => {
  Object.assign(T, await (await fetch("messages.json")).json());
  setLang(state.lang);
  $("#lang").addEventListener("click", () => setLang(state.lang === "km" ? "en" : "km"));
  $("#login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    logIn(event.target);
  });
  $("#logout").addEventListener("click", () => askLogin(false));
  $("#refresh").addEventListener("click", load);
  $("#contact-form").addEventListener("submit", saveContact);
  $("#state-filter").addEventListener("change", () => guarded(loadDeliveries));
  await loadConfig();
  await start();
});
