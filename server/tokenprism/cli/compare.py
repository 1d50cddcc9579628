"""``tokenprism compare FILE --models a,b,c``: one text, several tokenizers, side by side."""

from __future__ import annotations

import argparse
import json
import sys

from ..tokenization.chat import detect_chat_format
from ..tokenization.compare import DEFAULT_COMPARE_MODELS, ModelComparison, compare_text, parse_model_list
from ..tokenization.costing import CountFacts, format_cost, format_count, format_window_share
from ..tokenization.registry import load_tokenizer
from . import UsageError
from .common import add_gguf_path_option, load_options, read_source
from .costs import Costing, add_prices_option, estimate_note

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
    add_prices_option(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    models = parse_model_list(args.models)
    if not models:
        raise UsageError("--models names no model")
    source = read_source(args.file)
    chat_format = detect_chat_format(source.text, path=None if source.name == "<stdin>" else source.name)
    options = load_options(args)
    results = compare_text(
        source.text, models, options, chat_format=chat_format
    )
    facts = {r.model: model_facts(r, args, options) for r in results if r.ok}
    if args.json:
        rows = [{**r.to_json(), **(facts[r.model].to_json() if r.ok else {})} for r in results]
        json.dump({"file": source.name, "chatFormat": chat_format, "results": rows},
                  sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_table(source.name, results, chat_format, facts))
    return 0 if any(r.ok for r in results) else 1


def model_facts(result: ModelComparison, args, options) -> CountFacts:
    """The count, cost and window share of a compared model (its tokenizer is loaded already)."""
    window = load_tokenizer(result.model, options).context_window
    return Costing(result.model, args, window).facts(result.tokens)


def format_table(name: str, results: list[ModelComparison], chat_format: str | None,
                 facts: dict[str, CountFacts] | None = None) -> str:
    """The comparison as aligned columns with a bar per model, scaled to the largest count."""
    first = next((r for r in results if r.ok), None)
    chars = first.characters if first else 0
    lines = [f"{name}: {chars} characters" + (f", a {chat_format} chat document" if chat_format else "")]
    width = max(len(r.model) for r in results)
    facts = facts or {}
    header = (f"{'model':<{width}}  {'tokens':>9}  {'cost':>9}  {'window':<16}  "
              f"{'chars/tok':>9}  {'bytes/tok':>9}")
    if chat_format:
        header += f"  {'rendered':>9}"
    header += f"  {'load ms':>8}  {'encode ms':>9}"
    lines.append(header)
    def shown(r: ModelComparison) -> int:  # the model's count: calibrated for an estimate
        return facts[r.model].count if r.model in facts else r.tokens

    most = max((shown(r) for r in results if r.ok), default=0)
    bars = []
    for r in results:
        if not r.ok:
            lines.append(f"{r.model:<{width}}  unavailable: {r.error}")
            continue
        f = facts.get(r.model)
        count = format_count(f.count, f.exact) if f else f"{r.tokens:,}"
        cost = format_cost(f.cost) if f else "—"
        window = format_window_share(f.window_share, f.context_window) if f else ""
        row = (f"{r.model:<{width}}  {count:>9}  {cost:>9}  {window:<16}  {r.chars_per_token:>9.2f}"
               f"  {r.bytes_per_token:>9.2f}")
        if chat_format:
            rendered = ("-" if r.rendered_tokens is None
                        else format_count(r.rendered_tokens, not r.rendered_estimate))
            row += f"  {rendered:>9}"
        load = "cached" if r.cached else f"{r.load_ms:.0f}"
        row += f"  {load:>8}  {r.encode_ms:>9.1f}"
        lines.append(row)
        length = round(BAR_WIDTH * shown(r) / most) if most else 0
        bars.append(f"{r.model:<{width}}  {'█' * length}{'▏' if not length else ''} {count}")
    if bars:
        lines.append("")
        lines.extend(bars)
    notes = [f"{r.model}: rendered prompt not counted: {r.rendered_error}"
             for r in results if r.rendered_error]
    if chat_format and any(r.rendered_estimate for r in results):
        notes.append("≈ rendered: the OpenAI cookbook estimate (the real chat format is not published)")
    notes += [note for r in results if r.model in facts and (note := estimate_note(facts[r.model]))]
    if any(f.cost is not None for f in facts.values()):
        notes.append("cost: input tokens at each model's price "
                     f"({next(f.price_source for f in facts.values() if f.cost is not None)})")
    if notes:
        lines.append("")
        lines.extend(notes)
    return "\n".join(lines) + "\n"
