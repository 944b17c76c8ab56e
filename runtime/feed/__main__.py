"""`python -m runtime.feed`: JSON logs, then serve /health and /ready on $PORT (or 8080)
while the lifespan runs the feed loop."""

from __future__ import annotations

import os

import uvicorn

from shared import logs


def main() -> None:
    logs.configure(pretty=os.environ.get("TRADEWINDS_LOG_PRETTY") == "1")
    port = int(os.environ.get("PORT") or 8080)
    uvicorn.run("runtime.feed.app:create_app", factory=True, host="0.0.0.0", port=port,
                log_config=None, access_log=False)


if __name__ == "__main__":
    main()
