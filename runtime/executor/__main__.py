"""`python -m runtime.executor [--i-understand-live]`: JSON logs, settings checked, then
uvicorn on $PORT (default 8080, all interfaces) with the executor app; the app's lifespan
reconciles, then runs the hot path and the consumers until shutdown (SIGTERM)."""

from __future__ import annotations

import os
import sys

from shared import logs
from shared.errors import ConfigError


def main() -> None:
    logs.configure(pretty=os.environ.get("TRADEWINDS_LOG_PRETTY") == "1")
    from runtime.executor.settings import ExecutorSettings

    try:  # fail fast, before the server starts, on a bad setting: one line, exit 1
        settings = ExecutorSettings.from_env()
        if settings.mode == "live":
            from shared.execution.live import require_live

            require_live(settings.live_environ(), sys.argv)
    except ConfigError as exc:
        sys.exit(f"error: {exc}")
    import uvicorn

    port = int(os.environ.get("PORT") or 8080)
    uvicorn.run("runtime.executor.bootstrap:create_app", factory=True, host="0.0.0.0", port=port,
                log_config=None, access_log=False, timeout_graceful_shutdown=20)


if __name__ == "__main__":
    main()
