// Previews (api/preview): tables, Parquet (schema, row groups, first rows), text, JSON,
// Markdown, images, Zarr metadata, or why there is none.
//
// The one module that inserts HTML: a Markdown preview's `html`, which the server renders with
// raw HTML disabled. tests/test_ui_static.py checks that no other module uses innerHTML.

import { api, apiUrl } from "./api.js";
import { append, clear, fmt, fmtBytes, fmtCount, h } from "./dom.js";

/** A panel that fills itself with the preview of `ref` (a name's version or a .zarr/ folder). */
export function previewPanel(ref) {
  const panel = h("section", { class: "panel preview", test: "preview" },
    h("h2", {}, "Preview"), h("p", { class: "muted" }, "Loading preview…"));
  api("api/preview", { ref }).then((p) => {
    clear(panel);
    panel.appendChild(h("h2", {}, "Preview ", h("span", { class: "badge" }, p.format || p.kind)));
    panel.dataset.kind = p.kind;
    append(panel, renderPreview(p, ref));
    if (p.truncated) panel.appendChild(h("p", { class: "muted" }, "Showing the beginning only."));
    if (p.bytes_read !== undefined) {
      panel.appendChild(h("p", { class: "muted small" }, `read ${fmtBytes(p.bytes_read)} to preview`));
    }
  }).catch((err) => {
    clear(panel);
    append(panel, [h("h2", {}, "Preview"), h("p", { class: "reason" }, err.message)]);
  });
  return panel;
}

function renderPreview(p, ref) {
  const details = p.details || {};
  switch (p.kind) {
    case "table":
    case "sequence":
      return [details.samples ? h("p", {}, `samples: ${details.samples.join(", ")}`) : null,
        dataTable(p.columns, p.rows)];
    case "parquet":
      return parquetPreview(p, details);
    case "markdown": {
      // The one place HTML is inserted: the server renders Markdown with raw HTML disabled.
      const div = h("div", { class: "markdown", test: "preview-markdown" });
      div.innerHTML = p.html || "";
      return [div];
    }
    case "json":
    case "text":
      return [h("pre", { class: "text", test: "preview-text" }, p.text || "")];
    case "image":
      return [h("img", { class: "image", test: "preview-image", alt: ref,
        src: apiUrl("api/raw", { ref, inline: "1" }) }),
      details.width ? h("p", { class: "muted" }, `${details.width} × ${details.height} ${details.mime || ""}`) : null];
    case "zarr":
      return zarrPreview(details);
    default:
      return [h("p", { class: "reason", test: "preview-reason" }, p.reason || "No preview.")];
  }
}

function dataTable(columns, rows) {
  const head = h("tr", {}, (columns || []).map((c) =>
    h("th", {}, c.name, c.type ? h("span", { class: "ctype" }, c.type) : null)));
  const body = document.createDocumentFragment();
  for (const row of rows || []) body.appendChild(h("tr", {}, row.map((cell) => h("td", {}, cell))));
  const tbody = h("tbody", {});
  tbody.appendChild(body);
  return h("div", { class: "scroll" },
    h("table", { class: "data", test: "preview-table" }, h("thead", {}, head), tbody));
}

function parquetPreview(p, details) {
  const groups = details.row_groups || [];
  const out = [h("p", {}, `${fmtCount(details.num_rows)} rows in ${groups.length} row group(s)`,
    details.created_by ? ` · written by ${details.created_by}` : "")];
  out.push(h("h3", {}, "Schema"), h("table", { class: "data schema", test: "parquet-schema" },
    h("tbody", {}, (p.columns || []).map((c) => h("tr", {}, h("th", {}, c.name), h("td", {}, c.type))))));
  if (groups.length) {
    const rows = [];
    groups.forEach((g, i) => {
      for (const c of g.columns || []) {
        rows.push(h("tr", {}, h("td", {}, String(i)), h("td", {}, fmtCount(g.rows)),
          h("td", {}, fmtBytes(g.compressed)), h("td", {}, c.name), h("td", {}, fmt(c.min)),
          h("td", {}, fmt(c.max)), h("td", {}, fmt(c.nulls))));
      }
    });
    out.push(h("h3", {}, "Row groups"), h("div", { class: "scroll" },
      h("table", { class: "data", test: "parquet-row-groups" },
        h("thead", {}, h("tr", {}, ["group", "rows", "compressed", "column", "min", "max", "nulls"]
          .map((t) => h("th", {}, t)))),
        h("tbody", {}, rows))));
  }
  out.push(h("h3", {}, "First rows"), dataTable(p.columns, p.rows));
  return out;
}

function zarrPreview(details) {
  const arrays = details.arrays || [];
  const out = [h("table", { class: "data", test: "zarr-arrays" },
    h("thead", {}, h("tr", {}, ["array", "shape", "dtype", "chunks", "format"].map((t) => h("th", {}, t)))),
    h("tbody", {}, arrays.map((a) => h("tr", {}, h("td", {}, a.path || "/"), h("td", {}, fmt(a.shape)),
      h("td", {}, fmt(a.dtype)), h("td", {}, fmt(a.chunks)), h("td", {}, fmt(a.zarr_format))))))];
  if ((details.groups || []).length) {
    const label = (g) => (typeof g === "string" ? g : g.path || "") || "/";
    out.push(h("p", {}, "groups: ", details.groups.map(label).join(", ")));
  }
  return out;
}
