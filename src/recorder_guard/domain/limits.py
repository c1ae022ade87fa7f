"""Bounding untrusted text: every cut leaves a visible marker, nothing is dropped silently."""

from __future__ import annotations

from typing import Any

TRUNCATION_MARKER = "…[truncated {n} chars]"


def clip(value: str, limit: int) -> str:
    """At most `limit` characters; a longer value ends with a marker saying how much was cut."""
    if len(value) <= limit:
        return value
    marker = TRUNCATION_MARKER.format(n=len(value))
    keep = max(limit - len(marker), 0)
    cut = len(value) - keep
    return value[:keep] + TRUNCATION_MARKER.format(n=cut) if keep else marker[:limit]


def _utf8_size(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))


def clip_bytes(value: str, limit: int) -> str:
    """Like clip, measured in UTF-8 bytes (SNS limits count bytes, not characters)."""
    if _utf8_size(value) <= limit:
        return value
    low, high = 0, min(len(value), limit)
    while low < high:  # the largest character budget whose encoding fits
        middle = (low + high + 1) // 2
        if _utf8_size(clip(value, middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return clip(value, low)


def clip_strings(value: Any, limit: int) -> Any:
    """Clip every string inside a JSON-like value (dict keys are left alone)."""
    if isinstance(value, str):
        return clip(value, limit)
    if isinstance(value, list):
        return [clip_strings(item, limit) for item in value]
    if isinstance(value, dict):
        return {key: clip_strings(item, limit) for key, item in value.items()}
    return value


MAX_DEPTH = 32  # CloudTrail's Config events nest a few levels; recursion stays far away
DEPTH_MARKER = "…[clipped: nested deeper than {n} levels]"


def bound_depth(value: Any, max_depth: int = MAX_DEPTH) -> tuple[Any, bool]:
    """A copy of a JSON-like value whose containers deeper than `max_depth` are replaced by a
    marker string, and whether anything was clipped. Iterative, so no input depth can raise
    RecursionError here, and everything after it (copying, JSON, clipping) stays shallow."""
    clipped = False

    def shallow(item: Any, depth: int) -> Any:
        nonlocal clipped
        if isinstance(item, dict | list) and depth >= max_depth:
            clipped = True
            return DEPTH_MARKER.format(n=max_depth)
        if isinstance(item, dict):
            return {}
        if isinstance(item, list):
            return []
        return item

    root = shallow(value, 0)
    stack: list[tuple[Any, Any, int]] = [(value, root, 0)]
    while stack:
        source, target, depth = stack.pop()
        if isinstance(source, dict) and isinstance(target, dict):
            for key, item in source.items():
                target[key] = shallow(item, depth + 1)
                if isinstance(target[key], dict | list):
                    stack.append((item, target[key], depth + 1))
        elif isinstance(source, list) and isinstance(target, list):
            for item in source:
                target.append(shallow(item, depth + 1))
                if isinstance(target[-1], dict | list):
                    stack.append((item, target[-1], depth + 1))
    return root, clipped
