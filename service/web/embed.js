// threadlog comments: <div id="threadlog" data-site="…" data-post="…"></div> and this script.
// Plain JavaScript in a Shadow DOM. Only the server's sanitised body_html is ever inserted as
// HTML; names, dates and every other text go in as text.
(() => {
"use strict";
const me = document.currentScript;
const API = (me && me.dataset.api) || (me && me.src ? new URL(me.src).origin : location.origin);
const DEPTH = 4;
const LIVE = ["comment.posted", "comment.replied", "comment.deleted", "comment.held",
  "comment.approved", "comment.rejected", "comment.restored", "comment.edited", "comment.erased"];
const HELD_DAYS = 14;
const RETRIES = 4;
const STRINGS = {
  en: {
    notify: "Email me replies", heading: "Comments", "count-zero": "No comments yet", "count-one": "{n} comment",
    "count-other": "{n} comments", reply: "Reply", "reply-to": "Reply to {name}",
    delete: "Delete", "confirm-delete": "Really delete?", cancel: "Cancel", name: "Name",
    email: "Email (optional, never shown)", website: "Website (optional)", comment: "Comment",
    submit: "Post comment", "submit-reply": "Post reply", "load-more": "Load more comments",
    "removed-author": "Removed by its author", "removed-moderator": "Removed by a moderator",
    awaiting: "Awaiting moderation", error: "Something went wrong: {detail}",
    posted: "Your comment was posted.", held: "Your comment awaits moderation.",
    deleted: "Your comment was deleted.", "new-comment": "New comment by {name}",
    loading: "Loading comments…", honeypot: "Leave this field empty",
    "comment-by": "Comment by {name}", "form-label": "Write a comment", edited: "edited",
    "removed-erased": "Removed at the author's request", forget: "Forget my comments on this site",
    "confirm-forget": "Really erase them all? It cannot be undone", forgotten: "Comments erased: {n}.",
    "needs-moderator": "Other comments on this site were written with the same email: the site's moderators can erase them all.",
    download: "Download my comments", edit: "Edit", save: "Save",
    "edit-closed": "The time to edit this comment is over.",
    wait: "You are commenting quickly: try again in {n} seconds.",
    missing: "There are no comments here: the comment service does not know this page's post.",
    gone: "This post was removed, and its comments with it.",
  },
  nl: {
    notify: "Mail mij antwoorden", heading: "Reacties", "count-zero": "Nog geen reacties", "count-one": "{n} reactie",
    "count-other": "{n} reacties", reply: "Beantwoorden", "reply-to": "Antwoord aan {name}",
    delete: "Verwijderen", "confirm-delete": "Echt verwijderen?", cancel: "Annuleren",
    name: "Naam", email: "E-mail (optioneel, nooit getoond)", website: "Website (optioneel)",
    comment: "Reactie", submit: "Plaats reactie", "submit-reply": "Plaats antwoord",
    "load-more": "Meer reacties laden", "removed-author": "Verwijderd door de schrijver",
    "removed-moderator": "Verwijderd door een moderator", awaiting: "Wacht op moderatie",
    error: "Er ging iets mis: {detail}", posted: "Je reactie is geplaatst.",
    held: "Je reactie wacht op moderatie.", deleted: "Je reactie is verwijderd.",
    "new-comment": "Nieuwe reactie van {name}", loading: "Reacties laden…",
    honeypot: "Laat dit veld leeg", "comment-by": "Reactie van {name}",
    "form-label": "Schrijf een reactie", edited: "bewerkt",
    "removed-erased": "Verwijderd op verzoek van de schrijver", forget: "Vergeet mijn reacties op deze site",
    "confirm-forget": "Echt allemaal wissen? Dit kan niet ongedaan worden gemaakt", forgotten: "Reacties gewist: {n}.",
    "needs-moderator": "Andere reacties op deze site zijn met hetzelfde e-mailadres geschreven: de moderatoren van de site kunnen ze allemaal wissen.",
    download: "Download mijn reacties", edit: "Bewerken", save: "Opslaan",
    "edit-closed": "De tijd om deze reactie te bewerken is voorbij.",
    wait: "Je reageert snel: probeer het over {n} seconden opnieuw.",
    missing: "Hier zijn geen reacties: de reactiedienst kent het bericht van deze pagina niet.",
    gone: "Dit bericht is verwijderd, en de reacties ook.",
  },
};
const CSS = `
:host{all:initial;display:block;font-family:var(--threadlog-font,inherit);font-size:var(--threadlog-font-size,1rem);line-height:1.5;
--t:var(--threadlog-text,#1f2328);--m:var(--threadlog-muted,#59636e);--b:var(--threadlog-background,#fff);
--s:var(--threadlog-surface,#f6f8fa);--l:var(--threadlog-border,#d1d9e0);--a:var(--threadlog-accent,#0969da);
--x:var(--threadlog-accent-text,#fff);--r:var(--threadlog-radius,6px);color:var(--t)}
@media (prefers-color-scheme:dark){:host{--t:var(--threadlog-text,#e6edf3);--m:var(--threadlog-muted,#9198a1);
--b:var(--threadlog-background,#0d1117);--s:var(--threadlog-surface,#151b23);--l:var(--threadlog-border,#3d444d);
--a:var(--threadlog-accent,#4493f8);--x:var(--threadlog-accent-text,#fff)}}
*{box-sizing:border-box}h2{font-size:1.25em;margin:0 0 .75em}
ol{list-style:none;margin:0;padding:0}.replies{padding-left:var(--threadlog-indent,1.5em);border-left:2px solid var(--l)}
.flat>.replies{padding-left:0;border-left:0}
article{margin:.5em 0;padding:.6em .8em;background:var(--s);border:1px solid var(--l);border-radius:var(--r)}
.meta{display:flex;gap:.6em;flex-wrap:wrap;align-items:baseline}.author{font-weight:600;color:var(--t)}
time,.muted{color:var(--m);font-size:.875em}.body{overflow-wrap:anywhere}.body p{margin:.3em 0}
.body a,.author[href]{color:var(--a)}.tomb{font-style:italic;color:var(--m);margin:.2em 0}
.edited{font-size:.8em;opacity:.75}.held{font-size:.8em;padding:0 .5em;border-radius:1em;background:var(--a);color:var(--x)}
button{font:inherit;font-size:.875em;cursor:pointer;border-radius:var(--r);border:1px solid var(--l);
background:var(--b);color:var(--t);padding:.2em .7em}button.primary{background:var(--a);color:var(--x);border-color:var(--a)}
button:focus-visible,input:focus-visible,textarea:focus-visible,a:focus-visible{outline:2px solid var(--a);outline-offset:2px}
.actions{display:flex;gap:.5em;margin-top:.3em}
form{display:grid;gap:.5em;margin:.8em 0}label{display:grid;gap:.2em;font-size:.875em;color:var(--m)}
input,textarea{font:inherit;color:var(--t);background:var(--b);border:1px solid var(--l);border-radius:var(--r);padding:.4em;width:100%;min-width:0}
textarea{min-height:6em;resize:vertical}.trap{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
[hidden]{display:none!important}.notify{display:none}.mail .notify{display:flex;gap:.4em}.notify input{width:auto}.row{display:flex;flex-wrap:wrap;gap:.5em}.row>label{flex:1 1 12em;min-width:0}.status{min-height:1.5em;color:var(--m)}.status.bad{color:#cf222e}.more{margin:.8em 0}`;

const store = {
  get(key, fallback) {
    try { return JSON.parse(localStorage.getItem("threadlog:" + key)) || fallback; } catch (e) { return fallback; }
  },
  set(key, value) {
    try { localStorage.setItem("threadlog:" + key, JSON.stringify(value)); } catch (e) { /* private mode */ }
  },
};

const el = (tag, props, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child != null));
  return node;
};

class Widget {
  constructor(host) {
    this.host = host;
    this.site = host.dataset.site;
    this.post = host.dataset.post;
    const lang = (host.dataset.lang || (host.closest("[lang]") || {}).lang || navigator.language || "en");
    this.lang = lang.toLowerCase().split("-")[0];
    this.strings = STRINGS[this.lang] || STRINGS.en;
    this.base = `${API}/v1/sites/${encodeURIComponent(this.site)}`;
    this.thread = `/posts/${encodeURIComponent(this.post)}/comments`;
    this.comments = new Map();
    this.gone = new Set();
    this.waiting = [];
    this.total = 0;
    this.next = null;
    this.loaded = false;
    this.tokens = store.get(`${this.site}:tokens`, {});
    // Until when each own comment may be edited, and its text as written (the service shows
    // only the rendered HTML).
    this.edits = store.get(`${this.site}:edits`, {});
    this.root = host.attachShadow({ mode: "open" });
    this.count = el("span", { class: "count", text: this.t("loading") });
    this.list = el("ol", { class: "comments" });
    this.more = el("button", { class: "more", type: "button", hidden: true, text: this.t("load-more") });
    this.status = el("p", { class: "status", role: "status", "aria-live": "polite", tabindex: "-1" });
    // What this browser wrote on the site (the comments it holds tokens for): erase or export it.
    this.own = el("div", { class: "actions" },
      el("button", { type: "button", "data-act": "forget", text: this.t("forget") }),
      el("button", { type: "button", "data-act": "download", text: this.t("download") }));
    this.root.append(
      el("style", { text: CSS }),
      el("section", { "aria-labelledby": "threadlog-heading" },
        el("h2", { id: "threadlog-heading" }, this.t("heading"), " · ", this.count),
        this.list, this.more, this.status, this.form(null), this.own));
    this.keep();
    this.more.addEventListener("click", () => this.load());
    this.root.addEventListener("click", (event) => this.clicked(event));
    this.live();
  }

  t(key, values) {
    let text = this.host.getAttribute("data-text-" + key) ?? this.strings[key] ?? STRINGS.en[key];
    for (const [name, value] of Object.entries(values || {})) text = text.split(`{${name}}`).join(value);
    return text;
  }

  async call(method, path, body, headers) {
    const init = { method, headers: { ...headers } };
    // With a read replica, reads pass our last write's position: we see it at once.
    if (method === "GET" && this.position) path += (path.includes("?") ? "&" : "?") + "position=" + this.position;
    if (body) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    // A write with an Idempotency-Key is sent again after a 503 (the database away) or a lost
    // answer: the service stores it once and answers the first outcome.
    const tries = init.headers["Idempotency-Key"] ? RETRIES : 0;
    let response;
    for (let n = 0; ; n++) {
      response = await fetch(this.base + path, init).catch((error) => { if (n >= tries) throw error; });
      if (n >= tries || (response && response.status !== 503)) break;
      const after = response && Number(response.headers.get("Retry-After"));
      await new Promise((done) => setTimeout(done, 1000 * Math.min(8, Math.max(after || 0, 2 ** n / 2))));
    }
    this.position = response.headers.get("Threadlog-Position") || this.position;
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      throw Object.assign(new Error((data && data.detail) || response.statusText || response.status),
        { status: response.status, type: data && data.type, retry: Number(response.headers.get("Retry-After")) });
    }
    return { data };
  }

  fail(error) {
    if (error.status === 429) this.say("wait", { n: error.retry || 60 }, true);
    else if (/edit-window-closed$/.test(error.type)) this.say("edit-closed", null, true);
    else this.say("error", { detail: error.message }, true);
  }

  // The counts gadget on the same page shows what the widget shows, live.
  showCount() {
    const n = this.total;
    this.count.textContent = this.t(n === 0 ? "count-zero" : n === 1 ? "count-one" : "count-other", { n });
    document.dispatchEvent(new CustomEvent("threadlog:count", { detail: { site: this.site, post: this.post, count: n } }));
  }

  say(key, values, bad) {
    this.status.textContent = this.t(key, values);
    this.status.className = bad ? "status bad" : "status";
    this.status.setAttribute("role", bad ? "alert" : "status");
  }

  // Open the live stream first and load the thread once it is `ready`, so nothing falls
  // between the page and the stream; without a stream, load anyway.
  live() {
    const fallback = setTimeout(() => this.loaded || this.load(), 3000);
    if (!window.EventSource) return;
    const source = this.source = new EventSource(`${this.base}${this.thread}/stream`);
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED && !this.loaded) this.load();
    });
    source.addEventListener("ready", () => {
      clearTimeout(fallback);
      if (!this.loaded) this.load();
    });
    // Until the first page is in, what arrives waits, so it lands after that page.
    const on = (type, handle) => source.addEventListener(type, (event) => {
      const data = JSON.parse(event.data);
      if (this.waiting) this.waiting.push(() => handle(data));
      else handle(data);
    });
    for (const type of LIVE) on(type, (view) => this.changed(view));
  }

  // A live message holds the comment as the thread shows it now: show it so.
  changed(view) {
    const known = this.comments.get(view.id);
    if (this.gone.has(view.id) || (known && known.held && view.deleted)) return;
    if (view.deleted) {
      if (!known || known.deleted) return;
      this.total = Math.max(0, this.total - 1);
      this.showCount();
      this.remove(known, view.deleted);
    } else if (known && known.deleted) {
      known.deleted = null;
      known.view = view;
      this.fill(known);
      this.total += 1;
      this.showCount();
    } else if (known && !known.held) {
      known.view = view;
      this.fill(known);
    } else this.arrived(view);
  }

  async load() {
    const first = !this.loaded;
    this.loaded = true;
    this.more.disabled = true;
    try {
      const query = `?limit=50${this.next ? "&cursor=" + encodeURIComponent(this.next) : ""}`;
      const { data } = await this.call("GET", this.thread + query);
      this.total = data.total;
      this.next = data.next;
      // Offered only when the server mails replies (see README "Email").
      this.own.parentNode.className = data.mail ? "mail" : "";
      // A page counts replies too, so it may open inside a thread: such a reply names its
      // parent, which an earlier page showed.
      for (const comment of data.comments) {
        this.add(comment, comment.parent_id ? this.comments.get(comment.parent_id) || null : null);
      }
      if (first) this.showHeld();
      if (first) this.reveal();
      this.showCount();
      if (first) this.waiting.splice(0).forEach((handle) => handle());
      this.waiting = null;
    } catch (error) {
      if (first && (error.status === 404 || error.status === 410)) return this.missing(error.status);
      this.fail(error);
      if (first) this.loaded = false;
    }
    this.more.hidden = !this.next;
    this.more.disabled = false;
  }

  // A link to one comment (`#comment-<id>`: feeds, the recent gadget, mail) shows it.
  reveal() {
    const hash = decodeURIComponent(location.hash);
    const shown = hash.startsWith("#comment-") && this.comments.get(hash.slice(9));
    if (!shown) return;
    shown.article.setAttribute("tabindex", "-1");
    shown.article.scrollIntoView({ block: "center" });
    shown.article.focus();
  }

  // No thread to show: one message instead of the widget.
  missing(status) {
    if (this.source) this.source.close();
    const section = this.root.querySelector("section");
    section.textContent = "";
    section.append(el("h2", { id: "threadlog-heading", text: this.t("heading") }),
      el("p", { class: "status", role: "status", text: this.t(status === 410 ? "gone" : "missing") }));
  }

  // A comment view (with nested replies) into the map and the page, under its parent.
  add(view, parent, held) {
    if (this.comments.has(view.id)) {
      const old = this.comments.get(view.id);
      if (!old.held || held) return old;
      old.node.remove();
      this.comments.delete(view.id);
      if (old.parent) old.parent.kids = old.parent.kids.filter((kid) => kid !== old);
      this.dropHeld(view.id);
    }
    const depth = parent ? parent.depth + 1 : 0;
    const comment = { id: view.id, parent, depth, kids: [], deleted: view.deleted, held, view };
    comment.node = this.render(comment);
    this.comments.set(view.id, comment);
    (parent ? parent.replies : this.list).append(comment.node);
    if (parent) parent.kids.push(comment);
    for (const reply of view.replies || []) this.add(reply, comment);
    return comment;
  }

  render(comment) {
    const view = comment.view;
    const node = el("li", { class: comment.depth >= DEPTH ? "comment flat" : "comment", "data-id": view.id });
    comment.replies = el("ol", { class: "replies" });
    comment.article = el("article", {});
    this.fill(comment);
    node.append(comment.article, comment.replies);
    return node;
  }

  fill(comment) {
    const { view, article } = comment;
    article.textContent = "";
    if (comment.deleted) {
      const why = this.t(comment.deleted.erased ? "removed-erased" : `removed-${comment.deleted.by}`);
      article.setAttribute("aria-label", why);
      article.append(el("p", { class: "tomb", text: why }));
      return;
    }
    const name = view.author.name;
    const website = view.author.website;
    const author = website && /^https?:\/\//i.test(website)
      ? el("a", { class: "author", href: website, rel: "nofollow ugc noopener", text: name })
      : el("span", { class: "author", text: name });
    const when = new Date(view.created_at);
    const time = el("time", { datetime: view.created_at, text: when.toLocaleString(this.lang, { dateStyle: "medium", timeStyle: "short" }) });
    const body = el("div", { class: "body" });
    // Sanitised by the server (nh3): the only HTML inserted.
    body.innerHTML = view.body_html;
    const actions = el("div", { class: "actions" },
      comment.held ? null : el("button", { type: "button", "data-act": "reply", "aria-label": this.t("reply-to", { name }), text: this.t("reply") }),
      this.editable(view.id) ? el("button", { type: "button", "data-act": "edit", text: this.t("edit") }) : null,
      this.tokens[view.id] ? el("button", { type: "button", "data-act": "delete", text: this.t("delete") }) : null);
    article.setAttribute("aria-label", this.t("comment-by", { name }));
    article.append(
      el("div", { class: "meta" }, author, time, view.edited_at ? el("span", { class: "edited", text: this.t("edited") }) : null,
        comment.held ? el("span", { class: "held", text: this.t("awaiting") }) : null),
      body, actions);
  }

  clicked(event) {
    const button = event.target.closest("button[data-act]");
    const act = button && button.dataset.act;
    if (act === "forget") this.arm(button, "confirm-forget", () => this.mine(button, "/erasures"));
    if (act === "download") this.mine(button, "/authors/export");
    if (!button || !button.closest("li")) return;
    const comment = this.comments.get(button.closest("li").dataset.id);
    if (act === "reply") this.openReply(comment);
    if (act === "cancel") this.closeReply(comment);
    if (act === "delete") this.arm(button, "confirm-delete", () => this.deleteOwn(comment, button));
    if (act === "edit") this.openEdit(comment);
    if (act === "cancel-edit") this.fill(comment);
  }

  editable(id) {
    const edit = this.edits[id];
    return this.tokens[id] && edit && edit.until > Date.now();
  }

  // The author's text in place of the comment, to change and save (PATCH, with the token).
  openEdit(comment) {
    const area = el("textarea", { name: "body", required: true, maxlength: "10000", "aria-label": this.t("comment"), text: this.edits[comment.id].body });
    const form = el("form", { "aria-label": this.t("edit") }, area,
      el("div", { class: "row" }, el("button", { type: "submit", class: "primary", text: this.t("save") }),
        el("button", { type: "button", "data-act": "cancel-edit", text: this.t("cancel") })));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveEdit(comment, area.value, form);
    });
    comment.article.querySelector(".body").replaceWith(form);
    comment.article.querySelector(".actions").hidden = true;
    area.focus();
  }

  async saveEdit(comment, body, form) {
    form.querySelector("button[type=submit]").disabled = true;
    try {
      const { data } = await this.call("PATCH", `/comments/${comment.id}`, { body }, { "X-Delete-Token": this.tokens[comment.id] });
      comment.view = { ...comment.view, body_html: data.body_html, edited_at: data.edited_at };
      this.edits[comment.id].body = body;
    } catch (error) {
      if (/edit-window-closed$/.test(error.type)) delete this.edits[comment.id];
      this.fail(error);
    }
    this.keep();
    this.fill(comment);
  }

  // A button that destroys asks first: its first click turns it into the question.
  arm(button, question, then) {
    if (button.dataset.armed) return then();
    button.dataset.armed = "1";
    button.textContent = this.t(question);
  }

  disarm(button) {
    delete button.dataset.armed;
    button.textContent = this.t(button.dataset.act);
  }

  openReply(comment) {
    if (this.replying) this.closeReply(this.replying);
    this.replying = comment;
    comment.replyForm = this.form(comment);
    comment.article.after(comment.replyForm);
    comment.replyForm.querySelector("textarea").focus();
  }

  closeReply(comment) {
    if (comment.replyForm) comment.replyForm.remove();
    comment.replyForm = null;
    this.replying = null;
    const back = comment.article.querySelector("[data-act=reply]");
    if (back) back.focus();
  }

  form(parent) {
    const id = parent ? "r" + parent.id : "new";
    const saved = store.get("author", {});
    const field = (name, label, props) => el("label", { for: `${id}-${name}` }, label,
      el(props.tag || "input", { id: `${id}-${name}`, name, ...props, tag: null }));
    const form = el("form", { "aria-label": parent ? this.t("reply-to", { name: parent.view.author.name }) : this.t("form-label") },
      field("name", this.t("name"), { required: true, maxlength: "100", autocomplete: "name", value: saved.name || "" }),
      el("div", { class: "row" },
        field("email", this.t("email"), { type: "email", maxlength: "254", autocomplete: "email", value: saved.email || "" }),
        field("website", this.t("website"), { type: "url", maxlength: "2048", autocomplete: "url", value: saved.website || "" })),
      el("label", { class: "notify" }, el("input", { type: "checkbox", name: "notify" }), this.t("notify")),
      el("div", { class: "trap", "aria-hidden": "true" },
        field("homepage", this.t("honeypot"), { tabindex: "-1", autocomplete: "off" })),
      field("body", this.t("comment"), { tag: "textarea", required: true, maxlength: "10000" }),
      el("div", { class: "row" },
        el("button", { type: "submit", class: "primary", text: this.t(parent ? "submit-reply" : "submit") }),
        parent ? el("button", { type: "button", "data-act": "cancel", text: this.t("cancel") }) : null));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit(form, parent);
    });
    return form;
  }

  async submit(form, parent) {
    const value = (name) => form.elements[name].value.trim();
    // Only robots fill the hidden field.
    if (value("homepage")) return;
    const author = { name: value("name") };
    if (value("email")) author.email = value("email");
    if (value("website")) author.website = value("website");
    store.set("author", author);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      // One key per comment, kept until it is posted: sending again after a lost answer
      // cannot post it twice.
      form.key = form.key || (window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2));
      const { data } = await this.call("POST", this.thread,
        { author, body: form.elements.body.value, parent_id: parent ? parent.id : null, notify: form.notify.checked }, { "Idempotency-Key": form.key });
      const { delete_token: token, status, editable_until: until, ...view } = data;
      this.tokens[view.id] = token;
      if (until) this.edits[view.id] = { until: Date.parse(until), body: form.elements.body.value };
      this.keep();
      const held = status === "held";
      if (held) this.keepHeld(view);
      else if (!this.comments.has(view.id)) {
        this.total += 1;
        this.showCount();
      }
      form.elements.body.value = "";
      form.key = null;
      if (parent) this.closeReply(parent);
      const shown = this.add(view, parent, held);
      // The stream may have shown it first, without Delete.
      if (!shown.held) this.fill(shown);
      this.say(held ? "held" : "posted");
      shown.article.setAttribute("tabindex", "-1");
      shown.article.focus();
    } catch (error) {
      this.fail(error);
    }
    button.disabled = false;
  }

  async deleteOwn(comment, button) {
    button.disabled = true;
    try {
      // 409: it was deleted already (by a moderator, or in another tab); show it so.
      await this.call("DELETE", `/comments/${comment.id}`, null, { "X-Delete-Token": this.tokens[comment.id] })
        .catch((error) => { if (error.status !== 409) throw error; });
      if (!comment.deleted && !comment.held) {
        this.total = Math.max(0, this.total - 1);
        this.showCount();
      }
      this.forget(comment.id);
      this.remove(comment, { by: "author" });
      this.say("deleted");
    } catch (error) {
      button.disabled = false;
      this.fail(error);
    }
  }

  keep() {
    const now = Date.now();
    for (const id in this.edits) if (!(this.edits[id].until > now && this.tokens[id])) delete this.edits[id];
    store.set(`${this.site}:edits`, this.edits);
    store.set(`${this.site}:tokens`, this.tokens);
    this.own.hidden = !Object.keys(this.tokens).length;
  }

  // The comments this browser holds tokens for on the site, erased (the service destroys
  // their data keys: names and words go from every thread, feed and copy for good) or
  // exported: the service's JSON document, saved as a file.
  async mine(button, path) {
    button.disabled = true;
    try {
      const { data } = await this.withTokens(path);
      if (data.format) {
        const file = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
        const link = el("a", { href: URL.createObjectURL(file), download: `comments-${this.site}.json` });
        link.click();
        setTimeout(() => URL.revokeObjectURL(link.href), 6e4);
      } else {
        this.tokens = {};
        this.keep();
        store.set(`${this.site}:held`, []);
        // Forgotten here too: the name, email and website the form was filled in with.
        try { localStorage.removeItem("threadlog:author"); } catch (e) { /* private mode */ }
        for (const form of this.root.querySelectorAll("form"))
          for (const name of ["name", "email", "website"]) form.elements[name].value = "";
        await this.reload();
        this.say("forgotten", { n: data.erased });
        this.status.focus();
      }
    } catch (error) {
      if (/erasure-needs-moderator$/.test(error.type)) this.say("needs-moderator", null, true);
      else this.fail(error);
    }
    button.disabled = false;
    this.disarm(button);
  }

  // Another tab may have added tokens. One whose comment was erased since (by a moderator,
  // say) proves nothing and makes the service refuse them all (403): each is then asked
  // about alone, those refused are let go, and the rest are sent once more.
  async withTokens(path) {
    this.tokens = { ...this.tokens, ...store.get(`${this.site}:tokens`, {}) };
    const send = () => this.call("POST", path, { comments: Object.entries(this.tokens).map(
      ([comment_id, delete_token]) => ({ comment_id, delete_token })) });
    try {
      return await send();
    } catch (error) {
      if (error.status !== 403) throw error;
      for (const [comment_id, delete_token] of Object.entries(this.tokens)) {
        await this.call("POST", "/authors/export", { comments: [{ comment_id, delete_token }] })
          .catch((refused) => refused.status === 403 && delete this.tokens[comment_id]);
      }
      this.keep();
      if (!Object.keys(this.tokens).length) throw error;
      return send();
    }
  }

  // The thread as the service shows it now, from its first page.
  reload() {
    this.comments.clear();
    this.list.textContent = "";
    this.next = this.replying = null;
    return this.load();
  }

  forget(id) {
    this.gone.add(id);
    delete this.tokens[id];
    this.keep();
    this.dropHeld(id);
  }

  dropHeld(id) {
    const held = store.get(`${this.site}:held`, []).filter((entry) => entry.view.id !== id);
    store.set(`${this.site}:held`, held);
  }

  // A deleted comment stays as a tombstone while a visible reply hangs below it.
  remove(comment, deleted) {
    comment.deleted = deleted;
    const alive = (c) => !c.deleted || c.kids.some(alive);
    let current = comment;
    while (current && !alive(current)) {
      current.node.remove();
      this.comments.delete(current.id);
      if (current.parent) current.parent.kids = current.parent.kids.filter((kid) => kid !== current);
      current = current.parent;
    }
    if (current === comment) this.fill(comment);
  }

  arrived(view) {
    if (this.comments.has(view.id) && !this.comments.get(view.id).held) return;
    const wasHeld = this.comments.has(view.id);
    this.total += 1;
    this.showCount();
    const parent = view.parent_id ? this.comments.get(view.parent_id) : null;
    // A comment whose place is on a page not loaded yet comes with that page; so does a reply
    // within the last thread shown while more pages follow (the next may go on inside it).
    if ((view.parent_id && !parent) || (!view.parent_id && this.next)) return;
    if (parent && this.next && this.rootOf(parent).node === this.list.lastElementChild) return;
    this.add(view, parent);
    if (!wasHeld) this.say("new-comment", { name: view.author.name });
  }

  rootOf(comment) {
    while (comment.parent) comment = comment.parent;
    return comment;
  }

  keepHeld(view) {
    const held = store.get(`${this.site}:held`, []);
    held.push({ post: this.post, at: Date.now(), view });
    store.set(`${this.site}:held`, held);
  }

  // The reader's own comments that await moderation, until they appear in the thread.
  showHeld() {
    const fresh = store.get(`${this.site}:held`, []).filter((entry) => Date.now() - entry.at < HELD_DAYS * 864e5);
    store.set(`${this.site}:held`, fresh);
    for (const { post, view } of fresh) {
      if (post !== this.post || this.comments.has(view.id)) continue;
      const parent = view.parent_id ? this.comments.get(view.parent_id) : null;
      if (!view.parent_id || parent) this.add(view, parent, true);
    }
  }
}

const boot = () => document.querySelectorAll("#threadlog, [data-threadlog]").forEach((host) => {
  if (!host.threadlog && host.dataset.site && host.dataset.post) host.threadlog = new Widget(host);
});
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
})();
