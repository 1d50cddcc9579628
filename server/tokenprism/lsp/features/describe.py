"""Markdown descriptions of tokens, shared by hover and inlay-hint tooltips (not a feature)."""

from __future__ import annotations

from ...tokenization import Segment, visible_whitespace
from ...tokenization.costing import format_cost, format_count, format_window_share
from ...tokenization.model_catalog import Exactness
from ..token_view import TokenView


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


def segment_markdown(view: TokenView, segment: Segment, brief: bool = False, costs=None) -> str:
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
        if costs is None:
            lines.append(
                f"line {line + 1}: {on_line:,} tokens · document: {len(view):,} tokens"
                f" · {view.snapshot.length:,} characters · model {view.model}"
            )
        else:
            lines.extend(cost_lines(view, costs, line, on_line))
    return "\n".join(lines)


def cost_lines(view: TokenView, costs, line: int, on_line: int) -> list[str]:
    """The hover's footer: the line's and the document's counts for the model (``≈`` for an
    estimate), the document's cost and window share, the model's prices and how exact it is."""
    facts = costs.facts(view)
    line_facts = costs.range_facts(view, on_line)
    model = view.model_spec
    named = model if model == view.model else f"{model} (counted with {view.model})"
    document = [f"document: {format_count(facts.count, facts.exact)} tokens"]
    if facts.cost is not None:
        document.append(f"{format_cost(facts.cost)} input")
    share = format_window_share(facts.window_share, facts.context_window)
    if share:
        document.append(share)
    out = [
        f"line {line + 1}: {format_count(line_facts.count, line_facts.exact)} tokens · "
        + " · ".join(document)
        + f" · {view.snapshot.length:,} characters · model {named}"
    ]
    about = []
    prices = facts.prices
    if prices is not None and (prices.input is not None or prices.output is not None):
        source = f" ({facts.price_source})" if facts.price_source else ""
        input_, output = per_million(prices.input), per_million(prices.output)
        about.append(f"{input_} input · {output} output per 1M tokens{source}")
    if facts.exactness is Exactness.EXACT_API:
        about.append("exact (the provider's count-tokens API)")
    elif not facts.exact:
        about.append(f"estimate: {facts.basis}")
    if about:
        out.append("")
        out.append(f"{model}: " + " · ".join(about))
    return out


def per_million(price: float | None) -> str:
    return "—" if price is None else f"${price:,.4f}".rstrip("0").rstrip(".")
