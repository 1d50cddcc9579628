"""Token counts of a directory tree: files encoded in batches, folder subtotals, and a cache
by path + size + mtime so counting a tree again re-reads only what changed. Shared by
``tokenprism count`` (``--tree``) and the server's workspace totals; no LSP types here.

Counting runs on the caller's thread (the server's is a worker): it checks ``cancel``
between files and reports each batch as it is done, so a big tree fills in as it goes."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .base import SpecialTokens, Tokenizer
from .notebook import CellSelection, NotebookPart, is_notebook_path, read_notebook, select_parts, texts_of
from .textfile import NotText, read_text_file
from .walker import walk

# Files are encoded in batches of about this many bytes, so encode_batch can use both
# cores and memory stays bounded however big the tree is.
BATCH_BYTES = 4 << 20
BATCH_FILES = 256
DEFAULT_MAX_FILE_SIZE = 64 << 20


@dataclass
class FileCount:
    path: str
    tokens: int
    characters: int
    bytes: int
    cells: list[dict] | None = None  # a notebook's counted cells (the CLI's --json lists them)


@dataclass
class Skipped:
    path: str
    reason: str


def read_found_file(
    path: Path, max_file_size: int, cells: CellSelection = CellSelection.ALL, outputs: bool = False
) -> tuple[str | list[NotebookPart], int] | str:
    """A file found by walking: ``(text, size)``, or why it is not counted (one short reason
    that groups skipped files: binary file, larger than…, cannot read (…)). A notebook's text
    is the list of its parts that count (``cells``, ``outputs``), each encoded on its own."""
    try:
        if path.stat().st_size > max_file_size:
            return f"larger than {max_file_size:,} bytes"
        if is_notebook_path(path):
            notebook, size = read_notebook(path, max_file_size)
            return select_parts(notebook, cells, outputs), size
        return read_text_file(path, max_file_size)
    except NotText as exc:
        return exc.kind
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"


def encode_in_batches(
    tokenizer: Tokenizer,
    special: SpecialTokens,
    items: Iterable[tuple],
    cancel: threading.Event | None = None,
) -> Iterator[list[tuple[tuple, int]]]:
    """``(key, text, size)`` items encoded with ``encode_batch`` a few MB at a time; yields
    each batch as ``[(item, tokens)]``. A notebook's text is its list of parts: its ``tokens``
    is the list of their counts. Stops early once ``cancel`` is set."""
    batch: list[tuple] = []
    batch_bytes = 0
    for item in items:
        if cancel is not None and cancel.is_set():
            return
        batch.append(item)
        batch_bytes += item[2]
        if batch_bytes >= BATCH_BYTES or len(batch) >= BATCH_FILES:
            yield _encode(tokenizer, special, batch)
            batch, batch_bytes = [], 0
    if batch and not (cancel is not None and cancel.is_set()):
        yield _encode(tokenizer, special, batch)


def _encode(tokenizer, special, batch) -> list[tuple[tuple, int | list[int]]]:
    encodings = tokenizer.encode_batch([t for _, text, _ in batch for t in texts_of(text)], special)
    counts = iter([len(encoding) for encoding in encodings])
    return [
        (item, next(counts) if isinstance(item[1], str) else [next(counts) for _ in item[1]])
        for item in batch
    ]


def total_of(text: str | list[NotebookPart], tokens: int | list[int]) -> tuple[int, int]:
    """``(tokens, characters)`` of an encoded item: a notebook's parts added up."""
    if isinstance(text, str):
        return tokens, len(text)
    return sum(tokens), sum(len(part.text) for part in text)


# -- folder subtotals ---------------------------------------------------------------------------


@dataclass(eq=False)
class Node:
    """A folder (``children`` is a dict) or a file (``children`` is None) with its totals."""

    name: str
    path: str  # posix, relative to the tree's root; "" for the root
    tokens: int = 0
    files: int = 0
    characters: int = 0
    bytes: int = 0
    children: dict[str, Node] | None = None

    @property
    def is_folder(self) -> bool:
        return self.children is not None

    def sorted_children(self, by: str = "tokens") -> list[Node]:
        """Largest first (ties by name), or by name with folders first as in a file explorer."""
        children = list((self.children or {}).values())
        if by == "name":
            return sorted(children, key=lambda n: (not n.is_folder, n.name.lower(), n.name))
        return sorted(children, key=lambda n: (-n.tokens, n.name))


class Tree:
    """Files added one by one under their posix paths; every folder keeps its subtotal."""

    def __init__(self) -> None:
        self.root = Node("", "", children={})

    def add(self, count: FileCount) -> list[Node]:
        """Add a file; returns the folders whose totals changed, the root first."""
        parts = PurePosixPath(count.path).parts
        folders = [self.root]
        node = self.root
        for i, part in enumerate(parts[:-1]):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = Node(
                    part, "/".join(parts[: i + 1]).replace("//", "/"), children={}
                )
            node = child
            folders.append(node)
        name = parts[-1] if parts else count.path
        node.children[name] = Node(name, count.path, count.tokens, 1, count.characters, count.bytes)
        for folder in folders:
            folder.tokens += count.tokens
            folder.files += 1
            folder.characters += count.characters
            folder.bytes += count.bytes
        return folders

    def folders(self) -> Iterator[Node]:
        stack = [self.root]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(c for c in node.children.values() if c.is_folder)


# -- a cache of counts --------------------------------------------------------------------------


class CountCache:
    """What each file counted, by path + size + mtime, per tokenizer and special-token mode:
    counting a tree again stats every file but reads and encodes only those that changed.
    Files that were skipped (binary, too large) are remembered too. Thread-safe."""

    def __init__(self, max_files: int = 1_000_000):
        self.max_files = max_files
        self._by_tokenizer: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.encoded = 0  # files read and encoded (not answered from the cache), for tests and logs

    def _table(self, tokenizer: Tokenizer, special: SpecialTokens) -> dict:
        per_mode = self._by_tokenizer.setdefault(tokenizer, {})
        table = per_mode.setdefault(special, {})
        if len(table) > self.max_files:
            table.clear()  # a runaway tree: start over rather than grow without bound
        return table

    def lookup(self, tokenizer, special, path: str, size: int, mtime_ns: int):
        """``FileCount``-like ``(tokens, characters)``, a skip reason (str), or None."""
        with self._lock:
            entry = self._table(tokenizer, special).get(path)
        if entry is not None and entry[0] == size and entry[1] == mtime_ns:
            return entry[2]
        return None

    def store(self, tokenizer, special, path: str, size: int, mtime_ns: int, value) -> None:
        with self._lock:
            self._table(tokenizer, special)[path] = (size, mtime_ns, value)

    def forget(self, paths: Iterable[str]) -> None:
        """Drop what is known about these files (changed on disk: a same-size edit within the
        file system's mtime granularity would otherwise look unchanged)."""
        paths = list(paths)
        with self._lock:
            for per_mode in list(self._by_tokenizer.values()):
                for table in per_mode.values():
                    for path in paths:
                        table.pop(path, None)


# -- counting a tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FolderTotal:
    path: str  # "" for the root
    tokens: int
    files: int


@dataclass
class Batch:
    """What one step of a tree count added: new files, new skipped files, and the new
    subtotals of the folders they changed (the root among them), with how far the count has got."""

    files: list[FileCount]
    skipped: list[Skipped]
    folders: list[FolderTotal]
    done: int
    planned: int


@dataclass
class TreeCount:
    root: Path
    tree: Tree = field(default_factory=Tree)
    skipped: list[Skipped] = field(default_factory=list)
    planned: int = 0
    complete: bool = False


def count_tree(
    root: str | os.PathLike,
    tokenizer: Tokenizer,
    special: SpecialTokens = SpecialTokens.SPECIAL,
    *,
    cache: CountCache | None = None,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    cancel: threading.Event | None = None,
    on_batch: Callable[[Batch], None] | None = None,
) -> TreeCount:
    """Count every file under ``root`` as ``tokenprism count ROOT`` does (``.gitignore``
    honoured, binary files skipped with the reason); paths are relative to ``root``.
    ``on_batch`` hears of each batch of files (from the cache or encoded); a set ``cancel``
    stops the count between files (``complete`` stays False)."""
    root = Path(root).resolve()
    result = TreeCount(root)
    pending_skips: list[Skipped] = []

    def relative(path: Path) -> str:
        return path.relative_to(root).as_posix()

    def skip(path: Path, reason: str) -> None:
        pending_skips.append(Skipped(relative(path), reason))

    files = walk(root, skip)
    result.planned = len(files)
    def cancelled() -> bool:
        return cancel is not None and cancel.is_set()

    counted: list[FileCount] = []
    done = 0

    def report() -> None:
        nonlocal counted
        touched: dict[int, Node] = {}
        for count in counted:
            for folder in result.tree.add(count):
                touched[id(folder)] = folder
        result.skipped.extend(pending_skips)
        if on_batch is not None and (counted or pending_skips):
            folders = [FolderTotal(n.path, n.tokens, n.files) for n in touched.values()]
            on_batch(Batch(counted, list(pending_skips), folders, done, result.planned))
        counted = []
        pending_skips.clear()

    def to_encode() -> Iterator[tuple]:
        """Files the cache cannot answer, read; answered ones go straight into ``counted``."""
        nonlocal done
        for path in files:
            if cancelled():
                return
            key = str(path)
            try:
                info = path.stat()
            except OSError as exc:
                skip(path, f"cannot read ({exc.strerror or exc})")
                continue
            known = cache.lookup(tokenizer, special, key, info.st_size, info.st_mtime_ns) if cache else None
            if known is None:
                read = read_found_file(path, max_file_size)
                if isinstance(read, str):
                    known = read
                    if cache and not read.startswith("cannot read"):  # a permission fixed is no mtime change
                        cache.store(tokenizer, special, key, info.st_size, info.st_mtime_ns, read)
                else:
                    text, size = read
                    yield (path, info), text, size
                    continue
            done += 1
            if isinstance(known, str):
                skip(path, known)
            else:
                counted.append(FileCount(relative(path), known[0], known[1], info.st_size))
            if len(counted) + len(pending_skips) >= BATCH_FILES:
                report()

    for batch in encode_in_batches(tokenizer, special, to_encode(), cancel):
        for ((path, info), text, size), counts in batch:
            tokens, characters = total_of(text, counts)
            counted.append(FileCount(relative(path), tokens, characters, size))
            if cache:
                cache.store(
                    tokenizer, special, str(path), info.st_size, info.st_mtime_ns, (tokens, characters)
                )
                cache.encoded += 1
        done += len(batch)
        report()
    report()
    result.complete = not cancelled()
    return result
