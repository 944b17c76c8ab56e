/* Tradewinds console: DOM helpers. Everything the server sends is put in the page as text
   (textContent), never as HTML, so a venue's or an operator's string cannot run script. */
"use strict";
(function (TW) {
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") node.textContent = String(v);
      else if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of [].concat(children || [])) {
      if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function byId(id) {
    return document.getElementById(id);
  }

  /* A decimal string as sent ("12345.678901"): grouped thousands, `places` decimals kept by
     cutting the string (no float rounding of money). */
  function money(value, places) {
    if (value === null || value === undefined || value === "") return "–";
    const s = String(value);
    if (!/^-?\d+(\.\d+)?$/.test(s)) return s;
    const neg = s.startsWith("-");
    const [int, frac = ""] = (neg ? s.slice(1) : s).split(".");
    const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    const p = places === undefined ? 2 : places;
    const cut = p > 0 ? "." + (frac + "0".repeat(p)).slice(0, p) : "";
    return (neg ? "-" : "") + grouped + cut;
  }

  function num(value, places) {
    if (value === null || value === undefined || value === "") return "–";
    const n = Number(value);
    return Number.isFinite(n) ? n.toFixed(places === undefined ? 2 : places) : String(value);
  }

  function pct(value, places) {
    return value === null || value === undefined ? "–" : num(value, places === undefined ? 2 : places) + " %";
  }

  function when(iso) {
    if (!iso) return "–";
    return String(iso).replace("T", " ").replace(/(\.\d+)?(\+00:00|Z)$/, " UTC");
  }

  /* A table: columns [{key, label, fmt?(row)→text|Node, cls?}], rows [object]. */
  function table(container, columns, rows, empty) {
    clear(container);
    if (!rows || rows.length === 0) {
      container.append(el("p", {class: "muted empty", text: empty || "nothing yet"}));
      return;
    }
    const head = el("tr", {}, columns.map((c) => el("th", {text: c.label, class: c.cls})));
    const body = rows.map((row) => el("tr", {}, columns.map((c) => {
      const v = c.fmt ? c.fmt(row) : row[c.key];
      return el("td", {class: c.cls, "data-label": c.label}, v instanceof Node ? v : (v === undefined || v === null ? "–" : String(v)));
    })));
    container.append(el("div", {class: "scroll"}, el("table", {}, [el("thead", {}, head), el("tbody", {}, body)])));
  }

  /* A definition list of [label, value, state?] (state: "ok" | "warn" | "bad"). */
  function facts(container, items) {
    clear(container);
    for (const [label, value, state] of items) {
      container.append(el("dt", {text: label}));
      container.append(el("dd", {text: value, class: state ? "state-" + state : undefined}));
    }
  }

  /* The message of an error answer: {error, details:[{loc, msg}]} or {detail}. */
  function errorText(status, body) {
    if (body && typeof body === "object") {
      let text = body.error || (typeof body.detail === "string" ? body.detail : "") || "";
      const details = Array.isArray(body.details) ? body.details : Array.isArray(body.detail) ? body.detail : [];
      const parts = details.map((d) => {
        const loc = (d.loc || []).filter((p) => p !== "body").join(".");
        return (loc ? loc + ": " : "") + (d.msg || "");
      }).filter(Boolean);
      if (parts.length) text = (text && text !== "invalid request" ? text + " — " : "") + parts.join("; ");
      if (text) return text;
    }
    return "HTTP " + status;
  }

  TW.dom = {el, clear, byId, money, num, pct, when, table, facts, errorText};
})(window.TW = window.TW || {});
