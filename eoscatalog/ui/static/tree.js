// A folder's view: its listing (filtered, sorted, its rows in chunks so 10,000 names render in
// well under a second), the as-of picker, the stored vs logical bytes panel and the drop zone.

import { api, showError } from "./api.js";
import { fmtBytes, fmtCount, fmtTimeMs, h, timeEl } from "./dom.js";
import { atPicker } from "./history.js";
import { breadcrumbs, tagChips } from "./parts.js";
import { previewPanel } from "./preview.js";
import { baseName, folderAt, parseHash, route } from "./router.js";
import { state } from "./state.js";
import { dropzone } from "./upload.js";

/** The folder `path` (at the time `at`, if given); null if a newer render started. */
export async function renderTree(path, at, seq) {
  const [data, du] = await Promise.all([
    api("api/tree", { path, at }),
    path && !at ? api("api/du", { path }).catch((err) => ({ error: err.message })) : null,
  ]);
  if (seq !== state.renderSeq) return null;
  const view = h("section", { class: "folder", test: "folder-view" });
  view.renderStarted = performance.now();
  view.appendChild(breadcrumbs(path, at, true));
  view.appendChild(h("h1", { test: "folder-title" }, path || "Namespaces",
    at ? h("span", { class: "badge at", title: at }, `as of ${fmtTimeMs(at)}`) : null));
  view.appendChild(h("p", { class: "summary" },
    `${fmtCount(data.names)} name${data.names === 1 ? "" : "s"}, ${fmtBytes(data.bytes)}`,
    path ? [" · ", h("a", { href: route("history", path) }, "history")] : null,
    at ? [" · ", h("a", { href: route("tree", path) }, "back to now")] : null));
  if (path) view.appendChild(atPicker(path, at));
  if (data.note) view.appendChild(h("p", { class: "note", test: "tree-note" }, data.note));
  view.appendChild(folderListing(data, at));
  if (du) view.appendChild(duPanel(du));
  if (path.endsWith(".zarr/")) view.appendChild(previewPanel(folderAt(path, at)));
  if (path && !at) {
    view.appendChild(dropzone(path, () => {
      // The drop's names join the listing if the folder is still on screen.
      const now = parseHash();
      if (now.view === "tree" && now.path === path) refreshListing(path);
    }));
  }
  return view;
}

// Rows come in chunks the browser lays out only when they scroll into view
// (content-visibility: auto): a folder of 10,000 names renders in well under a second.
const CHUNK_ROWS = 200;
const ROW_PX = 30;

const COLUMNS = [["Name", "name"], ["Size", "size"], ["Version", "version"],
  ["Modified", "created"], ["Author", "author"]];

/** The listing under a filter box, its columns sortable; redrawn in place on a change. */
function folderListing(data, at) {
  const opts = { filter: "", key: "name", desc: false };
  const count = data.folders.length + data.files.length;
  const filter = h("input", { type: "search", class: "filter", test: "tree-filter",
    placeholder: `Filter ${fmtCount(count)} entr${count === 1 ? "y" : "ies"} by name`,
    "aria-label": "filter this folder by name" });
  const holder = h("div", { class: "listing-holder" }, filter);
  const redraw = () => holder.replaceChild(listing(data, at, opts, sortBy), holder.lastChild);
  const sortBy = (key) => {
    opts.desc = opts.key === key ? !opts.desc : key !== "name" && key !== "author";
    opts.key = key;
    redraw();
  };
  let timer = null;
  filter.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      opts.filter = filter.value.trim().toLowerCase();
      redraw();
    }, 120);
  });
  holder.appendChild(listing(data, at, opts, sortBy));
  return holder;
}

function shownFiles(files, opts) {
  let out = opts.filter ? files.filter((r) => baseName(r.path).toLowerCase().includes(opts.filter))
    : files.slice();
  if (opts.key !== "name" || opts.desc) {
    const key = opts.key === "name" ? "path" : opts.key;
    const sign = opts.desc ? -1 : 1;
    out = out.sort((a, b) => {
      const x = a[key] ?? "";
      const y = b[key] ?? "";
      return (x < y ? -1 : x > y ? 1 : 0) * sign;
    });
  }
  return out;
}

function listing(data, at, opts, sortBy) {
  const o = opts || { filter: "", key: "name", desc: false };
  const head = COLUMNS.map(([label, key], i) => {
    const cls = i === 1 || i === 2 ? "num" : "";
    if (!sortBy) return h("div", { role: "columnheader", class: cls }, label);
    const sorted = o.key === key;
    return h("div", { role: "columnheader", class: cls,
      "aria-sort": sorted ? (o.desc ? "descending" : "ascending") : "none" },
    h("button", { type: "button", class: "sort", test: `sort-${key}`, onclick: () => sortBy(key) },
      label, sorted ? (o.desc ? " ▾" : " ▴") : ""));
  });
  const table = h("div", { class: "listing", test: "tree", role: "table", "aria-label": "folder" },
    h("div", { class: "lrow lhead", role: "row" }, head));
  const folders = o.filter
    ? data.folders.filter((f) => f.name.toLowerCase().includes(o.filter)) : data.folders;
  const rows = [];
  for (const folder of folders) {
    rows.push(h("div", { test: "tree-folder", class: "lrow folder-row", role: "row" },
      h("div", { role: "cell", class: "cell-name" },
        h("a", { href: route("tree", folder.path, { at }), title: folder.path }, folder.name)),
      h("div", { role: "cell", class: "num" }, fmtBytes(folder.bytes)),
      h("div", { role: "cell", class: "num" },
        `${fmtCount(folder.names)} name${folder.names === 1 ? "" : "s"}`),
      h("div", { role: "cell" }), h("div", { role: "cell" })));
  }
  for (const rec of shownFiles(data.files, o)) {
    const target = at ? rec.ref : rec.path;
    rows.push(h("div", { test: "tree-file", class: "lrow file-row", role: "row" },
      h("div", { role: "cell", class: "cell-name" },
        h("a", { href: route("name", target), title: rec.path }, baseName(rec.path)),
        tagChips(rec.tags)),
      h("div", { role: "cell", class: "num" }, fmtBytes(rec.size)),
      h("div", { role: "cell", class: "num" }, `v${rec.version}`),
      h("div", { role: "cell" }, timeEl(rec.created)),
      h("div", { role: "cell" }, rec.author)));
  }
  if (!rows.length) {
    rows.push(h("div", { class: "lrow empty muted", role: "row" }, o.filter ? "no match" : "empty"));
  }
  // One fragment, one insertion into the document.
  const frag = document.createDocumentFragment();
  for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
    const part = rows.slice(i, i + CHUNK_ROWS);
    const chunk = h("div", { class: "lchunk", role: "rowgroup" }, part);
    chunk.style.containIntrinsicSize = `auto ${part.length * ROW_PX}px`;
    frag.appendChild(chunk);
  }
  table.appendChild(frag);
  return table;
}

function duPanel(du) {
  if (du.error) return h("div", { class: "panel du", test: "du-panel" }, du.error);
  const logical = Number(du.all_versions || 0);
  const stored = Number(du.stored || 0);
  const share = logical > 0 ? Math.min(100, (100 * stored) / logical) : 0;
  const bar = h("div", { class: "bar", title: `${share.toFixed(1)}% of the logical bytes stored` },
    h("div", { class: "bar-fill" }));
  bar.firstChild.style.width = `${share}%`;
  return h("section", { class: "panel du", test: "du-panel" },
    h("h2", {}, "Stored vs logical bytes"),
    h("p", {}, `${fmtBytes(stored)} stored for ${fmtBytes(logical)} of versions ` +
      `(${share.toFixed(0)}%): deduplication saved ${fmtBytes(du.saved)}.`),
    h("dl", { class: "facts" },
      h("dt", {}, "names"), h("dd", {}, fmtCount(du.names)),
      h("dt", {}, "versions"), h("dd", {}, fmtCount(du.versions)),
      h("dt", {}, "current (logical)"), h("dd", {}, fmtBytes(du.logical)),
      h("dt", {}, "all versions (logical)"), h("dd", {}, fmtBytes(du.all_versions)),
      h("dt", {}, "stored (deduplicated)"), h("dd", {}, fmtBytes(du.stored)),
      h("dt", {}, "saved by dedup"), h("dd", {}, fmtBytes(du.saved))),
    bar);
}

async function refreshListing(folder) {
  const data = await api("api/tree", { path: folder }).catch(showError);
  const old = document.querySelector("#view .listing-holder");
  if (data && old) old.replaceWith(folderListing(data, null));
}
