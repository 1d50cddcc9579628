"""``tokenprism prices [--update]``: where prices and context windows come from, and (opt-in,
network) fetching genai-prices' newest data."""

from __future__ import annotations

import argparse
import json
import sys

from ..tokenization import pricing
from .costs import PRICES_ENV, add_prices_option, overrides


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "prices",
        help="show where prices come from; --update fetches genai-prices' newest data (network)",
        description="Show the price data in use (genai-prices' bundled data, or data fetched with --update, "
        "kept in TokenPrism's cache) and the user entries from --prices / $" + PRICES_ENV + ". Nothing "
        "touches the network unless you give --update.",
    )
    parser.add_argument("--update", action="store_true",
                        help="fetch genai-prices' newest data file (network) and use it from now on")
    parser.add_argument("--url", default=pricing.UPDATE_URL,
                        help="where --update fetches from (default: genai-prices' data on GitHub)")
    parser.add_argument("--timeout", type=float, default=15.0, metavar="SECONDS",
                        help="--update gives up after this long (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_prices_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    updated = None
    if args.update:
        try:
            updated = pricing.update_prices(args.url, timeout=args.timeout)
        except (OSError, ValueError) as exc:
            print(f"tokenprism: cannot update prices: {exc} (the data in use is unchanged)", file=sys.stderr)
            return 1
    info = pricing.data_info()
    user = overrides(args)
    if args.json:
        out = {
            "source": info.describe(), "version": info.version,
            "fetchedAt": info.fetched_at.isoformat() if info.fetched_at else None, "path": info.path,
            "updateUrl": args.url, "providers": len(pricing.provider_ids()), "userModels": sorted(user),
        }
        if updated is not None:
            out["updated"] = {"providers": updated.providers, "models": updated.models, "path": updated.path}
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    out = sys.stdout
    if updated is not None:
        out.write(f"updated: {updated.models:,} models of {updated.providers} providers from {args.url}\n")
    out.write(f"prices and context windows: {info.describe()}\n")
    if info.path:
        out.write(f"  kept in {info.path} (delete it to go back to the bundled data)\n")
    else:
        out.write("  refresh with 'tokenprism prices --update' (network, only when you ask)\n")
    if user:
        out.write(f"user entries ({getattr(args, 'prices', None) or '$' + PRICES_ENV}): "
                  f"{', '.join(sorted(user))}\n")
    return 0
