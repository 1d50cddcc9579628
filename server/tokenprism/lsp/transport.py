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

from pygls.exceptions import JsonRpcException, JsonRpcInvalidRequest, JsonRpcParseError
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
# Largest message body taken (a 1 GiB document is far past any tokenizer's use); a larger
# Content-Length is a framing error, not a wait for ever.
MESSAGE_LIMIT = 1 << 30
# the header block nearly every client sends: parsed in one match, not line by line
_USUAL_HEADER = re.compile(rb"Content-Length: (\d{1,9})\r\n\r\n")


class MessageReader(asyncio.Protocol):
    """Splits the input into framed JSON-RPC messages and hands each to the protocol.

    Like pygls's ``run_async``, but the JSON is parsed without an ``object_hook``: pygls
    calls its hook on every nested object, and only the outermost one is a message, so
    ``structure_message`` runs once, on that. After each message other tasks get a turn
    (a request's handler starts before the next message is handled), except after
    ``burst_methods``: already-buffered edits are all handled before the work they cause
    runs, so a burst is applied in one advance. Once every complete message read so far is
    handled, the protocol's ``messages_handled`` (if it has one) is called. ``done``
    resolves at the end of the input or once ``stop`` is set."""

    def __init__(
        self, protocol, stop: threading.Event, error_handler, burst_methods: frozenset = frozenset()
    ):
        self._protocol = protocol
        self._stop = stop
        self._error_handler = error_handler
        self._burst_methods = burst_methods
        self._buffer = bytearray()
        self._eof = False
        self._turn_pending = False  # other tasks' turn is scheduled; the rest waits for it
        self._skipped = 0  # bytes of garbage dropped since the last message (reported once)
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
                    self._report_skipped()
                    self.done.set_result(None)
                return
            method = self._handle(body)
            if method not in self._burst_methods and self._buffer:
                # let tasks the message started run before the next one (a sleep(0))
                self._turn_pending = True
                self._loop.call_soon(self._dispatch)
                return

    def _next_body(self) -> bytes | None:
        """The next complete message body, taken off the buffer; None until one is complete.
        Input that cannot be a header block is skipped up to the next ``Content-Length``
        header (see ``_resynchronise``): one bad message must not glue every later header
        to the body before it."""
        buffer = self._buffer
        while True:
            usual = _USUAL_HEADER.match(buffer)
            if usual is not None:
                start, length = usual.end(), int(usual[1])
            else:
                header = _header_block(buffer)
                if header is None:
                    return None  # a header block still arriving
                if header is _NOT_A_HEADER:
                    if not self._resynchronise():
                        return None
                    continue
                start, length = header
            if len(buffer) < start + length:
                return None
            if not _may_start_json(buffer, start, start + length):
                # a Content-Length too small (or a header before garbage): a body that cannot
                # be a message may hold the next header's start, so drop only the header
                self._skipped += start
                del buffer[:start]
                continue
            body = bytes(buffer[start : start + length])
            del buffer[: start + length]
            self._report_skipped()
            return body

    def _resynchronise(self) -> bool:
        """Drop the input before the next ``Content-Length`` header (True), or, when there is
        none yet, all but a tail that may be the start of one (False): the garbage held is
        bounded. JSON cannot hold a raw line break inside a string, so a body never
        contains such a header line."""
        buffer = self._buffer
        found = _CONTENT_LENGTH_LINE.search(buffer, 1)
        cut = found.start() if found is not None else max(0, len(buffer) - _TAIL_KEPT)
        self._skipped += cut
        del buffer[:cut]
        return found is not None

    def _report_skipped(self) -> None:
        if self._skipped:
            log.warning("skipped %d bytes of input that were not a framed message", self._skipped)
            skipped = f"{self._skipped} bytes without a valid header were skipped"
            self._answer_error(None, JsonRpcParseError.CODE, skipped)
            self._skipped = 0

    def _answer_error(self, msg_id, code: int, message: str) -> None:
        answer = getattr(self._protocol, "answer_error", None)
        if answer is not None:
            answer(msg_id, code, message)

    def _handle(self, body: bytes) -> str | None:
        """Parse and handle one message; returns its method. What cannot be handled is
        answered with a JSON-RPC error when it has an id (or when the id cannot be known,
        with id null, as JSON-RPC 2.0 says), and logged in one line."""
        try:
            data = wire.loads(body)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, invalid UTF-8, too deep
            problem = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
            log.warning("a message that is not JSON (%d bytes): %s", len(body), problem)
            self._answer_error(None, JsonRpcParseError.CODE, f"Parse error: {problem}")
            return None
        if not isinstance(data, dict) or data.get("jsonrpc") != "2.0":
            msg_id = data.get("id") if isinstance(data, dict) else None
            log.warning("not a JSON-RPC 2.0 message: %.80r", data)
            invalid = "Invalid Request: not a JSON-RPC 2.0 message"
            self._answer_error(_valid_id(msg_id), JsonRpcInvalidRequest.CODE, invalid)
            return None
        method = data.get("method")
        try:
            message = self._protocol.structure_message(data)
        except JsonRpcException as exc:
            if method is not None and "id" in data:
                log.info("%s answered with an error: %s", method, exc.message)
                self._answer_error(_valid_id(data["id"]), exc.code, exc.message)
            else:  # a notification: nobody to answer
                log.warning("%s ignored: %s", method, exc.message)
            return method
        try:
            self._protocol.handle_message(message)
        except Exception as exc:
            log.exception("unable to handle a message")
            self._error_handler(exc, JsonRpcException)
        return method


# A header block: header lines (token ":" value, RFC 7230), then an empty line; blank lines
# before it are tolerated. Anything else where a header should start is garbage.
_HEADER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):([^\r\n]*)\r\n")
_PARTIAL_LINE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]*(?::[^\r\n]*)?\r?")
_LENGTH_VALUE = re.compile(rb"[ \t]*(\d{1,15})[ \t]*")
_CONTENT_LENGTH_LINE = re.compile(rb"content-length[ \t]*:[ \t]*\d{1,15}[ \t]*\r\n", re.IGNORECASE)
_TAIL_KEPT = 64  # longer than any "Content-Length: N\r" a resynchronisation may find cut
_NOT_A_HEADER = object()
_JSON_SPACE = b" \t\r\n"


def _may_start_json(buffer: bytearray, start: int, end: int) -> bool:
    """Whether the body ``buffer[start:end]`` can begin a JSON-RPC message (or batch):
    its first non-blank byte is ``{`` or ``[``. Looks at the first bytes only."""
    i = start
    while i < end and buffer[i] in _JSON_SPACE:
        i += 1
    return i < end and buffer[i] in b"{["


def _header_block(buffer: bytearray):
    """``(body start, length)`` for a complete header block with a valid Content-Length at
    the start of ``buffer``; None while it may still become one; else ``_NOT_A_HEADER``."""
    at = 0
    while buffer.startswith(b"\r\n", at):
        at += 2
    first, length = at, None
    while (line := _HEADER_LINE.match(buffer, at)) is not None:
        if line[1].lower() == b"content-length":
            value = _LENGTH_VALUE.fullmatch(line[2])
            if value is None or int(value[1]) > MESSAGE_LIMIT:
                return _NOT_A_HEADER
            length = int(value[1])
        at = line.end()
        if at > HEADER_LIMIT:
            return _NOT_A_HEADER
    if at > first and buffer.startswith(b"\r\n", at):  # the empty line that ends the block
        return (at + 2, length) if length is not None else _NOT_A_HEADER
    if len(buffer) <= HEADER_LIMIT and _PARTIAL_LINE.fullmatch(buffer, at):
        return None
    return _NOT_A_HEADER


def _valid_id(value):
    """A request id as JSON-RPC allows it (a string or an integer), else null."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return None


async def start_reading(
    reader: MessageReader, stdin: BinaryIO, stdout: BinaryIO
) -> asyncio.BaseTransport | None:
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


def serve_stdio(server, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    """Run ``server`` (a pygls ``JsonRPCServer``) over stdio until the input ends or the
    client says ``exit``; what pygls's ``start_io`` does, with the reader above. Returns the
    exit code the LSP specification asks for: 0 once ``shutdown`` was received, else 1.

    The loop is not closed the way ``asyncio.run`` does it: that waits for the default
    executor's threads, and one may never end (see ``exit_process``)."""
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

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run())
    except BrokenPipeError:
        log.error("the connection to the client is lost; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        try:
            _settle(loop)
        finally:
            server.shutdown()
    return 0 if getattr(server.protocol, "_shutdown", False) else 1


# Seconds the tasks still running at the end get to finish after being cancelled.
SETTLE_SECONDS = 0.2


def _settle(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is still running, give it a short turn to finish, and close the loop
    without joining any worker thread (``close`` lets the default executor go unjoined)."""
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        try:
            loop.run_until_complete(asyncio.wait(tasks, timeout=SETTLE_SECONDS))
        except BaseException:  # the end of the session: nothing may keep the process up
            log.debug("tasks failed while stopping", exc_info=True)
    loop.close()


def exit_process(code: int) -> None:
    """End the process now, with ``code``, whatever its threads are doing.

    A worker thread can be stuck for good: a model path that is a FIFO blocks in ``open``, a
    template can loop, a Rust call cannot be interrupted, and Python cannot stop a thread.
    A normal interpreter exit joins every ``concurrent.futures`` worker first (an exit hook
    that module registers), so it would wait for ever once the client is gone. Everything
    the client must receive is written by then (the writer writes synchronously); the
    standard streams and the log are flushed, then ``os._exit`` skips the joins."""
    try:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    except BaseException:  # a closed pipe: nothing more can reach anyone
        pass
    os._exit(code)
