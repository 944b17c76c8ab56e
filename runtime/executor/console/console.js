/* Tradewinds console: sign-in, the API client, polling, the confirmation dialog, tabs.
   The token lives in sessionStorage only (this tab, this session), is sent only in the
   Authorization header, and is never put in a URL or written to the browser console. */
"use strict";
(function (TW) {
  const {byId, clear, errorText} = TW.dom;
  const TOKEN_KEY = "tw.console.token";
  const OPERATOR_KEY = "tw.console.operator";
  const POLL_MS = 2000;
  const state = {token: null, view: "overview", timer: null, generation: 0, attempts: 0};
  TW.state = state;

  /* One call to the API: {ok, status, body}; a 401 signs out ("sign-in refused"). */
  async function api(method, path, body, token) {
    const headers = {"Accept": "application/json", "Authorization": "Bearer " + (token || state.token)};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                               cache: "no-store", credentials: "omit", redirect: "error",
                               referrerPolicy: "no-referrer"});
    } catch (err) {
      return {ok: false, status: 0, body: {error: "cannot reach the server"}};
    }
    let data = null;
    try { data = await res.json(); } catch (err) { data = null; }
    if (res.status === 401 && !token && state.token) signOut("sign-in refused: the token is no longer accepted");
    return {ok: res.ok, status: res.status, body: data};
  }
  TW.api = api;

  function toast(text, kind) {
    const box = byId("toast");
    box.textContent = text;
    box.className = "toast " + (kind || "info");
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 15000 : 6000);
  }
  TW.toast = toast;

  /* Ask for confirmation, the operator and a reason, then run(reason, operator) → api answer.
     A refusal keeps the dialog open with the server's message (and tells onError). */
  function confirmAction({title, text, run, done, onError}) {
    const dialog = byId("confirm");
    byId("confirm-title").textContent = title;
    byId("confirm-text").textContent = text || "";
    byId("confirm-error").textContent = "";
    byId("confirm-reason").value = "";
    byId("confirm-operator").value = sessionStorage.getItem(OPERATOR_KEY) || "";
    const form = byId("confirm-form");
    const ok = byId("confirm-ok");
    ok.disabled = false;
    form.onsubmit = async (event) => {
      event.preventDefault();
      const operator = byId("confirm-operator").value.trim();
      const reason = byId("confirm-reason").value.trim();
      sessionStorage.setItem(OPERATOR_KEY, operator);
      ok.disabled = true;
      const answer = await run(reason, operator);
      ok.disabled = false;
      if (answer.ok) {
        dialog.close();
        toast(title + ": done", "ok");
        if (done) done(answer.body);
        refresh();
      } else {
        const message = "refused: " + errorText(answer.status, answer.body);
        byId("confirm-error").textContent = message;
        toast(title + " " + message, "error");
        if (onError) onError(message, answer);
      }
    };
    byId("confirm-cancel").onclick = () => dialog.close();
    dialog.showModal();
    byId(byId("confirm-operator").value ? "confirm-reason" : "confirm-operator").focus();
  }
  TW.confirmAction = confirmAction;

  // -- sign-in ---------------------------------------------------------------------------
  async function signIn(token) {
    const msg = byId("signin-msg");
    msg.textContent = "";
    const attempt = ++state.attempts;
    const answer = await api("GET", "/v1/pnl", undefined, token);
    if (attempt !== state.attempts) return false;  // signed out (or again) meanwhile
    if (!answer.ok) {
      sessionStorage.removeItem(TOKEN_KEY);
      msg.textContent = answer.status === 401 || answer.status === 403 ? "sign-in refused"
        : "sign-in failed: " + errorText(answer.status, answer.body);
      return false;
    }
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    byId("token").value = "";
    byId("signin").hidden = true;
    byId("app").hidden = false;
    byId("signout").hidden = false;
    show(location.hash.slice(1) || state.view);
    return true;
  }

  function signOut(message) {
    state.token = null;
    state.attempts += 1;
    state.generation += 1;
    clearTimeout(state.timer);
    sessionStorage.removeItem(TOKEN_KEY);
    byId("app").hidden = true;
    byId("signout").hidden = true;
    byId("halt-badge").hidden = true;
    byId("updated").textContent = "";
    for (const node of document.querySelectorAll("#app .view [id]")) {
      if (node.tagName === "DIV" || node.tagName === "DL") clear(node);
    }
    if (byId("confirm").open) byId("confirm").close();
    byId("signin").hidden = false;
    byId("signin-msg").textContent = message || "";
    TW.views.reset();
  }

  // -- views and polling -------------------------------------------------------------------
  function show(view) {
    if (!TW.views.all[view]) view = "overview";
    state.view = view;
    for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.view === view);
    for (const s of document.querySelectorAll("#app .view")) s.hidden = s.id !== "view-" + view;
    history.replaceState(null, "", "#" + view);
    refresh();
  }

  async function refresh() {
    if (!state.token) return;
    clearTimeout(state.timer);
    const generation = ++state.generation;
    const started = Date.now();
    try {
      await TW.views.poll(state.view);
      if (generation === state.generation && state.token) {
        byId("updated").textContent = "updated " + new Date().toISOString().slice(11, 19) + " UTC";
      }
    } catch (err) {
      if (generation === state.generation) toast("update failed: " + (err && err.message ? err.message : err), "error");
    }
    if (generation === state.generation && state.token) {
      state.timer = setTimeout(refresh, Math.max(250, POLL_MS - (Date.now() - started)));
    }
  }
  TW.refresh = refresh;

  function start() {
    byId("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      signIn(byId("token").value.trim());
    });
    byId("signout").addEventListener("click", () => signOut("signed out"));
    for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => show(b.dataset.view));
    TW.views.bind();
    const saved = sessionStorage.getItem(TOKEN_KEY);
    const ready = () => { document.body.dataset.ready = "1"; };  // the first sign-in attempt is over
    if (saved) signIn(saved).then(ready, ready);
    else { byId("token").focus(); ready(); }
  }

  document.addEventListener("DOMContentLoaded", start);
})(window.TW = window.TW || {});
