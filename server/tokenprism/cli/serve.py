"""``tokenprism serve``: run the language server (stdio). A stub until ``tokenprism.lsp`` exists."""

from __future__ import annotations

import argparse
import importlib

from . import UsageError


def add_parser(sub) -> None:
    parser = sub.add_parser("serve", help="run the language server on stdio")
    parser.add_argument("--stdio", action="store_true", help="talk LSP on stdin/stdout (the default)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        server = importlib.import_module("tokenprism.lsp.server")
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("tokenprism"):
            raise
        server = None
    server_main = getattr(server, "main", None)
    if server_main is None:
        raise UsageError("serve: the language server is not built yet")
    return server_main(args)
