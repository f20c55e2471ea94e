// Routes: every view has a permalink in the URL's fragment (#/tree/org/runs/?at=...,
// #/name/org/a.csv@3, #/history/org/runs/, #/diff?a=..&b=.., #/search?q=..), so every asset URL
// stays relative (the page runs under JupyterHub's /user/NAME/proxy/PORT/).

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

/** route("tree", "org/runs/", {at: T}) -> "#/tree/org/runs/?at=T". */
export function route(view, path, query) {
  let out = `#/${view}`;
  if (path !== undefined && path !== null) out += "/" + encPath(path);
  const pairs = Object.entries(query || {}).filter(([, v]) => v !== undefined && v !== null && v !== "");
  if (pairs.length) out += "?" + pairs.map(([k, v]) => `${k}=${encValue(v)}`).join("&");
  return out;
}

/** The current fragment as {view, path, query}; no view is the tree. */
export function parseHash() {
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
export function folderAt(path, at) {
  if (!at) return path;
  const parts = path.replace(/\/$/, "").split("/");
  if (parts.length === 1) return `${parts[0]}/@${at}/`;
  return `${parts.join("/")}@${at}/`;
}

export function parentOf(path) {
  const parts = path.replace(/\/$/, "").split("/");
  parts.pop();
  return parts.length ? parts.join("/") + "/" : "";
}

export function baseName(path) {
  const trimmed = path.replace(/\/$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1) + (path.endsWith("/") ? "/" : "");
}
