"""``tokenprism chat FILE --model M``: the prompt a chat document becomes, and what it costs."""

from __future__ import annotations

import argparse
import json
import sys

from ..tokenization.chat import (
    ChatCount, ChatError, count_document, detect_chat_format, not_chat_reason, template_for,
)
from . import UsageError
from .common import add_color_options, add_model_options, describe_model, load_from_args, read_source, wants_color
from .show import RESET, SPECIAL_STYLE


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "chat",
        help="render a chat document with the model's chat template and count it",
        description="Render FILE (a JSON messages array or request body, JSONL with one conversation per "
        "line, or a *.prompt.yml) with the model's chat template, as transformers' apply_chat_template "
        "with add_generation_prompt=True does, and count the prompt the model receives. OpenAI "
        "encodings have no published template: their count is the OpenAI cookbook estimate.",
    )
    parser.add_argument("file", metavar="FILE", help="a chat document, or - for stdin")
    add_model_options(parser)
    parser.add_argument("--template", metavar="FILE",
                        help="a chat template (.jinja, or a tokenizer_config.json) instead of the model's own")
    parser.add_argument("--format", choices=("json", "jsonl", "yaml"),
                        help="the document format (default: from the extension and content)")
    parser.add_argument("--rendered", action="store_true",
                        help="for JSONL, also print every rendered conversation (default: counts only)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_color_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    source = read_source(args.file)
    fmt = args.format or detect_chat_format(source.text, path=source.name)
    if fmt is None:
        reason = not_chat_reason(source.text, path=source.name)
        if reason:
            raise UsageError(f"{source.name}: {reason}")
        raise UsageError(
            f"{source.name}: not a chat document (expected a JSON messages array or an object with "
            "\"messages\", JSONL with one conversation per line, or YAML with messages:)"
        )
    tokenizer = load_from_args(args)
    try:
        template = template_for(tokenizer, args.template)
        counted = count_document(tokenizer, source.text, fmt, template)
    except ChatError as exc:
        raise UsageError(f"{source.name}: {exc}") from None
    if not counted.conversations:
        raise UsageError(f"{source.name}: no conversation found in this {fmt} document")
    if args.json:
        json.dump(_json(tokenizer.name, counted), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        _print(describe_model(tokenizer), counted, wants_color(args), args.rendered)
    return 1 if counted.errors else 0


def _conversation_json(count: ChatCount) -> dict:
    out = {
        "rendered": count.rendered, "tokens": count.tokens, "estimate": count.estimate,
        "replyTokens": count.reply_tokens, "template": count.template_source,
        "messages": [{"role": m.role, "tokens": m.tokens} for m in count.messages],
    }
    if count.error:
        out["error"] = count.error
    return out


def _json(model: str, counted) -> dict:
    if counted.format != "jsonl" and len(counted.conversations) == 1:
        return {"model": model, **_conversation_json(counted.conversations[0][1])}
    return {
        "model": model, "tokens": counted.tokens,
        "conversations": [
            {"line": None if conv.line is None else conv.line + 1, **_conversation_json(count)}
            for conv, count in counted.conversations
        ],
    }


def highlight(count: ChatCount, color: bool) -> str:
    """The rendered prompt with the special tokens highlighted (or bracketed without colour)."""
    if not color:
        return count.rendered
    parts, at = [], 0
    for start, end in count.special_ranges:
        parts.append(count.rendered[at:start])
        parts.append(f"{SPECIAL_STYLE}{count.rendered[start:end]}{RESET}")
        at = end
    parts.append(count.rendered[at:])
    return "".join(parts)


def _print(model: str, counted, color: bool, show_each: bool) -> None:
    out = sys.stdout
    single = counted.format != "jsonl" and len(counted.conversations) == 1
    for conv, count in counted.conversations:
        where = f"line {conv.line + 1}: " if conv.line is not None else ""
        if count.error:
            out.write(f"{where}error: {count.error}\n")
            continue
        if single or show_each:
            out.write(highlight(count, color))
            out.write("\n" if not count.rendered.endswith("\n") else "")
            out.write("─" * 40 + "\n")
        shares = ", ".join(f"{m.role} {m.tokens}" for m in count.messages)
        approx = "~" if count.estimate else ""
        out.write(f"{where}{approx}{count.tokens} tokens ({shares}, reply prompt {count.reply_tokens})\n")
    how = next((c.template_source for _, c in counted.conversations if c.template_source), "")
    if not single:
        n, bad = len(counted.conversations), len(counted.errors)
        counted_of = f"{n - bad} of {n}" if bad else f"{n}"
        out.write(f"total: {counted.tokens} tokens in {counted_of} conversations\n")
    out.write(f"model {model}, template: {how or 'none'}\n")
