"""``tokenprism count PATH...``: token counts of files and directory trees, and a total."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..tokenization.costing import CountFacts, format_cost, format_count, format_window_share
from ..tokenization.notebook import NotebookPart, is_notebook_path, texts_of
from ..tokenization.tree_counts import (
    DEFAULT_MAX_FILE_SIZE,
    FileCount,
    Skipped,
    encode_in_batches,
    read_found_file,
    total_of,
)
from ..tokenization.walker import walk
from . import UsageError, api_count
from .common import (
    STDIN,
    STDIN_NAME,
    add_model_options,
    add_notebook_options,
    load_from_args,
    notebook_choice,
    read_notebook_parts,
    read_source,
    special_mode,
    whole_number,
)
from .costs import Costing, estimate_note, prices_note
from .tree import add_tree_options, print_tree, tree_json

PROGRESS_MIN_FILES = 50
DEFAULT_API_TIMEOUT = 30.0


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "count",
        help="count the tokens of files and directories",
        description="Count the tokens of each file (directories are walked, honouring .gitignore "
        "files; .git and binary files are skipped) and the total. A Jupyter notebook (.ipynb) counts "
        "its cells' text, each cell encoded on its own, not the JSON around it. - reads stdin.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, directories, or - for stdin")
    add_model_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object (notebooks: per cell too)")
    parser.add_argument("--cost", action="store_true",
                        help="show the input cost and the share of the model's context window per file "
                        "and in total (the total as one prompt); name the model you call with -m, e.g. gpt-5")
    parser.add_argument("--output-tokens", type=whole_number(0), metavar="N",
                        help="also price N output tokens (the reply you expect); implies --cost")
    parser.add_argument("--api", action="store_true",
                        help="Claude and Gemini models: exact counts from the provider's count-tokens "
                        "endpoint (network; needs ANTHROPIC_API_KEY or GEMINI_API_KEY / GOOGLE_API_KEY), "
                        "each file one request")
    parser.add_argument("--api-timeout", type=float, default=DEFAULT_API_TIMEOUT, metavar="SECONDS",
                        help="with --api: files without an answer by then keep their estimate "
                        "(default %(default)s)")
    parser.add_argument(
        "--max-file-size",
        type=_size,
        default=DEFAULT_MAX_FILE_SIZE,
        metavar="BYTES",
        help="skip files found in directories that are larger than this (default 64M; suffixes K, M, G)",
    )
    add_tree_options(parser)
    add_notebook_options(parser)
    parser.set_defaults(run=run)


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    value = text.strip().lower().removesuffix("b")
    factor = units.get(value[-1:], 1)
    if value[-1:] in units:
        value = value[:-1]
    try:
        return int(float(value) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}") from None


@dataclass
class CountResult:
    files: list[FileCount] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def total_tokens(self) -> int:
        return sum(f.tokens for f in self.files)

    @property
    def total_characters(self) -> int:
        return sum(f.characters for f in self.files)


def display_path(path: Path, given: str, root: Path) -> str:
    """A found file's path as the user would type it: relative to the argument given."""
    relative = path.relative_to(root).as_posix()
    if relative == ".":
        return given
    return relative if given in (".", "./") else f"{given.rstrip('/')}/{relative}"


# -- counting ---------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal and there is work."""

    def __init__(self, total: int, stream=None):
        self.stream = stream or sys.stderr
        self.total = total
        self.enabled = total >= PROGRESS_MIN_FILES and self.stream.isatty()
        self.done = 0

    def advance(self, files: int, tokens: int) -> None:
        self.done += files
        if not self.enabled:
            return
        width = 30
        filled = width * self.done // max(self.total, 1)
        bar = "█" * filled + "░" * (width - filled)
        self.stream.write(f"\r{bar} {self.done}/{self.total} files · {tokens:,} tokens")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()


def count_texts(tokenizer, special, named_texts, progress: Progress, result: CountResult,
                kept: list[tuple[str, str]] | None = None) -> None:
    """Encode ``(name, text, size)`` items in batches and add their counts to ``result``;
    ``kept`` receives ``(name, text)`` of each (for --api). A notebook's ``text`` is its list
    of ``NotebookPart``s, each encoded on its own (kept: their texts one after another)."""
    for batch in encode_in_batches(tokenizer, special, named_texts):
        for (name, text, size), counts in batch:
            tokens, characters = total_of(text, counts)
            cells = None if isinstance(text, str) else notebook_counts(text, iter(counts))
            result.files.append(FileCount(name, tokens, characters, size, cells))
            if kept is not None:
                kept.append((name, "".join(texts_of(text))))
        progress.advance(len(batch), result.total_tokens)


def notebook_counts(parts: list[NotebookPart], counts) -> list[dict]:
    """Per counted cell ``{index, kind, tokens, characters}`` (+ ``outputs_tokens``,
    ``outputs_characters`` for outputs), taking each part's count from the iterator ``counts``."""
    cells: dict[int, dict] = {}
    for part in parts:
        source = part.cell
        cell = cells.setdefault(
            source.index,
            {"index": source.index, "kind": source.kind, "tokens": 0, "characters": len(source.source)},
        )
        if part.outputs:
            cell["outputs_tokens"], cell["outputs_characters"] = next(counts), len(part.text)
        else:
            cell["tokens"] = next(counts)
    return list(cells.values())


def collect(paths: list[str], result: CountResult):
    """The files to read, in order, as ``(name, path or None for stdin, explicit)``: explicit
    files that cannot be counted are usage errors, files found by walking are skipped with a note."""
    seen: set[Path] = set()
    planned: list[tuple[str, Path | None, bool]] = []  # (name, path, explicit)

    for given in paths:
        if given == STDIN:
            planned.append((STDIN_NAME, None, True))
            continue
        path = Path(given)
        if path.is_dir():
            root = path.resolve()

            def skip(found: Path, reason: str, given=given, root=root) -> None:
                result.skipped.append(Skipped(display_path(found, given, root), reason))

            for file in walk(path, skip):
                key = file.resolve()
                if key not in seen:
                    seen.add(key)
                    planned.append((display_path(file, given, root), file, False))
        elif os.path.lexists(path):  # a looping symlink too: reading it says what is wrong
            key = Path(os.path.realpath(path))
            if key not in seen:
                seen.add(key)
                planned.append((given, path, True))
        else:
            raise UsageError(f"{given}: no such file or directory")
    return planned


def read_planned(
    planned, max_file_size: int, result: CountResult, notebooks: argparse.Namespace | None = None
):
    """``(name, text, size)`` of each planned file; a notebook's text is the list of parts
    ``notebooks`` (``--cells``, ``--outputs``; default: every cell's source) counts."""
    notebooks = notebooks or argparse.Namespace()
    for name, path, explicit in planned:
        if path is not None and explicit and is_notebook_path(path):
            parts, size = read_notebook_parts(str(path), notebooks, max_file_size)
            yield name, parts, size
            continue
        if path is None or explicit:  # stdin or a named file: a problem is a usage error
            source = read_source(STDIN if path is None else str(path), max_file_size)
            yield name, source.text, source.size
            continue
        read = read_found_file(path, max_file_size, *notebook_choice(notebooks))
        if isinstance(read, str):
            result.skipped.append(Skipped(name, read))
        else:
            yield name, *read


def run(args: argparse.Namespace) -> int:
    if not args.tree and (args.threshold or args.sort != "tokens"):
        raise UsageError("--threshold and --sort go with --tree")
    if args.paths.count(STDIN) > 1:
        raise UsageError("- (stdin) can be given only once")
    missing = next((p for p in args.paths if p != STDIN and not os.path.lexists(p)), None)
    if missing is not None:  # before loading a tokenizer or walking a tree: a typo fails fast
        raise UsageError(f"{missing}: no such file or directory")
    tokenizer = load_from_args(args)  # before walking: an unknown model fails fast too
    result = CountResult()
    planned = collect(args.paths, result)
    progress = Progress(len(planned))
    kept: list[tuple[str, str]] | None = [] if args.api else None
    try:
        count_texts(
            tokenizer,
            special_mode(args),
            read_planned(planned, args.max_file_size, result, args),
            progress,
            result,
            kept,
        )
    finally:
        progress.close()
    costing = Costing(args.model, args, tokenizer.context_window)
    api = api_count.count_texts(args.model, costing.info, kept, args.api_timeout) if args.api else None
    facts = facts_of(result, costing, api)
    # the tree adds up the number each file shows (an estimate's calibrated count, an API's exact one)
    shown = [dataclasses.replace(f, tokens=facts.count) for f, facts in zip(result.files, facts.files)]
    if args.json:
        report = as_json(result, tokenizer, args, facts, api)
        if args.tree:
            report["tree"] = tree_json(shown, args.threshold, args.sort)
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        tree = (shown, args.threshold, args.sort) if args.tree else None
        print_table(result, tokenizer, facts, args.cost or args.output_tokens is not None, args.output_tokens,
                    api, tree)
    return 0


@dataclass
class Counted:
    """The facts of every file and of the total (one prompt of every file)."""

    files: list[CountFacts]
    total: CountFacts


def facts_of(result: CountResult, costing: Costing, api: api_count.ApiAnswer | None) -> Counted:
    """Each file's facts, exact (API) where the provider counted it; the total is exact (API)
    only when every file is: the sum of their counts."""
    counts = api.counts if api is not None else {}
    files = [costing.facts(f.tokens, counts.get(f.path)) for f in result.files]
    every = bool(result.files) and all(f.path in counts for f in result.files)
    total = costing.facts(result.total_tokens, sum(counts[f.path] for f in result.files) if every else None)
    return Counted(files, total)


def as_json(result: CountResult, tokenizer, args, counted: Counted, api: api_count.ApiAnswer | None) -> dict:
    total = counted.total
    out = {
        "model": tokenizer.info.name,
        "spec": args.model,
        "kind": tokenizer.info.kind,
        "special_tokens": args.special_tokens,
        "exact": total.exact,
        "exactness": total.exactness.value,
        "basis": total.basis,
        "files": [_file_json(f, facts) for f, facts in zip(result.files, counted.files)],
        "skipped": [vars(s) for s in result.skipped],
        # the total is one prompt of every file: its count, tiered price and window share
        "total": {"files": len(result.files), "tokens": result.total_tokens,
                  "characters": result.total_characters, **total.to_json()},
    }
    if args.output_tokens is not None:
        out["output"] = {"tokens": args.output_tokens, "cost": total.output_cost(args.output_tokens),
                         "requestCost": _request_cost(total, args.output_tokens)}
    if api is not None:
        out["api"] = api.to_json()
    return out


def _file_json(f: FileCount, facts: CountFacts) -> dict:
    """``tokens`` is what the tokenizer counted, ``count`` the number to show for the model."""
    given = {k: v for k, v in vars(f).items() if v is not None}  # cells: notebooks only
    return {**given, "count": facts.count, "exactness": facts.exactness.value, "cost": facts.cost,
            "windowShare": facts.window_share}


def _request_cost(facts: CountFacts, output_tokens: int) -> float | None:
    output = facts.output_cost(output_tokens)
    return None if facts.cost is None or output is None else facts.cost + output


def _cells_note(f: FileCount) -> str:
    return "" if f.cells is None else f"  ({len(f.cells)} cell{'s' if len(f.cells) != 1 else ''})"


def print_table(result: CountResult, tokenizer, counted: Counted, cost: bool = False,
                output_tokens: int | None = None, api: api_count.ApiAnswer | None = None,
                tree: tuple | None = None) -> None:
    """One row per file and the total; with ``tree`` (files, threshold, order) the files as a
    tree with folder subtotals instead of the file rows."""
    total = counted.total
    rows = list(zip(counted.files, [f.path + _cells_note(f) for f in result.files]))
    files = len(result.files)
    summary = (f"total · {files:,} file{'s' if files != 1 else ''} · "
               f"{result.total_characters:,} characters · {tokenizer.info.name}")
    rows.append((total, summary))
    cells = [[format_count(facts.count, facts.exact)] for facts, _ in rows]
    if cost:
        for cell, (facts, _) in zip(cells, rows):
            cell += [format_cost(facts.cost), format_window_share(facts.window_share, facts.context_window)]
    widths = [max(len(cell[k]) for cell in cells) for k in range(len(cells[0]))]
    out = sys.stdout
    if tree is not None:
        print_tree(tree[0], widths[0], tree[1], tree[2], out)
        cells, rows = cells[-1:], rows[-1:]
    for cell, (_, name) in zip(cells, rows):
        columns = "  ".join(text.rjust(widths[k]) if k < 2 else text.ljust(widths[k])
                            for k, text in enumerate(cell))
        out.write(f"{columns}  {name}\n")
    if cost and output_tokens is not None:
        out.write(f"+ {output_tokens:,} output tokens: {format_cost(total.output_cost(output_tokens))} · "
                  f"input and output: {format_cost(_request_cost(total, output_tokens))}\n")
    if api is not None and api.counts:
        out.write(f"exact (API): {len(api.counts)} of {len(result.files)} files counted by the "
                  f"{api.provider} count-tokens endpoint, each alone as one message\n")
    note = next((estimate_note(f) for f, _ in rows if not f.exact), None)
    if note:
        out.write(note + "\n")
    if api is not None and api.reason:
        out.write(f"--api: {api.reason}\n")
    if cost:
        out.write(prices_note(total) + "\n")
    if result.skipped:
        reasons: dict[str, int] = {}
        for s in result.skipped:
            reasons[s.reason] = reasons.get(s.reason, 0) + 1
        summary = ", ".join(f"{reason} ×{n}" for reason, n in sorted(reasons.items()))
        names = ", ".join(s.path for s in result.skipped[:3]) + (", …" if len(result.skipped) > 3 else "")
        skipped = len(result.skipped)
        out.write(f"skipped {skipped} file{'s' if skipped != 1 else ''} ({summary}): {names}\n")
