/* Tradewinds console: hand-written SVG charts (no library). Numbers are turned into floats
   only to place pixels; every figure shown as text is the server's decimal string. */
"use strict";
(function (TW) {
  const NS = "http://www.w3.org/2000/svg";

  function svg(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function frame(container, width, height, label) {
    TW.dom.clear(container);
    const root = svg("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label,
                             preserveAspectRatio: "xMidYMid meet", class: "svg"});
    container.append(root);
    return root;
  }

  /* NAV and buy-and-hold over time. points: [{at, nav, hold}] oldest first. */
  function equity(container, points, quote) {
    const W = 800, H = 320, L = 78, R = 12, T = 36, B = 34;
    const root = frame(container, W, H, "NAV and buy and hold over time");
    const rows = (points || []).map((p) => ({t: Date.parse(p.at), nav: Number(p.nav), hold: Number(p.hold), p}))
      .filter((r) => Number.isFinite(r.t) && Number.isFinite(r.nav));
    if (rows.length === 0) {
      root.append(svg("text", {x: W / 2, y: H / 2, "text-anchor": "middle", class: "axis"}, "no equity points yet"));
      return;
    }
    const values = rows.flatMap((r) => (Number.isFinite(r.hold) ? [r.nav, r.hold] : [r.nav]));
    let lo = Math.min(...values), hi = Math.max(...values);
    if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
    const pad = (hi - lo) * 0.08;
    lo -= pad; hi += pad;
    const t0 = rows[0].t, t1 = rows[rows.length - 1].t;
    const x = (t) => L + (t1 === t0 ? (W - L - R) / 2 : ((t - t0) / (t1 - t0)) * (W - L - R));
    const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
    for (let i = 0; i <= 4; i++) {
      const v = lo + ((hi - lo) * i) / 4;
      root.append(svg("line", {x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid"}));
      root.append(svg("text", {x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "axis"},
                      v.toLocaleString("en-US", {maximumFractionDigits: 0})));
    }
    const stamp = (t) => new Date(t).toISOString().slice(5, 16).replace("T", " ");
    root.append(svg("text", {x: L, y: H - 10, class: "axis"}, stamp(t0)));
    root.append(svg("text", {x: W - R, y: H - 10, "text-anchor": "end", class: "axis"}, stamp(t1) + " UTC"));
    const line = (key) => rows.filter((r) => Number.isFinite(r[key]))
      .map((r, i) => `${i ? "L" : "M"}${x(r.t).toFixed(1)},${y(r[key]).toFixed(1)}`).join(" ");
    root.append(svg("path", {d: line("hold"), class: "line hold", id: "equity-hold", "data-points": rows.length}));
    root.append(svg("path", {d: line("nav"), class: "line nav", id: "equity-nav", "data-points": rows.length}));
    const last = rows[rows.length - 1];
    root.append(svg("circle", {cx: x(last.t), cy: y(last.nav), r: 3.5, class: "dot nav"}));
    const legend = svg("g", {transform: `translate(${L},12)`});
    legend.append(svg("rect", {x: 0, y: 0, width: 14, height: 3, class: "key nav"}));
    legend.append(svg("text", {x: 20, y: 5, class: "axis"}, `NAV ${TW.dom.money(last.p.nav)} ${quote || ""}`));
    legend.append(svg("rect", {x: 280, y: 0, width: 14, height: 3, class: "key hold"}));
    legend.append(svg("text", {x: 300, y: 5, class: "axis"}, `buy and hold ${TW.dom.money(last.p.hold)}`));
    root.append(legend);
  }

  /* Horizontal bars around zero: items [[label, decimal string]]. */
  function bars(container, items, label) {
    const rowH = 26, W = 800, L = 170, R = 110, T = 6;
    const H = Math.max(40, T * 2 + rowH * items.length);
    const root = frame(container, W, H, label);
    if (items.length === 0) {
      root.append(svg("text", {x: W / 2, y: 24, "text-anchor": "middle", class: "axis"}, "no attribution yet"));
      return;
    }
    const vals = items.map(([, v]) => Number(v)).map((v) => (Number.isFinite(v) ? v : 0));
    const span = Math.max(...vals.map(Math.abs), 1e-9);
    const zero = L + (W - L - R) / 2, half = (W - L - R) / 2;
    root.append(svg("line", {x1: zero, x2: zero, y1: 0, y2: H, class: "grid"}));
    items.forEach(([name, value], i) => {
      const v = vals[i], yy = T + i * rowH, w = (Math.abs(v) / span) * half;
      root.append(svg("text", {x: L - 8, y: yy + 17, "text-anchor": "end", class: "axis"}, name));
      root.append(svg("rect", {x: v >= 0 ? zero : zero - w, y: yy + 4, width: Math.max(w, 1), height: rowH - 8,
                               class: v >= 0 ? "bar gain" : "bar loss", "data-source": name}));
      root.append(svg("text", {x: W - 4, y: yy + 17, "text-anchor": "end", class: "axis"},
                      TW.dom.money(value, v !== 0 && Math.abs(v) < 0.01 ? 6 : 2)));
    });
  }

  TW.charts = {equity, bars};
})(window.TW = window.TW || {});
