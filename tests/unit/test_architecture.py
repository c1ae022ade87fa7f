"""Imports go one way: domain <- render <- aws <- flows <- handlers and the command line."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import ROOT

PACKAGE = ROOT / "src" / "recorder_guard"
# A module may import from its own rank or a lower one. settings.py parses the environment
# into domain values, so it sits just above the domain; the package root holds __version__.
RANK = {
    "recorder_guard": 0,
    "domain": 0,
    "render": 1,
    "settings": 1,
    "aws": 2,
    "flows": 3,
}
TOP = 4  # handlers, local.py, __main__.py
NO_AWS_SDK = ("domain", "render")


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def rank(module: str) -> int:
    return RANK.get(layer(module), TOP)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[str]:
    """Every module imported anywhere in the file, lazy imports in functions included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def test_imports_go_one_way() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        for imported in imports(path):
            if imported.startswith("recorder_guard") and rank(imported) > rank(name):
                wrong.append(f"{name} imports {imported}")
    assert wrong == []


def test_domain_and_render_never_touch_the_aws_sdk() -> None:
    wrong = []
    for folder in NO_AWS_SDK:
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            for imported in imports(path):
                if imported.split(".")[0] in {"boto3", "botocore"}:
                    wrong.append(f"{module_name(path)} imports {imported}")
    assert wrong == []


def test_the_rank_of_a_module() -> None:
    assert rank("recorder_guard.domain.alert") < rank("recorder_guard.render.email")
    assert rank("recorder_guard.render.email") < rank("recorder_guard.aws.publish")
    assert rank("recorder_guard.aws.publish") < rank("recorder_guard.flows.responder")
    assert rank("recorder_guard.flows.responder") < rank("recorder_guard.app")
    assert rank("recorder_guard.__main__") == TOP
