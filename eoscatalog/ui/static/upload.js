// Upload by drop: a drop zone (and a file input), the files of a drop with their relative
// paths, each PUT by XMLHttpRequest with progress, then ONE commit: a drop is one changeset.

import { ApiError, api, csrfToken, showError } from "./api.js";
import { fmtBytes, h } from "./dom.js";

/** The drop zone of `folder`; onCommitted() runs after each drop is committed. */
export function dropzone(folder, onCommitted) {
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
    if (files.length) uploadDrop(folder, files, message.value, progress, onCommitted);
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

/** PUT one file's bytes, streamed by the browser; onProgress(bytes sent so far). */
function putFile(url, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.setRequestHeader("X-EOS-CSRF", csrfToken());
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

async function uploadDrop(folder, files, message, container, onCommitted) {
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
    if (onCommitted) onCommitted(result);
  } catch (err) {
    row.classList.add("failed");
    row.dataset.state = "failed";
    label.textContent = `failed: ${err.message}`;
    showError(err);
    if (id) api(`api/upload/${encodeURIComponent(id)}`, null, { method: "DELETE" }).catch(() => {});
  }
}
