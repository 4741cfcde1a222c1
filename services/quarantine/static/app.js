// The facility staff's page: today's residents, a keyboard-fast check-in round, clearance, beds and supplies.
// Plain modern JS, no build step, no CDN: every byte is served by the quarantine service.
"use strict";

const STRINGS = {
  km: {
    title: "មណ្ឌលចត្តាឡីស័ក", other_lang: "English", refresh: "ផ្ទុកឡើងវិញ", logout: "ចាកចេញ",
    login: "ចូលប្រើ", username: "ឈ្មោះអ្នកប្រើ", password: "ពាក្យសម្ងាត់",
    login_note: "សម្រាប់បុគ្គលិកមណ្ឌលចត្តាឡីស័ក។",
    login_expired: "សម័យប្រើប្រាស់បានផុតកំណត់ សូមចូលម្តងទៀត។",
    login_failed: "ឈ្មោះអ្នកប្រើ ឬពាក្យសម្ងាត់មិនត្រឹមត្រូវ", offline: "គ្មានអ៊ីនធឺណិត៖ សូមព្យាយាមម្តងទៀត",
    facility: "មណ្ឌល", no_facility: "គណនីនេះមិនមានមណ្ឌលចត្តាឡីស័កទេ។",
    residents: "អ្នកស្នាក់នៅថ្ងៃនេះ", none: "គ្មានអ្នកស្នាក់នៅទេ",
    keys_hint: "វាយសីតុណ្ហភាព ចុច Space លើរោគសញ្ញា ហើយចុច Enter ដើម្បីរក្សាទុក និងទៅអ្នកបន្ទាប់។ គ្រុនក្តៅ (≥ 37.5 °C) ត្រូវបានកត់ត្រាដោយស្វ័យប្រវត្តិ។",
    counts: "{n} នាក់ · បានពិនិត្យថ្ងៃនេះ {checked} · នៅសល់ {left} · បញ្ជូនព្យាបាល {referred} · ការថែទាំពិសេស {care}",
    day_of: "ថ្ងៃទី {day} នៃ {length}", release_on: "ចេញពីមណ្ឌល {date}",
    temperature: "សីតុណ្ហភាព (°C)", symptoms: "រោគសញ្ញា",
    sy_cough: "ក្អក", sy_sore_throat: "ឈឺបំពង់ក", sy_shortness_of_breath: "ពិបាកដកដង្ហើម",
    sy_loss_of_taste_or_smell: "បាត់ការភ្លក្ស ឬក្លិន", sy_diarrhoea: "រាគ", sy_fatigue: "អស់កម្លាំង",
    sy_fever: "គ្រុនក្តៅ",
    save_next: "រក្សាទុក ហើយបន្ទាប់", save: "រក្សាទុក", clear_referral: "បញ្ជាក់ការព្យាបាលរួច",
    checked: "បានពិនិត្យថ្ងៃនេះ", not_checked: "មិនទាន់ពិនិត្យ", referred: "បញ្ជូនទៅមន្ត្រីសុខាភិបាល",
    release_due: "ដល់ពេលចេញ", last: "ចុងក្រោយ៖ ថ្ងៃទី {day}, {temp}", clear: "គ្មានរោគសញ្ញា",
    sex_F: "ស្រី", sex_M: "ប្រុស", sex_X: "ផ្សេងៗ", age: "{n} ឆ្នាំ",
    sc_child: "កុមារ", sc_infant: "ទារក", sc_pregnant: "ស្ត្រីមានផ្ទៃពោះ", sc_ill: "អ្នកជំងឺ",
    sc_elderly: "មនុស្សចាស់", sc_disability: "ជនមានពិការភាព",
    temp_range: "សីតុណ្ហភាពត្រូវនៅចន្លោះ 34 និង 43 °C",
    not_running: "ការធ្វើចត្តាឡីស័កនេះមិនកំពុងដំណើរការទេ", not_found: "រកមិនឃើញ ឬមិនមែនក្នុងមណ្ឌលរបស់អ្នក",
    rejected: "ត្រូវបានបដិសេធ៖ សូមពិនិត្យទិន្នន័យ", failed: "មិនបានរក្សាទុក៖ សូមព្យាយាមម្តងទៀត",
    forbidden: "តួនាទីរបស់អ្នកមិនអាចធ្វើការនេះបានទេ",
    rb_quarantine_not_over: "មិនទាន់គ្រប់ ១៤ ថ្ងៃ", rb_referred: "រង់ចាំការបញ្ជាក់ពីមន្ត្រីសុខាភិបាល",
    rb_last_symptoms: "ការពិនិត្យចុងក្រោយមានរោគសញ្ញា", rb_final_symptoms: "មានរោគសញ្ញាក្នុងថ្ងៃចុងក្រោយ",
    rb_no_final: "ត្រូវការការពិនិត្យថ្ងៃនេះមុនចេញ", rb_ready: "នឹងចេញនៅជុំបន្ទាប់",
    beds_supplies: "គ្រែ និងសម្ភារៈ", occupancy: "អ្នកស្នាក់នៅ", free: "គ្រែទំនេរ", capacity: "ចំនួនគ្រែ",
    capacity_low: "ចំនួនគ្រែមិនអាចតិចជាងអ្នកស្នាក់នៅបានទេ", capacity_range: "ចំនួនគ្រែត្រូវនៅចន្លោះ 0 និង 10000",
    site_care: "ការថែទាំពិសេសដែលអាចផ្តល់", supplies: "សម្ភារៈ", item: "មុខទំនិញ", on_hand: "មានក្នុងស្តុក",
    low_at: "ទាបនៅ", unit: "ឯកតា", low: "ជិតអស់", supply_range: "ចំនួនត្រូវជាលេខគត់ 0 ឬច្រើនជាងនេះ ហើយត្រូវមានឯកតា",
    it_food: "អាហារ", it_water: "ទឹក", it_medicine: "ថ្នាំពេទ្យ", it_masks: "ម៉ាស់", it_hygiene: "សម្ភារៈអនាម័យ",
  },
  en: {
    title: "Quarantine facility", other_lang: "ខ្មែរ", refresh: "Refresh", logout: "Log out",
    login: "Log in", username: "User name", password: "Password",
    login_note: "For quarantine facility staff.",
    login_expired: "Your session has expired: log in again.",
    login_failed: "Wrong user name or password", offline: "No connection: try again",
    facility: "Facility", no_facility: "This account has no quarantine facility.",
    residents: "Today's residents", none: "No residents",
    keys_hint: "Type the temperature, Space on a symptom, Enter to save and go to the next person. Fever (≥ 37.5 °C) is recorded by itself.",
    counts: "{n} people · checked today {checked} · left {left} · referred {referred} · special care {care}",
    day_of: "Day {day} of {length}", release_on: "release {date}",
    temperature: "Temperature (°C)", symptoms: "Symptoms",
    sy_cough: "Cough", sy_sore_throat: "Sore throat", sy_shortness_of_breath: "Shortness of breath",
    sy_loss_of_taste_or_smell: "Loss of taste or smell", sy_diarrhoea: "Diarrhoea", sy_fatigue: "Fatigue",
    sy_fever: "Fever",
    save_next: "Save and next", save: "Save", clear_referral: "Clear referral",
    checked: "Checked today", not_checked: "Not checked yet", referred: "Referred to health staff",
    release_due: "Release due", last: "Last: day {day}, {temp}", clear: "no symptoms",
    sex_F: "Female", sex_M: "Male", sex_X: "Other", age: "{n} years",
    sc_child: "Child", sc_infant: "Infant", sc_pregnant: "Pregnant", sc_ill: "Ill",
    sc_elderly: "Elderly", sc_disability: "Disability",
    temp_range: "Temperature must be between 34 and 43 °C",
    not_running: "This quarantine is not running", not_found: "Not found, or not in your facility",
    rejected: "Refused: check the values", failed: "Not saved: try again",
    forbidden: "Your role may not do this",
    rb_quarantine_not_over: "14 days not over yet", rb_referred: "Waiting for health staff to clear",
    rb_last_symptoms: "Last check-in had symptoms", rb_final_symptoms: "Symptoms in the final days",
    rb_no_final: "Needs today's check-in before release", rb_ready: "Released on the next round",
    beds_supplies: "Beds and supplies", occupancy: "Occupied", free: "Free beds", capacity: "Beds",
    capacity_low: "Beds cannot be fewer than the people staying", capacity_range: "Beds must be between 0 and 10000",
    site_care: "Special care offered", supplies: "Supplies", item: "Item", on_hand: "On hand",
    low_at: "Low at", unit: "Unit", low: "Low", supply_range: "Counts must be whole numbers, 0 or more, with a unit",
    it_food: "Food", it_water: "Water", it_medicine: "Medicine", it_masks: "Masks", it_hygiene: "Hygiene kits",
  },
};

const SYMPTOMS = ["cough", "sore_throat", "shortness_of_breath", "loss_of_taste_or_smell", "diarrhoea", "fatigue"];
const ITEMS = { food: "meals", water: "litres", medicine: "packs", masks: "pieces", hygiene: "kits" };
const BLOCKERS = {
  "quarantine not over": "rb_quarantine_not_over", "referred to health care, not cleared": "rb_referred",
  "last check-in had symptoms": "rb_last_symptoms", "symptoms reported in the final days": "rb_final_symptoms",
  "no check-in in the final days": "rb_no_final",
};
// Gone with the tab: never left behind on a shared facility computer.
const TOKEN_KEY = "quarantine.token";
const FACILITY_KEY = "quarantine.facility";
const LANG_KEY = "border.lang";
// The service root; behind the HTTPS proxy, config.json names the API's path instead (docs/https.md).
let API = new URL("..", location.href).pathname.replace(/\/$/, "");

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
const state = { lang: localStorage.getItem(LANG_KEY) || "km", facilities: [], facility: null, residents: new Map() };
const MONTHS_KM = ["មករា", "កុម្ភៈ", "មីនា", "មេសា", "ឧសភា", "មិថុនា", "កក្កដា", "សីហា", "កញ្ញា", "តុលា", "វិច្ឆិកា", "ធ្នូ"];
const MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
// "2026-12-21" as staff write it; Chromium's ICU has no long Khmer date format of its own.
function showDate(iso) {
  if (!iso) return "—";
  const [y, m, d] = iso.split("-").map(Number);
  return state.lang === "km" ? `${d} ${MONTHS_KM[m - 1]} ${y}` : `${d} ${MONTHS_EN[m - 1]} ${y}`;
}
// Today in Cambodia, whatever the computer's own time zone.
const cambodianToday = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Phnom_Penh" }).format(new Date());
const t = (key, values = {}) =>
  (STRINGS[state.lang][key] ?? STRINGS.en[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => values[k] ?? "");

function applyI18n(root = document) {
  for (const el of $$("[data-i18n]", root)) el.textContent = t(el.dataset.i18n);
}

function setLang(lang) {
  state.lang = lang;
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang;
  $("#lang").textContent = t("other_lang");
  $("#lang").lang = lang === "km" ? "en" : "km";
  applyI18n();
  renderFacilityChoice();
  renderSite();
  for (const li of $$("#residents li.res")) renderResident(li);
  renderCounts();
  $("#today").textContent = showDate(cambodianToday());
}

// --- signing in: identity issues the token; the services verify it ---------------------------------------

const token = () => sessionStorage.getItem(TOKEN_KEY);
let identityUrl = "";

async function loadConfig() {
  try {
    const config = await (await fetch("config.json")).json();
    identityUrl = config.identity_url || "";
    if (config.api_base) API = config.api_base;
  } catch { /* no config: the default below */ }
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
    error.textContent = t("offline");
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
  sessionStorage.removeItem(TOKEN_KEY);
  $("#app").hidden = true;
  $("#facility-pick").hidden = true;
  $("#login").hidden = false;
  $("#login-note").dataset.i18n = expired ? "login_expired" : "login_note";
  applyI18n($("#login"));
  $("input[name=username]").focus();
}

class LoginNeeded extends Error {}

async function api(path, options = {}) {
  if (!token()) throw new LoginNeeded();
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${token()}` };
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options = { ...options, body: JSON.stringify(options.json) };
  }
  const response = await fetch(API + path, { ...options, headers });
  if (response.status === 401) throw new LoginNeeded();
  return response;
}

// The message for a refused request, as a key of STRINGS (422 names the field in `loc`).
async function refusal(response, fields = {}) {
  if (response.status === 403) return "forbidden";
  if (response.status === 404) return "not_found";
  if (response.status === 409) return fields.conflict || "not_running";
  if (response.status === 422) {
    const detail = (await response.json().catch(() => ({}))).detail;
    const field = Array.isArray(detail) && detail[0] && detail[0].loc[detail[0].loc.length - 1];
    return fields[field] || "rejected";
  }
  return "failed";
}

function showError(el, key) {
  if (key) el.dataset.i18n = key; else delete el.dataset.i18n;
  el.textContent = key ? t(key) : "";
}

// --- facility: the staff's own (the API shows no other) --------------------------------------------------

function facilityName(f) {
  return state.lang === "km" ? f.name_km : f.name_en;
}

function renderFacilityChoice() {
  const select = $("#facility");
  select.replaceChildren(...state.facilities.map((f) => new Option(`${facilityName(f)} (${f.id})`, f.id)));
  if (state.facility) select.value = state.facility.id;
}

function renderSite() {
  const f = state.facility;
  if (!f) return;
  $("#occupancy").textContent = `${f.occupancy} / ${f.capacity}`;
  $("#free").textContent = f.free;
  if (document.activeElement !== $("#capacity")) $("#capacity").value = f.capacity;
  $("#site-care").textContent = f.special_care.map((c) => t(`sc_${c}`)).join(", ") || "—";
  const stock = new Map(f.supplies.map((s) => [s.item, s]));
  const body = $("#supplies tbody");
  for (const item of Object.keys(ITEMS)) {
    let row = body.querySelector(`tr[data-item="${item}"]`);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.item = item;
      row.innerHTML = `<th scope="row"><span class="item-name"></span> <span class="tag low" hidden></span></th>
        <td><input class="quantity" type="number" min="0" step="1" inputmode="numeric"></td>
        <td><input class="threshold" type="number" min="0" step="1" inputmode="numeric"></td>
        <td><input class="unit" maxlength="20"></td>
        <td><button type="button" class="save-supply"></button></td>`;
      body.append(row);
      const s = stock.get(item);
      $(".quantity", row).value = s ? s.quantity : "";
      $(".threshold", row).value = s ? s.low_threshold : "";
      $(".unit", row).value = s ? s.unit : ITEMS[item];
      $(".save-supply", row).addEventListener("click", () => saveSupply(row));
    }
    const s = stock.get(item);
    $(".item-name", row).textContent = t(`it_${item}`);
    $(".low", row).hidden = !(s && s.low);
    $(".low", row).textContent = t("low");
    $(".save-supply", row).textContent = t("save");
    for (const [cls, label] of [["quantity", "on_hand"], ["threshold", "low_at"], ["unit", "unit"]]) {
      $(`.${cls}`, row).setAttribute("aria-label", `${t(`it_${item}`)}: ${t(label)}`);
    }
    $(".save-supply", row).setAttribute("aria-label", `${t("save")}: ${t(`it_${item}`)}`);
  }
}

function siteChanged(facility) {
  state.facility = facility;
  state.facilities = state.facilities.map((f) => (f.id === facility.id ? facility : f));
  renderSite();
}

async function saveSupply(row) {
  const error = $("#supply-error");
  const number = (el) => (/^\d+$/.test(el.value.trim()) ? Number(el.value) : NaN);
  const body = { quantity: number($(".quantity", row)), low_threshold: number($(".threshold", row)), unit: $(".unit", row).value.trim() };
  if (Number.isNaN(body.quantity) || Number.isNaN(body.low_threshold) || !body.unit) return showError(error, "supply_range");
  const response = await guarded(() =>
    api(`/facilities/${state.facility.id}/supplies/${row.dataset.item}`, { method: "PUT", json: body }), error);
  if (!response) return;
  if (!response.ok) return showError(error, await refusal(response, {}));
  showError(error, null);
  siteChanged(await response.json());
}

async function saveCapacity(event) {
  event.preventDefault();
  const error = $("#capacity-error");
  const value = $("#capacity").value.trim();
  if (!/^\d+$/.test(value) || Number(value) > 10000) return showError(error, "capacity_range");
  const response = await guarded(() =>
    api(`/facilities/${state.facility.id}/capacity`, { method: "PUT", json: { capacity: Number(value) } }), error);
  if (!response) return;
  if (!response.ok) return showError(error, await refusal(response, { capacity: "capacity_range", conflict: "capacity_low" }));
  showError(error, null);
  $("#capacity").blur();
  siteChanged(await response.json());
  await loadResidents();  // new beds may have gone to people who waited
}

// A request that may need a new login or fail on the network; null when it did not get an answer.
async function guarded(call, errorEl) {
  try {
    return await call();
  } catch (e) {
    if (e instanceof LoginNeeded) askLogin(true);
    else showError(errorEl, "offline");
    return null;
  }
}

// --- today's residents and the check-in round ------------------------------------------------------------

function lengthOf(ep) {
  return Math.round((Date.parse(ep.ends_on) - Date.parse(ep.starts_on)) / 86400000);
}

function releaseDue(ep) {
  return ep.day !== null && ep.day > lengthOf(ep);
}

function renderResident(li) {
  const ep = state.residents.get(li.dataset.id);
  $(".name-km", li).textContent = ep.name_km || "—";
  $(".name-latin", li).textContent = ep.name_latin || "";
  const meta = [ep.sex ? t(`sex_${ep.sex}`) : null, ep.age_years !== null ? t("age", { n: ep.age_years }) : null];
  $(".meta", li).textContent = meta.filter(Boolean).join(", ");
  const tags = [];
  for (const care of ep.special_care) tags.push(["care", t(`sc_${care}`)]);
  if (ep.referred) tags.push(["referred", t("referred")]);
  if (releaseDue(ep)) tags.push(["due", t("release_due")]);
  tags.push(ep.checked_today ? ["ok", t("checked")] : ["todo", t("not_checked")]);
  $(".tags", li).replaceChildren(...tags.map(([kind, text]) => {
    const span = document.createElement("span");
    span.className = `tag ${kind}`;
    span.textContent = text;
    return span;
  }));
  const day = ep.day !== null ? t("day_of", { day: Math.min(ep.day, lengthOf(ep)), length: lengthOf(ep) }) : "";
  $(".day", li).textContent = `${day} · ${t("release_on", { date: showDate(ep.ends_on) })}`;
  const blocker = releaseDue(ep) ? (ep.release_blocked ? BLOCKERS[ep.release_blocked] : "rb_ready") : null;
  const last = ep.last_checkin;
  const lastText = last
    ? t("last", { day: last.day, temp: last.temperature_c !== null ? `${last.temperature_c.toFixed(1)} °C` : "SMS" }) +
      ` · ${last.clear ? t("clear") : last.symptoms.map((s) => t(`sy_${s}`)).join(", ")}`
    : "";
  $(".last", li).textContent = [lastText, blocker ? t(blocker) : ""].filter(Boolean).join(" · ");
  li.dataset.checked = ep.checked_today;
  li.dataset.referred = ep.referred;
  $(".clear-referral", li).hidden = !ep.referred;
  $(".temperature", li).setAttribute("aria-describedby", `who-${ep.id}`);
  applyI18n(li);
}

function residentRow(ep) {
  const li = $("#resident-template").content.firstElementChild.cloneNode(true);
  li.dataset.id = ep.id;
  $(".who", li).id = `who-${ep.id}`;
  const box = $(".symptoms", li);
  for (const symptom of SYMPTOMS) {
    const label = document.createElement("label");
    label.innerHTML = `<input type="checkbox" value="${symptom}"> <span data-i18n="sy_${symptom}"></span>`;
    box.append(label);
  }
  const form = $("form", li);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    saveCheckin(li);
  });
  // Enter saves from anywhere in the row (a checkbox does not submit a form by itself).
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.type === "checkbox") {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  $(".clear-referral", li).addEventListener("click", () => clearReferral(li));
  return li;
}

function renderCounts() {
  const all = [...state.residents.values()];
  const checked = all.filter((e) => e.checked_today).length;
  $("#counts").textContent = all.length
    ? t("counts", {
      n: all.length, checked, left: all.length - checked,
      referred: all.filter((e) => e.referred).length, care: all.filter((e) => e.special_care.length).length,
    })
    : t("none");
}

async function loadResidents() {
  const error = $("#list-error");
  const found = [];
  for (let offset = 0; ; offset += 500) {
    const response = await guarded(() =>
      api(`/episodes?facility_id=${encodeURIComponent(state.facility.id)}&status=placed&limit=500&offset=${offset}`), error);
    if (!response) return;
    if (!response.ok) return showError(error, await refusal(response));
    const page = await response.json();
    found.push(...page);
    if (page.length < 500) break;
  }
  showError(error, null);
  state.residents = new Map(found.map((ep) => [ep.id, ep]));
  $("#residents").replaceChildren(...found.map(residentRow));
  for (const li of $$("#residents li.res")) renderResident(li);
  renderCounts();
  const first = $("#residents li.res[data-checked='false'] .temperature");
  if (first) first.focus();
}

function nextAfter(li) {
  const rows = $$("#residents li.res");
  const after = rows.slice(rows.indexOf(li) + 1).concat(rows.slice(0, rows.indexOf(li)));
  return after.find((r) => r.dataset.checked === "false");
}

async function saveCheckin(li) {
  const error = $(".error", li);
  const input = $(".temperature", li);
  const value = input.value.trim();
  const temperature = Number(value);
  if (!value || !Number.isFinite(temperature) || temperature < 34 || temperature > 43) {
    input.setAttribute("aria-invalid", "true");
    showError(error, "temp_range");
    input.focus();
    input.select();
    return;
  }
  const symptoms = $$(".symptoms input:checked", li).map((c) => c.value);
  const save = $(".save", li);
  save.disabled = true;
  try {
    const response = await guarded(() =>
      api(`/episodes/${li.dataset.id}/checkins`, { method: "POST", json: { temperature_c: temperature, symptoms } }), error);
    if (!response) return;
    if (!response.ok) {
      showError(error, await refusal(response, { temperature_c: "temp_range" }));
      return;
    }
    input.removeAttribute("aria-invalid");
    showError(error, null);
    input.value = "";
    for (const box of $$(".symptoms input", li)) box.checked = false;
    await reloadResident(li);
    const next = nextAfter(li);
    if (next) $(".temperature", next).focus();
  } finally {
    save.disabled = false;
  }
}

async function reloadResident(li, detail) {
  if (!detail) {
    const response = await guarded(() => api(`/episodes/${li.dataset.id}`), $(".error", li));
    if (!response || !response.ok) return;
    detail = await response.json();
  }
  state.residents.set(li.dataset.id, detail);
  renderResident(li);
  renderCounts();
}

async function clearReferral(li) {
  const error = $(".error", li);
  const response = await guarded(() => api(`/episodes/${li.dataset.id}/clearance`, { method: "POST" }), error);
  if (!response) return;
  if (!response.ok) return showError(error, await refusal(response, { conflict: "rejected" }));
  showError(error, null);
  await reloadResident(li, await response.json());
  $(".temperature", li).focus();
}

// --- start ------------------------------------------------------------------------------------------------

async function chooseFacility(id) {
  state.facility = state.facilities.find((f) => f.id === id) || state.facilities[0];
  sessionStorage.setItem(FACILITY_KEY, state.facility.id);
  $("#supplies tbody").replaceChildren();  // the stock as the API has it now, not what was typed before
  renderFacilityChoice();
  renderSite();
  await loadResidents();
}

async function start() {
  if (!token()) return askLogin(false);
  const response = await guarded(() => api("/facilities"), $("#list-error"));
  if (!response) return;
  $("#login").hidden = true;
  $("#app").hidden = false;
  state.facilities = response.ok ? await response.json() : [];
  if (!state.facilities.length) {
    $("#facility-pick").hidden = true;
    return showError($("#list-error"), "no_facility");
  }
  $("#facility-pick").hidden = false;  // one facility for most staff: the select then just names it
  await chooseFacility(sessionStorage.getItem(FACILITY_KEY));
}

document.addEventListener("DOMContentLoaded", async () => {
  setLang(state.lang);
  $("#lang").addEventListener("click", () => setLang(state.lang === "km" ? "en" : "km"));
  $("#login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    logIn(event.target);
  });
  $("#logout").addEventListener("click", () => {
    sessionStorage.removeItem(FACILITY_KEY);
    askLogin(false);
  });
  $("#refresh").addEventListener("click", start);
  $("#facility").addEventListener("change", (event) => chooseFacility(event.target.value));
  $("#capacity-form").addEventListener("submit", saveCapacity);
  await loadConfig();
  await start();
});
