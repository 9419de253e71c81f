// The console's accounts panel: find accounts, see their sessions, deactivate and reactivate them, make and
// unmake operators, and read what operators did (the audit log). Uses console.js's API helpers.
"use strict";

(() => {
  const shared = window.videoflixConsole;
  if (!shared || shared.state !== "staff") return;
  const { api, problem, say } = shared;
  const $ = (id) => document.getElementById(id);
  const PAGE = 50;
  const accounts = new Map();

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : "never";
  }

  function stateOf(account) {
    if (account.is_active) return "active";
    return account.deactivated_at ? `deactivated ${when(account.deactivated_at)}` : "not activated yet";
  }

  function button(action, label) {
    const element = document.createElement("button");
    element.type = "button";
    element.dataset.action = action;
    element.textContent = label;
    return element;
  }

  function row(account) {
    const tr = document.createElement("tr");
    tr.dataset.accountId = String(account.id);
    const cells = [account.email, stateOf(account), account.is_staff ? "operator" : "viewer",
      String(account.sessions), when(account.last_active)];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    tr.cells[1].className = account.is_active ? "state" : "state deactivated";
    const actions = document.createElement("td");
    actions.className = "actions";
    actions.append(account.is_active ? button("deactivate", "Deactivate") : button("activate", "Activate"));
    actions.append(account.is_staff ? button("unstaff", "Remove operator") : button("staff", "Make operator"));
    tr.append(actions);
    return tr;
  }

  async function load() {
    const query = new URLSearchParams({ limit: String(PAGE) });
    const text = $("account-search").elements.q.value.trim();
    if (text) query.set("q", text);
    const response = await api("GET", `/admin/accounts/?${query}`);
    if (!response.ok) return say(await problem(response));
    const list = await response.json();
    accounts.clear();
    $("account-rows").replaceChildren(...list.map((account) => {
      accounts.set(account.id, account);
      return row(account);
    }));
    const total = Number(response.headers.get("X-Total-Count") || list.length);
    $("accounts-more").hidden = total <= list.length;
    $("accounts-more").textContent = `${list.length} of ${total} accounts shown: search to narrow the list.`;
    await Promise.all([loadAudit(), loadWatching()]);
  }

  async function loadWatching() {
    const response = await api("GET", "/admin/watching/");
    if (!response.ok) return;
    const list = await response.json();
    $("watching-rows").replaceChildren(...list.map((playing) => {
      const tr = document.createElement("tr");
      for (const text of [playing.email, playing.title, playing.session, playing.address || "",
        when(playing.started)]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }));
    $("watching-empty").hidden = list.length > 0;
  }

  async function loadAudit() {
    const response = await api("GET", "/admin/audit/?limit=20");
    if (!response.ok) return;
    const verbs = { deactivate: "deactivated", activate: "activated", staff: "made an operator",
      unstaff: "removed as operator" };
    $("audit-rows").replaceChildren(...(await response.json()).map((entry) => {
      const li = document.createElement("li");
      li.textContent = `${when(entry.at)}: ${entry.actor} ${verbs[entry.action] || entry.action} ${entry.email}`;
      return li;
    }));
  }

  const CHANGES = {
    deactivate: [{ is_active: false }, "deactivated: every login session of it ended"],
    activate: [{ is_active: true }, "active again"],
    staff: [{ is_staff: true }, "an operator now"],
    unstaff: [{ is_staff: false }, "no longer an operator"],
  };

  $("account-rows").addEventListener("click", async (event) => {
    const target = event.target.closest("button[data-action]");
    if (!target) return;
    const account = accounts.get(Number(target.closest("tr").dataset.accountId));
    if (!account) return;
    const [body, outcome] = CHANGES[target.dataset.action];
    if (target.dataset.action === "deactivate"
        && !window.confirm(`Deactivate ${account.email}? Every login session of it ends now.`)) return;
    const response = await api("PATCH", `/admin/accounts/${account.id}/`, body);
    say(response.ok ? `${account.email} is ${outcome}.` : await problem(response));
    if (response.status === 401 || response.status === 403) return window.location.reload();
    load();
  });

  let typing = null;
  $("account-search").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(load, 250);
  });
  $("account-search").addEventListener("submit", (event) => event.preventDefault());

  load();
  setInterval(() => loadWatching().catch(() => {}), 15000); // who watches changes by itself
})();
