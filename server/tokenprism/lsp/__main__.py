"""``python -m tokenprism.lsp [--stdio | --tcp [HOST:]PORT]``: the server without the CLI."""

import argparse

from .server import main

parser = argparse.ArgumentParser(prog="python -m tokenprism.lsp")
parser.add_argument("--stdio", action="store_true")
parser.add_argument("--tcp", metavar="[HOST:]PORT")
raise SystemExit(main(parser.parse_args()))
