// The checkpoint tablet: registrations are kept in IndexedDB first and sent when the network allows.
// Plain modern JS, no build step, no CDN: every byte is served by the intake service.
"use strict";

// The words come from the one catalog (shared/i18n), served as messages.json and kept by the service worker.
const T = { en: {}, km: {} };

const CHOICES = {
  symptoms: ["fever", "cough", "sore_throat", "shortness_of_breath", "loss_of_taste_or_smell", "diarrhoea", "fatigue", "other"],
  special_care: ["child", "infant", "pregnant", "ill", "elderly", "disability"],
  needs: ["food", "water", "medicine", "shelter"],
};
const PREFIX = { symptoms: "sy_", special_care: "sc_", needs: "nd_" };
const TOKEN_KEY = "intake.token";  // in sessionStorage: gone with the tab, never left on a shared tablet
const LANG_KEY = "intake.lang";
// The service root; behind the HTTPS proxy, config.json names the API's path instead (shared/web/pages.py).
let API = new URL("..", location.href).pathname.replace(/\/$/, "");

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
let lang = localStorage.getItem(LANG_KEY) || "km";
const t = (key, values = {}) =>
  (T[lang][key] ?? T.en[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => values[k] ?? "");

// --- IndexedDB: the queue of registrations and the cached gazetteer ----------------------------------------

const dbReady = new Promise((resolve, reject) => {
  const open = indexedDB.open("intake", 1);
  open.onupgradeneeded = () => {
    open.result.createObjectStore("queue", { keyPath: "id" });
    open.result.createObjectStore("gazetteer");
  };
  open.onsuccess = () => resolve(open.result);
  open.onerror = () => reject(open.error);
});

async function store(name, mode, work) {
  const db = await dbReady;
  return new Promise((resolve, reject) => {
    const tx = db.transaction(name, mode);
    const request = work(tx.objectStore(name));
    tx.oncomplete = () => resolve(request?.result);
    tx.onerror = () => reject(tx.error);
  });
}
const queueAll = () => store("queue", "readonly", (s) => s.getAll());
const queuePut = (record) => store("queue", "readwrite", (s) => s.put(record));
const queueDelete = (id) => store("queue", "readwrite", (s) => s.delete(id));
const gazGet = (key) => store("gazetteer", "readonly", (s) => s.get(key));
const gazPut = (key, value) => store("gazetteer", "readwrite", (s) => s.put(value, key));

// --- the token: verified by the services, read here only for its expiry and checkpoints -------------------

function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

function session() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const c = token && claims(token);
  if (!c || c.exp * 1000 <= Date.now()) return null;
  const checkpoints = (c.roles || []).filter((g) => g.role === "checkpoint_officer").map((g) => g.scope);
  return { token, checkpoints, expires: c.exp * 1000 };
}

let identityUrl = "";
async function loadConfig() {
  try {
    const config = await (await fetch("config.json")).json();
    identityUrl = config.identity_url || "";
    if (config.api_base) API = config.api_base;
  } catch { /* offline without a cached config: fall back to the default below */ }
  if (!identityUrl) identityUrl = `${location.protocol}//${location.hostname}:8000`;
}

async function logIn(form) {
  const error = $("#login-error");
  error.textContent = "";
  const body = new URLSearchParams({ grant_type: "password", username: form.username.value, password: form.password.value });
  let response;
  try {
    response = await fetch(`${identityUrl}/auth/token`, { method: "POST", body });
  } catch {
    error.textContent = t("login_offline");
    return;
  }
  if (!response.ok) {
    error.textContent = t("login_failed");
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, (await response.json()).access_token);
  form.reset();
  start();
}

function askLogin(expired) {
  $("#app").hidden = true;
  $("#login").hidden = false;
  $("#login-note").textContent = expired ? t("login_expired") : t("login_note");
  $("input[name=username]").focus();
}

async function authFetch(path, options = {}) {
  const s = session();
  if (!s) throw new LoginNeeded();
  const response = await fetch(API + path, {
    ...options,
    headers: { ...(options.headers || {}), Authorization: `Bearer ${s.token}` },
  });
  if (response.status === 401) throw new LoginNeeded();
  return response;
}
class LoginNeeded extends Error {}

// --- gazetteer: every province kept on the tablet, the officer's own first ------------------------------

const gaz = { provinces: [], byProvince: new Map() };

async function loadProvince(code) {
  if (gaz.byProvince.has(code)) return gaz.byProvince.get(code);
  let data = await gazGet(`p${code}`);
  if (!data) {
    const response = await authFetch(`/gazetteer/provinces/${code}.json`);
    if (!response.ok) throw new Error(`province ${response.status}`);
    data = await response.json();
    await gazPut(`p${code}`, data);
  }
  gaz.byProvince.set(code, data);
  return data;
}

async function loadGazetteer(checkpointProvince) {
  gaz.provinces = (await gazGet("provinces")) || [];
  if (!gaz.provinces.length) {
    gaz.provinces = await (await authFetch("/gazetteer/provinces")).json();
    await gazPut("provinces", gaz.provinces);
  }
  fillSelect($("#province"), gaz.provinces);
  const order = [checkpointProvince, ...gaz.provinces.map((p) => p[0])].filter(Boolean);
  for (const code of new Set(order)) {
    try {
      await loadProvince(code);
    } catch (err) {
      if (err instanceof LoginNeeded) throw err;
      return;  // offline: what is cached so far still works; the rest comes on the next start
    }
  }
}

const nameOf = (row) => (lang === "km" ? row[2] : row[1]);

function fillSelect(select, rows, keep) {
  select.replaceChildren(new Option("", ""), ...rows.map((r) => new Option(nameOf(r), r[0])));
  if (keep && rows.some((r) => r[0] === keep)) select.value = keep;
}

async function pickProvince(code) {
  $("#province").value = code;
  const data = code ? await loadProvince(code) : { districts: [] };
  fillSelect($("#district"), data.districts);
  fillSelect($("#commune"), []);
  fillSelect($("#village"), []);
}

function pickDistrict(code) {
  const data = gaz.byProvince.get(code.slice(0, 2));
  fillSelect($("#commune"), data ? data.communes.filter((c) => c[0].startsWith(code)) : []);
  fillSelect($("#village"), []);
}

function pickCommune(code) {
  const data = gaz.byProvince.get(code.slice(0, 2));
  fillSelect($("#village"), data ? data.villages.filter((v) => v[0].startsWith(code)) : []);
}

async function pickVillage(code) {
  await pickProvince(code.slice(0, 2));
  $("#district").value = code.slice(0, 4);
  pickDistrict(code.slice(0, 4));
  $("#commune").value = code.slice(0, 6);
  pickCommune(code.slice(0, 6));
  $("#village").value = code;
}

function villageLabel(code) {
  const data = gaz.byProvince.get(code.slice(0, 2));
  if (!data) return code;
  const find = (rows, c) => rows.find((r) => r[0] === c);
  return [find(data.villages, code), find(data.communes, code.slice(0, 6)), find(data.districts, code.slice(0, 4)), data.province]
    .filter(Boolean).map(nameOf).join(", ");
}

function searchLocal(text, limit = 12) {
  const needle = text.trim().toLowerCase();
  if (!needle) return [];
  const starts = [];
  const contains = [];
  for (const data of gaz.byProvince.values()) {
    for (const v of data.villages) {
      const en = v[1].toLowerCase();
      if (en.startsWith(needle) || v[2].startsWith(needle)) starts.push(v[0]);
      else if (contains.length < limit && (en.includes(needle) || v[2].includes(needle))) contains.push(v[0]);
      if (starts.length >= limit) return starts;
    }
  }
  return [...starts, ...contains].slice(0, limit);
}

function showHits(codes) {
  const list = $("#village-hits");
  list.replaceChildren(...codes.map((code, i) => {
    const li = document.createElement("li");
    li.textContent = villageLabel(code);
    li.dataset.code = code;
    li.setAttribute("role", "option");
    li.tabIndex = -1;
    if (i === 0) li.classList.add("first");
    li.addEventListener("click", () => chooseHit(code));
    return li;
  }));
  if (!codes.length && $("#village_q").value.trim()) {
    const li = document.createElement("li");
    li.textContent = t("no_hits");
    list.append(li);
  }
}

async function chooseHit(code) {
  await pickVillage(code);
  $("#village-hits").replaceChildren();
  $("#village_q").value = villageLabel(code);
  $("#worked_in").focus();  // keep the keyboard moving down the form
}

// --- the form ---------------------------------------------------------------------------------------

function buildChecks() {
  for (const box of $$(".checks")) {
    const group = box.dataset.group;
    box.replaceChildren(...CHOICES[group].map((value) => {
      const label = document.createElement("label");
      label.innerHTML = `<input type="checkbox" name="${group}" value="${value}"> <span data-t="${PREFIX[group]}${value}"></span>`;
      return label;
    }));
  }
}

function translate() {
  document.documentElement.lang = lang;
  renderExpected();
  document.title = t("title");
  for (const el of $$("[data-t]")) el.textContent = t(el.dataset.t);
  $("#lang").textContent = t("other_lang");
  $("#lang").lang = lang === "km" ? "en" : "km"; // the button names the other language, in that language
  for (const [id, rows] of [["#province", gaz.provinces]]) fillSelect($(id), rows, $(id).value);
  const v = $("#village").value;
  if (v) pickVillage(v);
  renderStatus();
  renderRecords();
}

const checked = (form, name) => $$(`input[name=${name}]:checked`, form).map((i) => i.value);
const value = (el) => (el.value.trim() === "" ? null : el.value.trim());

function readForm(form, id, checkpoint) {
  const members = $$(".member", form).map((m) => ({
    id: m.dataset.id,
    name_km: value($(".m-name_km", m)),
    name_latin: value($(".m-name_latin", m)),
    sex: value($(".m-sex", m)),
    age_years: Number($(".m-age_years", m).value),
    screening: { temperature_c: Number($(".m-temperature_c", m).value) },
    consent: true,  // the head of household consents for the people travelling with them
  }));
  const age = value($("#age_years"));
  return {
    id,
    checkpoint_id: checkpoint,
    arrived_at: new Date().toISOString(),
    name_km: value($("#name_km")),
    name_latin: value($("#name_latin")),
    sex: value($("#sex")),
    date_of_birth: value($("#date_of_birth")),
    age_years: age === null ? null : Number(age),
    phone: value($("#phone")),
    id_doc_type: $("#id_doc_type").value,
    id_doc_number: $("#id_doc_type").value === "none" ? null : value($("#id_doc_number")),
    home_village_code: value($("#village")),
    worked_in: value($("#worked_in")),
    migration_status: value($("#migration_status")),
    screening: {
      temperature_c: Number($("#temperature_c").value),
      symptoms: checked(form, "symptoms"),
      test_result: $("#test_result").value,
    },
    special_care: checked(form, "special_care"),
    needs: checked(form, "needs"),
    consent: $("#consent").checked,
    members,
    expected_id: expectedId,
  };
}

function firstMissing(form) {
  if (!$("#village").value) return $("#village_q");
  if (!$("#date_of_birth").value && !$("#age_years").value) return $("#age_years");
  return $$("input[required], select[required]", form).find((el) => !el.disabled && !el.checkValidity());
}

let editingId = null;

async function submitForm(event) {
  event.preventDefault();
  const form = event.target;
  const missing = firstMissing(form);
  if (missing) {
    const field = missing.closest("label")?.querySelector("span")?.textContent || t("pick_village");
    $("#form-error").textContent = t("missing", { field });
    missing.focus();
    return;
  }
  const s = session();
  if (!s) return askLogin(true);
  const id = editingId || crypto.randomUUID();
  const body = readForm(form, id, $("#checkpoint").dataset.id);
  await queuePut({ id, body, state: "pending", created: Date.now(), day: localDay(new Date()) });
  editingId = null;
  clearForm(form);
  $("#form-error").textContent = t("saved");
  await renderRecords();
  await renderExpected();
  sync();
}

function clearForm(form) {
  form.reset();
  expectedId = null;
  for (const li of $$("#expected-list li")) li.dataset.picked = "false";
  $("#member-list").replaceChildren();
  $("#id_doc_number").disabled = true;
  $("#village-hits").replaceChildren();
  fillSelect($("#district"), []);
  fillSelect($("#commune"), []);
  fillSelect($("#village"), []);
  $("#name_km").focus();
}

function addMember(data) {
  const node = $("#member-template").content.firstElementChild.cloneNode(true);
  node.dataset.id = data?.id || crypto.randomUUID();
  for (const el of $$("[data-t]", node)) el.textContent = t(el.dataset.t);
  $(".m-remove", node).addEventListener("click", () => node.remove());
  if (data) {
    $(".m-name_km", node).value = data.name_km || "";
    $(".m-name_latin", node).value = data.name_latin || "";
    $(".m-sex", node).value = data.sex || "";
    $(".m-age_years", node).value = data.age_years ?? "";
    $(".m-temperature_c", node).value = data.screening?.temperature_c ?? "";
  }
  $("#member-list").append(node);
  $(".m-name_km", node).focus();
}

// A rejected registration goes back into the form, under the same id, to be fixed and queued again.
async function fixRecord(record) {
  const b = record.body;
  clearForm($("#form"));
  for (const key of ["name_km", "name_latin", "sex", "date_of_birth", "age_years", "phone", "id_doc_type", "id_doc_number", "worked_in", "migration_status"]) {
    $(`#${key}`).value = b[key] ?? "";
  }
  $("#id_doc_number").disabled = b.id_doc_type === "none";
  $("#temperature_c").value = b.screening.temperature_c;
  $("#test_result").value = b.screening.test_result;
  for (const group of Object.keys(CHOICES)) {
    const values = group === "symptoms" ? b.screening.symptoms : b[group];
    for (const box of $$(`input[name=${group}]`)) box.checked = values.includes(box.value);
  }
  $("#consent").checked = b.consent;
  if (b.home_village_code) await pickVillage(b.home_village_code);
  b.members.forEach(addMember);
  expectedId = b.expected_id || null;
  editingId = record.id;
  await queueDelete(record.id);
  await renderRecords();
  $("#name_km").focus();
}

// --- expected arrivals: the lists the Thai side sent, kept for offline ------------------------------------

let expectedId = null;  // the listed person the form is confirming, if any
let expected = [];
// Cambodia's date, whatever the tablet's own zone: the day the lists are for.
const cambodiaDay = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Phnom_Penh" }).format(new Date());

async function loadExpected() {
  const day = cambodiaDay();
  const checkpoint = $("#checkpoint").dataset.id;
  try {
    const response = await authFetch(`/expected?day=${day}&checkpoint_id=${encodeURIComponent(checkpoint)}`);
    if (response.ok) {
      expected = await response.json();
      await gazPut(`expected:${checkpoint}:${day}`, expected);  // the key-value store the gazetteer uses
    }
  } catch (err) {
    if (err instanceof LoginNeeded) throw err;
    expected = (await gazGet(`expected:${checkpoint}:${day}`)) || [];
  }
  await renderExpected();
}

async function renderExpected() {
  // Those the tablet has registered already, sent or not, are off the list.
  const taken = new Set((await queueAll()).map((r) => r.body.expected_id).filter(Boolean));
  const find = $("#expected_q").value.trim().toLowerCase();
  const rows = expected.filter((p) => !taken.has(p.id) && (!find || `${p.name_latin || ""} ${p.name_km || ""} ${p.id_doc_number || ""}`.toLowerCase().includes(find)));
  $("#expected").hidden = expected.length === 0;
  $("#expected-count").textContent = expected.filter((p) => !taken.has(p.id)).length;
  $("#expected-list").replaceChildren(...rows.map((p) => {
    const li = document.createElement("li");
    li.className = "exp";
    li.dataset.id = p.id;
    li.dataset.picked = String(p.id === expectedId);
    const who = document.createElement("span");
    who.textContent = [p.name_km, p.name_latin].filter(Boolean).join(" · ");
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = [p.sex && t(`sex_${p.sex}`), p.age_years != null && `${p.age_years}`, p.group_label, p.origin].filter(Boolean).join(" · ");
    const pick = document.createElement("button");
    pick.type = "button";
    pick.textContent = t("confirm_arrival");
    pick.addEventListener("click", () => pickExpected(p));
    li.append(who, meta, pick);
    return li;
  }));
}

// The form filled from the list: the officer checks it, adds the screening and the home village.
function pickExpected(p) {
  clearForm($("#form"));
  expectedId = p.id;
  $("#name_km").value = p.name_km || "";
  $("#name_latin").value = p.name_latin || "";
  $("#sex").value = p.sex || "";
  $("#age_years").value = p.age_years ?? "";
  $("#date_of_birth").value = p.date_of_birth || "";
  if (p.id_doc_number) {
    $("#id_doc_type").value = "passport";
    $("#id_doc_number").disabled = false;
    $("#id_doc_number").value = p.id_doc_number;
  }
  for (const li of $$("#expected-list li")) li.dataset.picked = String(li.dataset.id === p.id);
  (p.name_km ? $("#village_q") : $("#name_km")).focus();
}

// A list as the Thai side sent it, uploaded whole or refused with its bad rows named; online only.
async function uploadList(event) {
  event.preventDefault();
  const form = event.target;
  const result = $("#list-result");
  const errors = $("#list-errors");
  errors.replaceChildren();
  const body = new FormData();
  body.append("file", $("#list_file").files[0] || new Blob());
  body.append("checkpoint_id", $("#checkpoint").dataset.id);
  body.append("expected_on", $("#list_day").value);
  body.append("source", $("#list_source").value.trim());
  const columns = Object.fromEntries($$(".columns input", form).filter((i) => i.value.trim()).map((i) => [i.name, i.value.trim()]));
  if (Object.keys(columns).length) body.append("mapping", JSON.stringify(columns));
  let response;
  try {
    response = await authFetch("/expected-lists", { method: "POST", body });
  } catch (err) {
    if (err instanceof LoginNeeded) return askLogin(true);
    result.textContent = t("offline");
    return;
  }
  if (response.ok) {
    result.textContent = t("list_saved", { n: (await response.json()).people });
    form.reset();
    $("#list_day").value = cambodiaDay();
    await loadExpected();
    return;
  }
  result.textContent = t("list_refused");
  const detail = (await response.json().catch(() => ({}))).detail;
  for (const d of Array.isArray(detail) ? detail : [{ loc: [], msg: String(detail) }]) {
    const li = document.createElement("li");
    const line = d.loc[2];
    li.textContent = typeof line === "number" ? `${t("list_line", { n: line })} ${d.loc.slice(3).join(".")}: ${d.msg}` : d.msg;
    errors.append(li);
  }
}

// The day's sheet for the Thai counterpart: fetched with the token, saved as a file.
async function downloadSheet() {
  const day = cambodiaDay();
  const checkpoint = $("#checkpoint").dataset.id;
  try {
    const response = await authFetch(`/reconciliation.csv?day=${day}&checkpoint_id=${encodeURIComponent(checkpoint)}`);
    if (!response.ok) throw new Error(String(response.status));
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = `arrivals-${checkpoint}-${day}.csv`;
    link.click();
    URL.revokeObjectURL(link.href);
  } catch (err) {
    if (err instanceof LoginNeeded) askLogin(true);
    else $("#list-result").textContent = t("offline");
  }
}

// Registrations kept on paper or in Excel, imported by the service in the background; followed here.
async function startImport(event) {
  event.preventDefault();
  const progress = $("#import-progress");
  $("#import-errors").replaceChildren();
  const body = new FormData();
  body.append("file", $("#import_file").files[0] || new Blob());
  body.append("checkpoint_id", $("#checkpoint").dataset.id);
  try {
    const response = await authFetch("/imports", { method: "POST", body });
    if (!response.ok) throw new Error(String(response.status));
    let job = await response.json();
    while (job.state === "running") {
      progress.textContent = t("import_running", { created: job.created, already: job.already, refused: job.rejected.length });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      job = await (await authFetch(`/imports/${job.id}`)).json();
    }
    const counts = { created: job.created, already: job.already, refused: job.rejected.length };
    progress.textContent = job.state === "done" ? t("import_done", counts) : `${t("import_failed")} ${job.error || ""}`;
    $("#import-errors").replaceChildren(...job.rejected.map((r) => {
      const li = document.createElement("li");
      li.textContent = `${t("list_line", { n: r.lines.join(", ") })}: ${r.reason}`;
      return li;
    }));
  } catch (err) {
    if (err instanceof LoginNeeded) return askLogin(true);
    progress.textContent = t("offline");
  }
}

// --- the queue: sent in order, in batches, each safe to repeat (the id was made here) -------------------

let syncing = false;
// A day's queue after an outage may be hundreds: one request per BATCH of them, each answered alone.
const BATCH = 25;

async function sync() {
  if (syncing || !navigator.onLine || !session()) return;
  syncing = true;
  try {
    const waiting = (await queueAll()).filter((r) => r.state === "pending").sort((a, b) => a.created - b.created);
    for (let start = 0; start < waiting.length; start += BATCH) {
      const batch = waiting.slice(start, start + BATCH);
      let response;
      try {
        response = await authFetch("/returnees/batch", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ registrations: batch.map((r) => r.body) }),
        });
      } catch (err) {
        if (err instanceof LoginNeeded) askLogin(true);
        break;  // offline or logged out: the rest waits for the next try
      }
      if (!response.ok) break;  // the server's trouble, not the registrations': all wait for the next try
      const answers = await response.json();
      for (const [i, record] of batch.entries()) settle(record, answers[i]);
      for (const record of batch) await queuePut(record);
      await renderRecords();
    }
  } finally {
    syncing = false;
    renderStatus();
    if (expected.length) loadExpected().catch(() => {});
  }
}

// One registration's answer in the batch: what POST /returnees would have said for it alone.
function settle(record, answer) {
  if (answer.status === 200 || answer.status === 201) {
    const saved = answer.registration;
    const people = [saved, ...saved.members];
    record.state = "synced";
    record.duplicate = people.some((p) => p.possible_duplicates.length > 0);
    record.referred = people.some((p) => p.referred);
  } else {
    record.state = "rejected";
    record.error = describe(answer.detail, answer.status);
  }
}

function describe(detail, status) {
  if (Array.isArray(detail)) return detail.map((d) => `${d.loc.slice(1).join(".")}: ${d.msg}`).join("; ");
  return detail ? String(detail) : `HTTP ${status}`;
}

function localDay(date) {
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

async function renderRecords() {
  const today = localDay(new Date());
  const records = (await queueAll()).filter((r) => r.day === today || r.state !== "synced").sort((a, b) => b.created - a.created);
  $("#today-count").textContent = records.length;
  $("#records").replaceChildren(...records.map((r) => {
    const li = document.createElement("li");
    li.className = "rec";
    li.dataset.state = r.state;
    li.dataset.id = r.id;
    const time = new Date(r.created).toLocaleTimeString(lang === "km" ? "km-KH" : "en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    const extra = r.body.members.length ? ` + ${t("members_n", { n: r.body.members.length })}` : "";
    li.innerHTML = `<span class="time"></span><span class="who"></span><span class="state"></span>`;
    li.querySelector(".time").textContent = time;
    li.querySelector(".who").textContent = `${r.body.name_km} · ${r.body.name_latin}${extra}`;
    li.querySelector(".state").textContent = t(`st_${r.state}`);
    const notes = [r.duplicate && t("duplicate"), r.referred && t("referred"), r.error].filter(Boolean);
    if (notes.length) {
      const p = document.createElement("p");
      p.className = "notes";
      p.textContent = notes.join(" · ");
      li.append(p);
    }
    if (r.state === "rejected") {
      const fix = document.createElement("button");
      fix.type = "button";
      fix.textContent = t("fix");
      fix.addEventListener("click", () => fixRecord(r));
      li.append(fix);
    }
    return li;
  }));
  renderStatus();
}

async function renderStatus() {
  const net = $("#net");
  net.textContent = navigator.onLine ? t("online") : t("offline");
  net.dataset.online = navigator.onLine;
  const waiting = (await queueAll()).filter((r) => r.state === "pending").length;
  $("#pending").textContent = t("pending_n", { n: waiting });
  $("#pending").dataset.count = waiting;
}

// --- start ------------------------------------------------------------------------------------------

let watching = false;

async function start() {
  const s = session();
  if (!s) return askLogin(Boolean(sessionStorage.getItem(TOKEN_KEY)));
  $("#login").hidden = true;
  $("#app").hidden = false;
  const checkpoint = s.checkpoints[0] || "";
  $("#checkpoint").textContent = checkpoint;
  $("#checkpoint").dataset.id = checkpoint;
  await renderRecords();
  $("#name_km").focus();
  if (!watching) {
    watching = true;
    // Expiry is checked locally, so an offline tablet still asks for a new login in time.
    setInterval(() => { if (!session()) askLogin(true); }, 5000);
    setInterval(sync, 20000);
  }
  sync();
  try {
    await loadExpected();
    await loadGazetteer(await checkpointProvince(checkpoint));
  } catch (err) {
    if (err instanceof LoginNeeded) askLogin(true);
  }
}

async function checkpointProvince(checkpoint) {
  let list = await gazGet("checkpoints");
  if (!list) {
    try {
      list = await (await authFetch("/checkpoints")).json();
      await gazPut("checkpoints", list);
    } catch (err) {
      if (err instanceof LoginNeeded) throw err;
      return null;
    }
  }
  return list.find((c) => c.id === checkpoint)?.province_code || null;
}

function wire() {
  buildChecks();
  $("#lang").addEventListener("click", () => {
    lang = lang === "km" ? "en" : "km";
    localStorage.setItem(LANG_KEY, lang);
    translate();
  });
  $("#logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    askLogin(false);
  });
  $("#sync").addEventListener("click", sync);
  $("#login-form").addEventListener("submit", (e) => { e.preventDefault(); logIn(e.target); });
  $("#form").addEventListener("submit", submitForm);
  $("#add-member").addEventListener("click", () => addMember());
  $("#id_doc_type").addEventListener("change", (e) => {
    $("#id_doc_number").disabled = e.target.value === "none";
    if (e.target.value !== "none") $("#id_doc_number").focus();
  });
  $("#province").addEventListener("change", (e) => pickProvince(e.target.value));
  $("#district").addEventListener("change", (e) => pickDistrict(e.target.value));
  $("#commune").addEventListener("change", (e) => pickCommune(e.target.value));
  const q = $("#village_q");
  q.addEventListener("input", () => searchVillages(q.value));
  $("#expected_q").addEventListener("input", renderExpected);
  $("#list-form").addEventListener("submit", uploadList);
  $("#import-form").addEventListener("submit", startImport);
  $("#sheet").addEventListener("click", downloadSheet);
  $("#list_day").value = cambodiaDay();
  q.addEventListener("keydown", (e) => {
    // Enter takes the first hit instead of submitting the form: one keystroke per village.
    if (e.key === "Enter") {
      e.preventDefault();
      const first = $("#village-hits li[data-code]");
      if (first) chooseHit(first.dataset.code);
    }
  });
  window.addEventListener("online", () => { renderStatus(); sync(); });
  window.addEventListener("offline", renderStatus);
}

let searchSeq = 0;
async function searchVillages(text) {
  const seq = ++searchSeq;
  let codes = searchLocal(text);
  const allLoaded = gaz.provinces.length && gaz.byProvince.size === gaz.provinces.length;
  if (!allLoaded && navigator.onLine && text.trim()) {
    try {
      const response = await authFetch(`/gazetteer/search?q=${encodeURIComponent(text.trim())}&limit=12`);
      if (response.ok) {
        const hits = await response.json();
        await Promise.all([...new Set(hits.map((h) => h.code.slice(0, 2)))].map(loadProvince));
        codes = hits.map((h) => h.code);
      }
    } catch { /* fall back to what is on the tablet */ }
  }
  if (seq === searchSeq) showHits(codes);
}

if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js");
document.addEventListener("DOMContentLoaded", async () => {
  try {
    Object.assign(T, await (await fetch("messages.json")).json());
  } catch { /* offline with a shell cached before the words were: the keys show, the form still works */ }
  wire();
  translate();
  await loadConfig();
  start();
});
