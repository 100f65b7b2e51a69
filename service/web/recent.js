/* threadlog recent comments gadget: <div data-threadlog-recent data-site="…" data-limit="5">, or
   data-group="…" for the comments of a group of sites. Each comment shows its author, a short
   excerpt, the post's title and a link to the comment. Rendered in a Shadow DOM; every text
   goes in as text. */
(() => {
"use strict";
const me = document.currentScript;
const API = (me && me.dataset.api) || (me && me.src ? new URL(me.src).origin : location.origin);
const STRINGS = {
  en: { recent: "Recent comments", on: "on", empty: "No comments yet" },
  nl: { recent: "Recente reacties", on: "bij", empty: "Nog geen reacties" },
};
const CSS = `:host{all:initial;display:block;font-family:var(--threadlog-font,inherit);font-size:var(--threadlog-font-size,1rem);
line-height:1.5;color:var(--threadlog-text,#1f2328)}
ol{list-style:none;margin:0;padding:0}li{margin:0 0 .7em}.author{font-weight:600}
a{color:var(--threadlog-accent,#0969da);text-decoration:none}a:hover{text-decoration:underline}
a:focus-visible{outline:2px solid currentColor;outline-offset:2px}
.excerpt{display:block;color:var(--threadlog-muted,#59636e);font-size:.9em;overflow-wrap:anywhere}
time{color:var(--threadlog-muted,#59636e);font-size:.8em;margin-left:.3em}
@media (prefers-color-scheme:dark){:host{color:var(--threadlog-text,#e6edf3)}a{color:var(--threadlog-accent,#4493f8)}
.excerpt,time{color:var(--threadlog-muted,#9198a1)}}`;

const language = (host) => (host.dataset.lang || (host.closest("[lang]") || {}).lang || navigator.language || "en").toLowerCase().split("-")[0];
const text = (host, key) => host.getAttribute("data-text-" + key) ?? (STRINGS[language(host)] || STRINGS.en)[key];
const element = (tag, className, content) => {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (content !== undefined) made.textContent = content;
  return made;
};
// Only http(s) links from the service's data are followed.
const safe = (url) => {
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch { return null; }
};

async function render(host) {
  const site = host.dataset.site || (me && me.dataset.site);
  const group = host.dataset.group;
  const limit = Math.max(1, parseInt(host.dataset.limit || "5", 10) || 5);
  const root = host.attachShadow({ mode: "open" });
  const section = element("section");
  section.setAttribute("aria-label", text(host, "recent"));
  const style = element("style", "", CSS);
  root.append(style, section);
  const path = group ? `/v1/groups/${encodeURIComponent(group)}` : `/v1/sites/${encodeURIComponent(site)}`;
  const response = await fetch(`${API}${path}/comments/recent?limit=${limit}`);
  if (!response.ok) return;
  const { comments } = await response.json();
  const list = element("ol");
  const dates = new Intl.DateTimeFormat(language(host), { dateStyle: "medium" });
  for (const comment of comments) {
    const item = element("li");
    const author = element("span", "author", comment.author.name);
    const link = element("a", "post", comment.post.title);
    const href = safe(comment.link);
    if (href) link.href = href;
    const time = element("time", "", dates.format(new Date(comment.created_at)));
    time.dateTime = comment.created_at;
    item.append(author, ` ${text(host, "on")} `, link, time, element("span", "excerpt", comment.excerpt));
    list.append(item);
  }
  if (!comments.length) list.append(element("li", "empty", text(host, "empty")));
  section.append(list);
}

const boot = () => document.querySelectorAll("[data-threadlog-recent]").forEach((host) => {
  if (!host.shadowRoot) render(host);
});
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
})();
