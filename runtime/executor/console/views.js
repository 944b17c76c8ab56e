/* Tradewinds console: the views. Each view fetches its routes (see docs/console.md for the
   API contract) and renders tables, facts and charts; admin actions go through the
   confirmation dialog (operator + reason) and show the server's message on refusal. */
"use strict";
(function (TW) {
  const {el, byId, money, num, pct, when, table, facts, errorText} = TW.dom;
  const enc = encodeURIComponent;
  const local = {settings: null, dirty: false, quote: "USDT"};

  async function get(path) {
    const answer = await TW.api("GET", path);
    if (!answer.ok) throw Object.assign(new Error(errorText(answer.status, answer.body)), {status: answer.status});
    return answer.body;
  }

  /* Fetch several routes at once; a failed one leaves its value null and its error. */
  async function fetchAll(paths) {
    const out = await Promise.all(paths.map((p) => get(p).then((b) => [b, null], (e) => [null, e])));
    return out;
  }

  function unavailable(container, error) {
    TW.dom.clear(container).append(el("p", {class: "error", text: "unavailable: " + error.message}));
  }

  function button(label, cls, onclick) {
    return el("button", {type: "button", class: cls, text: label, onclick});
  }

  function admin(title, text, method, path, body, extra) {
    TW.confirmAction({
      title, text, ...(extra || {}),
      run: (reason, operator) => TW.api(method, path, body(reason, operator)),
    });
  }

  function level(value, limit, warnAt) {
    const v = Number(value), l = Number(limit);
    if (!Number.isFinite(v) || !Number.isFinite(l) || l === 0) return undefined;
    return v >= l ? "bad" : v >= l * (warnAt || 0.7) ? "warn" : "ok";
  }

  // -- overview ----------------------------------------------------------------------------
  function header(risk, pnl) {
    const halted = risk ? risk.halted : pnl ? pnl.halted : null;
    const badge = byId("halt-badge");
    badge.hidden = halted === null;
    badge.textContent = halted ? "HALTED" : "trading";
    badge.className = "badge " + (halted ? "bad" : "ok");
  }

  function renderRisk(risk) {
    const lossPct = risk.daily_loss_pct, lossMax = risk.max_daily_loss_pct;
    const win = risk.win_rate, floor = risk.min_win_rate;
    facts(byId("risk"), [
      ["trading", risk.halted ? "HALTED" : "running", risk.halted ? "bad" : "ok"],
      ["halt reason", risk.halted ? `${risk.halt_reason || "–"} (${risk.halt_cause || "?"})` : "–"],
      ["halted by", risk.halted ? `${risk.halted_by || "–"} at ${when(risk.halted_at)}` : "–"],
      ["mode", risk.mode || "–"],
      ["PnL today", money(risk.daily_pnl)],
      ["daily loss vs limit", `${pct(lossPct)} of ${pct(lossMax)}`, level(lossPct, lossMax)],
      ["win rate vs floor", win === null || win === undefined ? `n/a (floor ${pct(Number(floor) * 100, 0)})`
        : `${pct(Number(win) * 100, 1)} vs ${pct(Number(floor) * 100, 0)}`,
        win === null || win === undefined ? undefined : Number(win) < Number(floor) ? "bad" : "ok"],
      ["avg latency vs limit", `${num(risk.avg_latency_ms, 1)} ms of ${num(risk.max_avg_latency_ms, 0)} ms`,
        level(risk.avg_latency_ms, risk.max_avg_latency_ms)],
      ["settings version", String(risk.settings_version ?? "–")],
    ]);
  }

  function renderPnl(pnl) {
    facts(byId("pnl"), [
      ["NAV", money(pnl.nav)], ["start capital", money(pnl.start_capital)],
      ["total PnL (net of costs)", money(pnl.total_pnl), Number(pnl.total_pnl) < 0 ? "bad" : "ok"],
      ["return", pct(pnl.return_pct, 3)], ["PnL today", money(pnl.pnl_today)],
      ["buy and hold", money(pnl.buy_and_hold)], ["fees today", money(pnl.fees_today)],
      ["trading day", pnl.trading_day || "–"],
    ]);
    const items = Object.entries(pnl.attribution || {});
    TW.charts.bars(byId("attribution"), items, "PnL attribution by source");
  }

  async function overview() {
    const [[risk, riskErr], [pnl, pnlErr], [eq, eqErr]] = await fetchAll(["/v1/risk", "/v1/pnl", "/v1/equity?limit=1440"]);
    header(risk, pnl);
    if (risk) renderRisk(risk); else unavailable(byId("risk"), riskErr);
    if (pnl) renderPnl(pnl); else { unavailable(byId("pnl"), pnlErr); unavailable(byId("attribution"), pnlErr); }
    if (eq) TW.charts.equity(byId("equity-chart"), eq.points, local.quote); else unavailable(byId("equity-chart"), eqErr);
  }

  // -- balances ------------------------------------------------------------------------------
  async function balances() {
    const [[bal, balErr], [pos, posErr], [risk]] = await fetchAll(["/v1/balances", "/v1/positions", "/v1/risk"]);
    header(risk, null);
    if (bal) {
      table(byId("balances"), [
        {key: "venue", label: "venue"}, {key: "asset", label: "asset"},
        {label: "total", cls: "num", fmt: (r) => money(r.total, 8)},
        {label: "value", cls: "num", fmt: (r) => money(r.usd)},
      ], bal.balances, "no balances");
      byId("balances").append(el("p", {class: "total", text: "NAV " + money(bal.nav)}));
    } else unavailable(byId("balances"), balErr);
    if (pos) {
      table(byId("positions"), [
        {key: "venue", label: "venue"}, {key: "symbol", label: "symbol"},
        {label: "quantity", cls: "num", fmt: (r) => money(r.quantity, 8)},
        {label: "avg cost", cls: "num", fmt: (r) => money(r.avg_cost, 6)},
        {label: "mark", cls: "num", fmt: (r) => money(r.mark_price, 6)},
        {label: "unrealised", cls: "num", fmt: (r) => money(r.unrealised_pnl)},
        {label: "realised", cls: "num", fmt: (r) => money(r.realised_pnl)},
      ], pos.positions, "no open positions");
    } else unavailable(byId("positions"), posErr);
  }

  // -- trades ------------------------------------------------------------------------------------
  function cancelOrder(id) {
    admin("Cancel order", `Cancel order ${id} at its venue.`, "POST", `/v1/orders/${enc(id)}/cancel`,
          (reason, operator) => ({reason, operator}));
  }

  async function trades() {
    const form = byId("trade-filters");
    const q = new URLSearchParams({limit: "200"});
    for (const name of ["strategy", "venue", "symbol", "source"]) {
      const v = form.elements[name].value.trim();
      if (v) q.set(name, v);
    }
    const [[data, err], [risk]] = await fetchAll([`/v1/trades?${q}`, "/v1/risk"]);
    header(risk, null);
    if (!data) return unavailable(byId("trades"), err);
    table(byId("trades"), [
      {label: "time", fmt: (r) => when(r.executed_at)}, {key: "venue", label: "venue"},
      {key: "symbol", label: "symbol"}, {key: "side", label: "side"}, {key: "status", label: "status"},
      {label: "quantity", cls: "num", fmt: (r) => money(r.filled_quantity, 8)},
      {label: "price", cls: "num", fmt: (r) => money(r.price, 6)},
      {label: "fee", cls: "num", fmt: (r) => money(r.fee_usd)},
      {label: "PnL", cls: "num", fmt: (r) => money(r.realised_pnl_usd)},
      {key: "strategy", label: "strategy"}, {key: "source", label: "source"},
      {label: "latency", cls: "num", fmt: (r) => (r.latency_ms === undefined ? "–" : num(r.latency_ms, 0) + " ms")},
      {label: "order", fmt: (r) => (r.status === "partially_filled"
        ? button("Cancel", "danger small", () => cancelOrder(r.client_order_id)) : el("code", {text: r.client_order_id || "–"}))},
    ], data.trades, "no trades match");
  }

  // -- arbitrage -------------------------------------------------------------------------------
  async function arbitrage() {
    const reason = byId("miss-filter").elements.reason.value.trim();
    const q = new URLSearchParams({limit: "100"});
    if (reason) q.set("reason", reason);
    const [[data, err], [risk]] = await fetchAll([`/v1/opportunities?${q}`, "/v1/risk"]);
    header(risk, null);
    if (!data) return ["by-reason", "arb-executed", "arb-misses"].forEach((id) => unavailable(byId(id), err));
    const reasons = Object.entries(data.by_reason || {}).map(([r, n]) => ({reason: r, n}));
    table(byId("by-reason"), [{key: "reason", label: "reason"}, {key: "n", label: "count", cls: "num"}], reasons, "no near misses");
    table(byId("arb-executed"), [
      {label: "detected", fmt: (r) => when(r.detected_at)}, {key: "kind", label: "kind"}, {key: "key", label: "route"},
      {label: "net bps", cls: "num", fmt: (r) => num(r.net_bps, 2)},
      {label: "expected", cls: "num", fmt: (r) => money(r.expected_profit)},
      {label: "realised", cls: "num", fmt: (r) => money(r.realised)},
      {label: "notional", cls: "num", fmt: (r) => money(r.notional_usd)},
      {label: "flat", fmt: (r) => (r.flat === undefined ? "–" : r.flat ? "yes" : "NO")},
    ], data.executed, "no executed opportunities");
    table(byId("arb-misses"), [
      {label: "time", fmt: (r) => when(r.at)}, {key: "kind", label: "kind"}, {key: "key", label: "route"},
      {key: "reason", label: "reason"}, {label: "gross bps", cls: "num", fmt: (r) => num(r.gross_bps, 2)},
      {label: "net bps", cls: "num", fmt: (r) => num(r.net_bps, 2)}, {key: "detail", label: "detail"},
    ], data.near_misses, "no near misses");
  }

  // -- operations ------------------------------------------------------------------------------
  function requeue(keys) {
    const what = keys ? `dead letter ${keys[0]}` : "every dead letter";
    admin("Requeue", `Deliver ${what} again to its subscription.`, "POST", "/v1/dlq/requeue",
          (reason, operator) => ({...(keys ? {keys} : {}), reason, ...(operator ? {operator} : {})}));
  }

  function details(doc, skip) {
    return Object.entries(doc).filter(([k, v]) => !skip.includes(k) && v !== null && typeof v !== "object")
      .map(([k, v]) => `${k}=${v}`).join(" ").slice(0, 240);
  }

  async function operations() {
    const [[lat, latErr], [brk, brkErr], [dlq, dlqErr], [notes, notesErr], [audit, auditErr], [risk]] = await fetchAll([
      "/v1/latency", "/v1/breakers", "/v1/dlq?limit=100", "/v1/notifications/recent?limit=50", "/v1/audit?limit=50", "/v1/risk"]);
    header(risk, null);
    if (lat) {
      const o = lat.order_ms || {}, h = lat.hot_path_us || {};
      table(byId("latency"), [{key: "what", label: "measure"}, {key: "p50", label: "p50", cls: "num"},
                              {key: "p99", label: "p99", cls: "num"}, {key: "n", label: "n", cls: "num"}], [
        {what: "order (ms)", p50: num(o.p50, 1), p99: num(o.p99, 1), n: o.n ?? 0},
        {what: "hot path (µs)", p50: num(h.p50, 1), p99: num(h.p99, 1), n: h.n ?? 0},
      ]);
    } else unavailable(byId("latency"), latErr);
    if (brk) {
      table(byId("breakers"), [{key: "venue", label: "venue"}, {key: "state", label: "breaker"},
        {label: "reject ratio", cls: "num", fmt: (r) => pct(Number(r.reject_ratio) * 100, 1)},
        {label: "shunned", fmt: (r) => (r.shunned ? "yes" : "no")}], brk.venues, "no venue wired to this service");
    } else unavailable(byId("breakers"), brkErr);
    if (dlq) {
      table(byId("dlq"), [{label: "message", fmt: (r) => r.key || r.message_id}, {key: "subscription", label: "subscription"},
        {key: "type", label: "type"}, {key: "attempts", label: "attempts", cls: "num"}, {key: "reason", label: "reason"},
        {label: "dead at", fmt: (r) => when(r.dead_at)},
        {label: "", fmt: (r) => button("Requeue", "small", () => requeue([r.key || r.message_id]))}],
        dlq.items, "no dead letters");
    } else unavailable(byId("dlq"), dlqErr);
    if (notes) {
      table(byId("notifications"), [{label: "time", fmt: (r) => when(r.created_at)}, {key: "kind", label: "kind"},
        {key: "severity", label: "severity"}, {key: "title", label: "title"},
        {label: "text", fmt: (r) => String(r.text || "").slice(0, 200)}], notes.items, "no notifications");
    } else unavailable(byId("notifications"), notesErr);
    if (audit) {
      table(byId("audit"), [{label: "time", fmt: (r) => when(r.at)}, {key: "kind", label: "kind"},
        {key: "actor", label: "who"}, {label: "why / details", fmt: (r) => r.reason || details(r, ["kind", "at", "actor"])}],
        audit.items, "no audit entries");
    } else unavailable(byId("audit"), auditErr);
  }

  // -- strategies: who trades with its weight, who votes on paper only, and why ------------------
  const STATES = {live: ["live", "ok"], standing_aside: ["standing aside", "bad"], warming_up: ["warming up", "warn"]};

  async function strategies() {
    const [[data, err], [risk]] = await fetchAll(["/v1/console/strategies", "/v1/risk"]);
    header(risk, null);
    if (!data) { byId("gate").textContent = ""; return unavailable(byId("strategies"), err); }
    byId("gate").textContent = data.gate_enabled ? "gate on: only a live strategy trades with its weight; "
      + "the others vote on paper until their paper trades pay after fees" : "gate off: every strategy trades with its weight";
    table(byId("strategies"), [
      {key: "name", label: "strategy"},
      {label: "state", fmt: (r) => { const [label, cls] = STATES[r.state] || [r.state, ""]; return el("span", {class: "state-" + cls, text: label}); }},
      {label: "trades", fmt: (r) => (r.trading ? "with its weight" : "on paper only")},
      {key: "why", label: "why", cls: "wrap"},
      {key: "paper_trades", label: "paper trades", cls: "num"},
      {label: "params", fmt: (r) => "v" + r.params_version},
      {label: "since", fmt: (r) => when(r.since)},
    ], data.strategies, "no strategy configured or recorded");
  }

  // -- optimizer ------------------------------------------------------------------------------
  function decide(job, verb) {
    admin(`${verb[0].toUpperCase()}${verb.slice(1)} job`, `${verb} optimizer job ${job.job_id} (${job.strategy}).`,
          "POST", `/v1/optimizer/jobs/${enc(job.job_id)}/${verb}`, (reason, operator) => ({reason, operator}));
  }

  function report(job) {
    const r = job.recommended_report || job.report || {};
    const parts = Object.entries(r).filter(([, v]) => typeof v !== "object").slice(0, 4).map(([k, v]) => `${k} ${v}`);
    const params = job.recommended_params ? Object.entries(job.recommended_params).map(([k, v]) => `${k}=${v}`).join(", ") : "";
    return [params, parts.join(", "), job.note || ""].filter(Boolean).join(" · ").slice(0, 300);
  }

  async function optimizer() {
    const [[data, err], [risk]] = await fetchAll(["/v1/optimizer/jobs?limit=50", "/v1/risk"]);
    header(risk, null);
    if (!data) return unavailable(byId("jobs"), err);
    table(byId("jobs"), [{label: "created", fmt: (r) => when(r.created_at)}, {key: "job_id", label: "job"},
      {key: "strategy", label: "strategy"}, {key: "status", label: "status"}, {label: "report", fmt: report},
      {label: "", fmt: (r) => (r.status === "recommended"
        ? el("span", {class: "row-actions"}, [button("Approve", "small", () => decide(r, "approve")),
                                              button("Reject", "small danger", () => decide(r, "reject"))])
        : (r.decided_by ? "by " + r.decided_by : ""))}], data.jobs, "no optimizer jobs");
  }

  // -- settings ---------------------------------------------------------------------------------
  function flatten(obj, prefix, out) {
    for (const [k, v] of Object.entries(obj || {})) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out); else out.push([key, v]);
    }
    return out;
  }

  function renderEditor(settings) {
    const box = TW.dom.clear(byId("settings-fields"));
    for (const [key, value] of flatten(settings.risk || {}, "", [])) {
      const id = "set-" + key.replace(/\./g, "-");
      box.append(el("label", {for: id, text: key}));
      box.append(el("input", {id, name: key, value: value === null ? "" : String(value), "data-original": JSON.stringify(value),
                              oninput: () => { local.dirty = true; }}));
    }
    byId("settings-version").textContent = `version ${settings.version}` +
      (settings.updated_at ? ` by ${settings.updated_by} at ${when(settings.updated_at)}` : " (config/risk.yaml)");
    local.dirty = false;
  }

  function changes() {
    const risk = {};
    for (const input of byId("settings-fields").querySelectorAll("input")) {
      const original = JSON.parse(input.dataset.original);
      const raw = input.value.trim();
      if (raw === (original === null ? "" : String(original))) continue;
      const value = typeof original === "number" && raw !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
      const path = input.name.split(".");
      let node = risk;
      path.slice(0, -1).forEach((p) => { node = node[p] = node[p] || {}; });
      node[path[path.length - 1]] = value;
    }
    return risk;
  }

  function saveSettings(event) {
    event.preventDefault();
    const risk = changes();
    const msg = byId("settings-msg");
    msg.textContent = "";
    if (!Object.keys(risk).length) { msg.textContent = "nothing changed"; return; }
    const shown = flatten(risk, "", []).map(([k, v]) => `${k} = ${v}`).join(", ");
    admin("Save risk limits", `New version over ${local.settings.version}: ${shown}`, "PUT", "/v1/settings",
          (reason, operator) => ({risk, reason, operator, expected_version: local.settings.version}),
          {onError: (message) => { msg.textContent = message; },
           done: () => { local.dirty = false; local.settings = null; msg.textContent = ""; }});
  }

  function restore(version) {
    admin("Restore settings", `Make version ${version} current again (as a new version).`, "POST",
          "/v1/settings/restore", (reason, operator) => ({version, reason, operator}),
          {done: () => { local.dirty = false; local.settings = null; }});
  }

  async function settings() {
    const [[cur, curErr], [vers, versErr], [risk]] = await fetchAll(["/v1/settings", "/v1/settings/versions", "/v1/risk"]);
    header(risk, null);
    if (cur) {
      if (!local.dirty && (!local.settings || JSON.stringify(local.settings) !== JSON.stringify(cur))) renderEditor(cur);
      if (!local.dirty) local.settings = cur;
    } else unavailable(byId("settings-fields"), curErr);
    if (vers) {
      const current = cur ? cur.version : null;
      const rows = [...(vers.versions || [])].sort((a, b) => b.version - a.version);
      if (rows.length && !rows.some((r) => r.version === 0)) {
        rows.push({version: 0, updated_by: "config", reason: "the values of config/risk.yaml, no override"});
      }
      table(byId("versions"), [{key: "version", label: "version", cls: "num"}, {label: "at", fmt: (r) => when(r.updated_at)},
        {key: "updated_by", label: "by"}, {key: "reason", label: "reason"},
        {label: "", fmt: (r) => (r.version === current ? "current" : button("Restore", "small", () => restore(r.version)))}],
        rows, "no versions yet: config/risk.yaml is in force");
    } else unavailable(byId("versions"), versErr);
  }

  // -- wiring -------------------------------------------------------------------------------------
  const all = {overview, balances, trades, arbitrage, operations, strategies, optimizer, settings};

  function bind() {
    const halting = (halt) => () => admin(halt ? "Halt trading" : "Resume trading",
      halt ? "Stop every new order on every venue." : "Allow new orders again.", "POST", halt ? "/v1/halt" : "/v1/resume",
      (reason, operator) => ({reason, operator}));
    byId("halt").addEventListener("click", halting(true));
    byId("resume").addEventListener("click", halting(false));
    byId("requeue-all").addEventListener("click", () => requeue(null));
    for (const id of ["trade-filters", "miss-filter"]) {
      byId(id).addEventListener("submit", (e) => { e.preventDefault(); TW.refresh(); });
    }
    byId("cancel-form").addEventListener("submit", (e) => { e.preventDefault(); cancelOrder(e.target.elements.order_id.value.trim()); });
    byId("run-job").addEventListener("submit", (e) => {
      e.preventDefault();
      const strategy = e.target.elements.strategy.value.trim(), days = Number(e.target.elements.window_days.value);
      admin("Run optimisation", `Search ${strategy} over ${days} days.`, "POST", "/v1/optimizer/jobs",
            (reason, operator) => ({strategy, window_days: days, reason, operator}));
    });
    byId("rollback").addEventListener("submit", (e) => {
      e.preventDefault();
      const strategy = e.target.elements.strategy.value.trim(), version = Number(e.target.elements.version.value);
      admin("Roll back parameters", `Make ${strategy} v${version} current again.`, "POST",
            `/v1/params/${enc(strategy)}/rollback`, (reason, operator) => ({version, reason, operator}));
    });
    byId("settings-form").addEventListener("submit", saveSettings);
    byId("settings-reload").addEventListener("click", () => { local.dirty = false; local.settings = null; byId("settings-msg").textContent = ""; TW.refresh(); });
  }

  function reset() {
    local.settings = null;
    local.dirty = false;
  }

  TW.views = {all, bind, reset, poll: (view) => all[view]()};
})(window.TW = window.TW || {});
