"""Notebook documents (LSP 3.17): which cells each open notebook holds, in order, and of which
kind. No tokens here: each cell is an ordinary open document of the session (its own text,
tokenized and edited incrementally like any document); a notebook is only the list that
says which documents add up to its total.

``notebookDocument/didChange`` arrives as JSON (like ``textDocument/didChange``, it is sent
on every keystroke in a cell): :func:`notebook_change` checks and reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pygls.exceptions import JsonRpcInvalidParams

from .convert import is_int, text_changes

MARKUP, CODE = 1, 2  # LSP NotebookCellKind
KIND_NAMES = {MARKUP: "markdown", CODE: "code"}


@dataclass
class Cell:
    uri: str  # the cell's text document
    kind: str  # "markdown" or "code" (VS Code opens a raw cell as code)


@dataclass
class Notebook:
    uri: str
    notebook_type: str
    version: int
    cells: list[Cell] = field(default_factory=list)


@dataclass(frozen=True)
class CellText:
    """A cell text document as ``didOpen`` gives it."""

    uri: str
    language_id: str
    version: int
    text: str


@dataclass(frozen=True)
class NotebookChange:
    """One ``notebookDocument/didChange``, in the order the changes apply."""

    uri: str
    version: int
    structure: tuple[int, int, list[Cell]] | None  # (start, delete count, cells inserted there)
    opened: list[CellText]
    closed: list[str]
    kinds: list[Cell]  # cells whose kind (or metadata) changed
    texts: list[tuple[str, int, list[tuple]]]  # (cell uri, version, content changes)


class Notebooks:
    """The open notebooks and which notebook each cell belongs to."""

    def __init__(self) -> None:
        self.by_uri: dict[str, Notebook] = {}
        self._owner: dict[str, str] = {}  # cell uri -> notebook uri

    def open(self, notebook: Notebook) -> list[str]:
        """Add a notebook; returns the cells of a notebook of the same uri it replaces."""
        replaced = self.close(notebook.uri)
        self.by_uri[notebook.uri] = notebook
        for cell in notebook.cells:
            self._owner[cell.uri] = notebook.uri
        return replaced

    def close(self, uri: str) -> list[str]:
        """Forget a notebook; returns its cells' uris (documents to close)."""
        notebook = self.by_uri.pop(uri, None)
        if notebook is None:
            return []
        for cell in notebook.cells:
            self._owner.pop(cell.uri, None)
        return [cell.uri for cell in notebook.cells]

    def of_cell(self, cell_uri: str) -> Notebook | None:
        owner = self._owner.get(cell_uri)
        return self.by_uri.get(owner) if owner is not None else None

    def apply(self, change: NotebookChange) -> Notebook | None:
        """Apply a change's structure and kinds to the cell list (the cells' texts are the
        session's business); None if the notebook is not open."""
        notebook = self.by_uri.get(change.uri)
        if notebook is None:
            return None
        notebook.version = change.version
        if change.structure is not None:
            start, delete_count, inserted = change.structure
            start = min(max(start, 0), len(notebook.cells))
            removed = notebook.cells[start : start + delete_count]
            notebook.cells[start : start + delete_count] = inserted
            present = {cell.uri for cell in notebook.cells}
            for cell in removed:  # moved cells are removed and inserted again: they stay
                if cell.uri not in present:
                    self._owner.pop(cell.uri, None)
            for cell in inserted:
                self._owner[cell.uri] = notebook.uri
        kinds = {cell.uri: cell.kind for cell in change.kinds}
        if kinds:
            for cell in notebook.cells:
                cell.kind = kinds.get(cell.uri, cell.kind)
        return notebook


# -- reading the client's JSON ------------------------------------------------------------------


def notebook_change(params: Any) -> NotebookChange:
    """A ``notebookDocument/didChange``'s JSON params, checked; JsonRpcInvalidParams (one
    line) if they are not shaped like DidChangeNotebookDocumentParams."""
    try:
        document = params["notebookDocument"]
        uri, version = document["uri"], document["version"]
        cells = params["change"].get("cells") or {}
        structure = opened = closed = None
        raw_structure = cells.get("structure")
        if raw_structure:
            array = raw_structure["array"]
            inserted = [cell_of(c) for c in array.get("cells") or []]
            structure = (array["start"], array["deleteCount"], inserted)
            opened = [cell_text_of(item) for item in raw_structure.get("didOpen") or []]
            closed = [item["uri"] for item in raw_structure.get("didClose") or []]
        kinds = [cell_of(c) for c in cells.get("data") or []]
        texts = [
            (item["document"]["uri"], item["document"]["version"], text_changes(item["changes"], _WHAT))
            for item in cells.get("textContent") or []
        ]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise JsonRpcInvalidParams(f"{_WHAT} params are malformed: {exc!r}") from None
    ints = [version, *(structure[:2] if structure else ()), *(v for _, v, _ in texts)]
    strings = [uri, *(closed or ()), *(u for u, _, _ in texts)]
    if not all(is_int(n) for n in ints) or not all(isinstance(s, str) for s in strings):
        raise JsonRpcInvalidParams(f"{_WHAT} params are malformed: wrong types")
    if structure is not None and structure[1] < 0:
        raise JsonRpcInvalidParams(f"{_WHAT} params are malformed: negative deleteCount")
    return NotebookChange(uri, version, structure, opened or [], closed or [], kinds, texts)


_WHAT = "notebookDocument/didChange"


def cell_of(raw: Any) -> Cell:
    """A NotebookCell's JSON (or lsprotocol object) as a :class:`Cell`."""
    if isinstance(raw, dict):
        kind, uri = raw["kind"], raw["document"]
    else:
        kind, uri = raw.kind, raw.document
    if not isinstance(uri, str) or int(kind) not in KIND_NAMES:
        raise ValueError(f"not a notebook cell: {raw!r}"[:200])
    return Cell(uri, KIND_NAMES[int(kind)])


def cell_text_of(raw: Any) -> CellText:
    """A TextDocumentItem's JSON as a :class:`CellText`."""
    item = CellText(raw["uri"], raw["languageId"], raw["version"], raw["text"])
    if not (isinstance(item.uri, str) and isinstance(item.language_id, str) and isinstance(item.text, str)):
        raise ValueError("a cell text document has fields of the wrong type")
    if not is_int(item.version):
        raise ValueError("a cell text document's version is not an integer")
    return item
