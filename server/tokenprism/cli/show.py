"""``tokenprism show FILE``: the text with every token on its own background colour."""

from __future__ import annotations

import argparse
import sys
import unicodedata
from functools import cache

import numpy as np

from ..tokenization import CONTINUES, SPECIAL, Encoding, Tokenizer, visible_whitespace
from ..tokenization.costing import CountFacts, format_count
from ..tokenization.notebook import NotebookPart, is_notebook_path
from .common import (
    add_color_options,
    add_model_options,
    add_notebook_options,
    describe_model,
    load_from_args,
    read_notebook_parts,
    read_source,
    special_mode,
    wants_color,
)
from .costs import Costing, estimate_note

RESET = "\x1b[0m"
# Pastel backgrounds with black text, like the OpenAI tokenizer page (256-colour palette:
# works in every modern terminal). Ordinary tokens alternate; special tokens stand out.
TOKEN_STYLES = ("\x1b[30;48;5;153m", "\x1b[30;48;5;223m")  # light blue, light peach
SPECIAL_STYLE = "\x1b[1;30;48;5;211m"  # bold on pink
WHITESPACE_MARK = "\x1b[38;5;244m"  # the ␣ ↵ ⇥ marks in grey, so they read as marks
TEXT_FG = "\x1b[30m"  # back to black text after a mark
SPLIT_MARK = "\x1b[4m"  # underline: one character cut into several tokens
LEGEND_DIM = "\x1b[2m"
PLAIN_SEPARATOR = "│"  # between tokens when there is no colour

_JOINERS = frozenset("\u200c\u200d")  # zero-width (non-)joiners hold emoji and scripts together


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "show",
        help="print a file with its tokens on alternating colours",
        description="Print FILE (or - for stdin) with each token on its own background colour, "
        "whitespace made visible, then a summary line. A notebook (.ipynb) is shown cell by cell.",
    )
    parser.add_argument("file", metavar="FILE", help="a text file, or - for stdin")
    add_model_options(parser)
    add_color_options(parser)
    add_notebook_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if is_notebook_path(args.file):
        return run_notebook(args)
    source = read_source(args.file)
    tokenizer = load_from_args(args)
    encoding = tokenizer.encode(source.text, special_mode(args))
    color = wants_color(args)
    out = sys.stdout
    for chunk in render_tokens(source.text, encoding, color):
        out.write(chunk)
    out.write("\n" if source.text and not source.text.endswith(("\n", "\r")) else "")
    facts = Costing(args.model, args, tokenizer.context_window).facts(len(encoding))
    out.write(summary(source.text, encoding, tokenizer, color, facts) + "\n")
    out.flush()
    return 0


def part_title(part: NotebookPart, tokens: int) -> str:
    """The heading of a notebook cell (or its outputs) in ``show`` and ``tokens``."""
    what = "outputs" if part.outputs else part.cell.kind
    plural = "s" if tokens != 1 else ""
    return f"── cell {part.cell.index + 1} · {what} · {tokens:,} token{plural} ──"


def run_notebook(args: argparse.Namespace) -> int:
    """Each counted cell under its own heading, tokenized on its own; one summary for all."""
    parts, _ = read_notebook_parts(args.file, args)
    tokenizer = load_from_args(args)
    encodings = tokenizer.encode_batch([p.text for p in parts], special_mode(args))
    color = wants_color(args)
    out = sys.stdout
    for part, encoding in zip(parts, encodings, strict=True):
        title = part_title(part, len(encoding))
        out.write((f"{LEGEND_DIM}{title}{RESET}" if color else title) + "\n")
        for chunk in render_tokens(part.text, encoding, color):
            out.write(chunk)
        out.write("\n" if part.text and not part.text.endswith(("\n", "\r")) else "")
    cells = len({p.cell.index for p in parts})
    text = "".join(p.text for p in parts)
    joined = _concatenated(encodings)
    facts = Costing(args.model, args, tokenizer.context_window).facts(len(joined))
    line = summary(text, joined, tokenizer, color, facts)
    out.write(f"{cells} cell{'s' if cells != 1 else ''} · {line}\n")
    out.flush()
    return 0


def _concatenated(encodings: list[Encoding]) -> Encoding:
    """The encodings of consecutive texts as one encoding of the joined text (for the summary)."""
    if not encodings:
        return Encoding.empty()
    shifts = np.cumsum([0] + [e.text_length for e in encodings[:-1]])
    return Encoding(
        np.concatenate([e.ids for e in encodings]),
        np.concatenate([e.ends + shift for e, shift in zip(encodings, shifts, strict=True)]),
        np.concatenate([e.flags for e in encodings]),
        int(sum(e.text_length for e in encodings)),
    )


def segment_bounds(encoding: Encoding) -> tuple[list[int], list[int], list[bool], list[bool]]:
    """Display segments in bulk: (starts, ends, special, split) per segment.

    A segment starts at every token without CONTINUES; it ends where the next one starts.
    ``split`` marks segments of several tokens (a character cut by byte-level BPE)."""
    n = len(encoding)
    if n == 0:
        return [], [], [], []
    first = np.flatnonzero((encoding.flags & CONTINUES) == 0)
    if len(first) == 0 or first[0] != 0:
        first = np.concatenate(([0], first))
    last = np.empty_like(first)
    last[:-1] = first[1:] - 1
    last[-1] = n - 1
    starts = encoding.starts[first]
    ends = encoding.ends[last]
    special = (np.bitwise_or.reduceat(encoding.flags, first) & SPECIAL) != 0
    split = last > first
    return starts.tolist(), ends.tolist(), special.tolist(), split.tolist()


def printable(text: str) -> str:
    """Text safe to print in a terminal: control characters, bidi overrides and invisible
    format characters (zero-width space, BOM) become visible instead of moving the cursor,
    reordering the line or hiding a token."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch in " \t\r\n":
            out.append(ch)
        elif ord(ch) < 0x20:
            out.append(chr(0x2400 + ord(ch)))  # ␀ … ␟ control pictures
        elif ch == "\x7f":
            out.append("␡")
        elif ch in _JOINERS or "\U000e0020" <= ch <= "\U000e007f":  # emoji sequences, tag flags
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(f"⟨U+{ord(ch):04X}⟩")
        else:
            out.append(ch)
    return "".join(out)


_BREAKABLE_WHITESPACE = {ord(c): None for c in "\t\n\r"}


def safe_text(text: str) -> str:
    """``printable`` with a fast path for the common case (only ordinary whitespace)."""
    if text.isprintable() or text.translate(_BREAKABLE_WHITESPACE).isprintable():
        return text
    return printable(text)


@cache
def whitespace_table(style: str) -> dict[int, str]:
    """A ``str.translate`` table that makes whitespace visible the way ``visible_whitespace``
    does, in grey on ``style``; a line feed also ends the line (colour reset first, so the
    background never runs to the edge of the terminal) and starts the next in ``style``.
    A lone CR is shown but does not break the line."""
    table = {}
    for ch in " \t\r\n":
        mark = visible_whitespace(ch)
        if style:
            mark = f"{WHITESPACE_MARK}{mark}{TEXT_FG}"
        if ch == "\n":
            mark = f"{mark}{RESET}\n{style}" if style else f"{mark}\n"
        table[ord(ch)] = mark
    return table


def segment_style(index: int, special: bool, split: bool) -> str:
    style = SPECIAL_STYLE if special else TOKEN_STYLES[index % 2]
    return style + SPLIT_MARK if split else style


def render_tokens(text: str, encoding: Encoding, color: bool):
    """Yield the rendered text piece by piece: each display segment on its own background
    (or separated by PLAIN_SEPARATOR without colour), whitespace visible, line breaks kept."""
    starts, ends, special, split = segment_bounds(encoding)
    buffer: list[str] = []
    plain = whitespace_table("")
    for k, (start, end) in enumerate(zip(starts, ends, strict=True)):
        piece = safe_text(text[start:end])
        if not color:
            buffer.append(PLAIN_SEPARATOR + piece.translate(plain) if k else piece.translate(plain))
            continue
        style = segment_style(k, special[k], split[k])
        body = piece.translate(whitespace_table(style))
        if piece.endswith("\n"):
            buffer.append(style + body[: -len(style)])  # the line's colour is already reset
        else:
            buffer.append(style + body + RESET)
        if len(buffer) >= 4096:
            yield "".join(buffer)
            buffer.clear()
    yield "".join(buffer)


def summary(
    text: str, encoding: Encoding, tokenizer: Tokenizer, color: bool, facts: CountFacts | None = None
) -> str:
    """One line of facts; for a model whose count is an estimate, the model's ``≈`` count first
    (the tokens shown are the counting tokenizer's) and a second line with the basis."""
    tokens = len(encoding)
    chars = len(text)
    added = tokenizer.added_tokens
    estimate = facts is not None and not facts.exact
    parts = [
        f"{format_count(facts.count, False)} tokens for {facts.model} ({tokens:,} shown)" if estimate
        else f"{tokens:,} tokens",
        f"{chars:,} characters" + (f" ({chars / tokens:.2f} per token)" if tokens else ""),
        describe_model(tokenizer),
        f"model adds {added.describe(tokenizer)} (not counted)" if added.prefix or added.suffix
        else "no BOS/EOS added",
    ]
    special = int(np.count_nonzero(encoding.flags & SPECIAL))
    if special:
        parts.append(f"{special} special")
    _, _, _, split = segment_bounds(encoding)
    split_chars = sum(split)
    if split_chars:
        extra = int(np.count_nonzero(encoding.flags & CONTINUES))
        parts.append(
            f"{split_chars} split character{'s' if split_chars != 1 else ''} (+{extra} token"
            f"{'s' if extra != 1 else ''}{', underlined' if color else ''})"
        )
    line = " · ".join(parts) + (f"\n{estimate_note(facts)}" if estimate else "")
    return f"{LEGEND_DIM}{line}{RESET}" if color else line
