// The transfer working group's page: reads /overview with a token from the identity service.
"use strict";

const TEXT = {
  km: {
    title: "ការដឹកជញ្ជូនពលរដ្ឋត្រឡប់មកស្រុកកំណើត",
    other: "English",
    login: "ចូលប្រព័ន្ធ",
    username: "ឈ្មោះអ្នកប្រើ",
    password: "ពាក្យសម្ងាត់",
    signin: "ចូល",
    logout: "ចាកចេញ",
    loginFailed: "ឈ្មោះអ្នកប្រើ ឬពាក្យសម្ងាត់មិនត្រឹមត្រូវ",
    loadFailed: "មិនអាចទាញយកទិន្នន័យបានទេ",
    updated: "ធ្វើបច្ចុប្បន្នភាព៖",
    waiting: "អ្នករង់ចាំ តាមខេត្តគោលដៅ",
    notReady: "មិនទាន់អាចធ្វើដំណើរ",
    inTransit: "យានកំពុងធ្វើដំណើរ",
    open: "បញ្ជីកំពុងរៀបចំ",
    overdue: "យឺតពេលមកដល់",
    missing: "អ្នកបាត់ខ្លួនពេលប្រគល់",
    tooLarge: "គ្រួសារធំជាងយានណាមួយ",
    household: "គ្រួសារ",
    seats: "កៅអីច្រើនបំផុត",
    from: "ពីខេត្ត",
    to: "ទៅខេត្ត",
    people: "ចំនួនមនុស្ស",
    since: "រង់ចាំតាំងពី",
    state: "ស្ថានភាព",
    quarantine: "កំពុងធ្វើចត្តាឡីស័ក",
    held: "ផ្អាក (ព្យាបាល ឬរោគសញ្ញា)",
    plate: "ស្លាកលេខ",
    expected: "រំពឹងមកដល់",
    status: "ស្ថានភាព",
    proposed: "បានស្នើ",
    confirmed: "បានបញ្ជាក់",
    dispatched: "បានចេញដំណើរ",
    returnee: "អ្នកត្រឡប់",
    manifest: "បញ្ជីដឹកជញ្ជូន",
    none: "គ្មាន",
  },
  en: {
    title: "Transfers of returnees to their home provinces",
    other: "ខ្មែរ",
    login: "Sign in",
    username: "Username",
    password: "Password",
    signin: "Sign in",
    logout: "Sign out",
    loginFailed: "Wrong username or password",
    loadFailed: "Could not load the data",
    updated: "Updated:",
    waiting: "Waiting, by destination province",
    notReady: "Not yet cleared to travel",
    inTransit: "Vehicles on the road",
    open: "Manifests being prepared",
    overdue: "Overdue arrivals",
    missing: "Missing at hand-over",
    tooLarge: "Households larger than any vehicle",
    household: "Household",
    seats: "Largest vehicle",
    from: "From",
    to: "To",
    people: "People",
    since: "Waiting since",
    state: "State",
    quarantine: "In quarantine",
    held: "Held (referred or symptoms)",
    plate: "Plate",
    expected: "Expected arrival",
    status: "Status",
    proposed: "Proposed",
    confirmed: "Confirmed",
    dispatched: "Dispatched",
    returnee: "Returnee",
    manifest: "Manifest",
    none: "None",
  },
};

const params = new URLSearchParams(location.search);
// The identity service runs beside this one (port 8000) unless the page is told otherwise.
const IDENTITY = params.get("identity") || `${location.protocol}//${location.hostname}:8000`;
let lang = localStorage.getItem("lang") || "km";
let token = sessionStorage.getItem("token");
let data = null;

const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[lang][key] || key;

function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(lang === "km" ? "km-KH" : "en-GB", { dateStyle: "short", timeStyle: "short" });
}

function table(id, headers, rows, lateRow) {
  const el = $(id);
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
    th.textContent = t(h);
    head.appendChild(th);
  }
  const body = el.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    if (lateRow && lateRow(row)) tr.className = "late";
    for (const cell of row.cells) tr.insertCell().textContent = cell;
  }
}

function name(n) {
  return n ? n[lang] : "";
}

function render() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-t]").forEach((el) => (el.textContent = t(el.dataset.t)));
  $("lang").textContent = t("other");
  if (!data) return;
  $("now").textContent = when(data.now);
  const trip = (m) => ({
    cells: [m.vehicle.plate, name(m.destination_province_name), m.passengers.length, when(m.expected_arrival)],
    late: m.overdue,
  });
  table("overdue", ["plate", "to", "people", "expected"], data.overdue.map(trip));
  table(
    "missing",
    ["returnee", "manifest", "to"],
    data.missing.map((m) => ({ cells: [m.returnee_id.slice(0, 8), (m.manifest_id || "").slice(0, 8), m.destination] })),
  );
  table(
    "too-large",
    ["household", "from", "to", "people", "seats"],
    data.households_too_large.map((h) => ({
      cells: [h.household_id.slice(0, 8), h.origin, name(h.destination_name), h.size, h.largest_vehicle],
    })),
  );
  table(
    "waiting",
    ["from", "to", "people", "since"],
    data.waiting.map((w) => ({ cells: [name(w.origin_name), name(w.destination_name), w.count, when(w.since)] })),
  );
  table(
    "not-ready",
    ["to", "state", "people"],
    data.not_ready.map((n) => ({ cells: [name(n.destination_name), t(n.held ? "held" : "quarantine"), n.count] })),
  );
  table("in-transit", ["plate", "to", "people", "expected"], data.in_transit.map(trip), (r) => r.late);
  table(
    "open",
    ["plate", "to", "people", "status"],
    data.open.map((m) => ({
      cells: [m.vehicle.plate, name(m.destination_province_name), m.passengers.length, t(m.status)],
    })),
  );
}

function show(signedIn) {
  $("login").hidden = signedIn;
  $("board").hidden = !signedIn;
  $("logout").hidden = !signedIn;
}

async function load() {
  if (!token) return show(false);
  try {
    const r = await fetch("/overview", { headers: { Authorization: `Bearer ${token}` } });
    if (r.status === 401) {
      sessionStorage.removeItem("token");
      token = null;
      return show(false);
    }
    if (!r.ok) throw new Error(String(r.status));
    data = await r.json();
    $("error").textContent = "";
    show(true);
  } catch {
    $("error").textContent = t("loadFailed");
  }
  render();
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const body = new URLSearchParams({
    grant_type: "password",
    username: form.get("username"),
    password: form.get("password"),
  });
  try {
    const r = await fetch(`${IDENTITY}/auth/token`, { method: "POST", body });
    if (!r.ok) throw new Error(String(r.status));
    token = (await r.json()).access_token;
    sessionStorage.setItem("token", token);
    $("login-error").textContent = "";
    ev.target.reset();
    await load();
  } catch {
    $("login-error").textContent = t("loginFailed");
  }
});

$("logout").addEventListener("click", () => {
  sessionStorage.removeItem("token");
  token = null;
  data = null;
  show(false);
});

$("lang").addEventListener("click", () => {
  lang = lang === "km" ? "en" : "km";
  localStorage.setItem("lang", lang);
  render();
});

render();
load();
setInterval(load, 15000);
