"""Where a large document's memory goes in the server: open, edits, idle verification, close.

    python bench/memory_probe.py --model llama3 --size 10MB
    python bench/memory_probe.py --model o200k_base --size 10MB --no-tracemalloc

Starts ``tokenprism serve`` through this file (``--serve``), which installs a SIGUSR1
handler that writes what the process holds to a file: RSS and peak, ``/proc/self/smaps``
summed by kind (the main heap, other anonymous memory — glibc's per-thread arenas and large
``mmap`` allocations, numpy's big arrays among them — and file mappings), glibc's own
accounting (``mallinfo2``: bytes in use and free inside the arenas, bytes in ``mmap``
blocks; the number of arenas from ``malloc_info``), and with tracemalloc the Python-side
allocations (numpy arrays included; the Rust tokenizers' are not traced) by line. The client
opens the synthetic document (corpus.py), types 60 characters, waits for the idle
verification, and closes it, asking for a report after each step.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import random
import re
import signal
import sys
import tempfile
import time
from pathlib import Path

MIB = 1 << 20


# -- inside the server ----------------------------------------------------------------------------


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
        "keepcost")]


def _glibc() -> dict:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        info = libc.mallinfo2()
        libc.fopen.restype = ctypes.c_void_p
        libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
        libc.fclose.argtypes = [ctypes.c_void_p]
        with tempfile.NamedTemporaryFile(suffix=".xml") as out:
            fp = libc.fopen(out.name.encode(), b"w")
            libc.malloc_info(0, fp)
            libc.fclose(fp)
            xml = Path(out.name).read_text()
    except (OSError, AttributeError):
        return {}
    return {
        "arena_bytes": info.arena, "in_use": info.uordblks, "free_in_arenas": info.fordblks,
        "mmapped": info.hblkhd, "mmapped_blocks": info.hblks, "arenas": len(re.findall(r"<heap nr=", xml)),
    }


def _smaps() -> dict:
    """RSS by kind of mapping, in bytes."""
    kinds = {"heap": 0, "anon": 0, "anon_large": 0, "file": 0, "stack_other": 0}
    name, size = "", 0
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                start, end = (int(x, 16) for x in head[0].split("-"))
                size, name = end - start, head[5] if len(head) > 5 else ""
            elif head[0] == "Rss:":
                rss = int(head[1]) * 1024
                if name == "[heap]":
                    kinds["heap"] += rss
                elif not name:
                    # glibc arenas are 64 MiB mappings; big malloc/numpy blocks their own mmap
                    kinds["anon_large" if size >= 1 * MIB else "anon"] += rss
                elif name.startswith("/"):
                    kinds["file"] += rss
                else:
                    kinds["stack_other"] += rss
    return kinds


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _report(path: str) -> None:
    import tracemalloc

    out = {"rss": _status("VmRSS"), "peak": _status("VmHWM"), "smaps": _smaps(), "glibc": _glibc()}
    if tracemalloc.is_tracing():
        snapshot = tracemalloc.take_snapshot()
        stats = snapshot.statistics("lineno")
        out["traced"] = sum(s.size for s in stats)
        out["traced_peak"] = tracemalloc.get_traced_memory()[1]
        out["top"] = [(f"{s.traceback[0].filename.split('site-packages/')[-1].split('server/')[-1]}:"
                       f"{s.traceback[0].lineno}", s.size, s.count) for s in stats[:10]]
        tracemalloc.reset_peak()
    Path(path).write_text(json.dumps(out))


def serve() -> int:
    if os.environ.get("PROBE_TRACEMALLOC") == "1":
        import tracemalloc

        tracemalloc.start(1)
    path = os.environ["PROBE_REPORT"]
    signal.signal(signal.SIGUSR1, lambda *_: _report(path))
    from tokenprism.cli import main as tokenprism

    return tokenprism(["serve", "--stdio"])


# -- the client ------------------------------------------------------------------------------------


def ask(client, path: str) -> dict:
    Path(path).unlink(missing_ok=True)
    os.kill(client.proc.pid, signal.SIGUSR1)
    for _ in range(600):
        time.sleep(0.05)
        try:
            return json.loads(Path(path).read_text())
        except (OSError, ValueError):
            continue
    raise TimeoutError("no report from the server")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def quiet(pid: int, after: float, longest: float = 300) -> float:
    """Wait ``after`` seconds, then until the process has used no CPU for 2 s; the seconds waited."""
    started = time.monotonic()
    time.sleep(after)
    last = cpu_seconds(pid)
    while time.monotonic() - started < longest:
        time.sleep(2)
        now = cpu_seconds(pid)
        if now - last < 0.02:
            break
        last = now
    return time.monotonic() - started


def show(step: str, r: dict) -> None:
    s, g = r["smaps"], r.get("glibc", {})
    line = (f"{step:<22} RSS {r['rss'] / MIB:6.0f}  peak {r['peak'] / MIB:6.0f} | "
            f"heap {s['heap'] / MIB:5.0f}  anon<1M {s['anon'] / MIB:5.0f}  "
            f"anon>=1M {s['anon_large'] / MIB:5.0f}  files {s['file'] / MIB:4.0f}")
    if g:
        line += (f" | malloc in use {g['in_use'] / MIB:5.0f}  free {g['free_in_arenas'] / MIB:5.0f}  "
                 f"mmapped {g['mmapped'] / MIB:5.0f} ({g['mmapped_blocks']})  arenas {g['arenas']}")
    if "traced" in r:
        line += f" | traced {r['traced'] / MIB:5.0f} (peak {r['traced_peak'] / MIB:.0f})"
    print(line + " MiB", flush=True)
    for where, size, count in r.get("top", [])[:6]:
        if size >= MIB:
            print(f"    {size / MIB:7.1f} MiB in {count:>7,} blocks  {where}")


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from corpus import document
    from edit_latency import LspClient, server_env
    from size_table import Lines, parse_size

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="llama3")
    parser.add_argument("--size", default="10MB")
    parser.add_argument("--no-tracemalloc", action="store_true")
    parser.add_argument("--edits", type=int, default=1000,
                        help="characters typed at varied places after the 60")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve()
    report = tempfile.mktemp(prefix="tokenprism-probe-", suffix=".json")
    env = server_env(PROBE_REPORT=report, PROBE_TRACEMALLOC="0" if args.no_tracemalloc else "1")
    client = LspClient([sys.executable, __file__, "--serve"], env, {"model": args.model})
    text = document(parse_size(args.size))
    lines = Lines(text)
    uri = "file:///bench/probe.md"
    print(f"{args.model}, {len(text.encode()) / 1e6:.1f} MB document ({len(text):,} characters)", flush=True)
    try:
        client.initialize(timeout=60)
        client.warm_up()
        time.sleep(1)
        show("tokenizer loaded", ask(client, report))
        client.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "markdown", "version": 0, "text": text}})
        client.stats_for(uri, 0, timeout=900)
        show("opened", ask(client, report))
        line = len(lines.lines) // 2
        for version in range(1, 61):
            change = lines.insert(line, 0, "x")
            client.notify("textDocument/didChange",
                          {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})
            client.stats_for(uri, version, timeout=300)
        show("60 edits", ask(client, report))
        time.sleep(1.5)  # the materialized views and line index settle
        show("60 edits + 1.5 s", ask(client, report))
        rng = random.Random(13)
        for version in range(61, 61 + args.edits):
            if version % 5 == 1:
                line = rng.randrange(len(lines.lines))
            change = lines.insert(line, 0, rng.choice("x 값🙂"))
            client.notify("textDocument/didChange",
                          {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})
            client.stats_for(uri, version, timeout=300)
        if args.edits:
            show(f"{args.edits} more edits", ask(client, report))
        waited = quiet(client.proc.pid, 5)  # the idle verification starts 5 s after the last edit
        show(f"verified ({waited:.0f} s idle)", ask(client, report))
        client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        quiet(client.proc.pid, 1)
        show("closed", ask(client, report))
    finally:
        client.close()
        Path(report).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
