"""Build the one Cloud Functions source bundle that serves every function by entry point.

The zip holds `main.py` (a copy of functions/main.py, which the functions-framework looks
for at the source root), `functions/`, `shared/` without anything that needs TensorFlow,
`infra/__init__.py` + `infra/topology.py` + `infra/topology.yaml` (the functions read the
topology), `config/`, and `requirements.txt` (functions/requirements.txt, exact pins, no
TensorFlow).

It is deterministic: entries sorted, fixed timestamps and permissions, so building twice
from the same tree gives the same bytes. The name `function-source-<sha256[:16]>.zip`
hashes the logical content (entry names and file bytes), so it is stable across machines
and changes exactly when a bundled file changes; Terraform redeploys only then.

    python -m infra.bundle --out build        # prints the bundle path
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parents[1]
TREES = ("functions", "shared", "config")
INFRA_FILES = ("infra/__init__.py", "infra/topology.py", "infra/topology.yaml")
REQUIREMENTS = "functions/requirements.txt"
ENTRY_MODULE = "functions/main.py"
HEAVY_MODULES = frozenset({"tensorflow", "keras", "tf_keras", "tensorboard"})
TF_MODULE_NAME = re.compile(r"^shared/ml/model[^/]*\.py$")  # shared/ml/model*.py: the Keras model
SKIP_PARTS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
SKIP_SUFFIXES = (".pyc", ".pyo", ".DS_Store", ".swp")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
_TF_TEXT = re.compile(r"^\s*(import|from)\s+(tensorflow|keras|tf_keras)\b", re.MULTILINE)


class BundleError(RuntimeError):
    """The tree cannot be bundled (missing entry point, TensorFlow in requirements, ...)."""


@dataclass(frozen=True)
class Bundle:
    path: Path
    name: str
    sha256: str
    size: int
    files: tuple[str, ...]
    excluded: tuple[str, ...]


def _module_name(arcname: str) -> str:
    parts = list(PurePosixPath(arcname).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(arcname: str, source: bytes) -> set[str] | None:
    """Absolute module names a file imports (None when it does not parse)."""
    try:
        tree = ast.parse(source, filename=arcname)
    except SyntaxError:
        return None
    package = _module_name(arcname).split(".")
    if not arcname.endswith("__init__.py"):
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _needs_heavy(names: set[str] | None, source: bytes) -> bool:
    if names is None:
        return bool(_TF_TEXT.search(source.decode("utf-8", "replace")))
    return any(name.split(".")[0] in HEAVY_MODULES for name in names)


def _exclude_tensorflow(files: dict[str, bytes]) -> list[str]:
    """Drop TensorFlow modules and, transitively, every bundled module that imports one."""
    imports = {a: _imports(a, b) for a, b in files.items() if a.endswith(".py")}
    excluded = {a for a in imports if TF_MODULE_NAME.match(a) or _needs_heavy(imports[a], files[a])}
    changed = True
    while changed:
        gone = {_module_name(a) for a in excluded}
        changed = False
        for arcname, names in imports.items():
            if arcname in excluded or not names:
                continue
            if any(n in gone or any(n.startswith(g + ".") for g in gone) for n in names):
                excluded.add(arcname)
                changed = True
    for arcname in excluded:
        del files[arcname]
    return sorted(excluded)


def _walk(root: Path, tree: str) -> dict[str, bytes]:
    base = root / tree
    out: dict[str, bytes] = {}
    if not base.is_dir():
        return out
    for path in base.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or SKIP_PARTS.intersection(path.parts) or rel.endswith(SKIP_SUFFIXES):
            continue
        out[rel] = path.read_bytes()
    return out


def check_requirements(text: str) -> None:
    for line in text.splitlines():
        spec = line.split("#", 1)[0].strip()
        if not spec:
            continue
        name = re.split(r"[=<>!~\[; ]", spec, maxsplit=1)[0].lower()
        if name in HEAVY_MODULES or "tensorflow" in name:
            raise BundleError(f"{REQUIREMENTS}: {name} does not belong in the functions bundle")
        if "==" not in spec:
            raise BundleError(f"{REQUIREMENTS}: pin {spec!r} exactly (name==version)")


def collect(root: Path = REPO_ROOT) -> tuple[dict[str, bytes], list[str]]:
    """The bundle's entries (arcname -> bytes) and the TensorFlow files left out."""
    root = Path(root)
    entry, requirements = root / ENTRY_MODULE, root / REQUIREMENTS
    if not entry.is_file():
        raise BundleError(f"{entry} is missing: it defines the function entry points")
    if not requirements.is_file():
        raise BundleError(f"{requirements} is missing")
    files: dict[str, bytes] = {}
    for tree in TREES:
        files.update(_walk(root, tree))
    for rel in INFRA_FILES:
        path = root / rel
        if not path.is_file():
            raise BundleError(f"{path} is missing: functions read the topology")
        files[rel] = path.read_bytes()
    files.pop(REQUIREMENTS, None)
    requirements_text = requirements.read_bytes()
    check_requirements(requirements_text.decode("utf-8"))
    files["requirements.txt"] = requirements_text
    files["main.py"] = entry.read_bytes()
    excluded = _exclude_tensorflow(files)
    if "main.py" not in files:
        raise BundleError(f"{ENTRY_MODULE} imports TensorFlow (directly or through {excluded})")
    return files, excluded


def content_hash(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for arcname in sorted(files):
        digest.update(arcname.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(files[arcname]).digest())
    return digest.hexdigest()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname in sorted(files):
            info = zipfile.ZipInfo(arcname, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the mode bits below are honoured
            info.external_attr = (0o100000 | FILE_MODE) << 16
            archive.writestr(info, files[arcname], compresslevel=9)
    return buffer.getvalue()


def bundle_name(sha256: str) -> str:
    return f"function-source-{sha256[:16]}.zip"


def build_bundle(out_dir: Path, root: Path = REPO_ROOT) -> Bundle:
    files, excluded = collect(root)
    sha = content_hash(files)
    data = zip_bytes(files)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / bundle_name(sha)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    return Bundle(path, path.name, sha, len(data), tuple(sorted(files)), tuple(excluded))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Cloud Functions source bundle.")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build", help="output directory")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    parser.add_argument("-v", "--verbose", action="store_true", help="list files and exclusions on stderr")
    args = parser.parse_args(argv)
    try:
        bundle = build_bundle(args.out, args.root)
    except BundleError as exc:
        print(f"bundle: {exc}", file=sys.stderr)
        return 1
    if args.verbose:
        for name in bundle.files:
            print(f"  + {name}", file=sys.stderr)
        for name in bundle.excluded:
            print(f"  - {name} (TensorFlow)", file=sys.stderr)
        print(f"{bundle.name}: {len(bundle.files)} files, {bundle.size} bytes", file=sys.stderr)
    print(bundle.path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
