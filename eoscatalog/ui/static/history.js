// A folder's history (its folder versions and every event, two times to compare) and the
// as-of picker that re-renders the tree at a moment, by permalink.

import { api } from "./api.js";
import { fmtTimeMs, h, shortHash, timeEl } from "./dom.js";
import { breadcrumbs, section, tagChips } from "./parts.js";
import { folderAt, route } from "./router.js";
import { state } from "./state.js";

/** The as-of picker: a date-time input and the folder's event times; both go to a permalink. */
export function atPicker(path, at) {
  const input = h("input", { type: "datetime-local", step: "1", test: "at-picker",
    "aria-label": "as of (UTC)" });
  if (at) input.value = String(at).replace(/(\.\d+)?Z$/, "").slice(0, 19);
  const events = h("select", { test: "at-events", "aria-label": "as of an event" },
    h("option", { value: "" }, "as of an event…"));
  const go = (value) => {
    if (value) location.hash = route("tree", path, { at: value });
  };
  input.addEventListener("change", () => {
    if (!input.value) return;
    // The input shows UTC (the catalog's time zone): read its value as UTC.
    const text = input.value.length === 16 ? `${input.value}:00` : input.value;
    const date = new Date(`${text}Z`);
    if (!Number.isNaN(date.getTime())) go(date.toISOString().replace(/\.\d+Z$/, "Z"));
  });
  events.addEventListener("change", () => go(events.value));
  api("api/history", { path }).then((hist) => {
    for (const ev of hist.events) {
      events.appendChild(h("option", { value: ev.created, selected: ev.created === at },
        `${fmtTimeMs(ev.created)} · ${ev.author} · ${ev.message || ev.names.join(", ")}`.slice(0, 120)));
    }
  }).catch(() => { events.disabled = true; });
  return h("div", { class: "at-row" }, h("label", {}, "As of (UTC) ", input), events);
}

/** The history of the folder `path`; null if a newer render started. */
export async function renderHistory(path, seq) {
  const data = await api("api/history", { path });
  if (seq !== state.renderSeq) return null;
  const view = h("section", { class: "history", test: "history" });
  view.appendChild(breadcrumbs(path, null, false));
  view.appendChild(h("h1", {}, `History of ${path}`));
  view.appendChild(atPicker(path, null));
  const fvs = data.folder_versions || [];
  if (fvs.length) view.appendChild(folderVersions(path, fvs));
  view.appendChild(events(path, data.events));
  return view;
}

function folderVersions(path, fvs) {
  const rows = fvs.map((fv, i) => {
    const older = fvs[i + 1];
    const when = fv.at || fv.created;
    return h("tr", { test: "folder-version" },
      h("td", {}, h("a", { href: route("tree", path, { at: when }), title: "the folder then" },
        `@${fv.version}`)),
      h("td", {}, timeEl(fv.created)), h("td", {}, fv.author), h("td", {}, fv.message || ""),
      h("td", {}, tagChips(fv.tags)),
      h("td", { class: "summary-cell" }, fv.summary !== undefined ? fv.summary
        : `+${fv.added || 0} ~${fv.changed || 0} -${fv.removed || 0}`),
      h("td", {}, fv.digest ? h("code", { class: "hash", title: fv.digest }, shortHash(fv.digest)) : ""),
      h("td", {}, older && older.ref && fv.ref
        ? h("a", { href: route("diff", null, { a: older.ref, b: fv.ref }) }, "diff") : ""));
  });
  return section(`Folder versions (${fvs.length})`,
    h("div", { class: "scroll" }, h("table", { class: "data", test: "folder-versions" },
      h("thead", {}, h("tr", {}, ["version", "time", "author", "message", "tags", "changes",
        "digest", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows))));
}

function events(path, evs) {
  let pickA = evs.length > 1 ? evs[1].created : null;
  let pickB = evs.length ? evs[0].created : null;
  const list = h("ol", { class: "timeline events", test: "events" });
  for (const ev of evs) {
    const a = h("input", { type: "radio", name: "at-a", checked: ev.created === pickA,
      "aria-label": "compare from this time" });
    const b = h("input", { type: "radio", name: "at-b", checked: ev.created === pickB,
      "aria-label": "compare to this time" });
    a.addEventListener("change", () => { pickA = ev.created; });
    b.addEventListener("change", () => { pickB = ev.created; });
    list.appendChild(h("li", { test: "event", "data-seq": String(ev.seq) },
      h("span", { class: "pick" }, a, b),
      h("a", { href: route("tree", path, { at: ev.created }), test: "event-time" }, fmtTimeMs(ev.created)),
      h("span", { class: "author" }, ev.author),
      h("span", { class: "vmsg" }, ev.message || ""),
      h("span", { class: "names" }, ev.names.map((n, i) => {
        const what = ev.kinds[i] || "";  // "put", "delete", "rollback of 1", "tag paper"...
        return h("span", { class: `kind kind-${what.split(" ")[0] || "put"}` }, `${what} ${n}`);
      }))));
  }
  const compare = h("button", { type: "button", test: "compare" }, "Compare the folder at these times");
  compare.addEventListener("click", () => {
    if (!pickA || !pickB) return;
    location.hash = route("diff", null, { a: folderAt(path, pickA), b: folderAt(path, pickB) });
  });
  return section(`Events (${evs.length})`, list, compare);
}
