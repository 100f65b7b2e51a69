/* threadlog comment counts: every element with data-threadlog-count="post-id" gets "3 comments"
   ("3 reacties" on a Dutch page); one request per site fetches the counts of up to 100 posts.
   The site comes from the element's data-site, this script's data-site, or the #threadlog
   widget on the page. Counts go in as text; the widget's changes reach them live. */
(() => {
"use strict";
const me = document.currentScript;
const API = (me && me.dataset.api) || (me && me.src ? new URL(me.src).origin : location.origin);
const STRINGS = {
  en: { "count-zero": "No comments", "count-one": "{n} comment", "count-other": "{n} comments" },
  nl: { "count-zero": "Geen reacties", "count-one": "{n} reactie", "count-other": "{n} reacties" },
};
const BATCH = 100;

const words = (node, n) => {
  const key = n === 0 ? "count-zero" : n === 1 ? "count-one" : "count-other";
  const lang = (node.dataset.lang || (node.closest("[lang]") || {}).lang || navigator.language || "en").toLowerCase().split("-")[0];
  const own = node.getAttribute("data-text-" + key) ?? (me && me.getAttribute("data-text-" + key));
  return (own ?? (STRINGS[lang] || STRINGS.en)[key]).split("{n}").join(n);
};

// Counts the comment widget on this page shows, live: newer than any fetched.
const live = new Map();

async function fill(site, nodes) {
  const posts = [...new Set(nodes.map((node) => node.dataset.threadlogCount))];
  for (let start = 0; start < posts.length; start += BATCH) {
    const query = posts.slice(start, start + BATCH).map((post) => "post=" + encodeURIComponent(post)).join("&");
    const response = await fetch(`${API}/v1/sites/${encodeURIComponent(site)}/counts?${query}`);
    if (!response.ok) continue;
    const { counts } = await response.json();
    for (const node of nodes) {
      const n = counts[node.dataset.threadlogCount];
      if (n !== undefined && !live.has(site + "/" + node.dataset.threadlogCount)) node.textContent = words(node, n);
    }
  }
}

const siteOf = (node) => {
  const widget = document.querySelector("#threadlog");
  return node.dataset.site || (me && me.dataset.site) || (widget && widget.dataset.site);
};

document.addEventListener("threadlog:count", ({ detail: { site, post, count } }) => {
  live.set(site + "/" + post, count);
  for (const node of document.querySelectorAll("[data-threadlog-count]")) {
    if (node.dataset.threadlogCount === post && siteOf(node) === site) node.textContent = words(node, count);
  }
});

const boot = () => {
  const bySite = new Map();
  for (const node of document.querySelectorAll("[data-threadlog-count]")) {
    const site = siteOf(node);
    if (site && node.dataset.threadlogCount) bySite.set(site, [...(bySite.get(site) || []), node]);
  }
  bySite.forEach((nodes, site) => fill(site, nodes));
};
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
})();
