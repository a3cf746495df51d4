// Deskbridge console: what the server-rendered pages need in the browser — the live diff
// between the AI's draft and the text that will be sent, keyboard shortcuts, and moving
// through the queue. Pages work without it (forms post as they are); nothing here is
// trusted by the server.
"use strict";

(function () {
  // ---- Word diff (LCS over words and the spaces between them) ----
  const MAX_CELLS = 4_000_000;

  function tokens(text) {
    return text.split(/(\s+)/).filter((t) => t.length > 0);
  }

  // [{op: "same"|"del"|"ins", text}], or null when the texts are too long to diff here.
  function diff(before, after) {
    const a = tokens(before), b = tokens(after);
    if ((a.length + 1) * (b.length + 1) > MAX_CELLS) return null;
    const w = b.length + 1;
    const table = new Uint32Array((a.length + 1) * w);
    for (let i = a.length - 1; i >= 0; i--) {
      for (let j = b.length - 1; j >= 0; j--) {
        table[i * w + j] = a[i] === b[j]
          ? table[(i + 1) * w + j + 1] + 1
          : Math.max(table[(i + 1) * w + j], table[i * w + j + 1]);
      }
    }
    const out = [];
    const push = (op, text) => {
      const last = out[out.length - 1];
      if (last && last.op === op) last.text += text; else out.push({ op, text });
    };
    let i = 0, j = 0;
    while (i < a.length && j < b.length) {
      if (a[i] === b[j]) { push("same", a[i]); i++; j++; }
      else if (table[(i + 1) * w + j] >= table[i * w + j + 1]) { push("del", a[i]); i++; }
      else { push("ins", b[j]); j++; }
    }
    while (i < a.length) push("del", a[i++]);
    while (j < b.length) push("ins", b[j++]);
    return out;
  }

  function normalize(text) {
    return text.replace(/\r\n/g, "\n");
  }

  function renderDiff(form) {
    const editor = form.querySelector("[data-editor]");
    const region = form.querySelector("[data-diff]");
    const source = document.getElementById(form.dataset.aiText);
    const approve = form.querySelector("button.approve");
    if (!editor || !region || !source) return;
    const before = normalize(source.textContent);
    const after = normalize(editor.value);
    region.replaceChildren();
    if (before === after) {
      region.hidden = true;
      if (approve) approve.firstChild.textContent = "Approve and send";
      return;
    }
    region.hidden = false;
    if (approve) approve.firstChild.textContent = "Approve edited text and send";
    const heading = document.createElement("p");
    heading.className = "diff-title";
    heading.textContent = "Your changes to the AI draft (removed struck through, added underlined):";
    region.append(heading);
    const parts = diff(before, after);
    const body = document.createElement("div");
    body.className = "diff-body";
    if (parts === null) {
      body.textContent = "The text was changed (too long to show the differences here).";
    } else {
      for (const part of parts) {
        const el = document.createElement(part.op === "del" ? "del" : part.op === "ins" ? "ins" : "span");
        el.textContent = part.text;
        body.append(el);
      }
    }
    region.append(body);
  }

  for (const form of document.querySelectorAll("form.decide")) {
    const editor = form.querySelector("[data-editor]");
    if (editor) {
      editor.addEventListener("input", () => renderDiff(form));
      editor.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          form.querySelector("button.approve")?.click();
        }
      });
      renderDiff(form);
    }
    form.addEventListener("submit", (event) => {
      const button = event.submitter;
      const reason = form.querySelector("[data-reason]");
      if (button && button.value === "reject" && reason && reason.value.trim() === "") {
        event.preventDefault();
        reason.setCustomValidity("Say why you reject the draft.");
        reason.reportValidity();
        reason.focus();
      }
    });
    form.querySelector("[data-reason]")?.addEventListener("input", (e) => e.target.setCustomValidity(""));
  }

  // ---- Keyboard ----
  function typing(target) {
    return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement ||
      target instanceof HTMLSelectElement || target.isContentEditable;
  }

  const rows = Array.from(document.querySelectorAll("table.queue tbody tr[data-href]"));
  let current = -1;
  function select(i) {
    if (rows.length === 0) return;
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((row, n) => row.classList.toggle("selected", n === current));
    rows[current].querySelector("a")?.focus();
  }
  for (const row of rows) {
    row.addEventListener("click", (event) => {
      if (!event.target.closest("a")) window.location.assign(row.dataset.href);
    });
  }

  // Single-key shortcuts are off inside a helpdesk's sidebar: a key meant for the helpdesk's
  // own reply box must never approve a draft there.
  const embedded = document.body.dataset.embedded === "1";
  document.addEventListener("keydown", (event) => {
    if (embedded || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const form = document.querySelector("form.decide");
    switch (event.key) {
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "a": if (form) { event.preventDefault(); form.querySelector("button.approve")?.click(); } break;
      case "r": if (form) { event.preventDefault(); form.querySelector("[data-reason]")?.focus(); } break;
      case "e": if (form) { event.preventDefault(); form.querySelector("[data-editor]")?.focus(); } break;
      default: return;
    }
  });
})();
