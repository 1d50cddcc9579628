"""What the CLI commands share: model options, reading a text, colour decisions."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass

from ..tokenization import DEFAULT_MODEL, LoadOptions, SpecialTokens, Tokenizer, load_tokenizer
from ..tokenization.notebook import CellSelection, NotebookCell, NotebookPart, read_notebook, select_parts
from ..tokenization.textfile import NotText, decode_text, read_bounded, read_text_file
from . import UsageError
from .costs import add_prices_option, model_tokenizers

STDIN = "-"
STDIN_NAME = "<stdin>"


def add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("tokenizer")
    group.add_argument(
        "-m",
        "--model",
        default=os.environ.get("TOKENPRISM_MODEL") or DEFAULT_MODEL,
        help="model spec: an API model name (gpt-5, claude-sonnet-4-5, gemini-2.5-pro, deepseek-chat…; "
        "see 'tokenprism models'), o200k_base, cl100k_base, an alias (llama3, phi3, qwen2, starcoder2, "
        "gpt2), a packaged tokenizer (mistral-tekken, mistral-v3, mistral-v7, deepseek-v3, qwen3…), "
        "a .gguf / tokenizer.json / tokenizer directory path, or org/name[@revision] "
        "(default: $TOKENPRISM_MODEL or %(default)s)",
    )
    group.add_argument(
        "--special-tokens",
        choices=[s.value for s in SpecialTokens],
        default=SpecialTokens.SPECIAL.value,
        help="read literal special-token text like <|endoftext|> as the special token (default) "
        "or as ordinary text",
    )
    add_gguf_path_option(group)
    add_prices_option(group)


def add_notebook_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("notebooks (.ipynb: each cell is counted on its own)")
    group.add_argument(
        "--cells",
        choices=[c.value for c in CellSelection],
        default=CellSelection.ALL.value,
        help="which cells of a notebook count (default: all; code takes raw cells too, as VS Code does)",
    )
    group.add_argument(
        "--outputs",
        action="store_true",
        help="count the cells' outputs too (stream text, error tracebacks, text/plain results)",
    )


def add_gguf_path_option(parser) -> None:
    """``--gguf-path DIR`` (repeatable), on a parser or an argument group."""
    parser.add_argument(
        "--gguf-path",
        action="append",
        default=[],
        metavar="DIR",
        help="a directory to search for alias GGUF files (repeatable; also $TOKENPRISM_GGUF_PATH)",
    )


def whole_number(minimum: int):
    """An argparse type: a whole number (``1,000`` and ``1_000`` too) of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text.replace(",", "").replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}: {text!r}")
        return value

    return parse


def add_color_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output (auto: when stdout is a terminal and NO_COLOR is not set)",
    )
    parser.add_argument("--no-color", dest="color", action="store_const", const="never",
                        help="same as --color=never")


def wants_color(args: argparse.Namespace, stream=None) -> bool:
    stream = sys.stdout if stream is None else stream
    choice = getattr(args, "color", "auto")
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):  # https://no-color.org: any non-empty value
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def special_mode(args: argparse.Namespace) -> SpecialTokens:
    return SpecialTokens(args.special_tokens)


def load_options(args: argparse.Namespace) -> LoadOptions:
    return LoadOptions(gguf_search_paths=tuple(args.gguf_path), model_tokenizers=model_tokenizers(args))


def load_from_args(args: argparse.Namespace) -> Tokenizer:
    return load_tokenizer(args.model, load_options(args))


# Stdin (and a file that reports no size, as in /proc) is read up to this many bytes.
MAX_STREAM_BYTES = 64 << 20


@dataclass(frozen=True)
class Source:
    name: str  # as shown to the user
    text: str
    size: int  # bytes read


def read_source(path: str, limit: int = MAX_STREAM_BYTES) -> Source:
    """Read one named file (or stdin for ``-``); any problem is a one-line UsageError. Only
    regular files are opened (never a FIFO or a device: use - for a pipe)."""
    name = STDIN_NAME if path == STDIN else path
    with _usage_errors(name, path):
        if path == STDIN:
            data = read_bounded(sys.stdin.buffer, limit)
            return Source(name, decode_text(data), len(data))
        text, size = read_text_file(path, limit)
        return Source(name, text, size)


def read_notebook_parts(
    path: str, args: argparse.Namespace, limit: int = MAX_STREAM_BYTES
) -> tuple[list[NotebookPart], int]:
    """The parts of a named notebook that ``--cells`` / ``--outputs`` count, and its size in
    bytes; any problem is a one-line UsageError."""
    with _usage_errors(path, path):
        cells, size = read_notebook(path, limit)
    return notebook_parts(cells, args), size


def notebook_parts(cells: list[NotebookCell], args: argparse.Namespace) -> list[NotebookPart]:
    """The parts ``--cells`` and ``--outputs`` choose."""
    return select_parts(cells, *notebook_choice(args))


def notebook_choice(args: argparse.Namespace) -> tuple[CellSelection, bool]:
    """``--cells`` and ``--outputs`` (their defaults for commands without them)."""
    selection = CellSelection(getattr(args, "cells", CellSelection.ALL.value))
    return selection, bool(getattr(args, "outputs", False))


@contextmanager
def _usage_errors(name: str, path: str):
    """Reading problems as one-line UsageErrors."""
    try:
        yield
    except NotText as exc:
        raise UsageError(f"{name}: {exc.reason}") from None
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None


def describe_model(tokenizer: Tokenizer) -> str:
    info = tokenizer.info
    return f"{info.name} ({info.kind})"
