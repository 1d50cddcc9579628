"""Notebook documents (LSP 3.17 notebookDocument/* sync) end to end, in UTF-16 (VS Code's
profile) and UTF-8 (Neovim's): every cell is tokenized on its own, gets inlay hints like a
text document, and the notebook's total stays the sum of fresh encodes of its cells — and
what ``tokenprism count nb.ipynb`` says — through edits, added, removed and moved cells,
a change of ``notebook.cells``, and close."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from lsp_helpers import (
    configured,
    make_client_fixture,
    plain,
    reference_position,
    request,
    until,
    wait_stats,
)
from lsprotocol import types

from tokenprism.tokenization import load_tokenizer

NOTEBOOK_STATS = "tokenprism/notebookStats"
pytestmark = pytest.mark.asyncio(loop_scope="module")
client = make_client_fixture()
MARKUP, CODE = types.NotebookCellKind.Markup, types.NotebookCellKind.Code

CELLS = [
    (MARKUP, "markdown", "# Counting tokens\n\nEach cell is its own text, not the JSON around it.\n"),
    (CODE, "python", 'def hello(name: str) -> str:\n    return f"Hello, {name}!"\n\n'
     'print(hello("😀 TokenPrism"))'),
    (MARKUP, "markdown", "## 한국어\n\n토큰은 모델이 텍스트를 읽는 단위입니다. "
     "한국어는 토큰이 더 많이 필요합니다."),
]


def watched(client):
    """The client, listening for notebookStats (once per server)."""
    if not hasattr(client, "notebook_stats"):
        client.notebook_stats = []

        @client.feature(NOTEBOOK_STATS)
        def on_notebook_stats(params):
            client.notebook_stats.append(plain(params))
            client.arrived.set()

    return client


def fresh_count(text: str) -> int:
    return len(load_tokenizer("o200k_base").encode(text))


class Model:
    """The notebook as the test knows it: cells (uri, kind, language, text, version) in order."""

    def __init__(self, uri: str, cells):
        self.uri, self.version, self.serial = uri, 1, 0
        self.cells = [self.new_cell(kind, language, text) for kind, language, text in cells]

    def new_cell(self, kind, language, text) -> dict:
        self.serial += 1
        uri = f"vscode-notebook-cell:{self.uri.removeprefix('file://')}#W{self.serial}"
        return {"uri": uri, "kind": kind, "language": language, "text": text, "version": 1}

    def expected(self, which: str = "all") -> int:
        keep = {"all": (MARKUP, CODE), "code": (CODE,), "markdown": (MARKUP,)}[which]
        return sum(fresh_count(c["text"]) for c in self.cells if c["kind"] in keep)

    def ipynb(self, path) -> None:
        """The same notebook as a .ipynb file, for ``tokenprism count``."""
        cells = [
            {
                "cell_type": "markdown" if c["kind"] == MARKUP else "code",
                "metadata": {},
                "source": c["text"].splitlines(keepends=True),
                **({"outputs": [], "execution_count": None} if c["kind"] == CODE else {}),
            }
            for c in self.cells
        ]
        path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def lsp_cell(cell: dict) -> types.NotebookCell:
    return types.NotebookCell(kind=cell["kind"], document=cell["uri"])


def text_item(cell: dict) -> types.TextDocumentItem:
    return types.TextDocumentItem(
        uri=cell["uri"], language_id=cell["language"], version=cell["version"], text=cell["text"]
    )


def open_notebook(client, nb: Model) -> None:
    client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=nb.uri, notebook_type="jupyter-notebook", version=nb.version,
                cells=[lsp_cell(c) for c in nb.cells],
            ),
            cell_text_documents=[text_item(c) for c in nb.cells],
        )
    )


def send_change(client, nb: Model, cells: types.NotebookDocumentCellChanges) -> None:
    nb.version += 1
    client.notebook_document_did_change(
        types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(uri=nb.uri, version=nb.version),
            change=types.NotebookDocumentChangeEvent(cells=cells),
        )
    )


def structure(start, delete_count, cells=(), did_open=(), did_close=()) -> types.NotebookDocumentCellChanges:
    return types.NotebookDocumentCellChanges(
        structure=types.NotebookDocumentCellChangeStructure(
            array=types.NotebookCellArrayChange(
                start=start, delete_count=delete_count, cells=[lsp_cell(c) for c in cells] or None
            ),
            did_open=[text_item(c) for c in did_open] or None,
            did_close=[types.TextDocumentIdentifier(uri=c["uri"]) for c in did_close] or None,
        )
    )


def edit_cell(client, nb: Model, index: int, a: int, b: int, new: str) -> None:
    """Replace characters [a, b) of a cell, the range in the client's position encoding."""
    cell = nb.cells[index]
    text, enc = cell["text"], client.position_encoding
    rng = types.Range(
        start=types.Position(**reference_position(text, a, enc)),
        end=types.Position(**reference_position(text, b, enc)),
    )
    cell["text"] = text[:a] + new + text[b:]
    cell["version"] += 1
    send_change(
        client,
        nb,
        types.NotebookDocumentCellChanges(
            text_content=[
                types.NotebookDocumentCellContentChanges(
                    document=types.VersionedTextDocumentIdentifier(uri=cell["uri"], version=cell["version"]),
                    changes=[types.TextDocumentContentChangePartial(range=rng, text=new)],
                )
            ]
        ),
    )


async def settled_total(client, nb: Model, which: str = "all") -> dict:
    """The newest notebookStats of ``nb`` once it is at its version, complete, for ``which``."""

    def found():
        mine = [s for s in client.notebook_stats if s["uri"] == nb.uri]
        last = mine[-1] if mine else None
        ok = last and last["version"] == nb.version and last["pending"] == 0 and last["cells"] == which
        return last if ok else None

    stats = await until(found, client)
    assert stats, f"no settled notebookStats for {nb.uri} v{nb.version}: {client.notebook_stats[-2:]}"
    return stats


def cli_count(path, *options) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "tokenprism", "count", str(path), "--json", *options],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return json.loads(result.stdout)["files"][0]


async def test_open_counts_each_cell_and_the_notebook(client, tmp_path):
    client = watched(client)
    nb = Model(f"file:///open-{client.profile}.ipynb", CELLS)
    open_notebook(client, nb)
    stats = await settled_total(client, nb)
    assert stats["tokens"] == nb.expected() and stats["cellCount"] == 3
    assert stats["code"] == {"cells": 1, "tokens": fresh_count(CELLS[1][2])}
    assert stats["characters"] == sum(len(c["text"]) for c in nb.cells)
    nb.ipynb(tmp_path / "nb.ipynb")
    counted = cli_count(tmp_path / "nb.ipynb")
    assert counted["tokens"] == stats["tokens"]
    assert [c["tokens"] for c in counted["cells"]] == [fresh_count(c["text"]) for c in nb.cells]
    for cell in nb.cells:  # every cell is a document of its own, with its own stats
        cell_stats = await wait_stats(client, cell["uri"], 1)
        assert cell_stats["tokens"] == fresh_count(cell["text"])


async def test_a_cell_gets_inlay_hints_and_hovers_like_a_document(client):
    client = watched(client)
    nb = Model(f"file:///hints-{client.profile}.ipynb", CELLS)
    open_notebook(client, nb)
    await settled_total(client, nb)
    cell = nb.cells[2]  # Korean: UTF-8 and UTF-16 columns differ
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=cell["uri"]),
            range=types.Range(
                start=types.Position(line=0, character=0), end=types.Position(line=9, character=0)
            ),
        )
    )
    text, enc = cell["text"], client.position_encoding
    lines = text.split("\n")
    starts = [sum(len(x) + 1 for x in lines[:i]) for i in range(len(lines))]
    expected = [reference_position(text, starts[i] + len(line), enc) for i, line in enumerate(lines) if line]
    got = [
        ({"line": h.position.line, "character": h.position.character}, int(h.label.split()[0])) for h in hints
    ]
    # a hint at the end of each non-empty line (columns in the negotiated encoding), and the
    # lines' counts add up to the cell's fresh encode
    assert [p for p, _ in got] == expected
    assert sum(n for _, n in got) == fresh_count(text)

    # hovering a Korean character names the token that a fresh encode of the cell puts there
    offset = text.index("단위")
    tokenizer = load_tokenizer("o200k_base")
    encoding = tokenizer.encode(text)
    token = next(i for i in range(len(encoding)) if encoding.ends[i] > offset)
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=cell["uri"]),
            position=types.Position(**reference_position(text, offset, enc)),
        )
    )
    assert f"id `{int(encoding.ids[token])}`" in hover.contents.value


async def test_edits_and_structure_changes_keep_the_total_exact(client, tmp_path):
    client = watched(client)
    nb = Model(f"file:///edit-{client.profile}.ipynb", CELLS)
    open_notebook(client, nb)
    await settled_total(client, nb)

    # edit cells' texts: after the emoji (UTF-16 and UTF-8 columns differ), then in Korean
    code = nb.cells[1]["text"]
    at = code.index("TokenPrism")
    edit_cell(client, nb, 1, at, at + len("TokenPrism"), "노트북 world")
    korean = nb.cells[2]["text"]
    at = korean.index("단위")
    edit_cell(client, nb, 2, at, at + 2, "가장 작은 단위")
    assert (await settled_total(client, nb))["tokens"] == nb.expected()

    # add a cell after the first
    added = nb.new_cell(CODE, "python", "import numpy as np\nprint(np.arange(10).sum())\n")
    nb.cells.insert(1, added)
    send_change(client, nb, structure(1, 0, [added], did_open=[added]))
    assert (await settled_total(client, nb))["tokens"] == nb.expected()

    # move the last cell to the front: removed and inserted again, no open/close
    moved = nb.cells.pop()
    send_change(client, nb, structure(len(nb.cells), 1))
    nb.cells.insert(0, moved)
    send_change(client, nb, structure(0, 0, [moved]))
    stats = await settled_total(client, nb)
    assert stats["tokens"] == nb.expected() and stats["cellCount"] == 4

    # remove a cell: its document closes
    removed = nb.cells.pop(2)
    send_change(client, nb, structure(2, 1, did_close=[removed]))
    stats = await settled_total(client, nb)
    assert stats["tokens"] == nb.expected() and stats["cellCount"] == 3
    with pytest.raises(Exception, match="not open"):
        await request(client, "tokenprism/count", {"textDocument": {"uri": removed["uri"]}, "ranges": []})

    # the edited, grown, reordered notebook saved as .ipynb: the CLI agrees, cell by cell
    nb.ipynb(tmp_path / "nb.ipynb")
    counted = cli_count(tmp_path / "nb.ipynb")
    assert counted["tokens"] == stats["tokens"]
    assert [c["tokens"] for c in counted["cells"]] == [fresh_count(c["text"]) for c in nb.cells]


async def test_the_cells_setting_chooses_what_the_total_counts(client, tmp_path):
    client = watched(client)
    nb = Model(f"file:///setting-{client.profile}.ipynb", CELLS)
    open_notebook(client, nb)
    everything = await settled_total(client, nb)
    nb.ipynb(tmp_path / "nb.ipynb")
    for which in ("code", "markdown"):
        async with configured(client, **{"notebook": {"cells": which}}):
            stats = await settled_total(client, nb, which)
            cli = cli_count(tmp_path / "nb.ipynb", "--cells", which)
            assert stats["tokens"] == nb.expected(which) == cli["tokens"]
            assert stats["tokens"] == stats[which]["tokens"] < everything["tokens"]
    assert (await settled_total(client, nb))["tokens"] == everything["tokens"]


async def test_close_closes_every_cell(client):
    client = watched(client)
    nb = Model(f"file:///close-{client.profile}.ipynb", CELLS)
    open_notebook(client, nb)
    await settled_total(client, nb)
    client.notebook_document_did_close(
        types.DidCloseNotebookDocumentParams(
            notebook_document=types.NotebookDocumentIdentifier(uri=nb.uri),
            cell_text_documents=[types.TextDocumentIdentifier(uri=c["uri"]) for c in nb.cells],
        )
    )
    for cell in nb.cells:
        with pytest.raises(Exception, match="not open"):
            await request(client, "tokenprism/count", {"textDocument": {"uri": cell["uri"]}, "ranges": []})


async def test_a_budget_in_tokens_judges_the_notebooks_total(client):
    """The verdict on the notebook's total comes from the server: the client has no rule of its own."""
    client = watched(client)
    nb = Model(f"file:///budget-{client.profile}.ipynb", CELLS)
    open_notebook(client, nb)
    total = nb.expected()
    assert (await settled_total(client, nb))["budget"] is None  # no budget set
    # the largest cell alone is under the limit: only the sum of the cells is over it
    limit = max(fresh_count(c["text"]) for c in nb.cells) + 1
    assert limit < total
    async with configured(client, budget=limit):
        verdict = await until(lambda: (settled_total_now(client, nb) or {}).get("budget"), client)
        assert verdict == {"limit": limit, "spec": str(limit), "over": True, "overBy": total - limit}
    async with configured(client, budget=total):
        verdict = await until(lambda: (settled_total_now(client, nb) or {}).get("budget"), client)
        assert verdict == {"limit": total, "spec": str(total), "over": False, "overBy": 0}
    async with configured(client, budget="80%"):  # a share of a window belongs to each cell's model
        await until(lambda: (settled_total_now(client, nb) or {"budget": 1}).get("budget") is None, client)
        assert settled_total_now(client, nb)["budget"] is None


def settled_total_now(client, nb: Model) -> dict | None:
    mine = [s for s in client.notebook_stats if s["uri"] == nb.uri]
    return mine[-1] if mine and mine[-1]["pending"] == 0 else None
