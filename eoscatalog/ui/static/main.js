// eos ui: the page. Native ES modules, no build step, nothing from the internet; this module
// starts it and renders the view the URL's fragment names (router.js), on every change of it.
//
// The modules: dom.js (elements, formatting), api.js (the JSON API, errors), router.js
// (permalinks), state.js, parts.js (pieces views share), sidebar.js, tree.js (a folder),
// name.js (a name's page), preview.js, history.js (and as-of), diff.js, search.js, upload.js.

import { api, showError } from "./api.js";
import { clear, h } from "./dom.js";
import { renderDiff } from "./diff.js";
import { renderHistory } from "./history.js";
import { renderName } from "./name.js";
import { parseHash } from "./router.js";
import { renderSearch, wireSearchBox } from "./search.js";
import { markCurrentNav, renderSidebar } from "./sidebar.js";
import { state } from "./state.js";
import { renderTree } from "./tree.js";

async function render() {
  const seq = ++state.renderSeq;
  const { view, path, query } = parseHash();
  const target = document.getElementById("view");
  showError(null);
  target.setAttribute("aria-busy", "true");
  try {
    let node;
    if (view === "name") node = await renderName(path, seq);
    else if (view === "history") node = await renderHistory(path, seq);
    else if (view === "diff") node = await renderDiff(query, seq);
    else if (view === "search") node = await renderSearch(query, seq);
    else node = await renderTree(path || (state.info && state.info.prefix) || "", query.at, seq);
    if (seq !== state.renderSeq || !node) return;
    clear(target).appendChild(node);
    target.dataset.view = view;
    if (node.renderStarted !== undefined) {
      // From the answer's arrival to laid out: what "renders in < 1 s" measures.
      void target.offsetHeight;
      target.dataset.renderMs = String(Math.round(performance.now() - node.renderStarted));
    } else delete target.dataset.renderMs;
    document.title = `eos · ${path || query.q || view}`;
    markCurrentNav();
  } catch (err) {
    if (seq !== state.renderSeq) return;
    clear(target).appendChild(h("p", { class: "muted" }, "Could not load this view."));
    showError(err);
  } finally {
    if (seq === state.renderSeq) target.removeAttribute("aria-busy");
  }
}

async function start() {
  // A drop anywhere but a drop zone must not navigate away from the page.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
  wireSearchBox();
  try {
    state.info = await api("api/info");
    document.getElementById("store").textContent = state.info.store;
    document.getElementById("user").textContent = state.info.user;
    document.querySelector(".brand").title = `eoscatalog ${state.info.version}`;
  } catch (err) {
    showError(err);
  }
  window.addEventListener("hashchange", render);
  await Promise.all([render(), renderSidebar()]);
}

start();
