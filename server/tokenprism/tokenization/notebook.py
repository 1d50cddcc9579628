"""Jupyter notebooks (``.ipynb``): the text of each cell, which is what a model is shown and
what TokenPrism counts — not the JSON around it.

A cell's source is the ``source`` field joined (a list of lines or one string), exactly as
Jupyter and VS Code show it. Kinds are ``code``, ``markdown`` and ``raw``; VS Code opens a
raw cell as a code cell, so choosing code cells takes raw cells too. Outputs are counted only
when asked: stream text, error tracebacks and the ``text/plain`` form of results (images and
HTML are not text a prompt would hold).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import Enum

from .textfile import NotText, read_text_file

SUFFIX = ".ipynb"
MAX_NOTEBOOK_BYTES = 64 << 20
NOT_A_NOTEBOOK = "not a Jupyter notebook"  # the short reason, which groups skipped files


class CellSelection(str, Enum):
    """Which cells a notebook's total counts (``tokenprism.notebook.cells``, ``--cells``)."""

    ALL = "all"
    CODE = "code"
    MARKDOWN = "markdown"

    def takes(self, kind: str) -> bool:
        if self is CellSelection.ALL:
            return True
        return (kind == "markdown") == (self is CellSelection.MARKDOWN)


@dataclass(frozen=True)
class NotebookCell:
    index: int  # 0-based, in the notebook's order
    kind: str  # "code", "markdown" or "raw"
    source: str
    outputs: str  # the outputs' text, joined; "" when the cell has none


@dataclass(frozen=True)
class NotebookPart:
    """One text of a notebook that is encoded on its own: a cell's source or its outputs."""

    cell: NotebookCell
    outputs: bool  # False: the cell's source
    text: str


def select_parts(
    cells: list[NotebookCell], selection: CellSelection = CellSelection.ALL, outputs: bool = False
) -> list[NotebookPart]:
    """The parts that count: the chosen cells' sources, and their outputs when asked."""
    parts = []
    for cell in cells:
        if selection.takes(cell.kind):
            parts.append(NotebookPart(cell, False, cell.source))
            if outputs and cell.outputs:
                parts.append(NotebookPart(cell, True, cell.outputs))
    return parts


def texts_of(text: str | list[NotebookPart]) -> list[str]:
    """The texts to encode of a file's text, or of a notebook's parts (each on its own)."""
    return [text] if isinstance(text, str) else [part.text for part in text]


def is_notebook_path(path: str | os.PathLike) -> bool:
    return os.fspath(path).lower().endswith(SUFFIX)


def parse_notebook(text: str) -> list[NotebookCell]:
    """The cells of a notebook's JSON text; NotText (one line) if it is not a notebook."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotText(NOT_A_NOTEBOOK, f"invalid JSON at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise NotText(NOT_A_NOTEBOOK, "JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise NotText(NOT_A_NOTEBOOK, "the JSON is not an object")
    raw_cells = data.get("cells")
    if raw_cells is None and isinstance(data.get("worksheets"), list):  # nbformat 3
        sheets = [sheet for sheet in data["worksheets"] if isinstance(sheet, dict)]
        raw_cells = [cell for sheet in sheets for cell in sheet.get("cells") or []]
    if not isinstance(raw_cells, list):
        raise NotText(NOT_A_NOTEBOOK, 'no "cells" list')
    cells = []
    for index, raw in enumerate(raw_cells):
        if not isinstance(raw, dict):
            raise NotText(NOT_A_NOTEBOOK, f"cell {index} is not an object")
        kind = raw.get("cell_type")
        if kind not in ("code", "markdown", "raw"):
            kind = "markdown" if kind == "heading" else "code"  # nbformat 3 headings; unknown kinds
        source = raw.get("source", raw.get("input", ""))  # nbformat 3 code cells: "input"
        cells.append(NotebookCell(index, kind, _joined(source, f"cell {index} source"), _outputs_text(raw)))
    return cells


def read_notebook(path: str | os.PathLike, limit: int = MAX_NOTEBOOK_BYTES) -> tuple[list[NotebookCell], int]:
    """A notebook file's cells and its size in bytes. Raises OSError, or NotText (too large,
    binary, not a notebook), each in one line."""
    text, size = read_text_file(path, limit)
    return parse_notebook(text), size


def _joined(value, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)
    raise NotText(NOT_A_NOTEBOOK, f"{what} is not text")


def _outputs_text(cell: dict) -> str:
    """The text of a cell's outputs that a prompt could hold, one output after another."""
    outputs = cell.get("outputs")
    if not isinstance(outputs, list):
        return ""
    parts = []
    for output in outputs:
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream":
            parts.append(_lenient(output.get("text")))
        elif kind == "error":
            parts.append(_lenient(output.get("traceback"), separator="\n"))
        else:  # execute_result, display_data (nbformat 3: pyout, display_data with "text")
            data = output.get("data") if isinstance(output.get("data"), dict) else output
            parts.append(_lenient(data.get("text/plain", data.get("text"))))
    return "".join(p for p in parts if p)


def _lenient(value, separator: str = "") -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return separator.join(v for v in value if isinstance(v, str))
    return ""
