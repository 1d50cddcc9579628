"""``python tampered.py [--bel-panics] [--stuck-worker] -- ARGS``: the ``tokenprism`` command
(``ARGS``, e.g. ``serve --stdio``) in a process put in a state a test needs.

``--bel-panics``: o200k_base's real tiktoken encoding (not cl100k_base's), rebuilt without
the rank of the byte BEL (U+0007). tiktoken's Rust core then panics (``no entry found for key``, a
``pyo3_runtime.PanicException``) on any text in which that byte stands alone, as it does
with any rank table that lacks a byte (openai/tiktoken#568); every other text encodes as
usual.

``--stuck-worker``: once the server's session exists, one thread of its encode pool runs an
endless Python loop, as a worker stuck in a template or a read would.
"""

from __future__ import annotations

import sys

BEL = "\x07"


def break_bel() -> None:
    import tiktoken

    from tokenprism.tokenization import openai

    original = openai.TiktokenTokenizer.__init__

    def init(self, name: str, spec: str) -> None:
        original(self, name, spec)
        if name != "o200k_base":
            return
        enc = self._enc
        ranks = {token: rank for token, rank in enc._mergeable_ranks.items() if token != BEL.encode()}
        self._enc = tiktoken.Encoding(
            name=enc.name, pat_str=enc._pat_str, mergeable_ranks=ranks, special_tokens=enc._special_tokens
        )

    openai.TiktokenTokenizer.__init__ = init


def stick_a_worker() -> None:
    from tokenprism.lsp import session

    original = session.Session.__init__

    def spin() -> None:
        while True:
            pass

    def init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        self.pool.submit(spin)

    session.Session.__init__ = init


if __name__ == "__main__":
    split = sys.argv.index("--")
    options, args = sys.argv[1:split], sys.argv[split + 1 :]
    if "--bel-panics" in options:
        break_bel()
    if "--stuck-worker" in options:
        stick_a_worker()
    from tokenprism.cli import main

    raise SystemExit(main(args))
