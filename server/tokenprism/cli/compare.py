"""``tokenprism compare FILE --models a,b,c``: one text, several tokenizers, side by side."""

from __future__ import annotations

import argparse
import json
import sys

from ..tokenization.chat import detect_chat_format
from ..tokenization.compare import DEFAULT_COMPARE_MODELS, ModelComparison, compare_text, parse_model_list
from . import UsageError
from .common import add_gguf_path_option, load_options, read_source

BAR_WIDTH = 30


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "compare",
        help="count a file with several tokenizers side by side",
        description="Count FILE (or - for stdin) with every model in --models and print a table and a "
        "bar chart. Models that cannot be loaded are listed with the reason. A chat document (JSON, "
        "JSONL, *.prompt.yml) is also counted as rendered by each model's own chat template.",
    )
    parser.add_argument("file", metavar="FILE", help="a text file, or - for stdin")
    parser.add_argument(
        "--models",
        default=",".join(DEFAULT_COMPARE_MODELS),
        help="comma-separated model specs (default: %(default)s)",
    )
    add_gguf_path_option(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    models = parse_model_list(args.models)
    if not models:
        raise UsageError("--models names no model")
    source = read_source(args.file)
    chat_format = detect_chat_format(source.text, path=None if source.name == "<stdin>" else source.name)
    results = compare_text(
        source.text, models, load_options(args), chat_format=chat_format
    )
    if args.json:
        json.dump({"file": source.name, "chatFormat": chat_format, "results": [r.to_json() for r in results]},
                  sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_table(source.name, results, chat_format))
    return 0 if any(r.ok for r in results) else 1


def format_table(name: str, results: list[ModelComparison], chat_format: str | None) -> str:
    """The comparison as aligned columns with a bar per model, scaled to the largest count."""
    first = next((r for r in results if r.ok), None)
    chars = first.characters if first else 0
    lines = [f"{name}: {chars} characters" + (f", a {chat_format} chat document" if chat_format else "")]
    width = max(len(r.model) for r in results)
    header = f"{'model':<{width}}  {'tokens':>8}  {'chars/tok':>9}  {'bytes/tok':>9}"
    if chat_format:
        header += f"  {'rendered':>9}"
    header += f"  {'load ms':>8}  {'encode ms':>9}"
    lines.append(header)
    most = max((r.tokens for r in results if r.ok), default=0)
    bars = []
    for r in results:
        if not r.ok:
            lines.append(f"{r.model:<{width}}  unavailable: {r.error}")
            continue
        row = f"{r.model:<{width}}  {r.tokens:>8}  {r.chars_per_token:>9.2f}  {r.bytes_per_token:>9.2f}"
        if chat_format:
            rendered = "-" if r.rendered_tokens is None else f"{r.rendered_tokens}{'~' if r.rendered_estimate else ''}"
            row += f"  {rendered:>9}"
        load = "cached" if r.cached else f"{r.load_ms:.0f}"
        row += f"  {load:>8}  {r.encode_ms:>9.1f}"
        lines.append(row)
        length = round(BAR_WIDTH * r.tokens / most) if most else 0
        bars.append(f"{r.model:<{width}}  {'█' * length}{'▏' if not length else ''} {r.tokens}")
    if bars:
        lines.append("")
        lines.extend(bars)
    notes = [f"{r.model}: rendered prompt not counted: {r.rendered_error}" for r in results if r.rendered_error]
    if chat_format and any(r.rendered_estimate for r in results):
        notes.append("~ OpenAI cookbook estimate (the real chat format is not published)")
    if notes:
        lines.append("")
        lines.extend(notes)
    return "\n".join(lines) + "\n"
