"""Escaping for each format an event-supplied string lands in."""

from __future__ import annotations

import re
import unicodedata

UNKNOWN = "unknown"
MENTION = re.compile(r"@(?=\w)")


def _visible(char: str) -> str:
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if char == "\t":
        return "\\t"
    return f"\\u{ord(char):04x}"


def plain(value: str | None) -> str:
    """One line of plain text: control, format (bidi overrides, zero-width) and separator
    characters become visible escapes, so no value can fake a line or reorder text."""
    if value is None or value == "":
        return UNKNOWN
    if value.isascii() and value.isprintable():  # the common case, checked in C
        return value
    out = []
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            out.append(_visible(char))
        else:
            out.append(char)
    return "".join(out)


def ascii_only(value: str) -> str:
    """Printable ASCII (0x20-0x7E); anything else becomes '?', runs of space fold to one."""
    printable = "".join(char if " " <= char <= "~" else "?" for char in value)
    return " ".join(printable.split())


def slack_text(value: str | None) -> str:
    """Slack's three control characters; after this no `<...>` link, mention or command
    can be formed, because Slack only parses those from literal angle brackets. A word
    joiner after `@` also keeps `@here` or `@channel` from being read as a mention."""
    escaped = plain(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MENTION.sub("@\u2060", escaped)


def slack_code(value: str | None) -> str:
    """An untrusted value as inline code: no bold, italics, strike, links or mentions apply.
    A backtick would end the span early, so it is shown as a look-alike (U+02CB)."""
    if value is None or value == "":
        return "_unknown_"
    return "`" + slack_text(value).replace("`", "\u02cb") + "`"
