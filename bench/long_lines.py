"""Single long lines and a large document's memory: what `make bench` adds to edit_latency.py.

    python bench/long_lines.py                  # both parts
    python bench/long_lines.py --part keystrokes # ms per keystroke in one-line documents
    python bench/long_lines.py --part memory --size 10000000 --model llama3
    python bench/long_lines.py --part server     # ms per keystroke through the server, UTF-16

Keystrokes (in-process TokenState): a 10 MB single line with o200k_base, a 2 MB single line
with qwen2 (GGUF) and 1.1 MB of minified chat JSON with o200k_base; 30 typed characters in the
middle, median ms per keystroke and characters re-encoded per keystroke, the final state
compared with a fresh encode. Target: a few ms, a few KB.

Server keystrokes (over stdio, a UTF-16 client as VS Code is): the 10 MB single line with
emoji, 30 characters typed in its middle, each from sending its didChange to receiving the
documentStats of that version; median ms, and the server's CPU time over the typing divided
by the keystrokes. Every column
of the line needs the code units before it: the server counts them from a unit index (one
block scanned), not from an array over the whole line. ``TOKENPRISM_BENCH_SERVER`` overrides
the server command (another checkout's interpreter, for a before/after).

Memory (the server over stdio): server RSS after opening a document, after its idle
verification (5 s after one keystroke) and after closing it, for four open/close cycles.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import document  # noqa: E402
from edit_latency import LspClient, server_command, server_env  # noqa: E402

WORDS = "the quick brown fox jumps over lazy dog 한국어 日本語 🙂 résumé value, (x) = 42;".split()


def one_line(size: int, rng: random.Random) -> str:
    """Prose with code-ish punctuation, CJK and emoji, without a single line break."""
    out, n = [], 0
    while n < size:
        out.append(rng.choice(WORDS))
        n += len(out[-1]) + 1
    return " ".join(out)[:size]


def minified_chat(size: int, rng: random.Random) -> str:
    messages, n = [], 0
    while n < size:
        content = one_line(rng.randint(50, 400), rng)
        messages.append({"role": rng.choice(["user", "assistant"]), "content": content})
        n += len(content) + 30
    return json.dumps({"messages": messages}, separators=(",", ":"), ensure_ascii=False)


CASES = (
    ("o200k_base", "10 MB single line", lambda rng: one_line(10_000_000, rng)),
    ("qwen2", "2 MB single line", lambda rng: one_line(2_000_000, rng)),
    ("o200k_base", "1.1 MB minified chat JSON", lambda rng: minified_chat(1_100_000, rng)),
)


def keystrokes(typed: int = 30) -> None:
    from tokenprism.tokenization import load_tokenizer
    from tokenprism.tokenization.incremental import TokenState

    for model, label, make in CASES:
        tokenizer = load_tokenizer(model)
        text = make(random.Random(7))
        started = time.perf_counter()
        state = TokenState(tokenizer, text)
        opened = time.perf_counter() - started
        at, times, window = len(text) // 2, [], state.stats["window_chars"]
        for i in range(typed):
            started = time.perf_counter()
            state.apply_edit(at + i, at + i, "x")
            times.append(time.perf_counter() - started)
        per_key = (state.stats["window_chars"] - window) / typed
        whole = state.stats["whole"]
        same = state.encoding().equals(tokenizer.encode(state.text))
        print(f"{model:<11} {label:<27} open {opened * 1000:6.0f} ms   keystroke median "
              f"{statistics.median(times) * 1000:7.2f} ms, {per_key:,.0f} chars re-encoded"
              f"{f', {whole} whole-document encodes' if whole else ''}   "
              f"{'final state = fresh encode' if same else 'MISMATCH with a fresh encode'}", flush=True)


def server_cpu_seconds(client: LspClient) -> float:
    with open(f"/proc/{client.proc.pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def server_keystrokes(model: str = "o200k_base", size: int = 10_000_000, typed: int = 30) -> None:
    client = LspClient(server_command(), server_env(), {"model": model})
    text = one_line(size, random.Random(7))
    uri = "file:///bench/one-line.txt"
    try:
        result = client.initialize()
        encoding = result["capabilities"].get("positionEncoding", "utf-16")
        client.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "plaintext", "version": 0, "text": text}})
        client.stats_for(uri, 0, timeout=600)
        time.sleep(2)  # the line index is scanned after the first count
        at = len(text) // 2
        column = len(text[:at].encode("utf-16-le", "surrogatepass")) // 2
        times, cpu_before = [], server_cpu_seconds(client)
        for i in range(1, typed + 1):
            position = {"line": 0, "character": column}
            change = {"range": {"start": position, "end": position}, "text": "x"}
            sent = client.notify("textDocument/didChange",
                                 {"textDocument": {"uri": uri, "version": i}, "contentChanges": [change]})
            received, _ = client.stats_for(uri, i, timeout=120)
            times.append(received - sent)
            column += 1
            time.sleep(0.05)  # a typist's pause: what is left after the answer runs then
        cpu = (server_cpu_seconds(client) - cpu_before) / typed  # ticks are 10 ms: the mean
        astral = sum(ord(c) > 0xFFFF for c in text)
        print(f"{model:<11} {size / 1e6:.0f} MB single line, {astral:,} astral characters, {encoding} "
              f"client: keystroke median {statistics.median(times) * 1000:7.2f} ms "
              f"(p90 {sorted(times)[int(0.9 * (len(times) - 1))] * 1000:.2f} ms), server CPU "
              f"{cpu * 1000:.1f} ms per keystroke", flush=True)
    finally:
        client.close()


def settle(client: LspClient, seconds: float, quiet: float = 4.0) -> tuple[int, int]:
    """Server RSS once it has not moved for ``quiet`` seconds (sampled every 0.25 s, at most
    ``seconds``), and its peak meanwhile."""
    last = peak = client.rss()
    since, deadline = time.monotonic(), time.monotonic() + seconds
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.25)
        now = client.rss()
        peak = max(peak, now)
        if abs(now - last) >= (1 << 20):
            last, since = now, time.monotonic()
    return last, peak


def memory(model: str, size: int, cycles: int = 4) -> None:
    client = LspClient(server_command(), server_env(), {"model": model})
    mb = 1 << 20
    text = document(size)
    try:
        client.initialize()
        client.warm_up()
        idle, _ = settle(client, 10)
        print(f"{model}, {len(text.encode()) / 1e6:.0f} MB document: server RSS {idle / mb:.0f} MB "
              "with no document open", flush=True)
        for cycle in range(1, cycles + 1):
            uri = f"file:///bench/memory-{cycle}.md"
            client.notify("textDocument/didOpen", {"textDocument": {
                "uri": uri, "languageId": "markdown", "version": 0, "text": text}})
            client.stats_for(uri, 0, timeout=600)
            opened = client.rss()
            # one keystroke: the idle verification follows edits
            at = {"line": 3, "character": 0}
            change = {"range": {"start": at, "end": at}, "text": "x"}
            client.notify("textDocument/didChange",
                          {"textDocument": {"uri": uri, "version": 1}, "contentChanges": [change]})
            client.stats_for(uri, 1, timeout=600)
            time.sleep(5)  # the idle verification starts 5 s after the last change
            verified, peak = settle(client, 120, quiet=6.0)
            client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
            closed, _ = settle(client, 20)
            print(f"  cycle {cycle}: RSS {opened / mb:.0f} MB after opening, {verified / mb:.0f} MB after "
                  f"the idle verification (peak {peak / mb:.0f} MB), {closed / mb:.0f} MB after closing",
                  flush=True)
    finally:
        client.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("keystrokes", "server", "memory", "both"), default="both")
    parser.add_argument("--model", default="llama3", help="model of the memory part")
    parser.add_argument("--size", type=int, default=10_000_000, help="document bytes of the memory part")
    parser.add_argument("--cycles", type=int, default=4)
    args = parser.parse_args()
    if args.part in ("keystrokes", "both"):
        keystrokes()
    if args.part in ("server", "both"):
        server_keystrokes()
    if args.part in ("memory", "both"):
        memory(args.model, args.size, args.cycles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
