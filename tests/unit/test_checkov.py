"""checkov over terraform/: no open finding, and every in-place skip justified and still needed.

checkov runs offline (`--skip-download`; under `unshare -n`, with no network at all, where the
test runs as root). It lives in its own virtualenv, .venv/checkov (terraform/
requirements-checkov.txt says why), or wherever $CHECKOV points. Two runs, concurrently:
the tree as it is, and a copy with every `#checkov:skip` comment removed. The second run's
findings must be exactly the skipped ones: a skip that no longer suppresses anything, or a
finding without a skip, fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TF = REPO / "terraform"
SKIP = re.compile(r"#\s*checkov:skip=(CKV2?_[A-Z0-9]+_\d+):(.*)$")
RESOURCE = re.compile(r'^\s*resource\s+"([^"]+)"\s+"([^"]+)"')
TIMEOUT_S = 240
pytestmark = [pytest.mark.slow, pytest.mark.timeout(TIMEOUT_S + 60)]


def _checkov() -> str | None:
    for candidate in (os.environ.get("CHECKOV"), str(REPO / ".venv" / "checkov" / "bin" / "checkov"),
                      shutil.which("checkov")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


CHECKOV = _checkov()
if CHECKOV is None:
    if os.environ.get("CI"):
        raise RuntimeError("checkov is missing: `make test` installs it into .venv/checkov "
                           "from terraform/requirements-checkov.txt")
    pytest.skip("checkov not installed (.venv/checkov or $CHECKOV)", allow_module_level=True)


def _offline_prefix() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare and os.geteuid() == 0:
        probe = subprocess.run([unshare, "-n", "true"], check=False, capture_output=True, timeout=10)
        if probe.returncode == 0:
            return [unshare, "-n"]
    return []


def skip_comments(root: Path = TF) -> list[tuple[str, str, str, str]]:
    """(check id, resource "type.name", file relative to terraform/, reason) per skip comment."""
    found = []
    for path in sorted(root.rglob("*.tf")):
        current = None
        for line in path.read_text().splitlines():
            if m := RESOURCE.match(line):
                current = f"{m.group(1)}.{m.group(2)}"
            if m := SKIP.search(line):
                assert current, f"{path}: a skip outside a resource block: {line.strip()}"
                found.append((m.group(1), current, str(path.relative_to(root)), m.group(2).strip()))
    return found


def _strip_skips(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    for path in dst.rglob("*.tf"):
        path.write_text("\n".join(line for line in path.read_text().splitlines() if not SKIP.search(line)) + "\n")


def _results(stdout: str) -> dict[str, Any]:
    data = json.loads(stdout)
    reports = data if isinstance(data, list) else [data]
    (report,) = [r for r in reports if r.get("check_type") == "terraform"]
    return report


def _resource(address: str) -> str:
    """module.tradewinds.module.topic.google_pubsub_topic.this[0] -> google_pubsub_topic.this"""
    return ".".join(re.sub(r"\[[^]]*\]", "", address).split(".")[-2:])


@cache
def runs(tmp: str) -> tuple[dict[str, Any], dict[str, Any]]:
    stripped = Path(tmp) / "stripped"
    _strip_skips(TF, stripped / "terraform")
    (stripped / "infra").mkdir()
    shutil.copy(REPO / "infra" / "topology.yaml", stripped / "infra" / "topology.yaml")
    cmd = [*_offline_prefix(), CHECKOV, "--framework", "terraform", "--skip-download", "--compact",
           "--output", "json", "-d"]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "WARNING"}
    procs = [subprocess.Popen([*cmd, str(d)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for d in (TF, stripped / "terraform")]
    outs = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise AssertionError(f"checkov took longer than {TIMEOUT_S}s") from None
        # 0 = no failed check, 1 = failed checks; anything else is a crash.
        assert proc.returncode in (0, 1), err[-2000:]
        outs.append(_results(out))
    return outs[0], outs[1]


@pytest.fixture(scope="module")
def checkov_runs(tmp_path_factory) -> tuple[dict[str, Any], dict[str, Any]]:
    return runs(str(tmp_path_factory.mktemp("checkov")))


def test_checkov_finds_nothing_open(checkov_runs):
    real, _ = checkov_runs
    summary = real["summary"]
    failed = [(f["check_id"], f["resource"], f["file_path"]) for f in real["results"]["failed_checks"]]
    assert failed == [], f"checkov findings (fix them or skip in place with a reason): {failed}"
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] >= 50 and summary["passed"] >= 20, summary


def test_every_skip_is_justified_in_place(checkov_runs):
    real, _ = checkov_runs
    comments = skip_comments()
    assert comments, "no skip comments found: the parser or the tree changed"
    for check_id, resource, path, reason in comments:
        assert len(reason) >= 40 and not reason.lower().startswith(("todo", "n/a", "skip")), (check_id, path, reason)
    # checkov's JSON does not carry the reason; it names what it skipped, and each of those
    # must be one of the comments above (nothing skipped from elsewhere, e.g. a config file).
    in_place = {(c, r) for c, r, _, _ in comments}
    skipped = {(s["check_id"], _resource(s["resource"])) for s in real["results"].get("skipped_checks", [])}
    assert skipped, "checkov reported no skipped check: the skip comments were not read"
    assert skipped == in_place


def test_every_skip_still_suppresses_a_real_finding(checkov_runs):
    _, stripped = checkov_runs
    findings = {(f["check_id"], _resource(f["resource"])) for f in stripped["results"]["failed_checks"]}
    skips = {(c, r) for c, r, _, _ in skip_comments()}
    assert skips - findings == set(), f"stale skips (checkov passes without them): {sorted(skips - findings)}"
    assert findings - skips == set(), f"findings with no skip: {sorted(findings - skips)}"


def test_access_logging_passes_without_a_skip(checkov_runs):
    """CKV_GCP_62 (bucket access logging) passes on the data bucket, not by a skip."""
    real, _ = checkov_runs
    passed = {(p["check_id"], _resource(p["resource"])) for p in real["results"]["passed_checks"]}
    assert ("CKV_GCP_62", "google_storage_bucket.data") in passed
    assert ("CKV_GCP_62", "google_storage_bucket.sources") in passed
    assert ("CKV_GCP_114", "google_storage_bucket.data") in passed  # public access prevention
