"""What the CLI commands share: model options, reading a text, colour decisions."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..tokenization import DEFAULT_MODEL, LoadOptions, SpecialTokens, Tokenizer, load_tokenizer
from . import UsageError

STDIN = "-"
STDIN_NAME = "<stdin>"
# A NUL byte this early means a binary file (what git and grep also assume).
BINARY_SNIFF_BYTES = 8192


def add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("tokenizer")
    group.add_argument(
        "-m",
        "--model",
        default=os.environ.get("TOKENPRISM_MODEL") or DEFAULT_MODEL,
        help="model spec: o200k_base, cl100k_base, gpt-4o, an alias (llama3, phi3, qwen2, starcoder2, "
        "gpt2), a packaged tokenizer (mistral-tekken, mistral-v3, mistral-v7, deepseek-v3, qwen3…), a .gguf / tokenizer.json / tokenizer directory path, or org/name[@revision] "
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


def add_gguf_path_option(parser) -> None:
    """``--gguf-path DIR`` (repeatable), on a parser or an argument group."""
    parser.add_argument(
        "--gguf-path",
        action="append",
        default=[],
        metavar="DIR",
        help="a directory to search for alias GGUF files (repeatable; also $TOKENPRISM_GGUF_PATH)",
    )


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
    return LoadOptions(gguf_search_paths=tuple(args.gguf_path))


def load_from_args(args: argparse.Namespace) -> Tokenizer:
    return load_tokenizer(args.model, load_options(args))


class UnreadableText(Exception):
    """A file that is not text: ``kind`` is short (it groups skipped files), ``reason`` adds
    the detail; either fits after the file name in one line."""

    def __init__(self, kind: str, detail: str = ""):
        self.kind = kind
        self.reason = f"{kind} ({detail})" if detail else kind
        super().__init__(self.reason)


def decode_text(data: bytes) -> str:
    """The text of a file's bytes, exactly (CRLF and a BOM are kept: the model sees them too)."""
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        raise UnreadableText("binary file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableText("not UTF-8 text", f"invalid byte at offset {exc.start}") from None


@dataclass(frozen=True)
class Source:
    name: str  # as shown to the user
    text: str


def read_source(path: str) -> Source:
    """Read one named file (or stdin for ``-``); any problem is a one-line UsageError."""
    if path == STDIN:
        data = sys.stdin.buffer.read()
        name = STDIN_NAME
    else:
        file = Path(path)
        if file.is_dir():
            raise UsageError(f"{path}: is a directory (give a file)")
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            raise UsageError(f"{path}: no such file") from None
        except OSError as exc:
            raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None
        name = path
    try:
        return Source(name, decode_text(data))
    except UnreadableText as exc:
        raise UsageError(f"{name}: {exc.reason}") from None


def describe_model(tokenizer: Tokenizer) -> str:
    info = tokenizer.info
    return f"{info.name} ({info.kind})"
