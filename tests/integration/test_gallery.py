"""docs/alerts/ is generated (`make gallery`), never hand-edited: what the code renders for
every sample event must be exactly what is checked in."""

from __future__ import annotations

from functools import cache
from itertools import pairwise

from recorder_guard.__main__ import gallery as render_gallery
from tests.support import EVENTS_DIR, ROOT

GALLERY = ROOT / "docs" / "alerts"


@cache
def gallery(folder: str) -> dict[str, str]:
    """Rendered once for the module (each sample runs the handler in moto)."""
    return render_gallery(folder)


def test_the_checked_in_gallery_is_what_the_code_renders() -> None:
    rendered = gallery(str(EVENTS_DIR))
    checked_in = {
        path.name: path.read_text(encoding="utf-8")
        for path in GALLERY.iterdir()
        if path.is_file() and path.name != "README.md"
    }
    assert sorted(checked_in) == sorted(rendered), "run `make gallery`"
    stale = [name for name, text in rendered.items() if checked_in[name] != text]
    assert stale == [], f"run `make gallery`: {stale}"


def test_every_sample_event_is_in_the_gallery() -> None:
    stems = {path.stem for path in EVENTS_DIR.glob("*.json")}
    shown = {name.split(".")[0] for name in gallery(str(EVENTS_DIR))}
    assert stems == shown


def test_gallery_email_reads_right() -> None:
    """No empty NEXT STEPS heading, no doubled word, no ARN or URL broken across lines."""
    for name, text in gallery(str(EVENTS_DIR)).items():
        if not name.endswith(".email.txt"):
            continue
        lines = text.splitlines()
        if "NEXT STEPS" in lines:
            after = lines[lines.index("NEXT STEPS") + 1]
            assert after.startswith("  1. "), name
        words = text.split()
        doubled = [a for a, b in pairwise(words) if a.lower() == b.lower()]
        assert doubled == [], (name, doubled)
        for line in lines:
            assert not line.rstrip().endswith(("arn:aws:sts::111122223333:assumed-role/", "/")), (
                name,
                line,
            )


def test_only_config_calls_speak_of_the_recorder_state() -> None:
    """A tampering alert names the rule or function that was hit, never a recorder's state."""
    files = gallery(str(EVENTS_DIR))
    tampering = files["disable_rule_recorder_guard.email.txt"]
    assert "EventBridge rule: " in tampering
    assert "Recorder now" not in tampering
    assert "Recorder now" not in files["disable_rule_recorder_guard.chat.json"]
    assert "Recorder now" not in files["disable_rule_recorder_guard.slack.json"]
    assert "Recorder now" in files["stop_recorder_assumed_role.email.txt"]
