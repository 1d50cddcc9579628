"""Inlay hints for 60 lines of a large document after each keystroke, in process.

    python bench/hint_queries.py                       # 10 MB, o200k_base
    python bench/hint_queries.py --mb 1 --model llama3

Opens the synthetic document (bench/corpus.py) as the server would (a ``Document`` and a
``TokenState`` sharing its rope), then types characters in the middle of it. After each
keystroke it takes the state's snapshot, makes a ``TokenView`` and times the requests an
editor sends right after typing, on that fresh view: count hints and boundary hints for the
60 lines around the edit, and a hover's segment. Line positions are settled before timing
(the line index is not what this measures). Prints medians and p95 in milliseconds, wall
and the thread's CPU time (the machine is shared: CPU time shows the cost without the waits).
Boundary hints build one ``InlayHint`` per segment (~700 here): most of their time is that.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import document  # noqa: E402
from lsprotocol import types  # noqa: E402

from tokenprism.lsp.document import UTF16, Document  # noqa: E402
from tokenprism.lsp.features.inlay_hints import boundary_hints, count_hints  # noqa: E402
from tokenprism.lsp.token_view import TokenView  # noqa: E402
from tokenprism.tokenization import SpecialTokens, load_tokenizer  # noqa: E402
from tokenprism.tokenization.incremental import TokenState  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=10.0)
    parser.add_argument("--model", default="o200k_base")
    parser.add_argument("--edits", type=int, default=60)
    args = parser.parse_args()
    tokenizer = load_tokenizer(args.model)
    text = document(int(args.mb * (1 << 20)))
    doc = Document("file:///bench.txt", "plaintext", 1, text, UTF16)
    opened = time.perf_counter()
    state = TokenState(tokenizer, doc.snapshot.content)
    print(f"{args.model}, {len(text):,} characters, {len(state):,} tokens, "
          f"opened in {time.perf_counter() - opened:.1f} s")
    line = doc.snapshot.line_count // 2
    labels = ("count hints", "boundary hints", "hover segment")
    timings: dict[str, list[float]] = {label: [] for label in labels}
    cpu_timings: dict[str, list[float]] = {label: [] for label in labels}
    for k in range(args.edits):
        a, b, new = doc.apply_change((line, k), (line, k), "x", k + 2)
        state.apply_edit(a, b, new, text_after=doc.snapshot.content)
        doc.snapshot.settle_lines()
        doc.snapshot.lines.starts  # noqa: B018  (apply the line shift outside the timing)
        view = TokenView(doc.uri, doc.snapshot, state.snapshot(), tokenizer, SpecialTokens.SPECIAL)
        rng = types.Range(types.Position(line - 30, 0), types.Position(line + 30, 0))
        for label, request in (
            ("count hints", lambda: count_hints(view, rng)),
            ("boundary hints", lambda: boundary_hints(view, rng)),
            ("hover segment", lambda: view.encoding.segment_at(a)),
        ):
            start, cpu = time.perf_counter(), time.thread_time()
            request()
            timings[label].append((time.perf_counter() - start) * 1000)
            cpu_timings[label].append((time.thread_time() - cpu) * 1000)
            if label == "count hints":  # a fresh view per request kind: no warm caches
                view = TokenView(doc.uri, doc.snapshot, state.snapshot(), tokenizer, SpecialTokens.SPECIAL)
    for label, values in timings.items():
        cpu = cpu_timings[label]
        print(f"{label:>15}: median {statistics.median(values):7.3f} ms  "
              f"p95 {percentile(values, 0.95):7.3f} ms"
              f"  (thread CPU: median {statistics.median(cpu):7.3f} ms  p95 {percentile(cpu, 0.95):7.3f} ms)")


if __name__ == "__main__":
    main()
