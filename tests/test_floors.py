"""The floors of docs/architecture.md hold: the import contracts catch a violation of each, and the campaign
document loads without the engine, delivery or the API."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tidings

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(tidings.__file__).resolve().parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(source_root: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(source_root)}
    command = [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_code_keeps_every_floor_contract(tmp_path: Path) -> None:
    result = _lint_imports(PACKAGE.parent, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "violation", "contract"),
    [
        ("core/clock.py", "import tidings.store.tables", "core is the ground floor"),
        ("model/customers.py", "import tidings.segments.compiler", "model is vocabulary"),
        ("store/journeys.py", "import tidings.engine.advance", "store holds statements"),
        ("actions/wait.py", "import tidings.document.campaign", "plug-ins (actions, triggers) stand on core"),
        ("triggers/date_has_come.py", "import tidings.engine.scheduler", "plug-ins (actions, triggers) stand on core"),
        ("delivery/mime.py", "import tidings.actions.send_email", "delivery reads send nodes through a contract"),
        ("engine/scheduler.py", "import tidings.api.app", "api and cli are entry points"),
    ],
)
def test_a_deliberate_violation_breaks_its_contract(tmp_path: Path, module: str, violation: str, contract: str) -> None:
    copy = tmp_path / "src" / "tidings"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "ui_dist"))
    target = copy / module
    target.write_text(target.read_text() + f"\n{violation}  # deliberate\n")

    result = _lint_imports(tmp_path / "src", tmp_path)

    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken
    importer = "tidings." + module.removesuffix(".py").replace("/", ".")
    assert f"{importer} -> {violation.removeprefix('import ')}" in broken


def test_the_campaign_document_loads_no_engine_delivery_or_api() -> None:
    script = "import sys, tidings.document.validation, tidings.document.cache; print('\\n'.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    above = [name for name in loaded if name.startswith(("tidings.engine", "tidings.delivery", "tidings.api"))]
    assert above == []
    assert "tidings.document.campaign" in loaded  # the import did load the document
