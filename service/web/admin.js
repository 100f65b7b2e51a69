/* threadlog moderation console. Signs in with a moderator key (kept in sessionStorage, this
   tab only) and does everything through the public API: the held and reported queues,
   approve, reject, delete, restore, ban, and the audit log. Only the server's sanitised
   body_html is inserted as HTML; every other value goes in as text. */
(() => {
"use strict";
const $ = (selector) => document.querySelector(selector);
const REASONS = ["spam", "offensive", "off-topic", "other"];
const MATCHES = [["email", "by email"], ["ip", "by IP address"], ["name_ip", "by name and IP"]];
const DURATIONS = [["", "for ever"], ["1", "for a day"], ["7", "for a week"], ["30", "for 30 days"]];
const state = { site: "", key: "", view: "held", next: null };
// What a moderator can do to a comment in each state (as the service decides it).
const ACTIONS = {
  held: ["approve", "reject", "delete"],
  published: ["approve", "reject", "delete"],
  deleted: ["restore"],
  rejected: ["restore"],
};

const el = (tag, props, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "text") node.textContent = value;
    else if (value != null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child != null));
  return node;
};

function say(message, bad) {
  $("#status").textContent = message;
  $("#status").className = bad ? "status bad" : "status";
  $("#status").setAttribute("role", bad ? "alert" : "status");
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.key}` };
  if (body) headers["Content-Type"] = "application/json";
  const response = await fetch(`/v1/sites/${encodeURIComponent(state.site)}${path}`, {
    method, headers, body: body ? JSON.stringify(body) : undefined,
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error((data && (data.detail || data.title)) || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function show(signedIn) {
  $("#signin").hidden = signedIn;
  $("#console").hidden = !signedIn;
  $("#signout").hidden = !signedIn;
  $("#who").textContent = signedIn ? `site ${state.site}` : "";
}

async function signIn(site, key) {
  state.site = site;
  state.key = key;
  try {
    await api("GET", "/moderation/queue?state=held&limit=1");
  } catch (error) {
    show(false);
    say(error.status === 401 || error.status === 403
      ? "That key is not a moderator key of this site." : `Could not sign in: ${error.message}`, true);
    return;
  }
  sessionStorage.setItem("threadlog:console", JSON.stringify({ site, key }));
  show(true);
  say("");
  open("held");
}

function signOut() {
  sessionStorage.removeItem("threadlog:console");
  state.key = "";
  show(false);
  $("#panel").textContent = "";
  say("Signed out.");
}

function open(view) {
  state.view = view;
  state.next = null;
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === view));
  }
  $("#panel").textContent = "";
  say("");
  load();
}

async function load() {
  const cursor = state.next ? `&cursor=${encodeURIComponent(state.next)}` : "";
  try {
    if (state.view === "audit") {
      const page = await api("GET", `/audit?limit=50${cursor}`);
      renderAudit(page.events);
      state.next = page.next || null;
    } else {
      const page = await api("GET", `/moderation/queue?state=${state.view}${cursor}`);
      const items = page.comments;
      if (!items.length && !state.next) $("#panel").append(el("p", { text: "Nothing here." }));
      items.forEach((item) => $("#panel").append(renderItem(item)));
      state.next = page.next || null;
    }
  } catch (error) {
    if (error.status === 401) return signOut();
    say(`Could not load: ${error.message}`, true);
  }
  $("#more").hidden = !state.next;
}

function renderItem(item) {
  const id = item.id;
  const author = item.author.name;
  const body = el("div", { class: "body" });
  body.innerHTML = item.body_html || ""; // sanitised by the server: the only HTML inserted
  const reason = el("select", { "aria-label": "Reason to reject" },
    ...REASONS.map((value) => el("option", { value, text: value })));
  const match = el("select", { "aria-label": "Ban matching" },
    ...MATCHES.map(([value, text]) => el("option", { value, text })));
  const duration = el("select", { "aria-label": "Ban duration" },
    ...DURATIONS.map(([value, text]) => el("option", { value, text })));
  const purge = el("input", { type: "checkbox", "aria-label": "Also remove the author's comments" });
  const card = el("article", { class: "item", "data-id": id, "aria-label": `Comment by ${author}` },
    el("div", { class: "meta" },
      el("span", { class: "who", text: author }),
      el("span", { text: `on ${item.post_id}` }),
      el("time", { datetime: item.created_at || "", text: item.created_at ? new Date(item.created_at).toLocaleString() : "" }),
      el("span", { class: "state", text: item.status }),
      item.reason ? el("span", { text: `reason: ${item.reason}` }) : null,
      item.reports ? el("span", { text: `${item.reports} report(s)` }) : null),
    body,
    el("div", { class: "actions", "data-for": "state" }),
    el("div", { class: "actions" },
      match, duration, el("label", {}, purge, "remove their comments"),
      button("Ban author", () => ban(card, id, match.value, duration.value, purge.checked))));
  offer(card, item.status, reason);
  return card;
}

// Only the actions that apply to the comment's state. A deleted or rejected comment stays on
// the card, with Restore, until the moderator moves on.
function offer(card, status, reason) {
  const id = card.dataset.id;
  const all = {
    approve: () => button("Approve", () => act(card, "POST", `/comments/${id}/approve`, null, "Approved.")),
    reject: () => [reason, button("Reject", () => act(card, "POST", `/comments/${id}/reject`, { reason: reason.value }, "Rejected.", "rejected", reason))],
    delete: () => button("Delete", () => act(card, "DELETE", `/comments/${id}`, null, "Deleted.", "deleted", reason)),
    restore: () => button("Restore", () => act(card, "POST", `/comments/${id}/restore`, null, "Restored.")),
  };
  const actions = card.querySelector("[data-for=state]");
  actions.replaceChildren(...(ACTIONS[status] || []).flatMap((name) => all[name]()));
  card.querySelector(".state").textContent = status;
}

function button(text, onClick) {
  const node = el("button", { type: "button", text });
  node.addEventListener("click", onClick);
  return node;
}

async function act(card, method, path, body, done, becomes, reason) {
  try {
    await api(method, path, body);
    if (becomes) offer(card, becomes, reason);
    else card.remove();
    say(done);
  } catch (error) {
    say(`Failed: ${error.message}`, true);
  }
}

async function ban(card, commentId, match, days, removeComments) {
  const body = { comment_id: commentId, match, remove_comments: removeComments };
  if (days) body.expires_at = new Date(Date.now() + Number(days) * 864e5).toISOString();
  try {
    await api("POST", "/bans", body);
    say(`Banned the author (${match}).`);
    if (removeComments) card.remove();
  } catch (error) {
    say(`Ban failed: ${error.message}`, true);
  }
}

function renderAudit(entries) {
  let table = $("#panel table");
  if (!table) {
    table = el("table", {}, el("thead", {}, el("tr", {},
      ...["When", "Who", "Action", "Comment", "Details"].map((text) => el("th", { scope: "col", text })))),
    el("tbody"));
    $("#panel").append(table);
  }
  for (const entry of entries) {
    const { at: when, actor, type, comment_id: comment, reason, data } = entry;
    const { site, post_id: post, comment_id: _, reason: __, ...details } = data;
    const rest = { post, reason, ...details };
    const who = typeof actor === "object" && actor ? actor.key_id || actor.kind || JSON.stringify(actor) : actor || "";
    table.tBodies[0].append(el("tr", {},
      el("td", {}, el("time", { datetime: when, text: when ? new Date(when).toLocaleString() : "" })),
      el("td", { text: String(who) }),
      el("td", { text: type }),
      el("td", {}, el("code", { text: comment || "" })),
      el("td", {}, el("code", { text: Object.entries(rest).filter(([, value]) => value != null)
        .map(([name, value]) => `${name}: ${typeof value === "object" ? JSON.stringify(value) : value}`).join("; ") }))));
  }
  if (!entries.length && !table.tBodies[0].rows.length) $("#panel").append(el("p", { text: "No entries yet." }));
}

$("#signin").addEventListener("submit", (event) => {
  event.preventDefault();
  signIn($("#site").value.trim(), $("#key").value.trim());
});
$("#signout").addEventListener("click", signOut);
$("#more").addEventListener("click", load);
for (const tab of document.querySelectorAll("[role=tab]")) tab.addEventListener("click", () => open(tab.dataset.view));

const kept = JSON.parse(sessionStorage.getItem("threadlog:console") || "null");
const fromUrl = new URLSearchParams(location.search).get("site");
if (kept) signIn(kept.site, kept.key);
else {
  show(false);
  if (fromUrl) $("#site").value = fromUrl;
}
})();
