"""`python -m runtime.predictor`: JSON logs, then serve on $PORT (Cloud Run) or 8080."""

from __future__ import annotations

import os

import uvicorn

from shared import logs


def main() -> None:
    logs.configure(pretty=os.environ.get("TRADEWINDS_LOG_PRETTY") == "1")
    port = int(os.environ.get("AIP_HTTP_PORT") or os.environ.get("PORT") or 8080)
    uvicorn.run("runtime.predictor.app:app", host="0.0.0.0", port=port, log_config=None,
                access_log=False)


if __name__ == "__main__":
    main()
