"""Latency and memory by document size: the table of issue 13, through the real server.

    python bench/size_table.py                                 # o200k_base and llama3 x 100 KB, 1 MB, 10 MB
    python bench/size_table.py --models o200k_base --sizes 1MB,10MB --edits 1000

One server per (model, size), with the plain JSON-RPC client of edit_latency.py. Before the
measured document it warms the model up on a one-line document: the tokenizer's load and its
merge-rank table (built once per model on its first hover, seconds for a Hugging Face
vocabulary, whatever the document's size; printed). Then it opens the
synthetic document (corpus.py: code, prose, Korean, emoji) and waits for its first
``tokenprism/documentStats``; then types 60 characters in the middle of it, each a
``didChange`` followed at once by the ``textDocument/inlayHint`` request for the 60 lines
around the edit (what an editor sends after a keystroke), timing the change to the hints'
answer and to that version's documentStats; then 20 hovers near the edit; then ``--edits``
more typed characters at varied places (each waited for by its documentStats). The server's
RSS (and peak, VmHWM) is read after the open, after the 60 edits and after the others; the
last count is compared with a fresh encode of the final text. Targets are printed as PASS or
FAIL; the exit status is 0 whatever they say (a benchmark does not fail the build).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import document  # noqa: E402
from edit_latency import MODELS_DIR, UTF16_CLIENT, LspClient, percentile, server_command, server_env  # noqa: E402

MIB = 1 << 20
TYPED = 60  # characters typed in the middle, each timed
HINT_LINES = 60  # the viewport an editor asks hints for
HOVERS = 20
# targets (issue 13)
MEDIAN_MS = 2.0
FLAT_RATIO = 1.5  # largest size's median / smallest size's
HOVER_MS = 2.0
RSS_LIMIT_MIB = {"o200k_base": 400, "llama3": 600}
RSS_DRIFT = 0.10  # after the many edits vs after opening


def parse_size(text: str) -> int:
    text = text.strip().upper().removesuffix("B")
    scale = {"K": 1000, "M": 1000**2, "G": 1000**3}.get(text[-1:], 1)
    return int(float(text.rstrip("KMG")) * scale)


def size_label(size: int) -> str:
    return f"{size / 1e6:g} MB" if size >= 1e6 else f"{size / 1e3:g} KB"


def utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class Lines:
    """The document as a list of lines, so an edit's LSP position costs one line, not the text."""

    def __init__(self, text: str):
        self.lines = text.split("\n")

    def insert(self, line: int, index: int, ch: str) -> dict:
        """Insert ``ch`` before character ``index`` of ``line``; the LSP change that does it."""
        old = self.lines[line]
        at = {"line": line, "character": utf16_len(old[:index])}
        self.lines[line] = old[:index] + ch + old[index:]
        return {"range": {"start": at, "end": at}, "text": ch}

    def text(self) -> str:
        return "\n".join(self.lines)


def read_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def wait_both(
    client: LspClient, ident: int, uri: str, version: int, timeout: float = 120
) -> tuple[float, float, dict]:
    """Arrival times of the answer to request ``ident`` and of documentStats ``version``
    (whichever comes first), and the stats."""
    answer = stats = None
    deadline = time.monotonic() + timeout
    while answer is None or stats is None:
        item = client.messages.get(timeout=max(0.001, deadline - time.monotonic()))
        if item is None:
            raise RuntimeError("the server exited")
        received, message = item
        params = message.get("params") or {}
        if message.get("id") == ident:
            if "error" in message:
                raise RuntimeError(f"request {ident}: {message['error']}")
            answer = received
        elif (message.get("method") == "tokenprism/documentStats" and params.get("uri") == uri
              and params.get("version") == version):
            stats = (received, message)
    return answer, stats[0], stats[1]


def measure(model: str, size: int, edits: int, tokenizer) -> dict:
    client = LspClient(server_command(), server_env(), {"model": model})
    pid = client.proc.pid
    text = document(size)
    lines = Lines(text)
    uri = "file:///bench/size-table.md"
    rng = random.Random(13)
    try:
        client.initialize(UTF16_CLIENT, timeout=60)
        warm = client.warm_up(close=False)  # the tokenizer's load, which is not what is measured
        # and its rank table, built on a model's first hover (seconds for a Hugging Face
        # vocabulary, in a worker): a one-time cost per model, whatever the document's size,
        # which would otherwise land in the hover timings and in the RSS growth over the edits
        started = time.perf_counter()
        ranks_ready = None
        while ranks_ready is None and time.perf_counter() - started < 120:
            answer = client.request("textDocument/hover", {
                "textDocument": {"uri": warm}, "position": {"line": 0, "character": 1}})
            if "merge rank" in str(answer) or "base symbol" in str(answer):
                ranks_ready = time.perf_counter() - started
            else:
                time.sleep(0.05)
        client.notify("textDocument/didClose", {"textDocument": {"uri": warm}})
        rss_idle = client.rss()
        sent = client.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "markdown", "version": 0, "text": text}})
        received, _ = client.stats_for(uri, 0, timeout=600)
        opened = received - sent
        rss_open = client.rss()
        # 60 characters typed at the end of a line in the middle, hints asked after each
        line = len(lines.lines) // 2
        while not lines.lines[line].strip():
            line += 1
        column = len(lines.lines[line])
        viewport = {"start": {"line": max(0, line - HINT_LINES // 2), "character": 0},
                    "end": {"line": line + HINT_LINES // 2, "character": 0}}
        typed = (" the token count of this line grows as it is typed here" * 2)[:TYPED]
        hints, stats, version = [], [], 0
        for ch in typed:
            version += 1
            change = lines.insert(line, column, ch)
            column += 1
            sent = client.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})
            client._next_id += 1
            ident = client._next_id
            client._send({"jsonrpc": "2.0", "id": ident, "method": "textDocument/inlayHint",
                          "params": {"textDocument": {"uri": uri}, "range": viewport}})
            hinted, counted, _ = wait_both(client, ident, uri, version)
            hints.append(hinted - sent)
            stats.append(counted - sent)
        rss_edits = client.rss()
        hovers = []
        for k in range(HOVERS):
            at = {"line": line + k - HOVERS // 2, "character": 2}
            start = time.perf_counter()
            client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": at})
            hovers.append(time.perf_counter() - start)
        # typing at varied places: a word at a random line and column, character by character
        done = 0
        while done < edits:
            line = rng.randrange(len(lines.lines))
            column = rng.randint(0, len(lines.lines[line]))
            for ch in rng.choice(("x", " word", "값", " token,", "🙂 ")):
                if done == edits:
                    break
                version += 1
                done += 1
                change = lines.insert(line, column, ch)
                column += 1
                client.notify("textDocument/didChange", {
                    "textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})
                _, last = client.stats_for(uri, version)
        rss_many = client.rss() if edits else rss_edits
        peak = read_kib(pid, "VmHWM")
        final = lines.text()
        expected = len(tokenizer.encode(final).ids)
        counted = last["params"]["tokens"] if edits else None
        return {
            "model": model, "size": size, "open": opened, "hints": hints, "stats": stats, "hovers": hovers,
            "ranks_ready": ranks_ready, "rss_idle": rss_idle, "rss_open": rss_open, "rss_edits": rss_edits,
            "rss_many": rss_many,
            "peak": peak, "edits": edits, "exact": counted is None or counted == expected,
            "tokens": expected,
        }
    finally:
        client.close()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def table(results: list[dict]) -> list[str]:
    rows = ["| model | size | edit→hints median | p95 | edit→stats median | hover | RSS open | "
            "RSS after edits | RSS after many | peak | open |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        rows.append(
            f"| {r['model']} | {size_label(r['size'])} | {ms(statistics.median(r['hints']))} | "
            f"{ms(percentile(r['hints'], 0.95))} | {ms(statistics.median(r['stats']))} | "
            f"{ms(statistics.median(r['hovers']))} | {r['rss_open'] / MIB:,.0f} MiB | "
            f"{r['rss_edits'] / MIB:,.0f} MiB | {r['rss_many'] / MIB:,.0f} MiB ({r['edits']}) | "
            f"{r['peak'] / MIB:,.0f} MiB | {r['open'] * 1000:,.0f} ms |")
    return rows


def checks(results: list[dict]) -> list[str]:
    out = []

    def verdict(name: str, value: float, limit: float, unit: str = "") -> None:
        ok = value <= limit
        out.append(f"{'PASS' if ok else 'FAIL'}  {name}: {value:.2f}{unit} (target <= {limit:g}{unit}; "
                   f"{value / limit:.2f}x of the target)")

    for r in results:
        label = f"{r['model']} {size_label(r['size'])}"
        verdict(f"{label} edit→hints median", statistics.median(r["hints"]) * 1000, MEDIAN_MS, " ms")
        verdict(f"{label} edit→stats median", statistics.median(r["stats"]) * 1000, MEDIAN_MS, " ms")
        if r["edits"]:  # growth: memory given back is no failure
            growth = r["rss_many"] / r["rss_open"] - 1
            verdict(f"{label} RSS growth after {r['edits']} edits (vs after opening)", growth * 100,
                    RSS_DRIFT * 100, " %")
        if not r["exact"]:
            out.append(f"FAIL  {label}: the final count differs from a fresh encode")
    by_model: dict[str, list[dict]] = {}
    for r in results:
        by_model.setdefault(r["model"], []).append(r)
    for model, rows in by_model.items():
        small, large = min(rows, key=lambda r: r["size"]), max(rows, key=lambda r: r["size"])
        label = f"{model} {size_label(large['size'])}"
        if large is not small:
            for what in ("hints", "stats"):
                ratio = statistics.median(large[what]) / statistics.median(small[what])
                verdict(f"{model} edit→{what} median {size_label(large['size'])} ÷ "
                        f"{size_label(small['size'])}", ratio, FLAT_RATIO, "x")
        verdict(f"{label} hover median", statistics.median(large["hovers"]) * 1000, HOVER_MS, " ms")
        limit = RSS_LIMIT_MIB.get(model)
        if limit:
            verdict(f"{label} RSS after the edits", max(large["rss_edits"], large["rss_many"]) / MIB, limit,
                    " MiB")
    out.append("exact: " + ", ".join(f"{r['model']} {size_label(r['size'])} "
                                     f"{'final count = fresh encode' if r['exact'] else 'MISMATCH'}"
                                     for r in results))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="o200k_base,llama3")
    parser.add_argument("--sizes", default="100KB,1MB,10MB", help="document sizes in UTF-8 bytes (KB, MB)")
    parser.add_argument("--edits", type=int, default=1000,
                        help="typed characters at varied places after the 60")
    args = parser.parse_args()
    os.environ.setdefault("TOKENPRISM_GGUF_PATH", str(MODELS_DIR))
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from tokenprism.tokenization import load_tokenizer

    results = []
    for model in args.models.split(","):
        tokenizer = load_tokenizer(model)
        for size in (parse_size(s) for s in args.sizes.split(",")):
            r = measure(model, size, args.edits, tokenizer)
            results.append(r)
            ranks = "never" if r["ranks_ready"] is None else f"{r['ranks_ready']:.1f} s"
            print(f"{model} {size_label(size)}: {r['tokens']:,} tokens, open {r['open'] * 1000:,.0f} ms, "
                  f"hints median {ms(statistics.median(r['hints']))}, "
                  f"stats median {ms(statistics.median(r['stats']))}, "
                  f"hover {ms(statistics.median(r['hovers']))} (rank table ready {ranks} after the first "
                  f"hover, before opening); RSS idle {r['rss_idle'] / MIB:,.0f}, "
                  f"open {r['rss_open'] / MIB:,.0f}, after {TYPED} edits {r['rss_edits'] / MIB:,.0f}, "
                  f"after {r['edits']} more {r['rss_many'] / MIB:,.0f}, peak {r['peak'] / MIB:,.0f} MiB",
                  flush=True)
    print()
    for line in table(results) + [""] + checks(results):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
