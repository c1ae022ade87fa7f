"""The repository stands alone: nothing that builds, tests or runs it reads a sibling folder."""

from __future__ import annotations

import re
import subprocess

from tests.support import ROOT

OUTSIDE = re.compile(r"\.\./shared|parent\s*/\s*[\"']shared[\"']|parents\[\d+\]")


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if listed.returncode == 0 and listed.stdout:
        return listed.stdout.splitlines()
    return [str(path.relative_to(ROOT)) for path in ROOT.rglob("*") if path.is_file()]


def test_no_code_reads_outside_the_repository() -> None:
    code = [
        name
        for name in tracked_files()
        if name.endswith((".py", ".sh", ".toml", ".yaml", ".cfg"))
        or name in ("Makefile", ".ci/run", "src/Makefile")
    ]
    offenders = [
        f"{name}:{number}"
        for name in code
        for number, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []
