// Deskbridge console: checks approval-log inclusion proofs in the browser.
//
// For an entry, the server sends its canonical bytes, the audit path and the signed
// checkpoint. This script trusts none of it: it hashes the entry itself
// (SHA-256(0x00 || bytes)), folds the path to a root (RFC 9162 §2.1.3.2), requires that root
// and the tree size to be the checkpoint's, and verifies the checkpoint's Ed25519 signature
// (C2SP signed-note) under the log's key — the key the reviewer pinned in this browser if
// they did, so a server that swaps the key is caught too. WebCrypto does the hashing and the
// signature check.
"use strict";

(function () {
  const PIN = "deskbridge.pinnedLogKey";
  const te = new TextEncoder();

  function b64(text) {
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function hex(text) {
    if (!/^([0-9a-f]{2})*$/.test(text)) throw new Error("not hex: " + text.slice(0, 16));
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }
  function toHex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
  function same(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }
  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  // `<name>+<key id, 8 hex>+base64(0x01 || 32-byte Ed25519 key)`
  async function parseKey(text) {
    // The name holds no '+'; the base64 key may.
    const trimmed = text.trim();
    const first = trimmed.indexOf("+");
    const second = trimmed.indexOf("+", first + 1);
    if (first < 1 || second < 0) throw new Error("the key is not <name>+<id>+<key>");
    const name = trimmed.slice(0, first);
    const id = trimmed.slice(first + 1, second);
    const data = trimmed.slice(second + 1);
    const typed = b64(data);
    if (typed.length !== 33 || typed[0] !== 1) throw new Error("the key is not an Ed25519 key");
    const keyId = (await sha256(concat(te.encode(name + "\n"), typed))).slice(0, 4);
    if (toHex(keyId) !== id) throw new Error("the key id does not match the key");
    const key = await crypto.subtle.importKey("raw", typed.slice(1), { name: "Ed25519" }, false, ["verify"]);
    return { name, keyId, key };
  }

  // Returns the note's text if it carries a valid signature by `key`; throws otherwise.
  async function openNote(note, key) {
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new Error("the checkpoint is not a signed note");
    const text = note.slice(0, split + 1);
    const lines = note.slice(split + 2).split("\n").filter((l) => l.length > 0);
    let verified = false;
    for (const line of lines) {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new Error("a malformed signature line");
      if (m[1] !== key.name) continue;
      const blob = b64(m[2]);
      if (blob.length !== 68 || !same(blob.slice(0, 4), key.keyId)) continue;
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, key.key, blob.slice(4), te.encode(text));
      if (!ok) throw new Error("the checkpoint's signature does not verify");
      verified = true;
    }
    if (!verified) throw new Error("the checkpoint carries no signature by " + key.name);
    return text;
  }

  async function nodeHash(left, right) {
    return sha256(concat(new Uint8Array([1]), left, right));
  }

  // RFC 9162 §2.1.3.2, with BigInt-free arithmetic (sizes stay below 2^53).
  async function rootFromPath(index, size, leaf, path) {
    if (index >= size) throw new Error("the entry is outside the tree");
    let fn = index, sn = size - 1, hash = leaf;
    for (const sibling of path) {
      if (sn === 0) throw new Error("the proof is too long");
      if (fn % 2 === 1 || fn === sn) {
        hash = await nodeHash(sibling, hash);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        hash = await nodeHash(hash, sibling);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("the proof is too short");
    return hash;
  }

  async function verify(p, keyText, index) {
    if (p.index !== index) throw new Error("the server answered with another entry's proof");
    if (!p.proof.every((h) => /^[0-9a-f]{64}$/.test(h))) throw new Error("a proof hash is not 32 bytes");
    const key = await parseKey(keyText);
    const text = await openNote(p.checkpoint, key);
    const [origin, sizeLine, rootLine] = text.split("\n");
    if (origin !== key.name) throw new Error("the checkpoint is of another log than the key's");
    const size = Number(sizeLine);
    if (!/^\d+$/.test(sizeLine) || size !== p.size) throw new Error("the proof is for another tree size than the checkpoint");
    const root = b64(rootLine);
    const entry = JSON.parse(p.canonical);
    if (entry.index !== p.index) throw new Error("the entry bytes are of another entry");
    const leaf = await sha256(concat(new Uint8Array([0]), te.encode(p.canonical)));
    const computed = await rootFromPath(p.index, size, leaf, p.proof.map(hex));
    if (!same(computed, root)) throw new Error("the proof does not lead to the checkpoint's root");
    return { origin, size, entry, keyName: key.name };
  }

  // result: "verified", "unpinned", "failed", or "" while checking.
  function show(index, result, message) {
    const el = document.querySelector('[data-proof-for="' + index + '"]');
    if (!el) return;
    el.textContent = message;
    if (result) el.dataset.result = result; else delete el.dataset.result;
    el.className = "proof " + (result === "verified" ? "ok" : result === "failed" ? "failed" : "");
  }

  async function check(index) {
    show(index, "", "checking…");
    try {
      const res = await fetch("/console/audit/entries/" + index, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const p = await res.json();
      if (!res.ok) throw new Error(p.detail || "the server refused the proof");
      const pinned = localStorage.getItem(PIN);
      const keyText = pinned || p.public_key;
      const r = await verify(p, keyText, index);
      const what = "entry " + r.entry.index + " (" + r.entry.kind +
        (r.entry.data && r.entry.data.draft_id ? ", draft " + r.entry.data.draft_id : "") +
        ") is in " + r.origin + " of " + r.size + " entries";
      if (pinned) {
        show(index, "verified", "Verified against your pinned key: " + what + ".");
      } else {
        show(index, "unpinned", "Consistent, but only with the key this server names: " + what +
          ". Pin the log's key from your own records to verify.");
      }
    } catch (e) {
      show(index, "failed", "FAILED: " + e.message);
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-verify]");
    if (button) check(Number(button.dataset.verify));
  });

  const form = document.querySelector("[data-pin-form]");
  if (form) {
    const input = form.querySelector("input");
    const status = form.querySelector("[data-pin-status]");
    input.value = localStorage.getItem(PIN) || "";
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (text === "") { localStorage.removeItem(PIN); status.textContent = "No key pinned."; return; }
      try {
        await parseKey(text);
        localStorage.setItem(PIN, text);
        status.textContent = "Pinned.";
      } catch (e) {
        status.textContent = "Not pinned: " + e.message;
      }
    });
  }
})();
