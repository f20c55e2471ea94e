// Pieces several views share: breadcrumbs, tag chips, a version's kind, a titled panel.

import { h } from "./dom.js";
import { route } from "./router.js";

/** catalog / org / runs / a.csv, each part a link to its folder (at a time, if given). */
export function breadcrumbs(path, at, last) {
  const nav = h("nav", { class: "crumbs", "aria-label": "breadcrumbs" });
  nav.appendChild(h("a", { href: route("tree", "", { at }) }, "catalog"));
  const parts = path.split("/").filter(Boolean);
  let acc = "";
  parts.forEach((part, i) => {
    const isLast = i === parts.length - 1;
    const isFolder = !isLast || path.endsWith("/");
    acc += part + (isFolder ? "/" : "");
    nav.appendChild(h("span", { class: "sep" }, " / "));
    if (isLast && last) nav.appendChild(h("span", {}, part));
    else nav.appendChild(h("a", { href: route("tree", acc, { at }) }, part));
  });
  return nav;
}

export function tagChips(tags) {
  return (tags || []).map((t) => h("span", { class: "tag" }, t));
}

/** What a version did: "deleted", "rollback to v1", "undelete (restores v3)", "put"... */
export function kindLabel(rec) {
  switch (rec.kind) {
    case "delete": return "deleted";
    case "rollback": return `rollback to v${rec.source_version}`;
    case "undelete": return `undelete (restores v${rec.source_version})`;
    case "copy": return "copy";
    default: return rec.kind || "put";
  }
}

export function section(title, ...children) {
  return h("section", { class: "panel" }, h("h2", {}, title), ...children);
}
