"""Each message's share of a rendered prompt: its content found in order, the template text
between two messages cut where the next message's header begins."""

from __future__ import annotations

import bisect


def message_text(data: dict) -> str:
    """The text of a message's content (text parts of a multi-part content)."""
    content = data.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def message_bounds(rendered: str, messages, special_starts: list[int]) -> list[tuple[int, int]]:
    """Split the rendered prompt into one consecutive share per message.

    Each message's content is found in order; the template text between two contents
    (closing of one message, header of the next) is cut where the next message's header
    begins: at the special token that holds or precedes its role name. A message the
    template dropped (not found) gets an empty share."""
    contents: list[tuple[int, int] | None] = []
    cursor = 0
    for message in messages:
        text = message_text(message.data).strip()
        # look after the message's role header first, so content that repeats template
        # text ("user", "system") is not matched inside the header
        role_at = rendered.find(message.role, cursor)
        at = rendered.find(text, role_at + len(message.role)) if text and role_at >= 0 else -1
        if text and at < 0:
            at = rendered.find(text, cursor)
        if text and at >= 0:
            contents.append((at, at + len(text)))
            cursor = at + len(text)
        elif not text:
            if role_at >= 0:
                cursor = role_at + len(message.role)
                contents.append((cursor, cursor))
            else:
                contents.append(None)
        else:
            contents.append(None)
    bounds: list[tuple[int, int]] = []
    last_found: int | None = None
    for k, (message, found) in enumerate(zip(messages, contents)):
        if found is None:
            at = bounds[-1][1] if bounds else 0
            bounds.append((at, at))
            continue
        cut = 0
        if last_found is not None:  # cut the gap after the previous content at this header
            cut = _header_start(rendered, contents[last_found][1], found[0], message.role, special_starts)
            bounds[last_found] = (bounds[last_found][0], cut)
            for dropped in range(last_found + 1, k):
                bounds[dropped] = (cut, cut)
        bounds.append((cut, found[1]))
        last_found = k
    if last_found is not None:  # the last message keeps its closing; the reply gets the prompt
        cut = _header_start(rendered, contents[last_found][1], len(rendered), "assistant", special_starts)
        bounds[last_found] = (bounds[last_found][0], cut)
        for dropped in range(last_found + 1, len(bounds)):
            bounds[dropped] = (cut, cut)
    return bounds


def _header_start(rendered: str, gap_start: int, gap_end: int, role: str, special_starts: list[int]) -> int:
    gap = rendered[gap_start:gap_end]
    role_at = gap.rfind(role)
    if role_at < 0:
        return gap_start
    role_at += gap_start
    k = bisect.bisect_right(special_starts, role_at) - 1  # the last special token at or before the role
    return special_starts[k] if k >= 0 and special_starts[k] >= gap_start else gap_start

