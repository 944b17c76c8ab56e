"""Is the LSTM voting? One answer for the run summary, the run report and the screen.

Read from what the signal step records:

- `state/replay.predictor`: the URL a local replay was given (None: no LSTM);
- `state/predictor`: {status: up|down, since, checked_at, error} - written on the first
  call to the predictor and on every change of state (`shared.handlers.signal._lstm_vote`);
- per window (`windows/<venue>-<symbol>`), the optional counters `lstm`:
  {asked, predictions, votes}: bars the LSTM scores, LSTM votes cast on them, and all the
  votes (strategies + LSTM) cast on them. Without them the counts are None (unknown).

`probe(url)` checks a `--predictor` URL before a run: a malformed URL or a predictor that
does not answer `/health` is the warning to print ("LSTM: off — predictor unreachable").
"""

from __future__ import annotations

from urllib.parse import urlparse

from shared.ports import Store

OFF_UNREACHABLE = "LSTM: off — predictor unreachable"


def _counters(store: Store) -> dict[str, int] | None:
    index = store.get("windows", "_index") or {"keys": []}
    total, seen = {"asked": 0, "predictions": 0, "votes": 0}, False
    for key in index["keys"]:
        doc = store.get("windows", key) or {}
        counts = doc.get("lstm")
        if isinstance(counts, dict):
            seen = True
            for name in total:
                total[name] += int(counts.get(name, 0))
    return total if seen else None


def lstm_summary(store: Store, configured: bool | None = None) -> dict:
    """{status: on|off|unused, line, predictions, asked, votes, vote_share, since, error}.
    `configured`: whether the run was given a predictor (None: from the replay's record
    `state/replay.predictor` when there is one, else inferred from what was recorded)."""
    state = store.get("state", "predictor") or {}
    counts = _counters(store)
    replay = store.get("state", "replay") or {}
    if configured is None and "predictor" in replay:
        configured = bool(replay["predictor"])
    if configured is None:
        configured = bool(state) or bool(counts and counts["asked"])
    out = {"status": "unused", "line": "LSTM: not used (no --predictor)", "predictions": None, "asked": None,
           "votes": None, "vote_share": None, "since": state.get("since"), "error": state.get("error")}
    if counts is not None:
        share = counts["predictions"] / counts["votes"] if counts["votes"] else None
        out.update(predictions=counts["predictions"], asked=counts["asked"], votes=counts["votes"],
                   vote_share=None if share is None else round(share, 4))
    if not configured:
        return out
    if state.get("status") == "down":
        before = f" ({out['predictions']:,} predictions before)" if out["predictions"] else ""
        since = str(state.get("since") or "")[:16].replace("T", " ")
        out.update(status="off", line=f"{OFF_UNREACHABLE}{' since ' + since + ' UTC' if since else ''}{before}")
        return out
    if out["predictions"] is None:
        line = "LSTM: on" if state else "LSTM: on — not asked yet (no bar it scores, or warming up)"
    elif out["predictions"] == 0:
        line = "LSTM: on — no prediction yet (warming up: not enough aligned bars)"
    else:
        line = f"LSTM: on — {out['predictions']:,} predictions, {out['vote_share'] * 100:.1f} % of the votes"
    out.update(status="on", line=line)
    return out


def probe(url: str, timeout_s: float = 2.0) -> str | None:
    """None when the predictor at `url` answers `/health`; else the warning line, e.g.
    "LSTM: off — predictor unreachable (http://127.0.0.1:9: connection refused)"."""
    try:
        parts = urlparse(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        ok = False
    if not ok:
        return f"LSTM: off — predictor URL malformed: {url!r} (want http://HOST:PORT)"
    from shared.adapters.predictor_http import HttpPredictor

    try:
        with HttpPredictor(url, timeout_s=timeout_s) as predictor:
            predictor.health()
    except Exception as exc:  # noqa: BLE001 - a probe: any failure means "not usable"
        return f"{OFF_UNREACHABLE} ({_short(exc)})"
    return None


def _short(exc: Exception) -> str:
    text = str(exc).removeprefix("predictor unreachable: ")
    return text if len(text) <= 160 else text[:157] + "..."
