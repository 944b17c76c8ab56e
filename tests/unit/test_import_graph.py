"""The domain core imports no cloud SDK, ccxt, functions-framework or TensorFlow."""

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import shared

FORBIDDEN = ("google.cloud", "ccxt", "functions_framework", "tensorflow", "keras", "vertexai")
# Adapters that exist to talk to those SDKs, and the TensorFlow model module.
ALLOWED_PREFIXES = ("shared.adapters.gcp", "shared.adapters.ccxt", "shared.ml.model")


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages([str(Path(shared.__file__).parent)], prefix="shared."):
        if not info.name.startswith(ALLOWED_PREFIXES):
            names.append(info.name)
    return names


def test_core_module_list_is_not_trivial():
    names = core_modules()
    for expected in ("shared.contracts", "shared.delivery", "shared.handlers.risk", "shared.ledger.book"):
        assert expected in names


def test_domain_core_imports_no_cloud_sdk_ccxt_or_tensorflow():
    code = (
        "import importlib, json, sys\n"
        "baseline = set(sys.modules)  # namespace packages preloaded by .pth files\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in set(sys.modules) - baseline if m.split('.')[0] in {{f.split('.')[0] for f in {FORBIDDEN!r}}}"
        f" and any(m == f or m.startswith(f + '.') for f in {FORBIDDEN!r}))\n"
        "print(json.dumps(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(shared.__file__).parent.parent)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
