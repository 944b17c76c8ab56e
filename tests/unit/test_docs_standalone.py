"""docs/ stands on its own: no link or pointer to a file outside the repository, every link
resolves to a file in it, and docs/api.md has a curl example for every route the executor
serves (read from the route decorators, so a new route without an example fails here)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))
ROUTE = re.compile(r'@(?:router|app)\.(get|post|put|delete|patch)\(\s*"([^"]+)"')
PREFIXED = {"api.py": "/v1", "console_api.py": "/v1", "telegram.py": "", "app.py": ""}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_a_doc_points_only_inside_the_repository(doc):
    text = doc.read_text()
    assert "../shared" not in text and "DESIGN.md" not in text, f"{doc.name} points outside the repository"
    for target in re.findall(r"\]\(([^)#\s]+)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path = (doc.parent / target).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), f"{doc.name}: broken or outside link {target}"


def routes() -> list[tuple[str, str]]:
    out = []
    for name, prefix in PREFIXED.items():
        for method, path in ROUTE.findall((ROOT / "runtime" / "executor" / name).read_text()):
            if path.startswith(("/docs", "/console", "/openapi")):
                continue  # pages, not API
            out.append((method.upper(), prefix + path if not path.startswith("/v1") else path))
    return out


def test_api_md_has_a_curl_example_for_every_route():
    found = routes()
    assert len(found) >= 30  # api.py, console_api.py, telegram.py and app.py were read
    lines = [line for line in (ROOT / "docs" / "api.md").read_text().splitlines() if "curl" in line]
    missing = []
    for method, path in found:
        pattern = re.compile(r"\$TW" + re.sub(r"\\\{\w+\\\}", r"[^/\\s\"?]+", re.escape(path)) + r"(?=[\s\"?]|$)")
        hits = [line for line in lines if pattern.search(line)]
        if method != "GET":
            hits = [line for line in hits if f"-X {method}" in line]
        if not hits:
            missing.append(f"{method} {path}")
    assert missing == []
