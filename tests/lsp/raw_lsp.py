"""A server over pipes driven with raw bytes: for what no LSP client library would send
(bad framing, bad params, a client that vanishes). Every wait has a deadline, and the
process's peak RSS comes from the kernel when it is reaped (``wait4``)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

SERVE = [sys.executable, "-m", "tokenprism", "serve", "--stdio"]
HERE = Path(__file__).parent


def frame(message, header: bytes | None = None) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return (header if header is not None else b"Content-Length: %d\r\n\r\n" % len(body)) + body


def request(msg_id, method: str, params=None, **extra) -> bytes:
    message = {"jsonrpc": "2.0", "id": msg_id, "method": method, **extra}
    if params is not None:
        message["params"] = params
    return frame(message)


def notification(method: str, params=None) -> bytes:
    message = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return frame(message)


def did_open(uri: str, text: str, version: int = 1) -> bytes:
    return notification("textDocument/didOpen", {
        "textDocument": {"uri": uri, "languageId": "plaintext", "version": version, "text": text}})


class RawServer:
    """``tokenprism serve`` (or ``command``) with its stdin, stdout and stderr as pipes."""

    def __init__(self, command: list[str] | None = None, env: dict | None = None):
        self.proc = subprocess.Popen(
            command or SERVE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.messages: queue.Queue = queue.Queue()
        self.received: list[dict] = []
        self.stderr = bytearray()
        self.peak_rss_kb: int | None = None
        self.exited_at: float | None = None
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        out = self.proc.stdout
        while True:
            header = b""
            while not header.endswith(b"\r\n\r\n"):
                byte = out.read(1)
                if not byte:
                    return
                header += byte
            length = int(header.split(b":")[1].split(b"\r\n")[0])
            self.messages.put(json.loads(out.read(length)))

    def _read_stderr(self) -> None:
        while data := self.proc.stderr.read1(65536):
            self.stderr += data

    def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def next_message(self, predicate, timeout: float = 30.0) -> dict | None:
        """The first message (already received or arriving within ``timeout``) that
        ``predicate`` accepts; None when none does in time."""
        for message in self.received:
            if predicate(message):
                return message
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                message = self.messages.get(timeout=remaining)
            except queue.Empty:
                break
            self.received.append(message)
            if predicate(message):
                return message
        return None

    def answer(self, msg_id, timeout: float = 30.0) -> dict | None:
        return self.next_message(lambda m: m.get("id") == msg_id and "method" not in m, timeout)

    def initialize(self, options: dict | None = None, timeout: float = 60.0) -> dict:
        self.send(request("init", "initialize", {
            "processId": None, "capabilities": {}, "rootUri": None,
            "initializationOptions": {"tokenprism": {"model": "o200k_base", **(options or {})}},
        }))
        reply = self.answer("init", timeout)
        assert reply is not None and "result" in reply, (reply, self.stderr.decode(errors="replace"))
        self.send(notification("initialized", {}))
        return reply

    def close_stdin(self) -> None:
        self.proc.stdin.close()

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code once the process ends within ``timeout`` (else None); the peak RSS
        is then known."""
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.exited_at = time.monotonic()
                self.peak_rss_kb = usage.ru_maxrss
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                return self.proc.returncode
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            self.wait_exit(10)

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc) -> None:
        self.kill()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except (OSError, ValueError):
                pass
