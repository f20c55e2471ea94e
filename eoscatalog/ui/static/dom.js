// Building the DOM, and formatting what it shows.
//
// Security: the DOM is built with createElement and textContent only, so a name such as
// `<img src=x onerror=alert(1)>.csv` or a metadata value stays text. The single exception is a
// Markdown preview's `html` (preview.js), which the server renders with raw HTML disabled.

/** h("a", {href: "#/", class: "x", test: "tree"}, "text", child): an element, never HTML. */
export function h(tag, attrs, ...children) {
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

/** Append children (nodes, text, nested arrays; null, undefined and false skipped) to el. */
export function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// ---------------------------------------------------------------- formatting

export function fmtBytes(n) {
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

export function fmtCount(n) {
  return n === null || n === undefined ? "" : Number(n).toLocaleString("en-US");
}

/** "2026-06-01T12:00:00.123456Z" -> "2026-06-01 12:00:00Z" (the full value goes in title). */
export function fmtTime(t) {
  return t ? String(t).replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
}

/** To the millisecond, where events of one second must stay apart (the as-of list). */
export function fmtTimeMs(t) {
  return t ? String(t).replace("T", " ").replace(/(\.\d{3})\d*Z$/, "$1Z") : "";
}

export function shortHash(hash) {
  if (!hash) return "";
  const [algo, hex] = String(hash).includes(":") ? String(hash).split(":", 2) : ["", hash];
  return (algo ? algo + ":" : "") + hex.slice(0, 12);
}

/** A value of any JSON type as text (a string as itself). */
export function fmt(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function timeEl(t) {
  return h("time", { datetime: t || "", title: t || "" }, fmtTime(t));
}

// ---------------------------------------------------------------- copy

export async function copyText(text, button) {
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

export function copyButton(text, label) {
  const button = h("button", { type: "button", class: "copy", title: "Copy to the clipboard" },
    label || "Copy");
  button.addEventListener("click", () => copyText(text, button));
  return button;
}
