"""Time to fill the workspace token tree, through the real server over stdio.

    python bench/workspace_tokens.py FOLDER [FOLDER...] [--model o200k_base] [--repeat 2]

For each folder: a fresh ``tokenprism serve`` with the folder as its workspace; one
``tokenprism/workspaceTokens`` request with a partialResultToken, timed to the first partial
result and to the answer, with a hover on an open document every 100 ms during the walk (its
latency is what a user typing meanwhile would feel); then the same request again (answered from
the count cache: every file stat-ed, none read). The server's peak RSS comes from ``wait4``.
For reference, ``tokenprism count --json FOLDER`` (the CLI, same walker and batch encode) is
timed too. The machine is shared: each figure is the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import queue
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "lsp"))
from raw_lsp import RawServer, frame  # noqa: E402


class Server(RawServer):
    """``tokenprism serve`` over pipes (tests/lsp/raw_lsp.py), messages stamped as they are taken."""

    def __init__(self, model: str):
        super().__init__([sys.executable, "-m", "tokenprism", "serve"])
        self.model = model

    def post(self, message: dict) -> None:
        self.send(frame({"jsonrpc": "2.0", **message}))

    def wait(self, predicate, timeout: float = 600.0):
        deadline = time.monotonic() + timeout
        while True:
            message = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            if predicate(message):
                return time.perf_counter(), message

    def start(self, folder: Path) -> None:
        uri = folder.resolve().as_uri()
        self.post(
            {
                "id": "init",
                "method": "initialize",
                "params": {
                    "processId": None,
                    "rootUri": uri,
                    "capabilities": {},
                    "workspaceFolders": [{"uri": uri, "name": folder.name}],
                    "initializationOptions": {"model": self.model},
                },
            }
        )
        self.wait(lambda m: m.get("id") == "init")
        self.post({"method": "initialized", "params": {}})
        self.post(
            {
                "method": "textDocument/didOpen",
                "params": {
                    "textDocument": {
                        "uri": "file:///bench/typing.txt",
                        "languageId": "plaintext",
                        "version": 1,
                        "text": "a document the user is working on while the workspace is counted\n",
                    }
                },
            }
        )
        self.wait(lambda m: m.get("method") == "tokenprism/documentStats")

    def stop(self) -> int:
        """Shut down; the peak RSS in MB."""
        self.post({"id": "bye", "method": "shutdown"})
        self.wait(lambda m: m.get("id") == "bye", 60)
        self.post({"method": "exit"})
        self.wait_exit(60)
        return self.peak_rss_kb // 1024


def fill(folder: Path, model: str) -> dict:
    server = Server(model)
    server.start(folder)
    started = time.perf_counter()
    server.post({"id": "walk", "method": "tokenprism/workspaceTokens", "params": {"partialResultToken": "p"}})
    first_partial = answer = None
    partials, hovers, pending = 0, [], {}
    next_hover, n = started, 0
    while answer is None:
        now = time.perf_counter()
        if now >= next_hover:
            n += 1
            pending[f"h{n}"] = now
            server.post(
                {
                    "id": f"h{n}",
                    "method": "textDocument/hover",
                    "params": {
                        "textDocument": {"uri": "file:///bench/typing.txt"},
                        "position": {"line": 0, "character": 3},
                    },
                }
            )
            next_hover = now + 0.1
        try:
            at, message = server.wait(lambda m: True, timeout=max(0.001, next_hover - time.perf_counter()))
        except queue.Empty:
            continue
        if message.get("method") == "$/progress" and message["params"]["token"] == "p":
            partials += 1
            first_partial = first_partial or at - started
        elif message.get("id") in pending:
            hovers.append(at - pending.pop(message["id"]))
        elif message.get("id") == "walk":
            answer = (at - started, message["result"])
    fill_s, result = answer
    again_start = time.perf_counter()
    server.post({"id": "again", "method": "tokenprism/workspaceTokens", "params": {}})
    again_at, _ = server.wait(lambda m: m.get("id") == "again")
    peak_mb = server.stop()
    return {
        "files": result["total"]["files"],
        "skipped": result["total"]["skipped"],
        "tokens": result["total"]["tokens"],
        "fill_s": fill_s,
        "first_partial_s": first_partial,
        "partials": partials,
        "cached_s": again_at - again_start,
        "hover_median_ms": 1000 * statistics.median(hovers) if hovers else None,
        "hover_max_ms": 1000 * max(hovers) if hovers else None,
        "hovers": len(hovers),
        "peak_rss_mb": peak_mb,
    }


def cli_count(folder: Path, model: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "tokenprism", "count", "--json", "--model", model, str(folder)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--model", default="o200k_base")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    for folder in args.folders:
        runs = [fill(folder, args.model) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["fill_s"])
        cli = min(cli_count(folder, args.model) for _ in range(args.repeat))
        print(f"{folder}: {best['files']:,} files ({best['skipped']:,} skipped), {best['tokens']:,} tokens")
        print(
            f"  tree filled in {best['fill_s']:.2f} s (first batch after {best['first_partial_s']:.2f} s, "
            f"{best['partials']} batches); again from the cache {best['cached_s']:.2f} s; "
            f"CLI count {cli:.2f} s"
        )
        print(
            f"  hover during the walk: median {best['hover_median_ms']:.1f} ms, "
            f"max {best['hover_max_ms']:.1f} ms "
            f"({best['hovers']} hovers); server peak RSS {best['peak_rss_mb']} MB"
        )
        print(
            f"  all runs: fill {[round(r['fill_s'], 2) for r in runs]} s, "
            f"hover max {[round(r['hover_max_ms'], 1) for r in runs]} ms"
        )


if __name__ == "__main__":
    main()
