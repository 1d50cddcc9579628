"""A notebook of many cells against one document holding the same text: open time, typing
latency and peak RSS of ``tokenprism serve``, and the final total against fresh encodes.

    python bench/notebook_edit.py                    # 1,000 cells, 200 keystrokes, o200k_base
    python bench/notebook_edit.py --cells 5000 --edits 300 --repeat 3

Each keystroke is timed from sending its change to receiving the stats of that version: a
``tokenprism/notebookStats`` with nothing pending for the notebook (every cell summed), a
``tokenprism/documentStats`` for the document. Each run is a fresh server; the fastest of
``--repeat`` runs counts (this machine's speed drifts), the others are printed too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "lsp"))
from raw_lsp import RawServer, notification  # noqa: E402

CELL_TEXTS = [
    "## Step {i}\n\nExplain what the next cell does, in a sentence or two, for the reader.\n",
    "def step_{i}(values):\n    total = sum(v * {i} for v in values)\n"
    "    return total / max(len(values), 1)\n",
    "토큰은 모델이 텍스트를 읽는 단위입니다. 셀 {i}번은 한국어 설명입니다.\n",
]


def cells(n: int) -> list[tuple[int, str]]:
    """(LSP kind, text) of ``n`` cells: Markdown, code and Korean Markdown in turn."""
    return [(2 if i % 3 == 1 else 1, CELL_TEXTS[i % 3].format(i=i)) for i in range(n)]


def run_notebook(texts, edits: int) -> dict:
    uri = "file:///bench.ipynb"
    cell_uris = [f"vscode-notebook-cell:/bench.ipynb#W{i}" for i in range(len(texts))]
    with RawServer() as srv:
        srv.initialize()
        started = time.perf_counter()
        srv.send(notification("notebookDocument/didOpen", {
            "notebookDocument": {
                "uri": uri, "notebookType": "jupyter-notebook", "version": 1,
                "cells": [{"kind": k, "document": u} for (k, _), u in zip(texts, cell_uris)],
            },
            "cellTextDocuments": [{"uri": u, "languageId": "markdown" if k == 1 else "python", "version": 1,
                                   "text": t} for (k, t), u in zip(texts, cell_uris)],
        }))
        settled = lambda version: lambda m: (  # noqa: E731
            m.get("method") == "tokenprism/notebookStats"
            and m["params"]["version"] == version and m["params"]["pending"] == 0
        )
        assert srv.next_message(settled(1), timeout=300) is not None, srv.stderr[-2000:]
        opened = time.perf_counter() - started
        target = len(texts) // 2
        text = texts[target][1]
        latencies = []
        for k in range(edits):
            column = len(text.split("\n")[0])
            text = text[:column] + "x" + text[column:]
            version = k + 2
            t0 = time.perf_counter()
            srv.send(notification("notebookDocument/didChange", {
                "notebookDocument": {"uri": uri, "version": version},
                "change": {"cells": {"textContent": [{
                    "document": {"uri": cell_uris[target], "version": version},
                    "changes": [{"range": {"start": {"line": 0, "character": column},
                                           "end": {"line": 0, "character": column}}, "text": "x"}],
                }]}},
            }))
            stats = srv.next_message(settled(version), timeout=60)
            latencies.append(time.perf_counter() - t0)
            srv.received.clear()
        final = [t for _, t in texts]
        final[target] = text
        total = stats["params"]["tokens"]
        srv.close_stdin()
        srv.wait_exit(30)
        return {"open": opened, "latencies": latencies, "total": total, "final": final,
                "rss": srv.peak_rss_kb}


def run_document(text: str, edits: int) -> dict:
    uri = "file:///bench.md"
    with RawServer() as srv:
        srv.initialize()
        started = time.perf_counter()
        srv.send(notification("textDocument/didOpen", {
            "textDocument": {"uri": uri, "languageId": "markdown", "version": 1, "text": text}}))
        stats_of = lambda version: lambda m: (  # noqa: E731
            m.get("method") == "tokenprism/documentStats" and m["params"]["version"] == version
        )
        assert srv.next_message(stats_of(1), timeout=300) is not None
        opened = time.perf_counter() - started
        line = text.count("\n") // 2
        latencies = []
        for k in range(edits):
            version = k + 2
            t0 = time.perf_counter()
            srv.send(notification("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": {"line": line, "character": 0},
                                              "end": {"line": line, "character": 0}}, "text": "x"}],
            }))
            srv.next_message(stats_of(version), timeout=60)
            latencies.append(time.perf_counter() - t0)
            srv.received.clear()
        srv.close_stdin()
        srv.wait_exit(30)
        return {"open": opened, "latencies": latencies, "rss": srv.peak_rss_kb}


def describe(label: str, runs: list[dict]) -> None:
    best = min(runs, key=lambda r: statistics.median(r["latencies"]))
    lat = sorted(best["latencies"])
    p95 = lat[int(0.95 * (len(lat) - 1))]
    medians = ", ".join(f"{statistics.median(r['latencies']) * 1000:.2f}" for r in runs)
    print(
        f"{label:9} open {min(r['open'] for r in runs) * 1000:7.0f} ms · keystroke median "
        f"{statistics.median(lat) * 1000:5.2f} ms, p95 {p95 * 1000:5.2f} ms · peak RSS "
        f"{max(r['rss'] for r in runs) / 1024:5.0f} MB"
        f"   (medians of each run: {medians})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from tokenprism.tokenization import load_tokenizer

    texts = cells(args.cells)
    joined = "".join(t for _, t in texts)
    notebook = [run_notebook(texts, args.edits) for _ in range(args.repeat)]
    document = [run_document(joined, args.edits) for _ in range(args.repeat)]
    print(f"{args.cells:,} cells, {len(joined):,} characters, {args.edits} keystrokes in a cell (o200k_base)")
    describe("notebook", notebook)
    describe("document", document)
    tokenizer = load_tokenizer("o200k_base")
    expected = sum(len(tokenizer.encode(t)) for t in notebook[-1]["final"])
    verdict = "exact" if notebook[-1]["total"] == expected else "MISMATCH"
    print(f"final notebook total {notebook[-1]['total']:,}, sum of fresh encodes {expected:,}: {verdict}")
    return 0 if verdict == "exact" else 1


if __name__ == "__main__":
    sys.exit(main())
