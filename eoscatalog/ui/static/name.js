// A name's page: the version's facts and metadata, code snippets, download and share, the
// version timeline (pick two to compare), and the preview. A delete marker has a page too:
// who deleted the name, when and why, and the `eos undelete` command to copy (the page writes
// nothing there).

import { api, showError } from "./api.js";
import { append, clear, copyButton, fmtBytes, fmtCount, fmtTime, h, shortHash, timeEl } from "./dom.js";
import { breadcrumbs, kindLabel, section, tagChips } from "./parts.js";
import { previewPanel } from "./preview.js";
import { baseName, route } from "./router.js";
import { state } from "./state.js";

/** The page of `ref` (org/a.csv or org/a.csv@3); null if a newer render started. */
export async function renderName(ref, seq) {
  const data = await api("api/name", { ref });
  if (seq !== state.renderSeq) return null;
  const rec = data.record;
  const view = h("section", { class: "name" });
  view.appendChild(breadcrumbs(rec.path, null, true));
  view.appendChild(h("h1", { test: "name-title" }, rec.path,
    h("span", { class: "badge" }, `v${rec.version}`),
    rec.kind === "delete" ? h("span", { class: "badge deleted" }, "deleted") : null));
  const facts = h("dl", { class: "facts" },
    h("dt", {}, "version"), h("dd", {}, `v${rec.version} (${kindLabel(rec)})`),
    h("dt", {}, "hash"), h("dd", {}, h("code", { class: "hash", test: "hash" }, rec.hash || "—"),
      rec.hash ? copyButton(rec.hash) : null),
    h("dt", {}, "size"), h("dd", {}, rec.kind === "delete" ? "—" :
      `${fmtBytes(rec.size)} (${fmtCount(rec.size)} bytes)`),
    h("dt", {}, "author"), h("dd", {}, rec.author),
    h("dt", {}, "time"), h("dd", {}, timeEl(rec.created)),
    h("dt", {}, "message"), h("dd", { test: "message" }, rec.message || "—"),
    h("dt", {}, "tags"), h("dd", {}, rec.tags && rec.tags.length ? tagChips(rec.tags) : "—"));
  const newest = data.versions.length ? data.versions[0] : rec;
  if (newest.version !== rec.version) {
    view.appendChild(h("p", { class: "note", test: "older-version" },
      `An earlier version: the current one is v${newest.version}`,
      newest.kind === "delete" ? " (a delete marker)" : "", ". ",
      h("a", { href: route("name", rec.path) }, "Go to the current version")));
  }
  view.appendChild(facts);
  view.appendChild(metaTable(rec.meta));
  view.appendChild(rec.kind === "delete" ? deletedPanel(rec, newest) : actions(data, rec));
  view.appendChild(versionsPanel(rec, data.versions));
  if (rec.kind === "delete") {
    view.appendChild(h("section", { class: "panel", test: "preview" },
      h("p", { class: "muted" }, "This version is a delete marker: nothing to preview.")));
  } else {
    view.appendChild(previewPanel(rec.ref));
  }
  return view;
}

function metaTable(meta) {
  const entries = Object.entries(meta || {});
  if (!entries.length) return section("Metadata", h("p", { class: "muted" }, "none"));
  const body = h("tbody", {});
  for (const [key, value] of entries) {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    body.appendChild(h("tr", {}, h("th", {}, key), h("td", {}, text)));
  }
  return section("Metadata", h("table", { class: "meta", test: "meta" }, body));
}

/** The snippets to copy, the download link and, on S3, the share button. */
function actions(data, rec) {
  const snippets = data.snippets || {};
  const reader = String(snippets.pandas || "").startsWith("pd.") ? "pandas" : "Python";
  const rows = [["File", snippets.file], ["eos://", snippets.uri], [reader, snippets.pandas]]
    .filter(([, text]) => text)
    .map(([label, text]) => h("div", { class: "snippet", test: "snippet" },
      h("span", { class: "snippet-label" }, label), h("code", {}, text), copyButton(text)));
  const buttons = h("div", { class: "buttons" });
  if (data.download) {
    buttons.appendChild(h("a", { class: "button", href: data.download, download: baseName(rec.path),
      test: "download" }, "Download"));
  }
  if (state.info && state.info.s3) {
    const out = h("span", { class: "share-out" });
    const button = h("button", { type: "button", test: "share" }, "Share link (48 h)");
    button.addEventListener("click", async () => {
      try {
        const share = await api("api/share", { ref: rec.ref });
        clear(out);
        append(out, [h("input", { type: "text", readonly: true, value: share.url, class: "share-url",
          "aria-label": "share link" }), copyButton(share.url),
        h("span", { class: "muted" }, ` expires ${fmtTime(share.expires)}`)]);
      } catch (err) {
        showError(err);
      }
    });
    buttons.appendChild(button);
    buttons.appendChild(out);
  }
  return section("Use it", rows, buttons);
}

/** A word of a shell command, quoted when the shell would split or expand it. */
function shellWord(text) {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

/** A delete marker's panel: who deleted the name, when and why; while it is the current
 * version, the command that undeletes the name, to copy (the page itself writes nothing). */
function deletedPanel(rec, newest) {
  const panel = section("Deleted", h("p", { test: "deleted" },
    `Deleted at v${rec.version} by ${rec.author}`, rec.message ? ` (${rec.message})` : "",
    " on ", timeEl(rec.created), "."));
  if (newest.version !== rec.version) {
    panel.appendChild(h("p", { class: "muted" }, "The name was written again since: its current ",
      "version is ", h("a", { href: route("name", rec.path) }, `v${newest.version}`), "."));
    return panel;
  }
  const command = `eos undelete ${shellWord(`eos://${rec.path}`)}`;
  append(panel, [
    h("p", { class: "muted" }, "Pick an earlier version below to read it, or undelete the name: ",
      "this command restores its newest readable version before the delete marker."),
    h("div", { class: "snippet", test: "undelete" },
      h("span", { class: "snippet-label" }, "shell"), h("code", {}, command), copyButton(command))]);
  return panel;
}

function versionsPanel(current, versions) {
  const list = h("ol", { class: "timeline", test: "versions" });
  const newest = versions.length ? versions[0].version : 0;
  const older = versions.find((v) => v.version < current.version && v.kind !== "delete");
  let pickA = older ? older.version : null;
  let pickB = current.version;
  const frag = document.createDocumentFragment();
  for (const v of versions) {
    const a = h("input", { type: "radio", name: "diff-a", value: String(v.version),
      checked: v.version === pickA, disabled: v.kind === "delete",
      "aria-label": `compare from v${v.version}` });
    const b = h("input", { type: "radio", name: "diff-b", value: String(v.version),
      checked: v.version === pickB, disabled: v.kind === "delete",
      "aria-label": `compare to v${v.version}` });
    a.addEventListener("change", () => { pickA = v.version; });
    b.addEventListener("change", () => { pickB = v.version; });
    frag.appendChild(h("li", { test: "version", class: `v-${v.kind}` +
        (v.version === current.version ? " current" : ""), "data-kind": v.kind,
      "data-version": String(v.version) },
      h("span", { class: "pick" }, a, b),
      // A delete marker's page says who deleted the name and how to undelete it.
      h("a", { class: "vnum", href: route("name", `${v.path}@${v.version}`) }, `v${v.version}`),
      h("span", { class: `kind kind-${v.kind}` }, kindLabel(v)),
      v.version === newest ? h("span", { class: "badge" }, "current") : null,
      h("span", { class: "vsize" }, v.kind === "delete" ? "" : fmtBytes(v.size)),
      h("code", { class: "hash", title: v.hash || "" }, shortHash(v.hash)),
      timeEl(v.created), h("span", { class: "author" }, v.author),
      h("span", { class: "vmsg" }, v.message || ""), tagChips(v.tags)));
  }
  list.appendChild(frag);
  const compare = h("button", { type: "button", test: "compare" }, "Compare selected");
  compare.addEventListener("click", () => {
    if (pickA === null || pickB === null) {
      showError(new Error("pick two versions: one in the left column, one in the right"));
      return;
    }
    location.hash = route("diff", null, { a: `${current.path}@${pickA}`, b: `${current.path}@${pickB}` });
  });
  if (versions.length < 2) return section(`Versions (${versions.length})`, list);
  return section(`Versions (${versions.length})`,
    h("p", { class: "muted legend" }, "left radio: from, right radio: to"), list, compare);
}
