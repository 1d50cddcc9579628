"""Text files: what counts as binary, how a file's bytes become text, and reading a file
without ever blocking on a FIFO or a device.

One rule for the CLI and the server alike: a text that holds a NUL character is binary (the
server checks the editor's text, incrementally; the CLI checks the decoded file whole)."""

from __future__ import annotations

import codecs
import os
from typing import BinaryIO

from .regular_files import NotRegularFile, open_regular

NUL = "\x00"
BINARY = "binary file"  # the short reason, which groups skipped files
BINARY_DETAIL = "it contains NUL characters"

# A byte-order mark names the encoding; the BOM itself is kept as U+FEFF, as it is for UTF-8
# (the model sees it). UTF-32 first: its little-endian mark starts like UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_READ_CHUNK = 1 << 20


class NotText(Exception):
    """Bytes or a file that are not text: ``kind`` is short (it groups skipped files),
    ``reason`` adds the detail; either fits after the file name in one line."""

    def __init__(self, kind: str, detail: str = ""):
        self.kind = kind
        self.reason = f"{kind} ({detail})" if detail else kind
        super().__init__(self.reason)


def looks_binary(text: str) -> bool:
    """The binary rule: any NUL character, wherever it is."""
    return NUL in text


def decode_text(data: bytes) -> str:
    """The text of a file's bytes, exactly: UTF-8, or the encoding a byte-order mark names
    (UTF-16/32); CRLF and the BOM are kept."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        if b"\0" in data:  # undecodable and with NUL bytes: binary, not broken text
            raise NotText(BINARY, BINARY_DETAIL) from None
        label = "UTF-8" if encoding == "utf-8" else encoding.upper()
        raise NotText(f"not {label} text", f"invalid byte at offset {exc.start}") from None
    if looks_binary(text):
        raise NotText(BINARY, BINARY_DETAIL)
    return text


def read_text_file(path: str | os.PathLike, limit: int) -> tuple[str, int]:
    """The text of a regular file and its size in bytes. Never opens a FIFO for reading in a
    way that blocks, nor reads a device (``regular_files.open_regular``); reads at most
    ``limit`` bytes beyond the size the file reports (files in /proc report 0). Raises OSError,
    or NotText for a file that is not a regular file, too large, binary or undecodable."""
    try:
        file = open_regular(path)
    except NotRegularFile as exc:
        if exc.is_directory:
            raise NotText("is a directory (give a file)") from None
        raise NotText(f"not a regular file: {exc.kind}") from None
    with file:
        data = read_bounded(file, max(os.fstat(file.fileno()).st_size, limit))
    return decode_text(data), len(data)


def read_bounded(stream: BinaryIO, limit: int) -> bytes:
    """All of ``stream``, or NotText as soon as it holds more than ``limit`` bytes."""
    chunks, size = [], 0
    while True:
        chunk = stream.read(min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise NotText(f"larger than {limit:,} bytes")
