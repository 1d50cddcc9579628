"""Reading LSP messages from stdin on the event loop itself.

pygls's stdio reader runs every ``readline`` and ``read`` in a worker thread: three thread
hand-offs per message, each waiting for the GIL, which costs more than applying a
keystroke to a 1 MB document. Here stdin is an asyncio pipe whose protocol frames the
bytes itself: a message is parsed and handled in the loop iteration in which its last
byte arrives, with no reader task to wake. Anything asyncio cannot watch (a regular
file, a Windows console, stdin shared with stdout) is read by a thread that feeds the
same framing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import threading
from typing import BinaryIO

from pygls.exceptions import JsonRpcException
from pygls.io_ import StdoutWriter

from . import wire

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

log = logging.getLogger(__name__)

# Largest header block we wait for; message bodies are read by length, not by this limit.
HEADER_LIMIT = 1 << 16
# Pipe buffer asked for on stdin (the Linux default is 64 KiB; 1 MiB is the default limit).
PIPE_BYTES = 1 << 20
_HEADER_END = b"\r\n\r\n"
# the header block nearly every client sends: parsed in one match, not line by line
_USUAL_HEADER = re.compile(rb"Content-Length: (\d+)\r\n\r\n")


class MessageReader(asyncio.Protocol):
    """Splits the input into framed JSON-RPC messages and hands each to the protocol.

    Like pygls's ``run_async``, but the JSON is parsed without an ``object_hook``: pygls
    calls its hook on every nested object, and only the outermost one is a message, so
    ``structure_message`` runs once, on that. After each message other tasks get a turn
    (a request's handler starts before the next message is handled), except after
    ``burst_methods``: already-buffered edits are all handled before the work they cause
    runs, so a burst is applied in one pass. Once every complete message read so far is
    handled, the protocol's ``messages_handled`` (if it has one) is called. ``done``
    resolves at the end of the input or once ``stop`` is set."""

    def __init__(self, protocol, stop: threading.Event, error_handler, burst_methods: frozenset = frozenset()):
        self._protocol = protocol
        self._stop = stop
        self._error_handler = error_handler
        self._burst_methods = burst_methods
        self._buffer = bytearray()
        self._eof = False
        self._turn_pending = False  # other tasks' turn is scheduled; the rest waits for it
        self._messages_handled = getattr(protocol, "messages_handled", None)
        self._loop = asyncio.get_running_loop()
        self.done: asyncio.Future = self._loop.create_future()

    # -- asyncio.Protocol (a pipe) -----------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.feed(data)

    def eof_received(self) -> bool:
        self.feed_eof()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.feed_eof()

    # -- input --------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self.done.done():
            return
        self._buffer += data
        if not self._turn_pending:
            self._dispatch()

    def feed_eof(self) -> None:
        self._eof = True
        if not self._turn_pending:
            self._dispatch()

    def _dispatch(self) -> None:
        self._turn_pending = False
        while not self.done.done():
            if self._stop.is_set():
                self.done.set_result(None)
                return
            body = self._next_body()
            if body is None:
                if self._messages_handled is not None:
                    self._messages_handled()
                if self._eof:
                    self.done.set_result(None)
                return
            method = self._handle(body)
            if method not in self._burst_methods and self._buffer:
                # let tasks the message started run before the next one (a sleep(0))
                self._turn_pending = True
                self._loop.call_soon(self._dispatch)
                return

    def _next_body(self) -> bytes | None:
        """The next complete message body, taken off the buffer; None until one is complete."""
        buffer = self._buffer
        usual = _USUAL_HEADER.match(buffer)
        if usual is not None:
            start, length = usual.end(), int(usual[1])
            if len(buffer) < start + length:
                return None
            body = bytes(buffer[start : start + length])
            del buffer[: start + length]
            return body
        while True:
            end = buffer.find(_HEADER_END)
            if end < 0:
                if len(buffer) > HEADER_LIMIT:
                    log.error("%d bytes without a complete message header; dropped", len(buffer))
                    buffer.clear()
                return None
            length = _content_length(bytes(buffer[:end]))
            if length is None:
                log.error("a message header without a valid Content-Length: %r", bytes(buffer[:end]))
                del buffer[: end + len(_HEADER_END)]
                continue
            start = end + len(_HEADER_END)
            if len(buffer) < start + length:
                return None
            body = bytes(buffer[start : start + length])
            del buffer[: start + length]
            return body

    def _handle(self, body: bytes) -> str | None:
        method = None
        try:
            data = wire.loads(body)
            if isinstance(data, dict):
                method = data.get("method")
                data = self._protocol.structure_message(data)
            self._protocol.handle_message(data)
        except Exception as exc:
            log.exception("unable to handle a message")
            self._error_handler(exc, JsonRpcException)
        return method


def _content_length(header: bytes) -> int | None:
    for line in header.split(b"\r\n"):  # blank lines before a header are skipped
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return None
            return length if length >= 0 else None
    return None


async def start_reading(reader: MessageReader, stdin: BinaryIO, stdout: BinaryIO) -> asyncio.BaseTransport | None:
    """Feed ``reader`` from ``stdin``: as the protocol of an asyncio pipe when the loop can
    watch it (returns its transport), else from a thread (returns None)."""
    loop = asyncio.get_running_loop()
    if _same_file(stdin, stdout):
        # the loop makes stdin non-blocking; shared with stdout, writes could then fail
        log.info("stdin and stdout are one file; reading it in a thread")
    else:
        _widen_pipe(stdin)
        try:
            transport, _ = await loop.connect_read_pipe(lambda: reader, stdin)
            return transport
        except (ValueError, OSError, NotImplementedError) as exc:
            log.info("stdin cannot be read on the event loop (%s); reading it in a thread", exc)
    threading.Thread(target=_pump, args=(loop, reader, stdin), name="tokenprism-stdin", daemon=True).start()
    return None


def _widen_pipe(stdin: BinaryIO) -> None:
    """Let a 1 MB didOpen sit in the pipe whole (Linux): with the default 64 KiB the editor
    waits for the server to drain every 64 KiB, a wake-up each, before it can write on."""
    size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if size is None:
        return
    try:
        fcntl.fcntl(stdin.fileno(), size, PIPE_BYTES)
    except (OSError, ValueError, AttributeError):
        pass  # not a pipe, or above the system's limit (/proc/sys/fs/pipe-max-size)


def _pump(loop: asyncio.AbstractEventLoop, reader: MessageReader, stdin: BinaryIO) -> None:
    read = getattr(stdin, "read1", stdin.read)  # read1: what is there, without waiting for more
    try:
        while data := read(1 << 16):
            loop.call_soon_threadsafe(reader.feed, data)
    except Exception:
        log.exception("reading stdin failed")
    try:
        loop.call_soon_threadsafe(reader.feed_eof)
    except RuntimeError:  # the loop is closed: the server has stopped already
        pass


def _same_file(a: BinaryIO, b: BinaryIO) -> bool:
    try:
        first, second = os.fstat(a.fileno()), os.fstat(b.fileno())
    except (OSError, ValueError, AttributeError):
        return True  # not real files: the safe reader
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def serve_stdio(server, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """Run ``server`` (a pygls ``JsonRPCServer``) over stdio until the input ends or the
    client says ``exit``; what pygls's ``start_io`` does, with the reader above."""
    stdin, stdout = stdin or sys.stdin.buffer, stdout or sys.stdout.buffer
    server._stop_event = stop = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout))

    async def run() -> None:
        reader = MessageReader(
            server.protocol, stop, server.report_server_error,
            getattr(server.protocol, "BURST_METHODS", frozenset()),
        )
        transport = await start_reading(reader, stdin, stdout)
        try:
            await reader.done
        finally:
            if transport is not None:
                transport.close()

    try:
        asyncio.run(run())
    except BrokenPipeError:
        log.error("the connection to the client is lost; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
