"""Opening tokenizer files: regular files only (``regular_files.py``), never unbounded, and
the GGUF magic.

A model spec, or a ``*.gguf`` name in a search folder, can name a FIFO or a device: such a
path is refused before a byte is read, in the words of a tokenizer load error.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import Reason, TokenizerLoadError
from .regular_files import NotRegularFile, file_kind, open_regular

GGUF_MAGIC = b"GGUF"
# Size caps for the files a tokenizer is read from (the largest real tokenizer.json files are ~35 MB,
# chat templates are under 100 KB).
MAX_TOKENIZER_JSON = 256 << 20
MAX_CONFIG_JSON = 16 << 20
MAX_TEMPLATE = 4 << 20


class FileTooLargeError(OSError):
    def __init__(self, path: Path, limit: int):
        super().__init__(f"{path} is larger than {limit >> 20} MiB, more than any tokenizer file needs")


def not_a_tokenizer_file(path: Path, kind: str) -> str:
    return f"{path} is {kind}, not a tokenizer file"


def special_file_problem(path: Path) -> str | None:
    """Why ``path`` cannot hold a tokenizer when it exists but is neither a file nor a
    directory (``stat`` only: nothing is opened); None otherwise, or when it does not exist."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return not_a_tokenizer_file(path, file_kind(mode))


def read_bytes(path: Path, limit: int) -> bytes:
    """The whole regular file at ``path``; :class:`FileTooLargeError` beyond ``limit`` bytes."""
    with open_regular(path) as file:
        data = file.read(limit + 1) if limit >= 0 else b""
    if len(data) > limit:
        raise FileTooLargeError(Path(path), limit)
    return data


def has_gguf_magic(head: bytes) -> bool:
    """Whether a file's first bytes are the GGUF magic (the one place this is checked)."""
    return head[: len(GGUF_MAGIC)] == GGUF_MAGIC


def is_gguf(path: Path) -> bool:
    """Whether ``path`` is a regular file that starts with the GGUF magic."""
    try:
        with open_regular(path) as file:
            return has_gguf_magic(file.read(len(GGUF_MAGIC)))
    except (OSError, ValueError):
        return False


def load_error(spec: str, path: Path, exc: OSError) -> TokenizerLoadError:
    """The one-line load error for a file that could not be read."""
    if isinstance(exc, FileNotFoundError):
        return TokenizerLoadError(spec, Reason.NOT_FOUND, f"no such file: {path}")
    if isinstance(exc, NotRegularFile):
        return TokenizerLoadError(spec, Reason.INVALID, not_a_tokenizer_file(path, exc.kind))
    if isinstance(exc, IsADirectoryError):
        return TokenizerLoadError(spec, Reason.INVALID, f"{path} is a directory, not a tokenizer file")
    if isinstance(exc, FileTooLargeError):
        return TokenizerLoadError(spec, Reason.UNSUPPORTED, str(exc))
    return TokenizerLoadError(spec, Reason.NOT_FOUND, f"{path}: {exc.strerror or exc}")
