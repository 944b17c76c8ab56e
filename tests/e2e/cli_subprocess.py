"""Running the installed `tradewinds` script (the venv's console script) as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
TRADEWINDS = BIN / "tradewinds"


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120,
        program: list[str] | None = None) -> subprocess.CompletedProcess:
    """`tradewinds ARGS` (or `program ARGS`) in `cwd`, 80 columns, the test's env minus PYTHONPATH."""
    assert TRADEWINDS.is_file(), f"{TRADEWINDS} is not installed: pip install -e ."
    full = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TW_MODE", "TRADEWINDS_MODE")}
    full.update({"COLUMNS": "80", "LINES": "50"}, **(env or {}))
    return subprocess.run([*(program or [str(TRADEWINDS)]), *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=timeout, check=False)


def stderr_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def run_dirs(folder: Path) -> list[Path]:
    runs = folder / "runs"
    return sorted(p for p in runs.iterdir() if p.is_dir()) if runs.exists() else []
