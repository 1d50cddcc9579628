"""Memory of a large document over open / idle verification / close cycles, measured as the
RSS of a subprocess (Llama 3 through the Rust tokenizers, whose per-token objects and freed
arenas were where the memory went): verification must not hold a whole-document encoding,
closing a document must give its memory back, and cycles must not grow."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

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
