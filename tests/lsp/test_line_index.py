"""The block line index against independent references: after every edit, each query
answers like a plain regex split of the new text and like a fresh ``LineIndex.of`` of it,
with blocks small enough here that edits split, merge and cross them all the time."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenprism.lsp.line_index as line_index
from tokenprism.lsp.line_index import LineIndex
from tokenprism.tokenization.rope import Rope

PIECES = ["a", "bc", " ", "\n", "\r", "\r\n", "\n\n", "é", "😀"]


def regex_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]


def assert_like_fresh(index: LineIndex, text: str, rng: random.Random) -> None:
    """Every query of ``index`` equals a regex split of ``text`` and a fresh index of it."""
    expected = regex_starts(text)
    fresh = LineIndex.of(text)
    n = len(expected)
    assert len(index) == len(fresh) == n
    assert index.starts_between(0, n).tolist() == fresh.starts_between(0, n).tolist() == expected
    assert [index.start(line) for line in range(n)] == expected
    for _ in range(5):
        first, last = sorted(rng.randint(-2, n + 2) for _ in range(2))
        assert index.starts_between(first, last).tolist() == expected[max(first, 0) : max(min(last, n), 0)]
    lines = np.array([rng.randrange(n) for _ in range(rng.randint(0, 3 * n))], np.int64)
    assert index.starts_at(lines).tolist() == [expected[line] for line in lines.tolist()]
    offsets = list(range(len(text) + 1))
    reference = [int(np.searchsorted(expected, o, "right")) - 1 for o in offsets]
    assert [index.line_of(o) for o in offsets] == reference
    rng.shuffle(offsets)  # any order
    got_lines, got_starts = index.locate(np.array(offsets, np.int64))
    want = [reference[o] for o in offsets]
    assert got_lines.tolist() == want == index.lines_of(np.array(offsets, np.int64)).tolist()
    assert got_starts.tolist() == [expected[line] for line in want]
    assert fresh.locate(np.array(offsets, np.int64))[0].tolist() == want
    for _ in range(20):  # runs in order, as a viewport asks: often across a block's edge
        at, width = rng.randint(0, len(text)), rng.randint(1, 12)
        run = np.arange(at, min(at + width, len(text) + 1))
        assert index.locate(run)[0].tolist() == [reference[o] for o in run.tolist()]
        line = rng.randrange(n)
        run = np.arange(line, min(line + width, n))
        assert index.starts_at(run).tolist() == expected[line : line + width]


def random_edit(rng: random.Random, text: str) -> tuple[int, int, str]:
    """An edit anywhere (between "\\r" and "\\n" too), often at the very start or end."""
    where = rng.random()
    a = 0 if where < 0.1 else len(text) if where < 0.2 else rng.randint(0, len(text))
    b = min(len(text), a + rng.choice([0, 0, 1, 2, 5, rng.randint(0, 60)]))
    new = "".join(rng.choice(PIECES) for _ in range(rng.choice([0, 1, 1, 2, 6, rng.randint(0, 80)])))
    return a, b, new


@pytest.mark.parametrize("block_lines", [8, 16, 1024])
@pytest.mark.parametrize("seed", range(12))
def test_random_edits_answer_like_a_fresh_index(monkeypatch, block_lines, seed):
    monkeypatch.setattr(line_index, "BLOCK_LINES", block_lines)
    rng = random.Random(seed)
    text = "".join(rng.choice(PIECES) for _ in range(rng.choice([0, 5, 200])))
    index = LineIndex.of(text)
    kept = [(index, text)]
    for step in range(60):
        a, b, new = random_edit(rng, text)
        text = text[:a] + new + text[b:]
        content = text if rng.random() < 0.5 else Rope(text)  # the server hands it a rope
        index = index.edited(content, a, b, len(new))
        assert_like_fresh(index, text, rng)
        kept.append((index, text))
    for old, old_text in kept:  # edits never reach an index they were made from
        assert old.starts_between(0, len(old)).tolist() == regex_starts(old_text)


@pytest.mark.parametrize("block_lines", [8, 64])
def test_blocks_stay_between_a_quarter_and_twice_their_size(monkeypatch, block_lines):
    """What keeps lookups O(log lines): no block degenerates to a line, none grows unbounded."""
    monkeypatch.setattr(line_index, "BLOCK_LINES", block_lines)
    rng = random.Random(5)
    text = "line\n" * (block_lines * 20)
    index = LineIndex.of(text)
    for _ in range(400):
        if rng.random() < 0.5:  # Enter at one place, over and over: one block grows
            a, b, new = 7, 7, "\n" * rng.randint(1, 3)
        else:  # lines deleted here and there: blocks shrink
            a = rng.randint(0, len(text))
            a, b, new = a, min(len(text), a + rng.randint(0, 40)), ""
        text = text[:a] + new + text[b:]
        index = index.edited(text, a, b, len(new))
        lines = len(index)
        assert lines // (2 * block_lines) <= index.block_count <= max(1, lines // (block_lines // 4))
    assert_like_fresh(index, text, rng)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="a\r\n", max_size=30),
    edits=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 4), st.text(alphabet="a\r\n", max_size=5)),
                   max_size=12),
)
def test_edits_splitting_and_joining_crlf(text, edits):
    """Line breaks made and unmade by edits: "\\r" then "\\n" typed apart, a "\\r\\n" cut in two."""
    rng = random.Random(0)
    index = LineIndex.of(text)
    for at, removed, new in edits:
        a = min(at, len(text))
        b = min(a + removed, len(text))
        text = text[:a] + new + text[b:]
        index = index.edited(text, a, b, len(new))
        assert index.starts_between(0, len(index)).tolist() == regex_starts(text)
    assert_like_fresh(index, text, rng)


def test_empty_text_and_a_lone_cr():
    rng = random.Random(1)
    for text in ["", "\r", "\n", "\r\n", "a\r\nb\rc\n", "\r\r\n\n"]:
        assert_like_fresh(LineIndex.of(text), text, rng)


@pytest.mark.parametrize("seed", range(5))
def test_the_fast_line_scan_of_long_texts_matches_the_regex(seed):
    rng = random.Random(seed)
    text = "".join(rng.choice(PIECES) for _ in range(6000)) + "\r"  # the vectorized scan; a lone CR
    assert line_index.line_starts_of(text).tolist() == regex_starts(text)[1:]
    index = LineIndex.of(text)
    assert index.starts_between(0, len(index)).tolist() == regex_starts(text)
    pasted = index.edited(text + text, 0, 0, len(text))  # a paste as long as the text
    assert pasted.starts_between(0, len(pasted)).tolist() == regex_starts(text + text)


def test_the_line_scan_is_right_across_its_chunks(monkeypatch):
    monkeypatch.setattr(line_index, "_SCAN_CHUNK", 997)  # "\r\n" pairs straddle chunk ends
    rng = random.Random(11)
    for _ in range(10):
        text = "".join(rng.choice(["a", "\r", "\n", "\r\n", "😀"]) for _ in range(rng.randint(4096, 9000)))
        assert line_index.line_starts_of(text).tolist() == regex_starts(text)[1:]


def test_what_a_reader_gets_never_writes_into_the_index():
    """Indexes share blocks: an answer is a copy, and the blocks themselves are read-only."""
    text = "a\n" * 5000
    index = LineIndex.of(text)
    edited = index.edited(text + "b", len(text), len(text), 1)
    for answer in (edited.starts_between(0, 3000), edited.starts_at(np.arange(10)),
                   edited.locate(np.arange(9))[1]):
        answer[:] = -1
    assert edited.starts_between(0, len(edited)).tolist() == regex_starts(text + "b")
    assert index.starts_between(0, len(index)).tolist() == regex_starts(text)
    assert all(not block.flags.writeable for block in index._blocks + edited._blocks)
