"""``tokenprism vocab --model M``: list a model's tokens with id, text, length and rank."""

from __future__ import annotations

import argparse
import json
import sys

from ..tokenization.vocab import explore, rank_table
from . import UsageError
from .common import add_model_options, describe_model, load_from_args, whole_number

MAX_SHOWN = 40  # characters of a token shown in the table


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "vocab",
        help="explore a model's vocabulary (longest tokens, tokens containing a string, whole words)",
        description="List tokens with id, text, length and rank. The rank is a proxy for how common a "
        "token is: the BPE merge order for Hugging Face BPE models, the id for tiktoken, the score order "
        "for SentencePiece Unigram models. Without --longest, tokens are listed most common first.",
    )
    add_model_options(parser)
    parser.add_argument("--longest", type=whole_number(1), metavar="N", help="the N longest tokens")
    parser.add_argument("--contains", metavar="S", help="only tokens whose text contains S")
    parser.add_argument("--words", action="store_true", help="only whole words (a leading space and letters)")
    parser.add_argument("--limit", type=whole_number(1), default=50, metavar="N",
                        help="list at most N tokens (default %(default)s)")
    parser.add_argument("--special", action="store_true", help="include special tokens")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def _clip(text: str) -> str:
    """Long tokens (runs of spaces or dashes) cut for the table; --json has them whole."""
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def run(args: argparse.Namespace) -> int:
    if args.contains == "":
        raise UsageError("--contains needs a non-empty string")
    tokenizer = load_from_args(args)
    entries = explore(
        tokenizer, longest=args.longest, contains=args.contains, words=args.words,
        limit=args.limit, include_special=args.special,
    )
    rank_source = rank_table(tokenizer).source
    if args.json:
        json.dump({"model": tokenizer.name, "rank": rank_source, "vocabSize": tokenizer.info.vocab_size,
                   "tokens": [e.to_json() for e in entries]}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    out = sys.stdout
    out.write(f"{describe_model(tokenizer)}: {tokenizer.info.vocab_size} tokens; rank = {rank_source}\n")
    if not entries:
        out.write("no token matches\n")
        return 0
    id_width = max(len("id"), max(len(str(e.id)) for e in entries))
    out.write(f"{'id':>{id_width}}  {'len':>3}  {'rank':>7}  {'word':<4}  text (decoded)   vocabulary form\n")
    for e in entries:
        rank = "base" if e.rank is None else str(e.rank)
        out.write(f"{e.id:>{id_width}}  {e.length:>3}  {rank:>7}  {'yes' if e.whole_word else '':<4}  "
                  f"{_clip(e.display):<16} {_clip(e.text)}\n")
    return 0
