"""The Cloud Functions source bundle: contents, no TensorFlow, deterministic content-hashed name."""

from __future__ import annotations

import ast
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from infra.bundle import BundleError, build_bundle, check_requirements

REPO = Path(__file__).resolve().parents[2]
NAME = re.compile(r"^function-source-[0-9a-f]{16}\.zip$")
PINNED = ("functions-framework", "google-cloud-pubsub", "google-cloud-firestore", "google-cloud-secret-manager",
          "pydantic", "pyyaml", "numpy", "httpx")


def _imports_tensorflow(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] in ("tensorflow", "keras") for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("tensorflow", "keras"):
            return True
    return False


@pytest.fixture(scope="module")
def real_bundle(tmp_path_factory):
    return build_bundle(tmp_path_factory.mktemp("bundle"))


def test_bundle_holds_the_entry_module_code_topology_config_and_requirements(real_bundle):
    assert NAME.match(real_bundle.name) and real_bundle.path.is_file()
    with zipfile.ZipFile(real_bundle.path) as archive:
        names = set(archive.namelist())
        assert archive.read("main.py") == (REPO / "functions" / "main.py").read_bytes()
        requirements = archive.read("requirements.txt").decode()
    assert {"main.py", "requirements.txt", "functions/main.py", "shared/__init__.py",
            "infra/__init__.py", "infra/topology.py", "infra/topology.yaml"} <= names
    assert any(n.startswith("config/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert not any(n.startswith(("tests/", "runtime/", "terraform/")) for n in names)
    assert requirements == (REPO / "functions" / "requirements.txt").read_text()


def test_bundle_has_no_tensorflow_anywhere(real_bundle):
    with zipfile.ZipFile(real_bundle.path) as archive:
        for name in archive.namelist():
            text = archive.read(name).decode("utf-8", "replace")
            if name.endswith(".py"):
                assert not _imports_tensorflow(text), f"{name} imports TensorFlow"
            if name == "requirements.txt":
                assert "tensorflow" not in text.lower()
    assert not any(re.match(r"shared/ml/model[^/]*\.py$", n) for n in real_bundle.files)
    if (REPO / "shared" / "ml" / "model.py").exists():
        assert "shared/ml/model.py" in real_bundle.excluded


def test_requirements_are_exact_pins_without_tensorflow():
    lines = [l.split("#")[0].strip() for l in (REPO / "functions" / "requirements.txt").read_text().splitlines()]
    pins = dict(l.split("==") for l in lines if l)
    assert set(PINNED) <= {k.lower() for k in pins}
    assert all(re.fullmatch(r"\d+(\.\d+)+", v) for v in pins.values())
    check_requirements("\n".join(lines))
    with pytest.raises(BundleError):
        check_requirements("tensorflow==2.19.0")
    with pytest.raises(BundleError):
        check_requirements("numpy>=2")


def test_building_twice_gives_the_same_name_and_bytes(tmp_path):
    first = build_bundle(tmp_path / "a")
    second = build_bundle(tmp_path / "b")
    assert first.name == second.name and first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()
    with zipfile.ZipFile(first.path) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o644}


def _fake_tree(root: Path) -> Path:
    files = {
        "functions/__init__.py": "",
        "functions/main.py": "def signal(event):\n    return None\n",
        "functions/requirements.txt": "functions-framework==3.10.2\npyyaml==6.0.3\n",
        "shared/__init__.py": "",
        "shared/rules.py": "LIMIT = 1\n",
        "shared/ml/__init__.py": "",
        "shared/ml/features.py": "import numpy\n",
        "shared/ml/model.py": "import tensorflow as tf\n",
        "shared/ml/train.py": "from shared.ml.model import build\n",
        "shared/adapters/tf_scorer.py": "def load():\n    from tensorflow import keras\n",
        "infra/__init__.py": "",
        "infra/topology.py": "TOPOLOGY = 1\n",
        "infra/topology.yaml": "version: 1\n",
        "config/risk.yaml": "max_order_usd: 100\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "shared" / "__pycache__").mkdir()
    (root / "shared" / "__pycache__" / "rules.cpython-311.pyc").write_bytes(b"\0")
    return root


def test_name_changes_exactly_when_a_bundled_file_changes(tmp_path):
    root = _fake_tree(tmp_path / "repo")
    base = build_bundle(tmp_path / "out1", root)
    assert build_bundle(tmp_path / "out2", root).name == base.name
    # Tensorflow modules, their importers (transitively) and caches are left out.
    assert set(base.excluded) == {"shared/ml/model.py", "shared/ml/train.py", "shared/adapters/tf_scorer.py"}
    assert "shared/ml/features.py" in base.files and not any("__pycache__" in f for f in base.files)
    # Changing an excluded or unbundled file keeps the name ...
    (root / "shared" / "ml" / "model.py").write_text("import tensorflow as tf\nX = 2\n")
    (root / "README.md").write_text("not bundled\n")
    assert build_bundle(tmp_path / "out3", root).name == base.name
    # ... changing a bundled file does not.
    (root / "shared" / "rules.py").write_text("LIMIT = 2\n")
    changed = build_bundle(tmp_path / "out4", root)
    assert changed.name != base.name and NAME.match(changed.name)
    shutil.copy(root / "functions" / "main.py", root / "functions" / "other.py")
    assert build_bundle(tmp_path / "out5", root).name not in (base.name, changed.name)


def test_missing_entry_module_or_tensorflow_requirement_is_refused(tmp_path):
    root = _fake_tree(tmp_path / "repo")
    (root / "functions" / "requirements.txt").write_text("tensorflow==2.19.0\n")
    with pytest.raises(BundleError, match="tensorflow"):
        build_bundle(tmp_path / "out", root)
    (root / "functions" / "main.py").unlink()
    with pytest.raises(BundleError, match="main.py"):
        build_bundle(tmp_path / "out", root)
