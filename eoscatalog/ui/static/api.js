// The JSON API (docs/ui.md): GET and write helpers, the CSRF header, errors and the error box.

import { append, clear, h } from "./dom.js";
import { state } from "./state.js";

export class ApiError extends Error {}

/** A relative URL with the params that have a value: apiUrl("api/tree", {path}). */
export function apiUrl(path, params) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") query.set(k, v);
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** The header every write carries (POST, PUT, DELETE): the secret api/info gave. */
export function csrfToken() {
  return state.info ? state.info.csrf : "";
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

/** The JSON answer of a call; a failed call throws an ApiError with the server's message. */
export async function api(path, params, options) {
  const opts = options || {};
  const init = { method: opts.method || "GET", headers: {}, credentials: "same-origin" };
  if (init.method !== "GET") init.headers["X-EOS-CSRF"] = csrfToken();
  if (opts.body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(opts.body);
  }
  const response = await fetch(apiUrl(path, params), init);
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

/** Show an error in the page's error box; showError(null) hides it. */
export function showError(err) {
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
