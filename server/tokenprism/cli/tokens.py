"""``tokenprism tokens FILE``: every token with its id, character span and bytes."""

from __future__ import annotations

import argparse
import json
import sys

from ..tokenization import SPECIAL, visible_whitespace
from ..tokenization.notebook import is_notebook_path
from .common import (
    add_model_options,
    add_notebook_options,
    load_from_args,
    read_notebook_parts,
    read_source,
    special_mode,
)
from .show import part_title, printable


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "tokens",
        help="list every token (id, offsets, text, bytes)",
        description="List the tokens of FILE (or - for stdin). Offsets are character offsets into "
        "the text (Python str indices); a token that holds only the tail bytes of a split "
        "character has start == end. A notebook (.ipynb) is listed cell by cell, offsets into "
        "each cell's text (in JSON each token also names its \"cell\", 0-based).",
    )
    parser.add_argument("file", metavar="FILE", help="a text file, or - for stdin")
    add_model_options(parser)
    parser.add_argument("--json", action="store_true", help="a JSON array, one object per token")
    add_notebook_options(parser)
    parser.set_defaults(run=run)


def token_records(text: str, encoding, tokenizer, extra: str = ""):
    """One dict per token, in order: id, start, end, text, bytes (hex), special; ``extra``
    is JSON text written into each object as is (a notebook's ``"cell": 3, ``)."""
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
            "extra": extra,
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
            f'{{{r["extra"]}"id": {r["id"]}, "start": {r["start"]}, "end": {r["end"]}, '
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
    if is_notebook_path(args.file):  # each counted part with its own offsets, under a heading
        parts, _ = read_notebook_parts(args.file, args)
        tokenizer = load_from_args(args)
        texts = [p.text for p in parts]
        encodings = tokenizer.encode_batch(texts, special_mode(args))
        extras = [f'"cell": {p.cell.index}, ' + ('"outputs": true, ' if p.outputs else "") for p in parts]
        titles = [part_title(p, len(e)) for p, e in zip(parts, encodings, strict=True)]
    else:
        source = read_source(args.file)
        tokenizer = load_from_args(args)
        texts, encodings = [source.text], [tokenizer.encode(source.text, special_mode(args))]
        extras, titles = [""], [None]
    out = sys.stdout
    if args.json:
        records = zip(texts, encodings, extras, strict=True)
        write_json_lines((r for t, e, x in records for r in token_records(t, e, tokenizer, x)), out)
        return 0
    for text, encoding, title in zip(texts, encodings, titles, strict=True):
        if title is not None:
            out.write(title + "\n")
        write_table(text, encoding, tokenizer, out)
    return 0


def write_table(text: str, encoding, tokenizer, out) -> None:
    records = token_records(text, encoding, tokenizer)
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
