"""Instructions per typing edit through the real server, counted by callgrind.

    python bench/edit_instructions.py                 # o200k_base, 400 edits
    python bench/edit_instructions.py --model llama3 --edits 200

Wall-clock time on this machine drifts by up to 2x within minutes, so a change worth a few
percent cannot be seen in edit_latency.py. Instructions can: this script feeds the language
server's own message reader (``lsp/transport.py``) in-process with an open 1 MB document
(bench/corpus.py) and a run of ``didChange`` notifications typing and deleting one character,
and has callgrind count the instructions of that run only (collection is switched on and off
around it). Each edit must produce its ``documentStats`` before the next is fed. Without
valgrind it reports CPU time per edit instead. The count covers the server's user-space work
(JSON, document, tokens, notification), not the pipe or the kernel.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import document  # noqa: E402
from edit_latency import MODELS_DIR  # noqa: E402  (where the test data keeps the GGUF vocabularies)


class _Sink:
    """Stands in for stdout: counts the messages written, keeps the last."""

    def __init__(self) -> None:
        self.count, self.last = 0, b""

    def write(self, data: bytes) -> None:
        self.count, self.last = self.count + 1, data

    def close(self) -> None:
        pass


def _frame(message: dict) -> bytes:
    import orjson

    body = orjson.dumps(message)
    return b"Content-Length: %d\r\n\r\n%b" % (len(body), body)


def _callgrind(on: bool) -> None:
    if os.environ.get("TOKENPRISM_UNDER_CALLGRIND"):
        subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
                       stdout=subprocess.DEVNULL, check=False)


async def _session(model: str, edits: int) -> list[float]:
    from tokenprism.lsp.server import create_server
    from tokenprism.lsp.transport import MessageReader

    server = create_server()
    sink = _Sink()
    server.protocol.set_writer(sink)
    reader = MessageReader(server.protocol, threading.Event(), server.report_server_error,
                           server.protocol.BURST_METHODS)
    reader.data_received(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "processId": None, "rootUri": None, "initializationOptions": {"model": model},
        "capabilities": {"general": {"positionEncodings": ["utf-16"]}}}}))
    reader.data_received(_frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    text, uri = document(), "file:///bench/instructions.md"
    reader.data_received(_frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri, "languageId": "markdown", "version": 0, "text": text}}}))
    for _ in range(6000):  # the model loads and the document is encoded in worker threads
        await asyncio.sleep(0.05)
        if b'"version":0' in sink.last and b"documentStats" in sink.last:
            break
    else:
        raise RuntimeError("the document was never counted")
    await asyncio.sleep(0.5)
    line = text.count("\n", 0, len(text) // 2)  # typing in the middle of the document
    messages = [_frame({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": uri, "version": version},
        "contentChanges": [{"range": {"start": {"line": line, "character": 3},
                                      "end": {"line": line, "character": 3 + (version % 2 == 0)}},
                            "text": "x" if version % 2 else ""}]}}) for version in range(1, edits + 1)]
    cpu = []
    _callgrind(True)
    for message in messages:
        written, start = sink.count, time.thread_time()
        reader.data_received(message)
        cpu.append(time.thread_time() - start)
        if sink.count == written:
            raise RuntimeError("an edit was not counted at once")
        await asyncio.sleep(0)
    _callgrind(False)
    return cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="o200k_base")
    parser.add_argument("--edits", type=int, default=400)
    parser.add_argument("--no-callgrind", action="store_true",
                        help="CPU time only, even with valgrind installed")
    args = parser.parse_args()
    os.environ.setdefault("TOKENPRISM_GGUF_PATH", str(MODELS_DIR))
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    if os.environ.get("TOKENPRISM_UNDER_CALLGRIND") or args.no_callgrind or not shutil.which("valgrind"):
        cpu = asyncio.run(_session(args.model, args.edits))
        print(f"{args.model}: CPU per edit median {statistics.median(cpu) * 1e6:.0f} us "
              f"({args.edits} edits, in-process)", flush=True)
        return 0
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
               sys.executable, __file__, "--model", args.model, "--edits", str(args.edits)]
    env = dict(os.environ, TOKENPRISM_UNDER_CALLGRIND="1", PYTHONHASHSEED="0")
    run = subprocess.run(command, env=env, capture_output=True, text=True)
    counted = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode or not counted:
        sys.stderr.write(run.stdout + run.stderr[-2000:])
        return 1
    print(f"{args.model}: {int(counted.group(1)) / args.edits / 1000:.0f}k instructions per typing edit "
          f"({args.edits} edits through the server's reader, callgrind)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
