// Ironstone's API-key console. Plain JavaScript, no build step, no other
// origin. Every key operation is a call to the public API (/v1 and /v3),
// the same routes and policies as the CLI; the session token lives in an
// HttpOnly cookie this script cannot read, and each call carries the CSRF
// token the session answer gives. Text from the server is only ever set
// as textContent, never parsed as HTML.
"use strict";

(() => {
  const CONSOLE = document.querySelector('meta[name="ironstone-console"]').content;
  const $ = (id) => document.getElementById(id);

  const state = {
    csrf: null,
    token: null, // the session token's body (user, project, roles)
    endpoints: {},
    owner: null, // { id, name }: whose keys are shown
    pairs: [],
    appcreds: [],
  };

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // ---- calling the API -------------------------------------------------

  async function request(method, path, body, { raw = false, quiet = false } = {}) {
    const headers = { Accept: "application/json" };
    if (state.csrf) headers["X-CSRF-Token"] = state.csrf;
    const init = { method, headers, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, "The server cannot be reached.");
    }
    if (!resp.ok) {
      let message = resp.statusText || `HTTP ${resp.status}`;
      try {
        const data = await resp.json();
        if (data && data.error && data.error.message) message = data.error.message;
      } catch (e) { /* not JSON */ }
      if (resp.status === 401 && !quiet && state.token) sessionEnded();
      throw new ApiError(resp.status, message);
    }
    if (raw) return resp;
    const text = await resp.text();
    return text ? JSON.parse(text) : null;
  }

  const enc = encodeURIComponent;
  const project = () => state.token.project;
  const pairsPath = (suffix = "") => `/v1/${enc(project().id)}/aksks/${enc(state.owner.id)}${suffix}`;
  const appcredsPath = (suffix = "") => `/v3/users/${enc(state.owner.id)}/application_credentials${suffix}`;
  const isSelf = () => state.owner && state.owner.id === state.token.user.id;
  const isAdmin = () => (state.token.roles || []).some((r) => r.name === "admin");

  // ---- small DOM helpers -----------------------------------------------

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function say(message) {
    const status = $("status");
    status.textContent = "";
    // A fresh text node so screen readers announce a repeated message.
    window.setTimeout(() => { status.textContent = message; }, 30);
  }

  function show(sectionId) {
    for (const id of ["sign-in", "choose-project", "keys"]) $(id).hidden = id !== sectionId;
  }

  function when(value) {
    if (!value) return "";
    // Keystone writes UTC without a zone; JavaScript would read it as local.
    const d = new Date(/[Zz]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
    if (Number.isNaN(d.getTime())) return value;
    return d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  // The end of a chosen day, UTC, as the API takes it.
  const endOfDay = (date) => `${date}T23:59:59Z`;

  async function copy(text, what) {
    try {
      await navigator.clipboard.writeText(text);
      say(`${what} copied to the clipboard.`);
    } catch (e) {
      say(`Copying is not allowed here: select the ${what.toLowerCase()} and copy it by hand.`);
    }
  }

  // Saved as bytes: a text type would make browsers add ".txt" to names
  // such as "credentials".
  function saveFile(name, blob) {
    const url = URL.createObjectURL(new Blob([blob], { type: "application/octet-stream" }));
    const link = el("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function openDialog(id) {
    const dialog = $(id);
    for (const error of dialog.querySelectorAll(".error")) error.textContent = "";
    dialog.showModal();
    return dialog;
  }

  for (const dialog of document.querySelectorAll("dialog")) {
    for (const cancel of dialog.querySelectorAll("button.cancel")) {
      cancel.addEventListener("click", () => dialog.close());
    }
  }

  // An expiry fieldset: a "never" box and a date.
  function expiryInput(prefix) {
    const never = $(`${prefix}-never`);
    const date = $(`${prefix}-expiry`);
    never.addEventListener("change", () => { date.disabled = never.checked; if (!never.checked) date.focus(); });
    return {
      set(value) {
        never.checked = !value;
        date.disabled = !value;
        date.value = value ? value.slice(0, 10) : "";
        date.min = new Date().toISOString().slice(0, 10);
      },
      // null for never, an ISO time, or an Error.
      get() {
        if (never.checked) return null;
        if (!date.value) return new Error("Choose an expiry date, or tick Never.");
        return endOfDay(date.value);
      },
    };
  }
  const pairExpiry = expiryInput("pair");
  const appcredExpiry = expiryInput("appcred");

  // ---- session ---------------------------------------------------------

  function setSession(session) {
    state.csrf = session.csrf_token;
    state.token = session.token;
    state.endpoints = session.endpoints;
    const user = state.token.user;
    $("who").textContent = `${user.name} (${user.domain.name})`;
    $("account").hidden = false;
  }

  function sessionEnded() {
    state.csrf = null;
    state.token = null;
    $("account").hidden = true;
    for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
    show("sign-in");
    $("sign-in-error").textContent = "Your session has ended. Sign in again.";
  }

  async function start() {
    try {
      const data = await request("GET", `${CONSOLE}/session`, undefined, { quiet: true });
      setSession(data.session);
      await afterSignIn();
    } catch (e) {
      show("sign-in");
      $("username").focus();
    }
  }

  async function projectsOfUser() {
    const data = await request("GET", "/v3/auth/projects");
    return data.projects.sort((a, b) => a.name.localeCompare(b.name));
  }

  async function afterSignIn() {
    const projects = await projectsOfUser();
    const switcher = $("project-switch");
    switcher.replaceChildren(...projects.map((p) => el("option", { value: p.id, text: p.name })));
    if (!state.token.project) {
      const list = $("project-list");
      list.replaceChildren(...projects.map((p) => el("option", { value: p.id, text: p.name })));
      switcher.hidden = true;
      switcher.previousElementSibling.hidden = true;
      show("choose-project");
      if (!projects.length) {
        $("choose-error").textContent = "You have no role on any project: ask an administrator for one.";
      }
      list.focus();
      return;
    }
    switcher.hidden = false;
    switcher.previousElementSibling.hidden = false;
    switcher.value = project().id;
    await showKeys();
  }

  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("sign-in-error");
    error.textContent = "";
    const password = $("password");
    const body = {
      session: { username: $("username").value.trim(), domain: $("domain").value.trim(), password: password.value },
    };
    password.value = "";
    if (!body.session.username || !body.session.password) {
      error.textContent = "Enter your user name and password.";
      return;
    }
    try {
      const data = await request("POST", `${CONSOLE}/session`, body, { quiet: true });
      setSession(data.session);
      await afterSignIn();
      say(`Signed in as ${state.token.user.name}.`);
    } catch (e) {
      error.textContent = e.status === 401
        ? "The user name, domain or password is wrong, or the account is disabled."
        : e.message;
      password.focus();
    }
  });

  async function chooseProject(projectId) {
    const data = await request("POST", `${CONSOLE}/session/project`, { session: { project_id: projectId } });
    setSession(data.session);
    await afterSignIn();
    say(`Project ${project().name}.`);
  }

  $("choose-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await chooseProject($("project-list").value);
    } catch (e) {
      $("choose-error").textContent = e.message;
    }
  });

  $("project-switch").addEventListener("change", async (event) => {
    try {
      await chooseProject(event.target.value);
    } catch (e) {
      say(`Cannot switch project: ${e.message}`);
      event.target.value = project().id;
    }
  });

  $("sign-out").addEventListener("click", async () => {
    try {
      await request("DELETE", `${CONSOLE}/session`, undefined, { quiet: true });
    } catch (e) { /* the session may be gone already */ }
    state.csrf = null;
    state.token = null;
    $("account").hidden = true;
    $("sign-in-error").textContent = "";
    show("sign-in");
    say("Signed out.");
    $("username").focus();
  });

  // ---- the keys page ---------------------------------------------------

  async function showKeys() {
    const me = state.token.user;
    state.owner = { id: me.id, name: me.name };
    show("keys");
    $("keys-intro").textContent = `Project ${project().name} (${project().domain.name}).`;
    const picker = $("user-picker");
    picker.hidden = !isAdmin();
    if (isAdmin()) await loadOwners();
    renderEndpoints();
    await loadKeys();
  }

  // Admins pick whose keys to manage among the project's users.
  async function loadOwners() {
    const query = `scope.project.id=${enc(project().id)}&effective&include_names`;
    const select = $("key-owner");
    const users = new Map([[state.token.user.id, state.token.user]]);
    try {
      const data = await request("GET", `/v3/role_assignments?${query}`);
      for (const a of data.role_assignments) if (a.user) users.set(a.user.id, a.user);
    } catch (e) {
      say(`The project's users cannot be listed: ${e.message}`);
    }
    const sorted = [...users.values()].sort((a, b) => a.name.localeCompare(b.name));
    select.replaceChildren(...sorted.map((u) => el("option", {
      value: u.id,
      text: u.id === state.token.user.id ? `${u.name} (you)` : `${u.name}${u.domain ? ` (${u.domain.name})` : ""}`,
    })));
    select.value = state.token.user.id;
  }

  $("key-owner").addEventListener("change", async (event) => {
    const option = event.target.selectedOptions[0];
    state.owner = { id: event.target.value, name: option.textContent.replace(/ \(.*\)$/, "") };
    await loadKeys();
  });

  async function loadKeys() {
    const whose = isSelf() ? "Your" : `${state.owner.name}'s`;
    $("pairs-caption").textContent = `${whose} AK/SK pairs in ${project().name}`;
    $("appcreds-caption").textContent = `${whose} application credentials in ${project().name}`;
    // Application credentials are created only by their owner.
    $("create-appcred").hidden = !isSelf();
    $("activity-caption").textContent = `${isSelf() ? "Your" : `${state.owner.name}'s`} activity`;
    await Promise.all([loadPairs(), loadAppcreds(), loadActivity()]);
  }

  // The audit trail (GET /v1/audit-events): what the API lets this user see.
  async function loadActivity() {
    let events = [];
    try {
      const data = await request("GET", `/v1/audit-events?user_id=${enc(state.owner.id)}&limit=50`);
      events = data.events;
    } catch (e) {
      if (e.status !== 401) say(`Activity cannot be listed: ${e.message}`);
    }
    if (!state.token) return; // the session ended meanwhile
    const me = state.token.user.id;
    $("activity").tBodies[0].replaceChildren(...events.map((e) => {
      const by = e.initiator.id === me ? "You" : e.initiator.id === "ironstone" ? "Ironstone" : e.initiator.id;
      const reason = e.reason ? e.reason.reasonCode : "";
      return el("tr", {},
        cell("When", when(e.eventTime.replace("+0000", "Z"))),
        cell("Event", e.action.replace(/[._]/g, " ")),
        cell("Key", el("span", {
          class: "mono",
          text: e.target.typeURI.startsWith("data/") ? e.target.id : (e.credential ? e.credential.id : ""),
        })),
        cell("Outcome", el("span", { class: `badge ${e.outcome === "success" ? "active" : "expired"}`, text: e.outcome })),
        cell("By", by),
        cell("Why", reason === "401" ? "refused" : reason === "429" ? "throttled" : reason),
      );
    }));
    $("activity-empty").hidden = events.length > 0;
  }

  async function loadPairs() {
    try {
      const data = await request("GET", pairsPath("/keys"));
      state.pairs = data.keys;
    } catch (e) {
      state.pairs = [];
      if (e.status !== 401) say(`AK/SK pairs cannot be listed: ${e.message}`);
    }
    renderPairs();
  }

  async function loadAppcreds() {
    try {
      const data = await request("GET", appcredsPath("?lifecycle"));
      state.appcreds = data.application_credentials.filter((c) => c.project_id === project().id);
    } catch (e) {
      state.appcreds = [];
      if (e.status !== 401) say(`Application credentials cannot be listed: ${e.message}`);
    }
    renderAppcreds();
  }

  function cell(label, ...content) {
    return el("td", { "data-label": label }, ...content);
  }

  function pairLabel(pair) {
    return pair.name ? `${pair.name} (${pair.access_key})` : pair.access_key;
  }

  function renderPairs() {
    const body = $("pairs").tBodies[0];
    body.replaceChildren(...state.pairs.map(pairRow));
    $("pairs-empty").hidden = state.pairs.length > 0;
  }

  function pairRow(pair) {
    const label = pairLabel(pair);
    const secret = el("span", { class: "mono", text: "••••••••" });
    const reveal = el("button", {
      type: "button", class: "small", "aria-pressed": "false", "aria-label": `Show secret key of ${label}`, text: "Show",
    });
    reveal.addEventListener("click", async () => {
      if (reveal.getAttribute("aria-pressed") === "true") {
        secret.textContent = "••••••••";
        reveal.setAttribute("aria-pressed", "false");
        reveal.textContent = "Show";
        return;
      }
      try {
        secret.textContent = await secretOf(pair.access_key);
        reveal.setAttribute("aria-pressed", "true");
        reveal.textContent = "Hide";
      } catch (e) { say(`The secret cannot be shown: ${e.message}`); }
    });
    const copySecret = el("button", {
      type: "button", class: "small", "aria-label": `Copy secret key of ${label}`, text: "Copy",
      onclick: async () => {
        try { await copy(await secretOf(pair.access_key), "Secret key"); } catch (e) { say(e.message); }
      },
    });
    const status = el("span", { class: `badge ${pair.status}`, text: pair.status });
    const soon = pair.expires_soon ? el("span", { class: "badge soon", text: "expires soon" }) : null;
    const actions = el("div", { class: "row-actions" },
      el("button", { type: "button", class: "small", "aria-label": `Edit ${label}`, text: "Edit", onclick: () => editPair(pair) }),
      el("button", {
        type: "button", class: "small", "aria-label": `${pair.enabled ? "Disable" : "Enable"} ${label}`,
        text: pair.enabled ? "Disable" : "Enable", onclick: () => setEnabled(pair, !pair.enabled),
      }),
      el("button", { type: "button", class: "small", "aria-label": `Rotate ${label}`, text: "Rotate", onclick: () => rotatePair(pair) }),
      el("button", { type: "button", class: "small", "aria-label": `Files and configuration for ${label}`, text: "Files", onclick: () => pairFiles(pair) }),
      el("button", { type: "button", class: "small", "aria-label": `Delete ${label}`, text: "Delete", onclick: () => deletePair(pair) }),
    );
    return el("tr", { "data-access-key": pair.access_key },
      cell("Name", pair.name || "(no name)", pair.description ? el("span", { class: "sub", text: pair.description }) : null),
      cell("Access key", el("span", { class: "mono", text: pair.access_key })),
      cell("Secret key", el("div", { class: "secret-cell" }, secret, reveal, copySecret)),
      cell("Status", status, soon ? " " : null, soon),
      cell("Expires", pair.expires_at ? when(pair.expires_at) : "Never"),
      cell("Allowed hosts", (pair.allowed_cidrs || []).length ? pair.allowed_cidrs.join(", ") : "Any"),
      cell("Rate limit", pair.rate_limit ? `${pair.rate_limit.per_second}/s, burst ${pair.rate_limit.burst}` : "None"),
      cell("Created", when(pair.created_at)),
      cell("Last used", pair.last_used_at ? when(pair.last_used_at) : "Never"),
      cell("Uses", String(pair.use_count)),
      cell("Actions", actions),
    );
  }

  // AK/SK secrets are stored encrypted and can be read again by whoever
  // may read the pair, as SODA's API answers them. This reads the JSON
  // download of the one pair, so no other secret comes along.
  async function secretOf(accessKey) {
    const pairs = await request("GET", pairsPath(`/download?format=json&access_key=${enc(accessKey)}`));
    const found = pairs.find((p) => p.blob.access_key === accessKey);
    if (!found) throw new ApiError(404, "The pair no longer exists.");
    return found.blob.secret_key;
  }

  function renderAppcreds() {
    const body = $("appcreds").tBodies[0];
    body.replaceChildren(...state.appcreds.map((c) => {
      const label = c.name;
      const rules = (c.access_rules || []).map((r) => `${r.service} ${r.method} ${r.path}`);
      return el("tr", { "data-id": c.id },
        cell("Name", c.name, c.description ? el("span", { class: "sub", text: c.description }) : null),
        cell("ID", el("span", { class: "mono", text: c.id })),
        cell("Roles", (c.roles || []).map((r) => r.name).join(", ")),
        cell("Expires", c.expires_at ? when(c.expires_at) : "Never",
          c.expires_soon ? el("span", { class: "badge soon", text: "expires soon" }) : null),
        cell("Last used", c.last_used_at ? when(c.last_used_at) : "Never"),
        cell("Access rules", rules.length ? rules.join("; ") : "All"),
        cell("Unrestricted", c.unrestricted ? "Yes" : "No"),
        cell("Actions", el("div", { class: "row-actions" },
          el("button", { type: "button", class: "small", "aria-label": `Copy ID of ${label}`, text: "Copy ID", onclick: () => copy(c.id, "ID") }),
          // Rotation creates a credential: only its owner may (as in Keystone).
          isSelf() ? el("button", { type: "button", class: "small", "aria-label": `Rotate ${label}`, text: "Rotate", onclick: () => rotateAppcred(c) }) : null,
          el("button", { type: "button", class: "small", "aria-label": `Delete ${label}`, text: "Delete", onclick: () => deleteAppcred(c) }),
        )),
      );
    }));
    $("appcreds-empty").hidden = state.appcreds.length > 0;
  }

  function renderEndpoints() {
    const e = state.endpoints;
    const rows = [
      ["Keystone (identity v3)", e.identity],
      ["AK/SK API", `${e.aksk}/${project().id}/aksks`],
      ["EC2 signature verification", e.ec2tokens],
      ["S3 signature verification", e.s3tokens],
    ];
    $("endpoint-list").replaceChildren(...rows.flatMap(([name, url]) => [
      el("dt", { text: name }),
      el("dd", {}, el("code", { text: url }),
        el("button", { type: "button", class: "small", "aria-label": `Copy the ${name} URL`, text: "Copy", onclick: () => copy(url, "URL") })),
    ]));
  }

  // ---- tabs ------------------------------------------------------------

  const tabs = [...document.querySelectorAll('[role="tab"]')];
  function selectTab(tab) {
    for (const t of tabs) {
      const selected = t === tab;
      t.setAttribute("aria-selected", String(selected));
      t.tabIndex = selected ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !selected;
    }
    tab.focus();
  }
  for (const tab of tabs) {
    tab.addEventListener("click", () => selectTab(tab));
    tab.addEventListener("keydown", (event) => {
      const i = tabs.indexOf(tab);
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      selectTab(tabs[(next + tabs.length) % tabs.length]);
    });
  }

  // ---- AK/SK pairs -----------------------------------------------------

  function cidrs(text) {
    return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  }

  let editing = null; // the pair being edited, or null when creating

  $("create-pair").addEventListener("click", () => {
    editing = null;
    $("pair-dialog-title").textContent = isSelf() ? "Create AK/SK pair" : `Create AK/SK pair for ${state.owner.name}`;
    $("pair-submit").textContent = "Create";
    $("pair-name").value = "";
    $("pair-description").value = "";
    $("pair-cidrs").value = "";
    $("pair-leak").value = "";
    $("pair-rate").value = "";
    $("pair-burst").value = "";
    pairExpiry.set(null);
    openDialog("pair-dialog");
    $("pair-name").focus();
  });

  function editPair(pair) {
    editing = pair;
    $("pair-dialog-title").textContent = `Edit ${pairLabel(pair)}`;
    $("pair-submit").textContent = "Save";
    $("pair-name").value = pair.name || "";
    $("pair-description").value = pair.description || "";
    $("pair-cidrs").value = (pair.allowed_cidrs || []).join(", ");
    $("pair-leak").value = pair.action_when_leaked || "";
    $("pair-rate").value = pair.rate_limit ? String(pair.rate_limit.per_second) : "";
    $("pair-burst").value = pair.rate_limit ? String(pair.rate_limit.burst) : "";
    pairExpiry.set(pair.expires_at);
    openDialog("pair-dialog");
    $("pair-name").focus();
  }

  $("pair-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("pair-error");
    const expires = pairExpiry.get();
    if (expires instanceof Error) { error.textContent = expires.message; return; }
    const fields = {
      name: $("pair-name").value.trim(),
      description: $("pair-description").value.trim(),
      allowed_cidrs: cidrs($("pair-cidrs").value),
    };
    // Empty means the deployment's default (null to the API).
    const leak = $("pair-leak").value || null;
    const rate = rateLimit($("pair-rate").value, $("pair-burst").value);
    if (rate instanceof Error) { error.textContent = rate.message; return; }
    try {
      if (editing) {
        const change = {};
        if (fields.name !== (editing.name || "")) change.name = fields.name;
        if (fields.description !== (editing.description || "")) change.description = fields.description;
        if (fields.allowed_cidrs.join(",") !== (editing.allowed_cidrs || []).join(",")) change.allowed_cidrs = fields.allowed_cidrs;
        if (leak !== (editing.action_when_leaked || null)) change.action_when_leaked = leak;
        if (JSON.stringify(rate) !== JSON.stringify(editing.rate_limit || null)) change.rate_limit = rate;
        const before = editing.expires_at ? endOfDay(editing.expires_at.slice(0, 10)) : null;
        if (expires !== before && !(expires && editing.expires_at && expires.slice(0, 10) === editing.expires_at.slice(0, 10))) {
          change.expires_at = expires;
        }
        await request("PATCH", pairsPath(`/keys/${enc(editing.access_key)}`), { key: change });
        $("pair-dialog").close();
        say(`Saved ${fields.name || editing.access_key}.`);
        await loadPairs();
      } else {
        const credential = { project_id: project().id, user_id: state.owner.id, ...fields };
        if (expires) credential.expires_at = expires;
        if (leak) credential.action_when_leaked = leak;
        if (rate) credential.rate_limit = rate;
        const created = await request("POST", `/v1/${enc(project().id)}/aksks`, { credential });
        $("pair-dialog").close();
        await loadPairs();
        showPairSecret(created.access_key, created.secret_key, fields.name, "created");
      }
    } catch (e) {
      error.textContent = e.message;
    }
  });

  // The rate limit the two fields describe: null (none), or an Error to
  // show; the server checks the bounds again.
  function rateLimit(rateText, burstText) {
    if (!rateText.trim() && !burstText.trim()) return null;
    const perSecond = Number(rateText);
    if (!rateText.trim() || !(perSecond >= 0.001)) return new Error("The rate limit must be a number of requests per second, at least 0.001.");
    if (!burstText.trim()) return { per_second: perSecond, burst: Math.ceil(perSecond) };
    const burst = Number(burstText);
    if (!Number.isInteger(burst) || burst < 1) return new Error("The burst must be a whole number, at least 1.");
    return { per_second: perSecond, burst };
  }

  async function setEnabled(pair, enabled) {
    try {
      await request("PATCH", pairsPath(`/keys/${enc(pair.access_key)}`), { key: { enabled } });
      say(`${pairLabel(pair)} ${enabled ? "enabled" : "disabled"}.`);
      await loadPairs();
    } catch (e) { say(`Cannot change ${pairLabel(pair)}: ${e.message}`); }
  }

  // The key being rotated: { pair } or { appcred }.
  let rotating = null;
  function openRotate(target, title, text) {
    rotating = target;
    $("rotate-dialog-title").textContent = title;
    $("rotate-text").textContent = text;
    $("rotate-hours").value = "24";
    openDialog("rotate-dialog");
    $("rotate-hours").focus();
  }

  function rotatePair(pair) {
    openRotate({ pair }, "Rotate AK/SK pair",
      `A new pair replaces ${pairLabel(pair)}, with the same name, description, allowed hosts and expiry. ` +
      "The old pair keeps working for the hours below, so clients can move over, and then expires.");
  }

  function rotateAppcred(cred) {
    openRotate({ appcred: cred }, "Rotate application credential",
      `A new application credential named ${cred.name} replaces this one, with the same roles, access rules and expiry. ` +
      "The old one is renamed and keeps working for the hours below, then expires with its tokens.");
  }

  $("rotate-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("rotate-error");
    const hours = Number($("rotate-hours").value);
    if (!Number.isFinite(hours) || hours < 0 || hours > 8760) {
      error.textContent = "Enter between 0 and 8760 hours.";
      return;
    }
    // One call, one transaction: the replacement and the old key's expiry.
    const body = { grace_period: Math.round(hours * 3600) };
    const { pair, appcred } = rotating;
    try {
      if (pair) {
        const rotated = await request("POST", pairsPath(`/keys/${enc(pair.access_key)}/rotate`), body);
        $("rotate-dialog").close();
        await loadPairs();
        showPairSecret(rotated.access_key, rotated.secret_key, pair.name, "rotated");
      } else {
        const rotated = await request("POST", appcredsPath(`/${enc(appcred.id)}/rotate`), body);
        $("rotate-dialog").close();
        await loadAppcreds();
        showAppcredSecret(rotated.application_credential, "rotated");
      }
    } catch (e) {
      error.textContent = e.message;
    }
  });

  function deletePair(pair) {
    confirmDelete(`Delete AK/SK pair ${pairLabel(pair)}?`,
      "Clients signing with it stop working at once. This cannot be undone.",
      async () => {
        await request("DELETE", pairsPath(`/keys/${enc(pair.access_key)}`));
        say(`Deleted ${pairLabel(pair)}.`);
        await loadPairs();
      });
  }

  let confirmed = null;
  function confirmDelete(title, text, action) {
    confirmed = action;
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    openDialog("confirm-dialog");
    $("confirm-dialog").querySelector("button.cancel").focus();
  }

  $("confirm-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await confirmed();
      $("confirm-dialog").close();
    } catch (e) {
      $("confirm-error").textContent = e.message;
    }
  });

  // ---- the secret dialog -----------------------------------------------

  const DOWNLOADS = [["csv", "CSV"], ["json", "JSON"], ["env", "env"], ["clouds", "AWS credentials"]];

  function secretDialog({ title, warning, idLabel, id, secretLabel, secret, downloads, snippetLabel, snippet, extraLabel, extra }) {
    $("secret-title").textContent = title;
    $("secret-warning").textContent = warning;
    $("secret-id-label").textContent = idLabel;
    $("secret-id").value = id;
    $("secret-value-label").textContent = secretLabel;
    $("secret-value").value = secret;
    $("secret-value").type = "password";
    $("secret-toggle").textContent = "Show";
    $("secret-toggle").setAttribute("aria-pressed", "false");
    $("secret-downloads").replaceChildren(...downloads);
    $("secret-snippet-label").textContent = snippetLabel;
    $("secret-snippet").value = snippet;
    $("secret-extra-field").hidden = !extra;
    $("secret-extra-label").textContent = extraLabel || "";
    $("secret-extra").value = extra || "";
    openDialog("secret-dialog");
    // The first copy button: focusing "Done" would scroll the warning away.
    $("secret-dialog").querySelector("button.copy").focus();
  }

  $("secret-toggle").addEventListener("click", () => {
    const input = $("secret-value");
    const showing = input.type === "text";
    input.type = showing ? "password" : "text";
    $("secret-toggle").textContent = showing ? "Show" : "Hide";
    $("secret-toggle").setAttribute("aria-pressed", String(!showing));
  });

  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", () => {
      const field = $(button.dataset.copy);
      const label = document.querySelector(`label[for="${field.id}"]`);
      copy(field.value, label ? label.textContent : "Text");
    });
  }

  function awsProfile(name, access, secret) {
    const profile = (name || "ironstone").replace(/[^A-Za-z0-9_.-]+/g, "-");
    return `# ~/.aws/credentials\n[${profile}]\naws_access_key_id = ${access}\naws_secret_access_key = ${secret}\n\n` +
      `# then: aws --profile ${profile} --endpoint-url <your S3 or EC2 endpoint> ...\n`;
  }

  function pairDownloads(access) {
    return DOWNLOADS.map(([format, label]) => el("button", {
      type: "button", text: label, "aria-label": `Download ${access} as ${label}`,
      onclick: async () => {
        try {
          const resp = await request("GET", pairsPath(`/download?format=${format}&access_key=${enc(access)}`), undefined, { raw: true });
          const disposition = resp.headers.get("Content-Disposition") || "";
          const match = /filename="([^"]+)"/.exec(disposition);
          saveFile(match ? match[1] : `aksk.${format}`, await resp.blob());
          say(`Downloaded ${label}.`);
        } catch (e) { say(`Cannot download: ${e.message}`); }
      },
    }));
  }

  function showPairSecret(access, secret, name, how) {
    secretDialog({
      title: how === "created" ? "AK/SK pair created" : how === "rotated" ? "AK/SK pair rotated" : `Files for ${name || access}`,
      warning: "Keep the secret key secret. It is stored encrypted, and you and administrators can show it again from this page.",
      idLabel: "Access key", id: access, secretLabel: "Secret key", secret,
      downloads: pairDownloads(access),
      snippetLabel: "AWS CLI profile", snippet: awsProfile(name, access, secret),
      extraLabel: "Shell environment",
      extra: `export AWS_ACCESS_KEY_ID=${access}\nexport AWS_SECRET_ACCESS_KEY=${secret}\n` +
        `export EC2_ACCESS_KEY=${access}\nexport EC2_SECRET_KEY=${secret}\n`,
    });
  }

  async function pairFiles(pair) {
    try {
      showPairSecret(pair.access_key, await secretOf(pair.access_key), pair.name, "files");
    } catch (e) { say(`The secret cannot be shown: ${e.message}`); }
  }

  // ---- application credentials -------------------------------------------

  $("create-appcred").addEventListener("click", () => {
    $("appcred-name").value = "";
    $("appcred-description").value = "";
    $("appcred-rules").value = "";
    $("appcred-unrestricted").checked = false;
    $("appcred-leak").value = "";
    appcredExpiry.set(null);
    const box = $("appcred-roles");
    box.querySelectorAll("label").forEach((l) => l.remove());
    for (const role of state.token.roles) {
      box.append(el("label", { class: "check" },
        el("input", { type: "checkbox", name: "role", value: role.id, checked: true }), ` ${role.name}`));
    }
    openDialog("appcred-dialog");
    $("appcred-name").focus();
  });

  function accessRules(text) {
    const rules = [];
    for (const [n, line] of text.split("\n").entries()) {
      const parts = line.trim().split(/\s+/).filter(Boolean);
      if (!parts.length) continue;
      if (parts.length !== 3) throw new Error(`Access rule on line ${n + 1}: write service type, method and path.`);
      rules.push({ service: parts[0], method: parts[1].toUpperCase(), path: parts[2] });
    }
    return rules;
  }

  $("appcred-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("appcred-error");
    const name = $("appcred-name").value.trim();
    if (!name) { error.textContent = "Give the application credential a name."; return; }
    const expires = appcredExpiry.get();
    if (expires instanceof Error) { error.textContent = expires.message; return; }
    const roles = [...$("appcred-roles").querySelectorAll("input:checked")].map((i) => ({ id: i.value }));
    if (!roles.length) { error.textContent = "Bind at least one role."; return; }
    let rules;
    try { rules = accessRules($("appcred-rules").value); } catch (e) { error.textContent = e.message; return; }
    const body = {
      name, description: $("appcred-description").value.trim() || null, roles,
      unrestricted: $("appcred-unrestricted").checked, expires_at: expires,
    };
    if (rules.length) body.access_rules = rules;
    if ($("appcred-leak").value) body.action_when_leaked = $("appcred-leak").value;
    try {
      const data = await request("POST", appcredsPath(), { application_credential: body });
      $("appcred-dialog").close();
      await loadAppcreds();
      showAppcredSecret(data.application_credential);
    } catch (e) {
      error.textContent = e.message;
    }
  });

  function showAppcredSecret(cred, how = "created") {
    const authUrl = state.endpoints.identity;
    const clouds = `clouds:\n  ${cloudName(cred.name)}:\n    auth_type: v3applicationcredential\n    auth:\n` +
      `      auth_url: ${authUrl}\n      application_credential_id: ${cred.id}\n` +
      `      application_credential_secret: ${cred.secret}\n    identity_api_version: 3\n`;
    const openrc = `export OS_AUTH_TYPE=v3applicationcredential\nexport OS_AUTH_URL=${authUrl}\n` +
      `export OS_IDENTITY_API_VERSION=3\nexport OS_APPLICATION_CREDENTIAL_ID=${cred.id}\n` +
      `export OS_APPLICATION_CREDENTIAL_SECRET=${cred.secret}\n`;
    const file = (name, text, type, label) => el("button", {
      type: "button", text: label, "aria-label": `Download ${label}`,
      onclick: () => { saveFile(name, new Blob([text], { type })); say(`Downloaded ${name}.`); },
    });
    secretDialog({
      title: how === "rotated" ? "Application credential rotated" : "Application credential created",
      warning: "This secret cannot be shown again: Ironstone keeps only its hash. Copy it or download it now.",
      idLabel: "Application credential ID", id: cred.id, secretLabel: "Secret", secret: cred.secret,
      downloads: [
        file("clouds.yaml", clouds, "application/yaml", "clouds.yaml"),
        file(`${cloudName(cred.name)}-openrc.sh`, openrc, "text/plain", "openrc"),
        file(`${cloudName(cred.name)}.json`, JSON.stringify({
          auth_url: authUrl, application_credential_id: cred.id, application_credential_secret: cred.secret,
        }, null, 2) + "\n", "application/json", "JSON"),
      ],
      snippetLabel: "clouds.yaml for the openstack CLI (openstack --os-cloud " + cloudName(cred.name) + " ...)",
      snippet: clouds,
      extraLabel: "Shell environment (openrc)",
      extra: openrc,
    });
  }

  function cloudName(name) {
    return (name || "ironstone").replace(/[^A-Za-z0-9_.-]+/g, "-");
  }

  function deleteAppcred(cred) {
    confirmDelete(`Delete application credential ${cred.name}?`,
      "Tokens already issued from it are revoked, and clients using it stop working at once. This cannot be undone.",
      async () => {
        await request("DELETE", appcredsPath(`/${enc(cred.id)}`));
        say(`Deleted ${cred.name}.`);
        await loadAppcreds();
      });
  }

  start();
})();
