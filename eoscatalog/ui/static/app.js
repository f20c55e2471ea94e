// eos ui: the page. Plain JavaScript, no build step, no external URL.
//
// Security: the DOM is built with createElement and textContent only, so a name such as
// `<img src=x onerror=alert(1)>.csv` or a metadata value stays text. The single exception is a
// Markdown preview's `html`, which the server renders with raw HTML disabled.
// Every URL is relative (the page runs under JupyterHub's /user/NAME/proxy/PORT/), and the
// routes live in the fragment (#/tree/org/runs/?at=...) so every view has a permalink.
"use strict";

(() => {
  const state = { info: null, renderSeq: 0, expanded: new Set() };

  // ---------------------------------------------------------------- DOM helpers

  /** h("a", {href: "#/", class: "x", test: "tree"}, "text", child): an element, never HTML. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "test") el.dataset.test = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else if (key === "value" || key === "checked" || key === "disabled" || key === "hidden") {
        el[key] = value;
      } else el.setAttribute(key, value === true ? "" : String(value));
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const child of children) {
      if (child === undefined || child === null || child === false) continue;
      if (Array.isArray(child)) append(el, child);
      else if (child instanceof Node) el.appendChild(child);
      else el.appendChild(document.createTextNode(String(child)));
    }
    return el;
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  // ---------------------------------------------------------------- formatting

  function fmtBytes(n) {
    if (n === null || n === undefined) return "";
    const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let value = Number(n);
    let unit = 0;
    while (Math.abs(value) >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
  }

  function fmtCount(n) {
    return n === null || n === undefined ? "" : Number(n).toLocaleString("en-US");
  }

  /** "2026-06-01T12:00:00.123456Z" -> "2026-06-01 12:00:00Z" (the full value goes in title). */
  function fmtTime(t) {
    return t ? String(t).replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
  }

  /** To the millisecond, where events of one second must stay apart (the as-of list). */
  function fmtTimeMs(t) {
    return t ? String(t).replace("T", " ").replace(/(\.\d{3})\d*Z$/, "$1Z") : "";
  }

  function shortHash(hash) {
    if (!hash) return "";
    const [algo, hex] = String(hash).includes(":") ? String(hash).split(":", 2) : ["", hash];
    return (algo ? algo + ":" : "") + hex.slice(0, 12);
  }

  function timeEl(t) {
    return h("time", { datetime: t || "", title: t || "" }, fmtTime(t));
  }

  // ---------------------------------------------------------------- routes

  /** A path or ref in a fragment: readable (`/`, `@`, `:` kept), `%`, `?`, `#` escaped. */
  function encPath(p) {
    return encodeURI(p).replace(/[?#]/g, encodeURIComponent);
  }

  function encValue(v) {
    return encodeURIComponent(v).replace(/%2F/g, "/").replace(/%40/g, "@").replace(/%3A/g, ":");
  }

  function decode(s) {
    try {
      return decodeURIComponent(s);
    } catch (e) {
      return s;
    }
  }

  function route(view, path, query) {
    let out = `#/${view}`;
    if (path !== undefined && path !== null) out += "/" + encPath(path);
    const pairs = Object.entries(query || {}).filter(([, v]) => v !== undefined && v !== null && v !== "");
    if (pairs.length) out += "?" + pairs.map(([k, v]) => `${k}=${encValue(v)}`).join("&");
    return out;
  }

  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, "");
    const q = raw.indexOf("?");
    const head = q < 0 ? raw : raw.slice(0, q);
    const query = {};
    if (q >= 0) {
      for (const part of raw.slice(q + 1).split("&")) {
        if (!part) continue;
        const eq = part.indexOf("=");
        const key = decode(eq < 0 ? part : part.slice(0, eq));
        query[key] = eq < 0 ? "" : decode(part.slice(eq + 1));
      }
    }
    const slash = head.indexOf("/");
    const view = slash < 0 ? head : head.slice(0, slash);
    const path = slash < 0 ? "" : decode(head.slice(slash + 1));
    return { view: view || "tree", path, query };
  }

  /** A folder path at a time, as the catalog writes it: org/runs@T/ (a namespace: org/@T/). */
  function folderAt(path, at) {
    if (!at) return path;
    const parts = path.replace(/\/$/, "").split("/");
    if (parts.length === 1) return `${parts[0]}/@${at}/`;
    return `${parts.join("/")}@${at}/`;
  }

  function parentOf(path) {
    const parts = path.replace(/\/$/, "").split("/");
    parts.pop();
    return parts.length ? parts.join("/") + "/" : "";
  }

  function baseName(path) {
    const trimmed = path.replace(/\/$/, "");
    return trimmed.slice(trimmed.lastIndexOf("/") + 1) + (path.endsWith("/") ? "/" : "");
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {}

  function apiUrl(path, params) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== "") query.set(k, v);
    }
    const text = query.toString();
    return text ? `${path}?${text}` : path;
  }

  async function errorOf(response) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.error) message = body.error;
    } catch (e) {
      /* not JSON: keep the status line */
    }
    return new ApiError(message);
  }

  async function api(path, params, options) {
    const opts = options || {};
    const init = { method: opts.method || "GET", headers: {}, credentials: "same-origin" };
    if (init.method !== "GET") init.headers["X-EOS-CSRF"] = state.info ? state.info.csrf : "";
    if (opts.body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    const response = await fetch(apiUrl(path, params), init);
    if (!response.ok) throw await errorOf(response);
    return response.json();
  }

  function showError(err) {
    const box = document.getElementById("error");
    clear(box);
    if (!err) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    append(box, [h("strong", {}, "Error: "), err.message || String(err),
      h("button", { class: "link", type: "button", "aria-label": "dismiss",
        onclick: () => showError(null) }, "×")]);
  }

  // ---------------------------------------------------------------- copy

  async function copyText(text, button) {
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch (e) {
      const area = h("textarea", { class: "offscreen", readonly: true });
      area.value = text;
      document.body.appendChild(area);
      area.select();
      try {
        ok = document.execCommand("copy");
      } catch (err) {
        ok = false;
      }
      area.remove();
    }
    if (button) {
      const label = button.textContent;
      button.textContent = ok ? "Copied" : "Copy failed";
      setTimeout(() => { button.textContent = label; }, 1200);
    }
  }

  function copyButton(text, label) {
    const button = h("button", { type: "button", class: "copy", title: "Copy to the clipboard" },
      label || "Copy");
    button.addEventListener("click", () => copyText(text, button));
    return button;
  }

  // ---------------------------------------------------------------- sidebar tree

  async function renderSidebar() {
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
  function markCurrentNav() {
    const { view, path } = parseHash();
    const folder = view === "tree" || view === "history" ? path : parentOf(path.replace(/@[^/]*$/, ""));
    for (const li of document.querySelectorAll("#sidebar li[data-path]")) {
      const p = li.getAttribute("data-path");
      li.classList.toggle("current", p === folder);
      if (folder.startsWith(p) && p !== folder && li.openNav && !state.expanded.has(p)) li.openNav(true);
    }
  }

  // ---------------------------------------------------------------- shared pieces

  function breadcrumbs(path, at, last) {
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

  function tagChips(tags) {
    return (tags || []).map((t) => h("span", { class: "tag" }, t));
  }

  function kindLabel(rec) {
    switch (rec.kind) {
      case "delete": return "deleted";
      case "rollback": return `rollback to v${rec.source_version}`;
      case "undelete": return `undelete (restores v${rec.source_version})`;
      case "copy": return "copy";
      default: return rec.kind || "put";
    }
  }

  function section(title, ...children) {
    return h("section", { class: "panel" }, h("h2", {}, title), ...children);
  }

  // ---------------------------------------------------------------- folder view

  async function renderTree(path, at, seq) {
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
    if (path && !at) view.appendChild(dropzone(path));
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

  /** The as-of picker: a date-time input and the folder's event times; both go to a permalink. */
  function atPicker(path, at) {
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

  // ---------------------------------------------------------------- upload

  function dropzone(folder) {
    const input = h("input", { type: "file", multiple: true, test: "upload-input",
      "aria-label": "choose files to upload" });
    const message = h("input", { type: "text", class: "message", test: "upload-message",
      placeholder: "message (optional)", "aria-label": "upload message" });
    const progress = h("div", { class: "uploads" });
    const zone = h("div", { class: "dropzone", test: "dropzone" },
      h("p", {}, "Drop files or folders here to upload them to ", h("code", {}, folder),
        " — each drop is one changeset."),
      h("div", { class: "dropzone-row" }, h("label", { class: "button" }, "Choose files", input),
        message),
      progress);
    const start = (files) => {
      if (files.length) uploadDrop(folder, files, message.value, progress);
    };
    zone.addEventListener("dragover", (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      droppedFiles(e.dataTransfer).then(start, showError);
    });
    input.addEventListener("change", () => {
      start(Array.from(input.files).map((file) => ({ file, path: file.name })));
      input.value = "";
    });
    return zone;
  }

  /** The files of a drop with their paths relative to the drop (folders are walked). */
  async function droppedFiles(dt) {
    const entries = Array.from(dt.items || []).filter((i) => i.kind === "file")
      .map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
    if (!entries.length || entries.some((e) => !e)) {
      return Array.from(dt.files).map((file) => ({ file, path: file.name }));
    }
    const out = [];
    const walk = async (entry, prefix) => {
      if (entry.isFile) {
        const file = await new Promise((ok, fail) => entry.file(ok, fail));
        out.push({ file, path: prefix + entry.name });
      } else if (entry.isDirectory) {
        const reader = entry.createReader();
        for (;;) {
          const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
          if (!batch.length) break;
          for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
        }
      }
    };
    for (const entry of entries) await walk(entry, "");
    return out;
  }

  function putFile(url, file, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      xhr.setRequestHeader("X-EOS-CSRF", state.info ? state.info.csrf : "");
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded));
      xhr.addEventListener("load", () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(file.size);
          resolve();
          return;
        }
        let message = `${xhr.status} ${xhr.statusText}`;
        try {
          message = JSON.parse(xhr.responseText).error || message;
        } catch (e) {
          /* keep the status line */
        }
        reject(new ApiError(message));
      });
      xhr.addEventListener("error", () => reject(new ApiError(`upload of ${file.name} failed`)));
      xhr.send(file);
    });
  }

  async function uploadDrop(folder, files, message, container) {
    const total = files.reduce((sum, f) => sum + f.file.size, 0) || 1;
    const bar = h("progress", { max: String(total), value: "0" });
    const label = h("span", { class: "upload-label" },
      `${files.length} file${files.length === 1 ? "" : "s"}, ${fmtBytes(total)}: starting`);
    const row = h("div", { class: "upload", test: "upload-progress" }, bar, label);
    container.prepend(row);
    let done = 0;
    const show = (sent) => {
      bar.value = Math.min(total, sent);
      label.textContent = `${files.length} file${files.length === 1 ? "" : "s"}, ` +
        `${fmtBytes(total)}: ${Math.floor((100 * Math.min(total, sent)) / total)}%`;
    };
    let id = null;
    try {
      const opened = await api("api/upload", null, { method: "POST",
        body: { folder, message: message || `upload of ${files.length} file(s) from eos ui` } });
      id = opened.upload;
      for (const { file, path } of files) {
        const url = `api/upload/${encodeURIComponent(id)}/` +
          path.split("/").map(encodeURIComponent).join("/");
        await putFile(url, file, (loaded) => show(done + loaded));
        done += file.size;
      }
      label.textContent = "committing…";
      const result = await api(`api/upload/${encodeURIComponent(id)}/commit`, null,
        { method: "POST", body: {} });
      bar.value = total;
      row.classList.add("done");
      label.textContent = `committed ${result.records.length} name(s) in one changeset`;
      row.dataset.state = "done";
      const { view, path } = parseHash();
      if (view === "tree" && path === folder) refreshListing(folder);
    } catch (err) {
      row.classList.add("failed");
      row.dataset.state = "failed";
      label.textContent = `failed: ${err.message}`;
      showError(err);
      if (id) api(`api/upload/${encodeURIComponent(id)}`, null, { method: "DELETE" }).catch(() => {});
    }
  }

  async function refreshListing(folder) {
    const data = await api("api/tree", { path: folder }).catch(showError);
    const old = document.querySelector("#view .listing-holder");
    if (data && old) old.replaceWith(folderListing(data, null));
  }

  // ---------------------------------------------------------------- name page

  async function renderName(ref, seq) {
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
    view.appendChild(actions(data, rec));
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

  function actions(data, rec) {
    const snippets = data.snippets || {};
    const reader = String(snippets.pandas || "").startsWith("pd.") ? "pandas" : "Python";
    const rows = [["File", snippets.file], ["eos://", snippets.uri], [reader, snippets.pandas]]
      .filter(([, text]) => text)
      .map(([label, text]) => h("div", { class: "snippet", test: "snippet" },
        h("span", { class: "snippet-label" }, label), h("code", {}, text), copyButton(text)));
    const buttons = h("div", { class: "buttons" });
    if (data.download && rec.kind !== "delete") {
      buttons.appendChild(h("a", { class: "button", href: data.download, download: baseName(rec.path),
        test: "download" }, "Download"));
    }
    if (state.info && state.info.s3 && rec.kind !== "delete") {
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
    if (rec.kind === "delete") {
      return section("Use it", h("p", { class: "muted" },
        "Deleted: pick an earlier version below to read it, or undelete it with ",
        h("code", {}, `eos undelete eos://${rec.path}`), "."));
    }
    return section("Use it", rows, buttons);
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
        // A delete marker has no bytes to show: its number is not a link.
        v.kind === "delete" ? h("span", { class: "vnum" }, `v${v.version}`)
          : h("a", { class: "vnum", href: route("name", `${v.path}@${v.version}`) }, `v${v.version}`),
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

  // ---------------------------------------------------------------- previews

  function previewPanel(ref) {
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

  function fmt(value) {
    if (value === null || value === undefined) return "";
    return typeof value === "string" ? value : JSON.stringify(value);
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

  // ---------------------------------------------------------------- history

  async function renderHistory(path, seq) {
    const data = await api("api/history", { path });
    if (seq !== state.renderSeq) return null;
    const view = h("section", { class: "history", test: "history" });
    view.appendChild(breadcrumbs(path, null, false));
    view.appendChild(h("h1", {}, `History of ${path}`));
    view.appendChild(atPicker(path, null));
    const fvs = data.folder_versions || [];
    if (fvs.length) {
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
      view.appendChild(section(`Folder versions (${fvs.length})`,
        h("div", { class: "scroll" }, h("table", { class: "data", test: "folder-versions" },
          h("thead", {}, h("tr", {}, ["version", "time", "author", "message", "tags", "changes",
            "digest", ""].map((t) => h("th", {}, t)))),
          h("tbody", {}, rows)))));
    }
    let pickA = data.events.length > 1 ? data.events[1].created : null;
    let pickB = data.events.length ? data.events[0].created : null;
    const list = h("ol", { class: "timeline events", test: "events" });
    for (const ev of data.events) {
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
    view.appendChild(section(`Events (${data.events.length})`, list, compare));
    return view;
  }

  // ---------------------------------------------------------------- diff

  async function renderDiff(query, seq) {
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

  // ---------------------------------------------------------------- search

  async function renderSearch(query, seq) {
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

  // ---------------------------------------------------------------- main

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
    document.getElementById("search-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const q = document.getElementById("search-input").value.trim();
      location.hash = route("search", null, { q });
    });
    try {
      state.info = await api("api/info");
      document.getElementById("store").textContent = state.info.store;
      document.getElementById("user").textContent = state.info.user;
      document.querySelector(".brand").title = `eoscatalog ${state.info.version}`;
    } catch (err) {
      showError(err);
    }
    // "/" jumps to the search box, as on most sites with one.
    document.addEventListener("keydown", (e) => {
      const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
      if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        document.getElementById("search-input").focus();
      }
    });
    window.addEventListener("hashchange", render);
    await Promise.all([render(), renderSidebar()]);
  }

  start();
})();
