"""``tokenprism serve``: run the language server on stdio (or TCP, for debugging)."""

from __future__ import annotations

import argparse

from . import UsageError


def add_parser(sub) -> None:
    parser = sub.add_parser("serve", help="run the language server (stdio; --tcp for debugging)")
    parser.add_argument(
        "--stdio", action="store_true", help="talk LSP on stdin/stdout (the default; editors pass it)"
    )
    parser.add_argument("--tcp", metavar="[HOST:]PORT", help="listen on a TCP port instead of stdio")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..lsp.server import main, parse_host_port

    if args.tcp:
        try:
            parse_host_port(args.tcp)
        except ValueError as exc:
            raise UsageError(f"serve: {exc}") from None
    return main(args)
