"""Does every link, command and path the documentation names resolve in the repository?

Checked in README.md, CHANGELOG.md, events/README.md and docs/**/*.md:
- a relative link names a file that exists, and its #anchor a heading of that file
  (GitHub's slugs) or an explicit id;
- `make X` (in code) names a Makefile target;
- `python -m recorder_guard SUB --option` (in code, or `make invoke ... ARGS=...`) names a
  subcommand of the command line and options it accepts;
- a path in backticks whose first part is in the repository (or in src/recorder_guard/)
  exists, unless .gitignore says it is generated.
"""

from __future__ import annotations

import argparse
import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ID = re.compile(r"""<[^>]*\b(?:id|name)=["']([^"']+)["']""")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)")
MAKE = re.compile(
    r"(?:^|[\s;&|(])make\s+((?:[\w.-]+=(?:\"[^\"]*\"|'[^']*'|\S*)\s+)*)([A-Za-z][\w.-]*)"
)
MAKE_ARGS = re.compile(r"""\bARGS=(?:"([^"]*)"|'([^']*)'|(\S+))""")
PYTHON_M = re.compile(r"python3?\s+-m\s+recorder_guard\b([^|;#&]*)")
PATH_LIKE = re.compile(r"^\.?[\w-]+(?:\.[\w-]+)*(?:/[\w.*-]+)*/?$")
MAKE_TARGET = re.compile(r"^([A-Za-z][\w.-]*)\s*:(?!=)")
# make targets that run one subcommand, and which: their ARGS are that subcommand's options.
MAKE_SUBCOMMAND = {"invoke": "invoke", "redrive": "redrive"}
EXTERNAL = ("http://", "https://", "mailto:")


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    in_fence: bool


def doc_files(root: Path) -> list[Path]:
    names = [root / "README.md", root / "CHANGELOG.md", root / "events" / "README.md"]
    return [p for p in names if p.exists()] + sorted((root / "docs").rglob("*.md"))


def lines_of(text: str) -> list[Line]:
    """Lines with fenced-block state; a backslash continuation joins the next line."""
    out: list[Line] = []
    in_fence = False
    pending: tuple[int, str] | None = None
    for count, raw in enumerate(text.splitlines(), start=1):
        if FENCE.match(raw):
            in_fence = not in_fence
            continue
        number, line = count, raw
        if pending is not None:
            number, line = pending[0], pending[1] + " " + raw.strip()
            pending = None
        if in_fence and line.rstrip().endswith("\\"):
            pending = (number, line.rstrip()[:-1])
            continue
        out.append(Line(number, line, in_fence))
    return out


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: rendered text, lower case, punctuation dropped."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    text = re.sub(r"<[^>]+>", "", text)
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    found: set[str] = set()
    for line in lines_of(text):
        found.update(HTML_ID.findall(line.text))
        if line.in_fence:
            continue
        match = HEADING.match(line.text)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def code_spans(line: Line) -> list[str]:
    """The code a line holds: the whole line in a fenced block, else its inline code spans."""
    if line.in_fence:
        return [line.text]
    return [match.group(2) for match in INLINE_CODE.finditer(line.text)]


def makefile_targets(makefile: Path) -> set[str]:
    targets = set()
    for line in makefile.read_text(encoding="utf-8").splitlines():
        match = MAKE_TARGET.match(line)
        if match and not line.startswith((".", "\t")) and "=" not in line.split(":", 1)[0]:
            targets.add(match.group(1))
    return targets


def cli_commands(root_parser: argparse.ArgumentParser) -> dict[str, set[str]]:
    """Subcommand -> the option strings it accepts."""
    for action in root_parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {name: set(sub._option_string_actions) for name, sub in action.choices.items()}
    return {}


def gitignored(root: Path) -> list[str]:
    path = root / ".gitignore"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip().rstrip("/") for line in lines if line.strip() and line[0] != "#"]


@dataclass
class Checker:
    root: Path
    targets: set[str]
    commands: dict[str, set[str]]

    def check(self, files: list[Path]) -> list[str]:
        problems: list[str] = []
        for path in files:
            where = path.relative_to(self.root)
            for number, message in self.check_text(path):
                problems.append(f"{where}:{number}: {message}")
        return problems

    def check_text(self, path: Path) -> Iterator[tuple[int, str]]:
        text = path.read_text(encoding="utf-8")
        own_anchors = anchors(text)
        for line in lines_of(text):
            if not line.in_fence:
                prose = INLINE_CODE.sub("", line.text)
                targets = [m.group(1) for m in LINK.finditer(prose)]
                targets += [m.group(1) for m in REFERENCE_LINK.finditer(prose)]
                for target in targets:
                    problem = self.link_problem(path, target, own_anchors)
                    if problem:
                        yield line.number, problem
            for code in code_spans(line):
                for problem in self.command_problems(code):
                    yield line.number, problem
                if not line.in_fence:
                    problem = self.path_problem(code)
                    if problem:
                        yield line.number, problem

    def link_problem(self, path: Path, target: str, own_anchors: set[str]) -> str | None:
        if target.startswith(EXTERNAL) or target.startswith("/"):
            return None
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            return f"link to a missing file: {target}"
        if not anchor or linked.is_dir() or linked.suffix != ".md":
            return None
        names = own_anchors if linked == path else anchors(linked.read_text(encoding="utf-8"))
        return None if anchor in names else f"link to a missing heading: {target}"

    def command_problems(self, code: str) -> Iterator[str]:
        for match in MAKE.finditer(code):
            target = match.group(2)
            if target not in self.targets:
                yield f"make {target}: no such Makefile target"
                continue
            subcommand = MAKE_SUBCOMMAND.get(target)
            args = MAKE_ARGS.search(code[match.start() :])
            if subcommand and args:
                value = next(group for group in args.groups() if group is not None)
                yield from self.option_problems(subcommand, value.split())
        for match in PYTHON_M.finditer(code):
            words = match.group(1).split()
            if not words or words[0].startswith("-"):
                continue
            subcommand = words[0]
            if subcommand not in self.commands:
                yield f"python -m recorder_guard {subcommand}: no such subcommand"
                continue
            yield from self.option_problems(subcommand, words[1:])

    def option_problems(self, subcommand: str, words: list[str]) -> Iterator[str]:
        for word in words:
            option = word.strip("[](){}\"'").split("=", 1)[0]
            if option.startswith("--") and option not in self.commands[subcommand]:
                yield f"python -m recorder_guard {subcommand}: no option {option}"

    def path_problem(self, code: str) -> str | None:
        code = code.strip()
        if not PATH_LIKE.match(code) or ("/" not in code and "." not in code):
            return None
        first = code.split("/", 1)[0]
        package = self.root / "src" / "recorder_guard"
        bases = [base for base in (self.root, package) if (base / first).exists()]
        if not bases:
            return None
        ignored = gitignored(self.root)
        if any(fnmatch.fnmatch(code.rstrip("/"), pattern) for pattern in ignored) or any(
            part in ignored for part in Path(code).parts
        ):
            return None
        for base in bases:
            if "*" in code and any(base.glob(code)):
                return None
            if "*" not in code and (base / code).exists():
                return None
        return f"path in backticks does not exist: {code}"
