"""Escaping: one function per medium, applied once to whole values when a renderer builds its
view of an alert (`render.view`), never field by field.

Email (`plain`, `email_guard`): control, format (bidi overrides, zero-width) and separator
characters become visible escapes, so a value cannot fake a line or reorder text.

Slack mrkdwn, for AWS Chatbot's `client-markdown` and the webhook forwarder's Block Kit:
- `&`, `<`, `>` are Slack's control characters and are replaced by `&amp;`, `&lt;`, `&gt;`,
  the only three entities Slack decodes (https://docs.slack.dev/messaging/formatting-message-text/).
  That is what stops `<!here>`, `<!everyone>`, `<@U..>` and `<url|label>`: Slack only parses
  them from literal angle brackets. Slack decodes the three entities for display, so the reader
  sees `&`, `<`, `>`.
- mrkdwn has no backslash escape for `*`, `_`, `~` or a backtick
  (https://github.com/slackhq/slack-api-docs/issues/34), and links and mentions stay live
  inside code spans unless `<`, `>` are escaped. So `slack_code` escapes first, shows a
  backtick in the value as a look-alike (U+02CB) so it cannot close the span, then wraps the
  value in one code span, where formatting does not apply.
- Where a code span cannot be used (keywords, metadata, a notification's fallback text),
  `slack_inert` also replaces formatting markers at word edges by look-alikes, defangs URLs
  and host names (`hxxps://phish[.]example`) so nothing becomes a live link, and puts a word
  joiner after `@` and `#` so nothing reads as a mention or channel.
- `slack_clip` cuts escaped text without splitting an entity, a `<...>` link or a code span.
"""

from __future__ import annotations

import re
import unicodedata

UNKNOWN = "unknown"
HIDDEN_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")
MENTION = re.compile(r"([@#])(?=\w)")
AT_MENTION = re.compile(r"@(?=\w)")
BACKTICK_LOOKALIKE = "\u02cb"  # MODIFIER LETTER GRAVE ACCENT
WORD_JOINER = "\u2060"
# Formatting markers, replaced by look-alikes where they could open or close a span.
MARKER_LOOKALIKES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c"}
SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*)://")
HOST = re.compile(r"(?i)(?<![\w.-])(?:[a-z0-9-]+\.)+[a-z][a-z0-9-]*[a-z0-9](?![\w-])")
TRUNCATED = "…[truncated {n} chars]"


def _visible(char: str) -> str:
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if char == "\t":
        return "\\t"
    return f"\\u{ord(char):04x}"


def plain(value: str | None) -> str:
    """One line of plain text (email, and the first step of every other medium): C0 and C1
    controls, format characters (bidi overrides, zero-width) and line separators become
    visible escapes, so no value can fake a line or reorder text."""
    if value is None or value == "":
        return UNKNOWN
    if value.isascii() and value.isprintable():  # the common case, checked in C
        return value
    return "".join(
        _visible(char) if unicodedata.category(char) in HIDDEN_CATEGORIES else char
        for char in value
    )


def email_guard(text: str) -> str:
    """The email's last boundary: whatever a renderer wrote, no control or format character
    but the line break reaches the reader."""
    # The common case, checked in C: ASCII whose only non-printable character is the line
    # break (for ASCII, `isprintable` is exactly " " to "~").
    if text.isascii() and text.replace("\n", "").isprintable():
        return text
    return "".join(
        char
        if char == "\n" or unicodedata.category(char) not in HIDDEN_CATEGORIES
        else _visible(char)
        for char in text
    )


def ascii_only(value: str) -> str:
    """Printable ASCII (0x20-0x7E); anything else becomes '?', runs of space fold to one."""
    printable = "".join(char if " " <= char <= "~" else "?" for char in value)
    return " ".join(printable.split())


def _entities(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(value: str | None) -> str:
    """Our own prose for mrkdwn (which may quote AWS error text): one line, Slack's three
    control characters escaped, a word joiner after `@`/`#`. Untrusted names go through
    `slack_code` or `slack_inert` instead."""
    return MENTION.sub(r"\1" + WORD_JOINER, _entities(plain(value)))


def slack_code(value: str | None) -> str:
    """An untrusted value as one inline code span: no bold, italics, strike, links or
    mentions apply, and nothing inside can close the span early. A word joiner after `@`
    keeps even a client that parses `@here` in code from notifying; `#` is left alone, as
    user agents are full of it (`md/arch#x86_64`)."""
    if value is None or value == "":
        return "_unknown_"
    escaped = _entities(plain(value.replace("`", BACKTICK_LOOKALIKE)))
    return "`" + AT_MENTION.sub("@" + WORD_JOINER, escaped) + "`"


def _defang_host(match: re.Match[str]) -> str:
    return match.group(0).replace(".", "[.]")


def _marker(text: str, index: int) -> str:
    """A formatting marker at a word edge could format: show it as its look-alike."""
    char = text[index]
    before = text[index - 1] if index else " "
    after = text[index + 1] if index + 1 < len(text) else " "
    if before.isalnum() and after.isalnum():
        return char  # inside a word (snake_case): Slack does not format it
    return MARKER_LOOKALIKES[char]


def slack_inert(value: str | None) -> str:
    """An untrusted value where a code span cannot be used: no control sequence, link,
    live URL, mention or formatting can come out of it."""
    text = plain(value).replace("`", BACKTICK_LOOKALIKE)
    text = SCHEME.sub(r"\1[:]//", text)
    text = HOST.sub(_defang_host, text)
    if any(char in MARKER_LOOKALIKES for char in text):
        text = "".join(
            _marker(text, i) if char in MARKER_LOOKALIKES else char for i, char in enumerate(text)
        )
    text = MENTION.sub(r"\1" + WORD_JOINER, _entities(text))
    return "\u203a" + text[4:] if text.startswith("&gt;") else text  # no block quote


def slack_clip(text: str, limit: int) -> str:
    """At most `limit` characters of escaped mrkdwn, cut with a marker at a point that splits
    no entity, no `<...>` link and no code span (clip values first, escape, then this)."""
    if len(text) <= limit:
        return text
    marker = TRUNCATED.format(n=len(text))
    head = text[: max(limit - len(marker), 0)]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    bracket = head.rfind("<")
    if bracket != -1 and ">" not in head[bracket:]:
        head = head[:bracket]
    if head.count("`") % 2:
        head = head[: head.rfind("`")]
    return head + TRUNCATED.format(n=len(text) - len(head))
