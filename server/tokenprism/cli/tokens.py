"""``tokenprism tokens FILE``: every token with its id, character span and bytes."""

from __future__ import annotations

import argparse
import json
import sys

from ..tokenization import SPECIAL, visible_whitespace
from .common import add_model_options, load_from_args, read_source, special_mode
from .show import printable


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "tokens",
        help="list every token (id, offsets, text, bytes)",
        description="List the tokens of FILE (or - for stdin). Offsets are character offsets into "
        "the text (Python str indices); a token that holds only the tail bytes of a split "
        "character has start == end.",
    )
    parser.add_argument("file", metavar="FILE", help="a text file, or - for stdin")
    add_model_options(parser)
    parser.add_argument("--json", action="store_true", help="a JSON array, one object per token")
    parser.set_defaults(run=run)


def token_records(text: str, encoding, tokenizer):
    """One dict per token, in order: id, start, end, text, bytes (hex), special."""
    ids = encoding.ids.tolist()
    ends = encoding.ends.tolist()
    specials = (encoding.flags & SPECIAL).astype(bool).tolist()
    start = 0
    for token_id, end, special in zip(ids, ends, specials, strict=True):
        yield {
            "id": token_id,
            "start": start,
            "end": end,
            "text": text[start:end],
            "bytes": tokenizer.token_bytes(token_id).hex(),
            "special": special,
        }
        start = end


def write_json_lines(records, out) -> None:
    """A JSON array with one object per line: readable, and streamed for big files.
    Formatted by hand with the C string escaper: ``json.dumps`` per token dominates otherwise."""
    quote = json.encoder.encode_basestring  # keeps non-ASCII as is, like ensure_ascii=False
    lines = []
    separator = "[\n"  # before the first object; ",\n" before every later one
    for r in records:
        special = "true" if r["special"] else "false"
        lines.append(
            f'{{"id": {r["id"]}, "start": {r["start"]}, "end": {r["end"]}, '
            f'"text": {quote(r["text"])}, "bytes": "{r["bytes"]}", "special": {special}}}'
        )
        if len(lines) == 4096:
            out.write(separator + ",\n".join(lines))
            separator, lines = ",\n", []
    if lines:
        out.write(separator + ",\n".join(lines))
        separator = ",\n"
    out.write("\n]\n" if separator == ",\n" else "[]\n")


def run(args: argparse.Namespace) -> int:
    source = read_source(args.file)
    tokenizer = load_from_args(args)
    encoding = tokenizer.encode(source.text, special_mode(args))
    records = token_records(source.text, encoding, tokenizer)
    out = sys.stdout
    if args.json:
        write_json_lines(records, out)
    else:
        width = len(str(max(len(encoding) - 1, 0)))
        out.write(f"{'#':>{width}}  {'id':>7}  {'start-end':<13}  {'bytes':<16}  text  [vocabulary form]\n")
        for k, record in enumerate(records):
            shown = visible_whitespace(printable(record["text"])) or "·"  # · : no characters of its own
            # the vocabulary's own spelling (Ġworld, ▁world) when it differs from the text
            vocab = visible_whitespace(printable(tokenizer.token_text(record["id"])))
            vocab = f"  {vocab}" if vocab != shown else ""
            marker = "  special" if record["special"] else ""
            out.write(
                f"{k:>{width}}  {record['id']:>7}  {record['start']:>6}-{record['end']:<6}  "
                f"{record['bytes']:<16}  {shown}{vocab}{marker}\n"
            )
    return 0
