"""Markdown descriptions of tokens, shared by hover and inlay-hint tooltips (not a feature)."""

from __future__ import annotations

from ...tokenization import Segment, visible_whitespace
from ..state import TokenView


def code(text: str) -> str:
    """A Markdown code span that survives backticks in the text."""
    if not text:
        return "`∅`"
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def token_line(view: TokenView, index: int) -> str:
    token = view.encoding.token(index)
    tokenizer = view.tokenizer
    raw = tokenizer.token_bytes(token.id)
    shown = visible_whitespace(raw.decode("utf-8", errors="backslashreplace"))
    parts = [
        f"token {index + 1:,} of {len(view):,}",
        f"id {code(str(token.id))}",
        code(shown),
        f"bytes {code(raw.hex(' ') or '—')}",
    ]
    if token.special:
        parts.append("**special**")
    return " · ".join(parts)


def segment_markdown(view: TokenView, segment: Segment, brief: bool = False) -> str:
    text = view.snapshot.slice(segment.start, segment.end)
    lines = [f"{code(visible_whitespace(text))} — {view.model}", ""]
    if segment.last_token > segment.first_token:
        lines.append(f"{segment.last_token - segment.first_token + 1} tokens share these characters:")
        lines.append("")
    lines.extend(f"- {token_line(view, i)}" for i in segment.token_indices)
    if not brief:
        snapshot = view.snapshot
        line = snapshot.lines.line_of(segment.start)
        on_line = view.count(snapshot.line_start(line), snapshot.next_line_start(line))
        lines.append("")
        lines.append(
            f"line {line + 1}: {on_line:,} tokens · document: {len(view):,} tokens"
            f" · {view.snapshot.length:,} characters · model {view.model}"
        )
    return "\n".join(lines)
