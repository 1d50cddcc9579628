"""The document store on its own: incremental line index and position conversions,
checked against independent references (a fresh scan, encoding prefixes)."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from tokenprism.lsp.document import UTF8, UTF16, UTF32, Document, LineIndex

ALPHABET = ["a", "b", " ", "\t", "\n", "\r", "\r\n", "é", "한", "국", "😀", "👍🏽", "\u0301"]


def reference_lines(text: str) -> list[tuple[int, int]]:
    """(start, content end) of every line, by a plain regex split."""
    out, start = [], 0
    for m in re.finditer(r"\r\n|\r|\n", text):
        out.append((start, m.start()))
        start = m.end()
    out.append((start, len(text)))
    return out


def assert_lines_of(index: LineIndex, text: str) -> None:
    """``index`` holds the line starts of ``text``: a regex split's, a fresh index's."""
    fresh = LineIndex.of(text)
    expected = [s for s, _ in reference_lines(text)]
    assert len(index) == len(fresh) == len(expected)
    assert index.starts_between(0, len(index)).tolist() == expected
    assert fresh.starts_between(0, len(fresh)).tolist() == expected


def units(text: str, encoding: str) -> int:
    if encoding == UTF16:
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text)


def random_text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(n))


@pytest.mark.parametrize("seed", range(30))
def test_incremental_line_index_matches_a_fresh_scan(seed):
    rng = random.Random(seed)
    text = random_text(rng, rng.randint(0, 40))
    doc = Document("file:///x", "plaintext", 0, text, UTF32)
    for step in range(40):
        a = rng.randint(0, len(text))
        b = rng.randint(a, min(len(text), a + 6))
        # LSP positions cannot point between "\r" and "\n": step over such places
        a -= 0 < a < len(text) and text[a - 1 : a + 1] == "\r\n"
        b += 0 < b < len(text) and text[b - 1 : b + 1] == "\r\n"
        new = random_text(rng, rng.randint(0, 5))
        start = doc.snapshot.position_at(a)
        end = doc.snapshot.position_at(b)
        doc.apply_change(start, end, new, step + 1)
        text = text[:a] + new + text[b:]
        assert doc.text == text
        assert_lines_of(doc.snapshot.lines, text)


def reference_position(text: str, offset: int) -> tuple[int, int]:
    lines = reference_lines(text)
    line = max(i for i, (s, _) in enumerate(lines) if s <= offset)
    return line, offset - lines[line][0]


@pytest.mark.parametrize("seed", range(20))
def test_typing_runs_answer_like_a_fresh_scan(seed):
    """Typing moves every later line start (one block copied, later blocks' bases moved):
    every lookup must see the move, and older snapshots must keep their own lines."""
    rng = random.Random(seed)
    text = random_text(rng, rng.randint(1, 60))
    doc = Document("file:///x", "plaintext", 0, text, UTF32)
    kept = []
    cursor = 0
    for step in range(80):
        if rng.random() < 0.3:  # jump elsewhere (never between "\r" and "\n")
            cursor = rng.randint(0, len(text))
            cursor -= 0 < cursor < len(text) and text[cursor - 1 : cursor + 1] == "\r\n"
        removed = rng.choice([0, 0, 0, 1])
        end = min(len(text), cursor + removed)
        end += 0 < end < len(text) and text[end - 1 : end + 1] == "\r\n"
        new = rng.choice(["a", "bc", "한", "😀", "", "\n"] if rng.random() < 0.2
                         else ["a", "bc", "한", "😀", ""])
        doc.apply_change(reference_position(text, cursor), reference_position(text, end), new, step + 1)
        text = text[:cursor] + new + text[end:]
        cursor += len(new)
        lines = doc.snapshot.lines
        expected = [s for s, _ in reference_lines(text)]
        assert len(lines) == len(expected)
        assert [lines.start(i) for i in range(len(expected))] == expected, (seed, step)
        for offset in range(0, len(text) + 1, 3):
            assert lines.line_of(offset) == reference_position(text, offset)[0], (seed, step, offset)
        kept.append((doc.snapshot, text))
    for snapshot, old_text in kept:  # read only now, newest first and oldest last
        assert_lines_of(snapshot.lines, old_text)


@pytest.mark.parametrize("encoding", [UTF8, UTF16, UTF32])
def test_positions_match_encoded_prefixes(encoding):
    rng = random.Random(7)
    text = random_text(rng, 400) + "x" * 10_050 + "😀한\r\n"
    doc = Document("file:///x", "plaintext", 1, text, encoding)
    snap = doc.snapshot
    lines = reference_lines(text)
    expected = []
    for offset in range(len(text) + 1):
        line = max(i for i, (s, _) in enumerate(lines) if s <= offset)
        s = lines[line][0]
        expected.append((line, units(text[s:offset], encoding)))
    got_lines, got_cols = snap.positions_at(np.arange(len(text) + 1))
    assert list(zip(got_lines.tolist(), got_cols.tolist())) == expected
    assert [snap.position_at(o) for o in range(0, len(text) + 1, 37)] == expected[::37]
    # and back: every position of a character start maps to its offset
    for offset in range(0, len(text) + 1, 3):
        line, col = expected[offset]
        if offset <= lines[line][1]:
            assert snap.offset_at(line, col) == offset


def test_offsets_clamp_and_snap():
    doc = Document("file:///x", "plaintext", 1, "a😀b\r\nxy", UTF16)
    snap = doc.snapshot
    assert snap.offset_at(0, 2) == 1  # inside the surrogate pair: snaps to the emoji's start
    assert snap.offset_at(0, 99) == 3  # past the line's end: its end, not into "\r\n"
    assert snap.offset_at(9, 0) == len(doc.text)
    assert snap.line_length(0) == 4
    assert snap.content_ends(np.array([0, 1])).tolist() == [3, 7]


def test_line_index_of_crlf_and_lone_cr():
    assert_lines_of(LineIndex.of("a\r\nb\rc\n"), "a\r\nb\rc\n")
    assert LineIndex.of("a\r\nb\rc\n").starts_between(0, 9).tolist() == [0, 3, 5, 7]


def test_a_paste_as_long_as_the_text_is_rescanned_in_its_window():
    text = random_text(random.Random(2), 6000) + "\r"  # long enough for the vectorized scan
    doc = Document("file:///x", "plaintext", 0, text, UTF16)
    doc.apply_change((0, 0), (0, 0), text, 1)
    assert_lines_of(doc.snapshot.lines, text + text)


@pytest.mark.parametrize("seed", range(3))
def test_the_nul_flag_kept_by_edits_matches_a_scan_of_the_text(seed):
    """Edits look only at the inserted text for NUL; the flag must still always equal a scan."""
    rng = random.Random(seed)
    doc = Document("file:///n.txt", "plaintext", 1, "abc\ndef\n")
    for version in range(2, 300):
        text = doc.text
        a = rng.randrange(len(text) + 1)
        b = min(len(text), a + rng.randrange(4))
        new = "".join(rng.choice(["x", "\n", "\x00", "é"]) for _ in range(rng.randrange(3)))
        start, end = doc.snapshot.position_at(a), doc.snapshot.position_at(b)
        doc.apply_change(start, end, new, version)
        assert doc.snapshot.contains_nul() == ("\x00" in doc.text)


def test_old_snapshots_keep_their_text_while_the_document_moves_on():
    """Snapshots share the rope's untouched chunks; an edit never reaches an older one."""
    rng = random.Random(3)
    text = random_text(rng, 50_000)  # several rope chunks
    doc = Document("file:///x", "plaintext", 0, text, UTF16)
    versions = [(doc.snapshot, text)]
    for step in range(30):
        a = rng.randint(0, len(text))
        b = min(len(text), a + rng.randint(0, 40))
        a -= 0 < a < len(text) and text[a - 1 : a + 1] == "\r\n"
        b += 0 < b < len(text) and text[b - 1 : b + 1] == "\r\n"
        new = random_text(rng, rng.randint(0, 30))
        doc.apply_change(doc.snapshot.position_at(a), doc.snapshot.position_at(b), new, step + 1)
        text = text[:a] + new + text[b:]
        versions.append((doc.snapshot, text))
    for snapshot, expected in versions:
        assert snapshot.length == len(expected) and snapshot.text == expected
        assert snapshot.slice(1000, 1100) == expected[1000:1100]


@pytest.mark.parametrize("encoding", [UTF8, UTF16])
@pytest.mark.parametrize("seed", range(4))
def test_typing_keeps_positions_right_on_every_kind_of_line(encoding, seed):
    """Typing carries a line's "one code unit per character" from snapshot to snapshot
    (so the next keystroke need not re-read the line) only while it stays true: typed
    emoji, accents and Korean must turn it off, in UTF-8 and in UTF-16."""
    rng = random.Random(seed)
    text = "plain ascii line\n한국어 줄입니다\nemoji 😀 line\r\nmixed é\n" * 8
    doc = Document("file:///x", "plaintext", 0, text, encoding)
    cursor = 3
    for step in range(150):
        if rng.random() < 0.25:
            cursor = rng.choice([s + rng.randint(0, e - s) for s, e in reference_lines(text)])
        line, start = reference_position(text, cursor)
        line_start = reference_lines(text)[line][0]
        removed = rng.choice([0, 0, 1]) if cursor < reference_lines(text)[line][1] else 0
        new = rng.choice(["a", "z", " ", "é", "한", "😀", "👍🏽", ""])
        at = (line, units(text[line_start:cursor], encoding))
        to = (line, units(text[line_start : cursor + removed], encoding))
        if rng.random() < 0.1 and line + 1 < len(reference_lines(text)):  # join the next line on
            next_start, next_end = reference_lines(text)[line + 1]
            removed = rng.randint(next_start, next_end) - cursor
            to = (line + 1, units(text[next_start : cursor + removed], encoding))
        doc.snapshot.position_at(cursor)  # a lookup on the line, as hover or a hint would do
        doc.apply_change(at, to, new, step + 1)
        text = text[:cursor] + new + text[cursor + removed :]
        cursor += len(new)
        snap = doc.snapshot
        start, end = reference_lines(text)[line]
        for offset in range(start, end + 1):
            expected = (line, units(text[start:offset], encoding))
            assert snap.position_at(offset) == expected, (step, repr(text[start:end]), offset)
            assert snap.offset_at(*expected) == offset, (step, repr(text[start:end]), offset)


@pytest.mark.parametrize("encoding", [UTF8, UTF16, UTF32])
@pytest.mark.parametrize("seed", range(4))
def test_snapshot_range_queries_after_edits_match_the_text(monkeypatch, encoding, seed):
    """line_starts, content_ends, cut_at_lines and positions_at over a line index of many
    small blocks, after each edit (Enter, typing, pastes, lines deleted, at both ends)."""
    import tokenprism.lsp.line_index as line_index

    monkeypatch.setattr(line_index, "BLOCK_LINES", 8)
    rng = random.Random(seed)
    text = random_text(rng, 300)
    doc = Document("file:///x", "plaintext", 0, text, encoding)
    for step in range(40):
        a = rng.choice([0, len(text), rng.randint(0, len(text))])
        b = min(len(text), a + rng.choice([0, 1, 30]))
        a -= 0 < a < len(text) and text[a - 1 : a + 1] == "\r\n"
        b += 0 < b < len(text) and text[b - 1 : b + 1] == "\r\n"
        new = rng.choice(["\n", "x", random_text(rng, rng.randint(0, 60))])
        doc.apply_change(doc.snapshot.position_at(a), doc.snapshot.position_at(b), new, step + 1)
        doc.snapshot.settle_lines()
        text = text[:a] + new + text[b:]
        snap, lines = doc.snapshot, reference_lines(text)
        first = rng.randrange(len(lines))
        last = first + rng.randint(0, 70)
        assert snap.line_starts(first, last).tolist() == [s for s, _ in lines[first:last]]
        assert snap.content_ends(np.arange(len(lines))).tolist() == [e for _, e in lines]
        offsets = np.array(rng.sample(range(len(text) + 1), min(len(text) + 1, 120)), np.int64)
        got = list(zip(*(part.tolist() for part in snap.positions_at(offsets))))
        want = [reference_position(text, o) for o in offsets.tolist()]
        assert got == [(line, units(text[lines[line][0] : o], encoding))
                       for (line, _), o in zip(want, offsets.tolist())]
        spans = sorted(rng.randint(0, len(text)) for _ in range(6))
        starts, ends = np.array(spans[0::2]), np.array(spans[1::2])
        expected = [
            (max(s, ls), min(e, le), i)
            for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist()))
            for ls, le in lines
            if max(s, ls) < min(e, le)
        ]
        assert list(zip(*(part.tolist() for part in snap.cut_at_lines(starts, ends)))) == expected
