"""The line index of a large document: µs per edit and per viewport lookup.

    python bench/line_index.py                 # 100 KB, 1 MB and 11 MB (~250k lines)
    python bench/line_index.py --sizes 1000000

Per edit at line 10: an Enter (a line added) and a typed character (later lines move), each
applied to the `Document` and its line index worked out (`settle_lines`, what the server runs
after answering the keystroke); then the lookups of the inlay-hint request that follows: the
60 lines' starts, content ends and positions (`positions_at`) in the middle of the document,
and the same after each typed character (the first read of a fresh index), and
`positions_at` of the 60 line ends alone. Medians in µs;
a cost that does not grow with the document is what the line index is for.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from corpus import document  # noqa: E402

from tokenprism.lsp.document import UTF16, Document  # noqa: E402

VIEWPORT = 60


def viewport_lookup(snapshot, first: int) -> None:
    """What an inlay-hint request for 60 lines asks of the line index."""
    last = first + VIEWPORT
    snapshot.line_starts(first, last)
    ends = snapshot.content_ends(np.arange(first, last))
    snapshot.positions_at(ends)


def median_us(samples: list[int]) -> float:
    return statistics.median(samples) / 1000


def run(size: int, rounds: int) -> dict[str, float]:
    text = document(size)
    doc = Document("file:///bench.txt", "plaintext", 0, text, UTF16)
    lines = doc.snapshot.line_count
    print(f"text: {len(text.encode()) / 1e6:.1f} MB, {len(text):,} characters, {lines:,} lines")
    middle = lines // 2
    version = 0

    def edit(start, end, new):
        nonlocal version
        version += 1
        began = time.perf_counter_ns()
        doc.apply_change(start, end, new, version)
        doc.snapshot.settle_lines()
        return time.perf_counter_ns() - began

    enter, join, typing, typing_lookup, lookup, positions = [], [], [], [], [], []
    for _ in range(rounds):
        enter.append(edit((10, 3), (10, 3), "\n"))
        join.append(edit((10, 3), (11, 0), ""))  # the Enter undone: a line removed
    for i in range(rounds):
        typing.append(edit((10, 3 + i), (10, 3 + i), "a"))
        began = time.perf_counter_ns()
        viewport_lookup(doc.snapshot, middle)
        typing_lookup.append(time.perf_counter_ns() - began)
    for _ in range(rounds):
        began = time.perf_counter_ns()
        viewport_lookup(doc.snapshot, middle)
        lookup.append(time.perf_counter_ns() - began)
    ends = doc.snapshot.content_ends(np.arange(middle, middle + VIEWPORT))
    for _ in range(rounds):
        began = time.perf_counter_ns()
        doc.snapshot.positions_at(ends)
        positions.append(time.perf_counter_ns() - began)
    return {
        "Enter at line 10": median_us(enter),
        "line break deleted at line 10": median_us(join),
        "character typed at line 10": median_us(typing),
        "60-line lookup after each keystroke": median_us(typing_lookup),
        "60-line lookup (starts, ends, columns)": median_us(lookup),
        "positions_at of 60 line ends": median_us(positions),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000,11400000", help="bytes of text, comma-separated")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    results = [run(size, args.rounds) for size in sizes]
    print(f"\n{'median µs':40s}" + "".join(f"{size / 1e6:>9.1f} MB" for size in sizes)
          + "   largest ÷ smallest")
    for what in results[0]:
        row = [result[what] for result in results]
        print(f"{what:40s}" + "".join(f"{value:12.1f}" for value in row) + f"{row[-1] / row[0]:12.2f}×")


if __name__ == "__main__":
    main()
