"""``tokenprism chat FILE --model M``: the prompt a chat document becomes, and what it costs."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from ..tokenization import pricing
from ..tokenization.chat import (
    ChatCount,
    ChatError,
    count_document,
    detect_chat_format,
    not_chat_reason,
    template_for,
)
from ..tokenization.costing import CountFacts, format_cost, format_count, format_window_share
from ..tokenization.model_catalog import Exactness
from . import UsageError
from .common import (
    add_color_options,
    add_model_options,
    describe_model,
    load_from_args,
    read_source,
    wants_color,
    whole_number,
)
from .costs import Costing, per_million, prices_note
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
                        help="a chat template (.jinja, or a tokenizer_config.json) instead of the "
                        "model's own")
    parser.add_argument("--format", choices=("json", "jsonl", "yaml"),
                        help="the document format (default: from the extension and content)")
    parser.add_argument("--rendered", action="store_true",
                        help="for JSONL, also print every rendered conversation (default: counts only)")
    parser.add_argument("--epochs", type=whole_number(1), metavar="N",
                        help="for a JSONL fine-tuning file: also the training cost of N epochs (the model "
                        "needs a training price: \"training\" in --prices FILE.json)")
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
    prices = ChatPrices(Costing(args.model, args, tokenizer.context_window))
    if args.json:
        json.dump(_json(tokenizer.name, counted, prices, args.epochs), sys.stdout,
                  ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        _print(describe_model(tokenizer), counted, wants_color(args), args.rendered, prices, args.epochs)
    return 1 if counted.errors else 0


COOKBOOK_BASIS = "OpenAI cookbook chat estimate (OpenAI's chat format is not published)"


class ChatPrices:
    """The facts of chat counts: an estimate when the model's count is one or when the chat
    format is the OpenAI cookbook's guess, with both bases."""

    def __init__(self, costing: Costing):
        self.costing = costing

    def facts(self, tokens: int, cookbook: bool = False) -> CountFacts:
        facts = self.costing.facts(tokens)
        if not cookbook:
            return facts
        basis = COOKBOOK_BASIS if facts.exact else f"{COOKBOOK_BASIS}; {facts.basis}"
        return replace(facts, exactness=Exactness.ESTIMATE, basis=basis)

    def training(self, counted, epochs: int | None) -> dict:
        """One epoch of a fine-tuning file: its tokens (every conversation once) and their cost
        at the model's training price, and ``epochs`` of them; no cost without a training price."""
        cookbook = any(count.estimate for _, count in counted.conversations)
        facts = self.facts(counted.tokens, cookbook)
        per_epoch = pricing.cost(facts.count, facts.prices, "training")
        return {
            "tokensPerEpoch": facts.count, "exact": facts.exact, "basis": facts.basis,
            "pricePerMillion": facts.prices.training if facts.prices else None,
            "perEpoch": per_epoch, "epochs": epochs,
            "total": None if per_epoch is None or epochs is None else per_epoch * epochs,
        }


def _conversation_json(count: ChatCount, prices: ChatPrices) -> dict:
    facts = prices.facts(count.tokens, count.estimate)
    out = {
        "rendered": count.rendered, "tokens": count.tokens, "estimate": count.estimate,
        "replyTokens": count.reply_tokens, "template": count.template_source,
        **facts.to_json(),
        "messages": [{"role": m.role, "tokens": m.tokens,
                      **_message_facts(prices.facts(m.tokens, count.estimate))}
                     for m in count.messages],
    }
    if count.error:
        out["error"] = count.error
    return out


def _message_facts(facts: CountFacts) -> dict:
    return {"count": facts.count, "cost": facts.cost}


def _json(model: str, counted, prices: ChatPrices, epochs: int | None) -> dict:
    if counted.format != "jsonl" and len(counted.conversations) == 1:
        return {"model": model, **_conversation_json(counted.conversations[0][1], prices)}
    cookbook = any(count.estimate for _, count in counted.conversations)
    out = {
        "model": model, "tokens": counted.tokens, **prices.facts(counted.tokens, cookbook).to_json(),
        "conversations": [
            {"line": None if conv.line is None else conv.line + 1, **_conversation_json(count, prices)}
            for conv, count in counted.conversations
        ],
    }
    out["trainingCost"] = prices.training(counted, epochs) if counted.format == "jsonl" else None
    return out


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


def _print(model: str, counted, color: bool, show_each: bool, prices: ChatPrices, epochs: int | None) -> None:
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
        # per-message costs for one conversation; a fine-tuning file's lines show tokens only
        shares = ", ".join(_share(m.role, prices.facts(m.tokens, count.estimate), single)
                           for m in count.messages)
        reply = prices.facts(count.reply_tokens, count.estimate)
        out.write(f"{where}{_amount(prices.facts(count.tokens, count.estimate))} "
                  f"({shares}, reply prompt {format_count(reply.count, reply.exact)})\n")
    how = next((c.template_source for _, c in counted.conversations if c.template_source), "")
    if not single:
        n, bad = len(counted.conversations), len(counted.errors)
        counted_of = f"{n - bad} of {n}" if bad else f"{n}"
        total = prices.facts(counted.tokens, any(c.estimate for _, c in counted.conversations))
        cost = f" · {format_cost(total.cost)}" if total.cost is not None else ""
        out.write(f"total: {format_count(total.count, total.exact)} tokens in {counted_of} "
                  f"conversations{cost}\n")
    if counted.format == "jsonl":
        out.write(_training_line(prices, counted, epochs) + "\n")
    out.write(f"model {model}, template: {how or 'none'}\n")
    last = prices.facts(counted.tokens, any(c.estimate for _, c in counted.conversations))
    if not last.exact:
        out.write(f"≈ estimate: {last.basis}\n")
    if last.prices is not None:
        out.write(prices_note(last) + "\n")


def _amount(facts: CountFacts) -> str:
    """``≈1,234 tokens · $0.0031 · 0.6 % of 200k`` (the parts that are known)."""
    parts = [f"{format_count(facts.count, facts.exact)} tokens"]
    if facts.cost is not None:
        parts.append(format_cost(facts.cost))
    if facts.window_share is not None:
        parts.append(format_window_share(facts.window_share, facts.context_window))
    return " · ".join(parts)


def _share(role: str, facts: CountFacts, with_cost: bool) -> str:
    cost = f" {format_cost(facts.cost)}" if with_cost and facts.cost is not None else ""
    return f"{role} {format_count(facts.count, facts.exact)}{cost}"


def _training_line(prices: ChatPrices, counted, epochs: int | None) -> str:
    t = prices.training(counted, epochs)
    tokens = f"training: {format_count(t['tokensPerEpoch'], t['exact'])} tokens per epoch"
    if t["perEpoch"] is None:
        return (f"{tokens}; no training price is known for {prices.costing.spec} (genai-prices has none: "
                "add \"training\" for it in --prices FILE.json)")
    line = (f"{tokens} · {format_cost(t['perEpoch'])} per epoch "
            f"(at {per_million(t['pricePerMillion'])} per million)")
    if epochs is not None:
        line += f" · {epochs} epochs: {format_cost(t['total'])}"
    return line
