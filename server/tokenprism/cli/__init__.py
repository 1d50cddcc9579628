"""The ``tokenprism`` command. Each subcommand lives in its own module with
``add_parser(subparsers)`` and ``run(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Subcommand modules, in the order `--help` lists them.
COMMANDS = ("count", "show", "tokens", "chat", "compare", "models", "prices", "vocab", "serve")

EXIT_BAD_INPUT = 2
EXIT_TOKENIZER_FAILED = 1


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    """Bad options are bad input too: one line on stderr, exit code 2 (no usage dump).
    Subcommand parsers inherit the class, so they behave the same."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"tokenprism: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = OneLineParser(
        prog="tokenprism", description="See exactly how an LLM tokenizer cuts your text."
    )
    parser.add_argument("--version", action="version", version=f"tokenprism {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".{name}", __name__)
            module.add_parser(sub)
        except Exception as exc:  # one broken command must not take the others (or serve) down
            print(f"tokenprism: command '{name}' is unavailable: {exc}", file=sys.stderr)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from ..tokenization import TokenizerLoadError
    from ..tokenization.errors import is_rust_panic, one_line

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad option (already reported in one line)
        return int(exc.code or 0)
    try:
        return int(args.run(args) or 0)
    except (UsageError, TokenizerLoadError) as exc:
        print(f"tokenprism: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except BaseException as exc:  # a Rust panic in a tokenizer is no Exception: one line, not a traceback
        if not is_rust_panic(exc):
            raise
        failed = f"the tokenizer failed on this input (it panicked: {one_line(exc)})"
        print(f"tokenprism: {failed}", file=sys.stderr)
        return EXIT_TOKENIZER_FAILED
