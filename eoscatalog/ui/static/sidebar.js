// The sidebar: namespaces and folders as a tree, each folder's children fetched when opened,
// the current folder marked and its ancestors opened.

import { api } from "./api.js";
import { clear, fmtBytes, fmtCount, h } from "./dom.js";
import { parentOf, parseHash, route } from "./router.js";
import { state } from "./state.js";

export async function renderSidebar() {
  const nav = clear(document.getElementById("sidebar"));
  const rootPath = state.info && state.info.prefix ? state.info.prefix : "";
  const list = h("ul", { class: "nav" });
  nav.appendChild(h("div", { class: "nav-title" }, rootPath ? rootPath : "Namespaces"));
  nav.appendChild(list);
  await fillNav(list, rootPath);
  markCurrentNav();
}

async function fillNav(list, path) {
  let data;
  try {
    data = await api("api/tree", { path });
  } catch (err) {
    list.appendChild(h("li", { class: "muted" }, err.message));
    return;
  }
  const frag = document.createDocumentFragment();
  for (const folder of data.folders) frag.appendChild(navItem(folder));
  if (!data.folders.length) frag.appendChild(h("li", { class: "muted nav-empty" }, "no folders"));
  list.appendChild(frag);
}

function navItem(folder) {
  const children = h("ul", { class: "nav", hidden: true });
  const toggle = h("button", { type: "button", class: "toggle", "aria-label": "expand",
    "aria-expanded": "false" }, "▸");
  const item = h("li", { "data-path": folder.path },
    h("div", { class: "nav-row" }, toggle,
      h("a", { href: route("tree", folder.path), test: "nav-folder", title: folder.path },
        folder.name),
      h("span", { class: "nav-count", title: `${folder.names} names, ${fmtBytes(folder.bytes)}` },
        fmtCount(folder.names))),
    children);
  let loaded = false;
  const open = async (want) => {
    const show = want === undefined ? children.hidden : want;
    children.hidden = !show;
    toggle.textContent = show ? "▾" : "▸";
    toggle.setAttribute("aria-expanded", String(show));
    if (show) state.expanded.add(folder.path);
    else state.expanded.delete(folder.path);
    if (show && !loaded) {
      loaded = true;
      await fillNav(children, folder.path);
      markCurrentNav();
    }
  };
  item.openNav = open;
  toggle.addEventListener("click", () => open());
  if (state.expanded.has(folder.path)) open(true);
  return item;
}

/** Highlight the current folder in the sidebar and open its ancestors. */
export function markCurrentNav() {
  const { view, path } = parseHash();
  const folder = view === "tree" || view === "history" ? path : parentOf(path.replace(/@[^/]*$/, ""));
  for (const li of document.querySelectorAll("#sidebar li[data-path]")) {
    const p = li.getAttribute("data-path");
    li.classList.toggle("current", p === folder);
    if (folder.startsWith(p) && p !== folder && li.openNav && !state.expanded.has(p)) li.openNav(true);
  }
}
