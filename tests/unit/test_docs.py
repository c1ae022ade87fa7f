"""The README and docs/ name only links, make targets, subcommands and paths that exist."""

from __future__ import annotations

from pathlib import Path

from recorder_guard.__main__ import parser
from tests.docs_check import (
    Checker,
    anchors,
    cli_commands,
    doc_files,
    github_slug,
    makefile_targets,
)
from tests.support import ROOT

DOC_PAGES = (
    "configuration.md",
    "organization.md",
    "operations.md",
    "alerts.md",
    "rules.md",
    "limits-and-cost.md",
    "architecture.md",
    "development.md",
)


def repository_checker() -> Checker:
    return Checker(ROOT, makefile_targets(ROOT / "Makefile"), cli_commands(parser()))


def test_every_link_command_and_path_in_the_docs_resolves() -> None:
    problems = repository_checker().check(doc_files(ROOT))
    assert problems == [], "\n".join(problems)


def test_the_readme_links_every_docs_page_and_stays_a_guide() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in DOC_PAGES:
        assert (ROOT / "docs" / page).exists(), page
        assert f"](docs/{page})" in readme, f"README does not link docs/{page}"
    assert len(readme.splitlines()) <= 250


def test_the_readme_lists_every_subcommand() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in cli_commands(parser()):
        assert f"| `{name}" in readme, f"subcommand {name} missing from the README's table"


def test_github_slugs() -> None:
    assert github_slug("Auto-restart (opt-in)") == "auto-restart-opt-in"
    assert github_slug("`sam local invoke` in CI: `make sam-local`") == (
        "sam-local-invoke-in-ci-make-sam-local"
    )
    assert github_slug("Backstop: recorders that are not recording, whatever stopped them") == (
        "backstop-recorders-that-are-not-recording-whatever-stopped-them"
    )
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}


def sample_repository(root: Path) -> Checker:
    (root / "docs").mkdir()
    (root / "src" / "recorder_guard").mkdir(parents=True)
    (root / "Makefile").write_text("X := 1\n.PHONY: demo\ndemo:\n\techo hi\ninvoke:\n\ttrue\n")
    (root / ".gitignore").write_text("bench/results.json\n")
    (root / "docs" / "page.md").write_text("# Page\n\n## Known heading\n")
    (root / "README.md").write_text(
        "# Sample\n\n## Here\n\n"
        "[ok](docs/page.md#known-heading) [ok](#here) [ok](https://example.com/x.md)\n"
        "[gone](docs/missing.md) [bad anchor](docs/page.md#unknown) [bad local](#nowhere)\n\n"
        "`make demo` and `make nosuch`; `make invoke EVENT=x ARGS=--bogus`\n\n"
        "```sh\n"
        "python -m recorder_guard invoke e.json --json\n"
        "python -m recorder_guard frobnicate\n"
        "python -m recorder_guard invoke e.json \\\n  --nope\n"
        "```\n\n"
        "`docs/page.md` exists, `docs/absent.md` does not, `bench/results.json` is generated,\n"
        "`event.outcome` is not a path.\n",
        encoding="utf-8",
    )
    return Checker(root, makefile_targets(root / "Makefile"), {"invoke": {"--json", "-h"}})


def test_the_checker_reports_each_broken_reference(tmp_path: Path) -> None:
    checker = sample_repository(tmp_path)
    problems = checker.check([tmp_path / "README.md", tmp_path / "docs" / "page.md"])
    assert problems == [
        "README.md:6: link to a missing file: docs/missing.md",
        "README.md:6: link to a missing heading: docs/page.md#unknown",
        "README.md:6: link to a missing heading: #nowhere",
        "README.md:8: make nosuch: no such Makefile target",
        "README.md:8: python -m recorder_guard invoke: no option --bogus",
        "README.md:12: python -m recorder_guard frobnicate: no such subcommand",
        "README.md:13: python -m recorder_guard invoke: no option --nope",
        "README.md:17: path in backticks does not exist: docs/absent.md",
    ]


def test_the_checker_passes_a_sound_sample(tmp_path: Path) -> None:
    checker = sample_repository(tmp_path)
    readme = tmp_path / "README.md"
    sound = [line for line in readme.read_text().splitlines() if "gone" not in line]
    readme.write_text(
        "\n".join(sound)
        .replace("and `make nosuch`", "")
        .replace("ARGS=--bogus", "ARGS=--json")
        .replace("python -m recorder_guard frobnicate", "")
        .replace("--nope", "--json")
        .replace("`docs/absent.md` does not", "")
    )
    assert checker.check([readme]) == []
