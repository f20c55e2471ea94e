// Search over names, tags and metadata (api/search): the header's box and the results view.

import { api } from "./api.js";
import { fmtBytes, fmtTime, h } from "./dom.js";
import { route } from "./router.js";
import { state } from "./state.js";

/** The header's search box: submitting it goes to #/search?q=...; "/" jumps to it, as on most
 * sites with one. */
export function wireSearchBox() {
  document.getElementById("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = document.getElementById("search-input").value.trim();
    location.hash = route("search", null, { q });
  });
  document.addEventListener("keydown", (e) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      document.getElementById("search-input").focus();
    }
  });
}

/** The results of query.q (under query.path, if given); null if a newer render started. */
export async function renderSearch(query, seq) {
  const q = query.q || "";
  const input = document.getElementById("search-input");
  if (document.activeElement !== input) input.value = q;
  const view = h("section", { class: "search-view" });
  view.appendChild(h("h1", {}, q ? `Search: ${q}` : "Search"));
  const results = h("ol", { class: "results", test: "search-results" });
  view.appendChild(results);
  if (!q) return view;
  const data = await api("api/search", { q, path: query.path });
  if (seq !== state.renderSeq) return null;
  for (const r of data.results) {
    results.appendChild(h("li", { test: "search-result" },
      h("a", { href: route("name", r.ref) }, r.ref),
      h("span", { class: `match match-${r.matched}` }, r.matched),
      r.detail ? h("span", { class: "detail" }, r.detail) : null,
      h("span", { class: "muted" }, ` ${fmtBytes(r.record.size)} · ${r.record.author} · ${fmtTime(r.record.created)}`)));
  }
  if (!data.results.length) results.appendChild(h("li", { class: "muted", test: "no-results" }, "no match"));
  return view;
}
