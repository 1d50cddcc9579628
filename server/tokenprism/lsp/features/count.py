"""``tokenprism/count``: token counts of ranges (a selection, every cursor of a multi-selection)."""

from __future__ import annotations

from pygls.exceptions import JsonRpcInvalidParams

from .. import convert
from ..costs import costs_of
from ..token_view import TokenView

METHOD = "tokenprism/count"


def merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def count_ranges(view: TokenView, spans: list[tuple[int, int]], costs=None) -> dict:
    counts = [view.count(a, b) for a, b in spans]
    total = sum(view.count(a, b) for a, b in merged(spans))  # overlapping ranges count once
    result = {"version": view.version, "model": view.model, "counts": counts, "total": total}
    if costs is not None:  # the numbers to show for the model: calibrated for an estimate
        facts = [costs.range_facts(view, n) for n in counts]
        whole = costs.range_facts(view, total)
        result.update(
            tokenizerCounts=counts, tokenizerTotal=total, counts=[f.count for f in facts], total=whole.count,
            exact=whole.exact, basis=whole.basis, costs=[f.cost for f in facts], totalCost=whole.cost,
        )
    return result


def register(server) -> None:
    costs = costs_of(server)

    @server.feature(METHOD)
    async def count(ls, params) -> dict:
        p = convert.params_dict(params)
        raw_ranges = p.get("ranges")
        if not isinstance(raw_ranges, list):
            raise JsonRpcInvalidParams("ranges must be a list of ranges")
        ranges = [convert.parse_range(r, f"ranges[{i}]") for i, r in enumerate(raw_ranges)]
        view = await convert.requested_view(ls.session, p)
        return count_ranges(view, [convert.offsets_of(view.snapshot, r) for r in ranges], costs)
