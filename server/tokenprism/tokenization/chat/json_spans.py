"""A minimal span-keeping JSON scanner: ``json.loads`` gives the values, this gives where
they are in the text (so a count can be shown at its message)."""

from __future__ import annotations

import json
import re

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:,]|[^\s\[\]{}:,"]+', re.S)


def skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n\ufeff":
        pos += 1
    return pos


def value_end(text: str, pos: int) -> int:
    """End offset of the JSON value starting at ``pos``."""
    m = _TOKEN.match(text, pos)
    if m is None:
        return pos
    if m.group() not in ("[", "{"):
        return m.end()
    depth = 0
    for m in _TOKEN.finditer(text, pos):
        tok = m.group()
        if tok in ("[", "{"):
            depth += 1
        elif tok in ("]", "}"):
            depth -= 1
            if depth == 0:
                return m.end()
    return len(text)


def element_spans(text: str, pos: int) -> list[tuple[int, int]]:
    """Spans of the elements of the JSON array starting at ``pos``."""
    spans = []
    i = skip_space(text, pos + 1)
    while i < len(text) and text[i] != "]":
        end = value_end(text, i)
        spans.append((i, end))
        i = skip_space(text, end)
        if i < len(text) and text[i] == ",":
            i = skip_space(text, i + 1)
    return spans


def member_spans(text: str, pos: int) -> dict[str, tuple[int, int]]:
    """Value spans of the members of the JSON object starting at ``pos``."""
    members = {}
    i = skip_space(text, pos + 1)
    while i < len(text) and text[i] == '"':
        key_end = value_end(text, i)
        key = json.loads(text[i:key_end])
        i = skip_space(text, key_end)
        i = skip_space(text, i + 1)  # the colon
        end = value_end(text, i)
        members[key] = (i, end)
        i = skip_space(text, end)
        if i < len(text) and text[i] == ",":
            i = skip_space(text, i + 1)
    return members

