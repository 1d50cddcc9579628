"""Reading LSP messages from stdin on the event loop itself.

pygls's stdio reader runs every ``readline`` and ``read`` in a worker thread: three thread
hand-offs per message, each waiting for the GIL, which costs more than applying a
keystroke to a 1 MB document. Here stdin is an asyncio pipe, so a message is parsed and
handled in the same loop iteration in which its bytes arrive. Anything asyncio cannot
watch (a regular file, a Windows console) falls back to pygls's threaded reader.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
from typing import BinaryIO

from pygls.exceptions import JsonRpcException
from pygls.io_ import StdinAsyncReader, StdoutWriter

log = logging.getLogger(__name__)

# Largest header line we accept; message bodies are read by length, not by this limit.
HEADER_LIMIT = 1 << 16


class PipeReader:
    """``readline``/``readexactly`` over an asyncio stream, as pygls's ``run_async`` wants:
    an empty result at the end of input instead of an exception."""

    def __init__(self, stream: asyncio.StreamReader):
        self._stream = stream

    async def readline(self) -> bytes:
        try:
            return await self._stream.readline()
        except (asyncio.IncompleteReadError, ConnectionError):
            return b""

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self._stream.readexactly(n)
        except (asyncio.IncompleteReadError, ConnectionError):
            return b""


async def open_reader(stdin: BinaryIO, stdout: BinaryIO, executor=None):
    """A reader for ``stdin`` on the running loop, or pygls's threaded one if the loop
    cannot watch it."""
    loop = asyncio.get_running_loop()
    if _same_file(stdin, stdout):
        # the loop makes stdin non-blocking; shared with stdout, writes could then fail
        log.info("stdin and stdout are one file; reading it in a thread")
        return StdinAsyncReader(stdin, executor)
    stream = asyncio.StreamReader(limit=HEADER_LIMIT, loop=loop)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream, loop=loop), stdin)
    except (ValueError, OSError, NotImplementedError) as exc:
        log.info("stdin cannot be read on the event loop (%s); reading it in a thread", exc)
        return StdinAsyncReader(stdin, executor)
    return PipeReader(stream)


def _same_file(a: BinaryIO, b: BinaryIO) -> bool:
    try:
        first, second = os.fstat(a.fileno()), os.fstat(b.fileno())
    except (OSError, ValueError, AttributeError):
        return True  # not real files: the safe reader
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


async def read_messages(
    reader, protocol, stop: threading.Event, error_handler, burst_methods: frozenset = frozenset()
) -> None:
    """Read framed JSON-RPC messages and hand each to the protocol until the input ends.

    Like pygls's ``run_async``, but the JSON is parsed without an ``object_hook``: pygls
    calls its hook on every nested object, and only the outermost one is a message, so
    ``structure_message`` runs once, on that. After each message other tasks get a turn
    (a request's handler starts before the next message is read), except after
    ``burst_methods``: already-buffered edits are all read before the work they cause
    runs, so a burst is applied in one pass."""
    while not stop.is_set():
        length = None
        while True:  # the header block, up to its empty line
            line = await reader.readline()
            if not line:
                return
            line = line.strip()
            if not line:
                if length is not None:
                    break
                continue  # stray blank line before a header
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    log.error("bad Content-Length header: %r", line)
        body = await reader.readexactly(length)
        if len(body) < length:
            return
        method = None
        try:
            data = json.loads(body)
            if isinstance(data, dict):
                method = data.get("method")
                data = protocol.structure_message(data)
            protocol.handle_message(data)
        except Exception as exc:
            log.exception("unable to handle a message")
            error_handler(exc, JsonRpcException)
        if method not in burst_methods:
            await asyncio.sleep(0)


def serve_stdio(server, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """Run ``server`` (a pygls ``JsonRPCServer``) over stdio until the input ends or the
    client says ``exit``; what pygls's ``start_io`` does, with the reader and loop above."""
    stdin, stdout = stdin or sys.stdin.buffer, stdout or sys.stdout.buffer
    server._stop_event = stop = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout))

    async def run() -> None:
        reader = await open_reader(stdin, stdout, server.thread_pool)
        await read_messages(
            reader, server.protocol, stop, server.report_server_error,
            getattr(server.protocol, "BURST_METHODS", frozenset()),
        )

    try:
        asyncio.run(run())
    except BrokenPipeError:
        log.error("the connection to the client is lost; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
