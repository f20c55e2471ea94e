// Diffs (api/diff): two versions of a name (the table's change, a unified text diff) or a
// folder at two times (names added, removed, changed).

import { api } from "./api.js";
import { fmtBytes, fmtCount, fmtTime, h, shortHash } from "./dom.js";
import { kindLabel } from "./parts.js";
import { route } from "./router.js";
import { state } from "./state.js";

/** The diff view of query.a and query.b, with a form to pick them; null if a newer render
 * started. */
export async function renderDiff(query, seq) {
  const view = h("section", { class: "diff-view" });
  const a = h("input", { type: "text", name: "a", value: query.a || "", placeholder: "org/a.csv@1",
    test: "diff-a", "aria-label": "from" });
  const b = h("input", { type: "text", name: "b", value: query.b || "", placeholder: "org/a.csv@2",
    test: "diff-b", "aria-label": "to" });
  const form = h("form", { class: "diff-form" }, a, " → ", b, h("button", { type: "submit" }, "Diff"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = route("diff", null, { a: a.value.trim(), b: b.value.trim() });
  });
  view.appendChild(h("h1", {}, "Diff"));
  view.appendChild(form);
  if (!query.a || !query.b) {
    view.appendChild(h("p", { class: "muted" }, "Pick two versions of a name (org/a.csv@1, org/a.csv@2) or two times of a folder (org/runs@2026-06-01T00:00:00Z/)."));
    return view;
  }
  const data = await api("api/diff", { a: query.a, b: query.b });
  if (seq !== state.renderSeq) return null;
  view.appendChild(data.kind === "folder" ? folderDiff(data) : nameDiff(data));
  return view;
}

function recLink(rec) {
  if (!rec) return h("span", { class: "muted" }, "(none)");
  return h("a", { href: route("name", rec.ref) }, rec.ref);
}

function nameDiff(d) {
  const out = h("div", { class: "panel diff", test: "diff", "data-kind": "name" });
  out.appendChild(h("div", { class: "diff-sides" },
    ["a", "b"].map((side) => {
      const rec = d[side];
      return h("div", { class: `side side-${side}` }, h("div", {}, recLink(rec)),
        rec ? h("div", { class: "muted" }, `${kindLabel(rec)} · ${fmtBytes(rec.size)} · `,
          h("code", { class: "hash" }, shortHash(rec.hash)), ` · ${rec.author} · ${fmtTime(rec.created)}`) : null);
    })));
  if (d.same) out.appendChild(h("p", { class: "same", test: "diff-same" }, "The two versions have the same bytes."));
  if (d.table) out.appendChild(tableDiff(d.table));
  if (d.text) {
    const pre = h("pre", { class: "udiff", test: "diff-text" });
    for (const line of d.text.split("\n")) {
      let cls = "";
      if (line.startsWith("@@")) cls = "hunk";
      else if (line.startsWith("+++") || line.startsWith("---")) cls = "file";
      else if (line.startsWith("+")) cls = "add";
      else if (line.startsWith("-")) cls = "del";
      pre.appendChild(h("span", { class: cls }, line));
    }
    out.appendChild(pre);
  } else if (!d.same && !d.table) {
    out.appendChild(h("p", { class: "muted" }, "No text diff for these versions (binary or too large)."));
  }
  return out;
}

function tableDiff(t) {
  const lines = [];
  const cols = t.columns || {};
  if (t.format && t.format.old !== t.format.new) lines.push(`format: ${t.format.old} → ${t.format.new}`);
  for (const c of cols.added || []) lines.push(`column added: ${c.name} (${c.type})`);
  for (const c of cols.removed || []) lines.push(`column removed: ${c.name} (${c.type})`);
  for (const c of cols.type_changed || []) lines.push(`column ${c.name}: ${c.old} → ${c.new}`);
  if (cols.reordered) lines.push("columns reordered");
  if (t.columns && !t.schema_changed) lines.push("schema unchanged");
  if (t.rows && (t.rows.old !== null || t.rows.new !== null)) {
    lines.push(t.rows.old === t.rows.new ? `rows: ${fmtCount(t.rows.old)} (unchanged)`
      : `rows: ${fmtCount(t.rows.old)} → ${fmtCount(t.rows.new)}` +
        (t.rows.delta !== null && t.rows.delta !== undefined ? ` (${t.rows.delta >= 0 ? "+" : ""}${fmtCount(t.rows.delta)})` : ""));
  }
  for (const side of ["old", "new"]) {
    if (t.errors && t.errors[side]) lines.push(`${side} version unreadable: ${t.errors[side]}`);
  }
  if (!lines.length) lines.push(JSON.stringify(t));
  return h("ul", { class: "table-diff", test: "diff-table" }, lines.map((l) => h("li", {}, l)));
}

function folderDiff(d) {
  const out = h("div", { class: "panel diff", test: "diff", "data-kind": "folder" });
  if (typeof d.a === "string" && typeof d.b === "string") {
    out.appendChild(h("div", { class: "diff-sides" },
      h("div", { class: "side side-a" }, h("code", {}, d.a)),
      h("div", { class: "side side-b" }, h("code", {}, d.b))));
  }
  out.appendChild(h("p", {}, `${d.added.length} added, ${d.removed.length} removed, ` +
    `${d.changed.length} changed, ${fmtCount(d.unchanged)} unchanged`));
  const list = h("ul", { class: "folder-diff" });
  for (const rec of d.added) list.appendChild(h("li", { class: "add" }, "+ ", recLink(rec), ` ${fmtBytes(rec.size)}`));
  for (const rec of d.removed) list.appendChild(h("li", { class: "del" }, "− ", recLink(rec), ` ${fmtBytes(rec.size)}`));
  for (const [a, b] of d.changed) {
    list.appendChild(h("li", { class: "chg" }, "~ ", recLink(a), " → ", recLink(b), " ",
      h("a", { href: route("diff", null, { a: a.ref, b: b.ref }) }, "diff")));
  }
  out.appendChild(list);
  return out;
}
