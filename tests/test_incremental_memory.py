"""Memory of a large document over open / idle verification / close cycles, measured as the
RSS of a subprocess (Llama 3 through the Rust tokenizers, whose per-token objects and freed
arenas were where the memory went): verification must not hold a whole-document encoding,
closing a document must give its memory back, and cycles must not grow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    sys.path.insert(0, sys.argv[1])
    from corpus import document
    from tokenprism.lsp import verify
    from tokenprism.lsp.session import Session
    from tokenprism.lsp.settings import Settings
    from tokenprism.tokenization import load_tokenizer

    verify.VERIFY_AFTER_IDLE = 0.2

    def rss():
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmRSS"))

    async def main():
        session = Session()
        settings, _ = Settings.from_dict({"model": "llama3"})
        session.apply_settings(settings)
        load_tokenizer("llama3").encode("warm up\\n")
        text = document(3_000_000)
        figures = {"loaded": rss(), "cycles": []}
        for cycle in range(4):
            uri = f"file:///cycle-{cycle}.md"
            doc = session.open(uri, "markdown", 1, text)
            await session.view(uri, wait=300)
            opened = rss()
            session.change(uri, 2, [((3, 0), (3, 0), "x")])  # the idle verification follows edits
            await session.view(uri, wait=300)
            while doc.check.task is None or not doc.check.task.done():
                await asyncio.sleep(0.05)
            verified = rss()
            session.close(uri)
            del doc
            await asyncio.sleep(0.5)  # the heap is trimmed in a worker
            figures["cycles"].append((opened, verified, rss()))
        print(json.dumps(figures))
        session.shutdown()

    asyncio.run(main())
    """
)


def test_memory_is_bounded_over_open_verify_close_cycles(testdata_models, tmp_path):
    from pathlib import Path

    bench = Path(__file__).resolve().parent.parent / "bench"
    command = [sys.executable, "-c", SCRIPT, str(bench)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    mb = 1 << 20
    loaded = figures["loaded"]
    growth = [[(x - loaded) / mb for x in cycle] for cycle in figures["cycles"]]
    # a 3 MB document holds ~20 MB of text and tokens; a whole-document encoding of it
    # through the Rust tokenizers costs ~300 MB and was kept after verifying and closing
    for opened, verified, closed in growth:
        assert opened < 150 and verified < 150, growth
    assert growth[-1][2] < 60, growth  # after four cycles, nothing open: nothing kept


def test_the_idle_verification_keeps_no_second_copy_of_the_text():
    """After an edit the text lives in rope chunks; the verification reads it joined, and that
    join (4 bytes a character once one emoji is in it) must not stay behind."""
    import tracemalloc

    from tokenprism.tokenization import load_tokenizer
    from tokenprism.tokenization.incremental import TokenState

    tokenizer = load_tokenizer("o200k_base")
    text = "".join(f"line {k} of the text, with an emoji 🙂 and 한국어\n" for k in range(20_000))
    state = TokenState(tokenizer, text)
    state.apply_edit(10, 10, "x")  # the rope is chunks from here on
    tracemalloc.start()
    try:
        assert state.verify_and_repair() == 0
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    text_bytes = 4 * len(text)  # ~4 MB
    assert held < text_bytes // 4, (held, text_bytes)
    fresh = tokenizer.encode(state.text)
    assert state.encoding().equals(fresh)


MAPPED = textwrap.dedent(
    """
    import sys
    import numpy as np
    from tokenprism.tokenization.memory import map_large_blocks

    def rss():
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmRSS"))

    fixed = sys.argv[1] == "fixed" and map_large_blocks()
    old = np.ones(20 << 20, np.uint8)  # an older version's token arrays, mmapped, then freed
    del old
    before = rss()
    arrays = np.ones(10 << 20, np.uint8)  # its token arrays
    del arrays
    print(fixed, rss() - before)
    """
)


def test_large_arrays_give_their_memory_back_once_freed():
    """glibc raises its mmap threshold to the size of a freed mapping (up to 32 MiB: a 10 MB
    document's token arrays), so the next such arrays come from the heap and stay resident once
    freed; with the threshold fixed at server start they are mapped and returned."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    kept = {}
    for mode in ("default", "fixed"):
        done = subprocess.run([sys.executable, "-c", MAPPED, mode], capture_output=True, text=True,
                              timeout=120, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        fixed, grown = done.stdout.split()
        if mode == "fixed" and fixed != "True":
            pytest.skip("not glibc: no mallopt")
        kept[mode] = int(grown)
    assert kept["fixed"] < (2 << 20), kept
    assert kept["default"] > (8 << 20), kept  # what the fix is for, on this glibc
