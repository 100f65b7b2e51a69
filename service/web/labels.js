/* threadlog label gadget: <div data-threadlog-labels data-site="…" data-label-url="https://blog.example/label/{label}">
   with data-style="list|cloud" and data-sort="name|count". Each label links to the blog's own
   label page with its number of posts. Rendered in a Shadow DOM; labels go in as text. */
(() => {
"use strict";
const me = document.currentScript;
const API = (me && me.dataset.api) || (me && me.src ? new URL(me.src).origin : location.origin);
const STRINGS = {
  en: { labels: "Labels", "count-one": "{n} post", "count-other": "{n} posts", empty: "No labels yet" },
  nl: { labels: "Labels", "count-one": "{n} bericht", "count-other": "{n} berichten", empty: "Nog geen labels" },
};
const CSS = `:host{all:initial;display:block;font-family:var(--threadlog-font,inherit);font-size:var(--threadlog-font-size,1rem);
line-height:1.5;color:var(--threadlog-text,#1f2328)}
ul{list-style:none;margin:0;padding:0}li{margin:.15em 0}.cloud ul{display:flex;flex-wrap:wrap;gap:.2em .8em;align-items:baseline}
a{color:var(--threadlog-accent,#0969da);text-decoration:none}a:hover{text-decoration:underline}
a:focus-visible{outline:2px solid currentColor;outline-offset:2px}.n{color:var(--threadlog-muted,#59636e);font-size:.8rem;margin-left:.3em}
@media (prefers-color-scheme:dark){:host{color:var(--threadlog-text,#e6edf3)}a{color:var(--threadlog-accent,#4493f8)}.n{color:var(--threadlog-muted,#9198a1)}}`;

const text = (host, key, n) => {
  const lang = (host.dataset.lang || (host.closest("[lang]") || {}).lang || navigator.language || "en").toLowerCase().split("-")[0];
  const value = host.getAttribute("data-text-" + key) ?? (STRINGS[lang] || STRINGS.en)[key];
  return value.split("{n}").join(n);
};

async function render(host) {
  const site = host.dataset.site || (me && me.dataset.site);
  const cloud = host.dataset.style === "cloud";
  const sort = host.dataset.sort === "count" ? "count" : "name";
  const template = host.dataset.labelUrl || "?label={label}";
  const root = host.attachShadow({ mode: "open" });
  const nav = document.createElement("nav");
  nav.className = cloud ? "cloud" : "list";
  nav.setAttribute("aria-label", text(host, "labels"));
  const style = document.createElement("style");
  style.textContent = CSS;
  root.append(style, nav);
  const response = await fetch(`${API}/v1/sites/${encodeURIComponent(site)}/labels?sort=${sort}`);
  if (!response.ok) return;
  const { labels } = await response.json();
  const most = Math.max(1, ...labels.map((entry) => entry.post_count));
  const list = document.createElement("ul");
  for (const { label, post_count: count } of labels) {
    const link = document.createElement("a");
    link.href = template.split("{label}").join(encodeURIComponent(label));
    link.textContent = label;
    const words = text(host, count === 1 ? "count-one" : "count-other", count);
    link.setAttribute("aria-label", `${label}, ${words}`);
    if (cloud) link.style.fontSize = `${(0.85 + (1.15 * Math.log(1 + count)) / Math.log(1 + most)).toFixed(2)}em`;
    const number = document.createElement("span");
    number.className = "n";
    number.setAttribute("aria-hidden", "true");
    number.textContent = String(count);
    link.append(number);
    const item = document.createElement("li");
    item.append(link);
    list.append(item);
  }
  if (!labels.length) list.textContent = text(host, "empty");
  nav.append(list);
}

const boot = () => document.querySelectorAll("[data-threadlog-labels]").forEach((host) => {
  if (!host.shadowRoot) render(host);
});
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
})();
