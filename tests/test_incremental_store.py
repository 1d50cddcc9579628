"""The containers behind TokenState against plain Python strings and numpy arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenprism.tokenization import CONTINUES, blocks, rope
from tokenprism.tokenization.blocks import BlockStore
from tokenprism.tokenization.chunking import Piece
from tokenprism.tokenization.rope import Rope

edits = st.lists(
    st.tuples(st.floats(0, 1), st.integers(0, 30), st.text("ab\n한🙂", max_size=40)), max_size=30
)


@settings(max_examples=200, deadline=None)
@given(text=st.text("xyz\n가🙂", max_size=200), changes=edits)
def test_rope_matches_string_edits(text, changes):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rope, "CHUNK_CHARS", 8)
        r, s = Rope(text), text
        for where, removed, inserted in changes:
            start = min(int(where * (len(s) + 1)), len(s))
            end = min(len(s), start + removed)
            r.replace(start, end, inserted)
            s = s[:start] + inserted + s[end:]
            assert len(r) == len(s)
            assert r.slice(start // 2, end + 5) == s[start // 2 : end + 5]
            # every chunk boundary still in its place (an edit moves the later ones)
            assert all(r.slice(k, k + 7) == s[k : k + 7] for k in range(0, len(s), 5))
            assert r.joined() == s
        assert str(r) == s


@settings(max_examples=200, deadline=None)
@given(text=st.text("xyz\n가🙂", max_size=200), changes=edits)
def test_replaced_ropes_are_new_versions_and_leave_the_old_ones(text, changes):
    """``replaced`` is persistent: every earlier version still reads as it was."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rope, "CHUNK_CHARS", 8)
        versions = [(Rope(text), text)]
        for where, removed, inserted in changes:
            r, s = versions[-1]
            start = min(int(where * (len(s) + 1)), len(s))
            end = min(len(s), start + removed)
            versions.append((r.replaced(start, end, inserted), s[:start] + inserted + s[end:]))
        for r, s in versions:
            assert len(r) == len(s) and str(r) == s and r.isascii() == s.isascii()
            assert r[1:7] == s[1:7] and r[-3:] == s[-3:] and r[::2] == s[::2]
            if s:
                assert r[len(s) // 2] == s[len(s) // 2] and r[-1] == s[-1]
        with pytest.raises(IndexError):
            versions[0][0][len(text)]


@settings(max_examples=200, deadline=None)
@given(text=st.text("xyz\n가🙂", max_size=200), changes=edits, head=st.integers(1, 40))
def test_identical_leading_chunks_mean_the_same_head(text, changes, head):
    """What the chat sniff relies on: ropes whose leading chunks are the same objects start
    with the same ``head`` characters, and an edit past them leaves them so."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rope, "CHUNK_CHARS", 8)
        versions = [Rope(text)]
        for where, removed, inserted in changes:
            r = versions[-1]
            start = min(int(where * (len(r) + 1)), len(r))
            versions.append(r.replaced(start, min(len(r), start + removed), inserted))
            covered = sum(map(len, r.leading_chunks(head)))
            if start > covered:  # the edit begins past the chunks that hold the head
                assert all(a is b for a, b in zip(r.leading_chunks(head), versions[-1].leading_chunks(head)))
        for a in versions:
            assert sum(map(len, a.leading_chunks(head))) >= min(head, len(a))
            for b in versions:
                ka, kb = a.leading_chunks(head), b.leading_chunks(head)
                if len(ka) == len(kb) and all(x is y for x, y in zip(ka, kb)):
                    assert a[:head] == b[:head]


def piece_of(ends: list[int]) -> Piece:
    n = len(ends)
    return Piece(np.arange(n, dtype=np.int32) + 100, np.asarray(ends, np.int64),
                 (np.arange(n) % 3).astype(np.uint8))


@st.composite
def token_ends(draw, max_tokens=60):
    widths = draw(st.lists(st.integers(0, 4), max_size=max_tokens))
    return np.cumsum(widths).tolist()


def blocks_of_parts(piece: Piece, splits: list[float], leads: list[int]) -> BlockStore:
    """The tokens of ``piece`` as an opened document gets them: parts whose ends count from
    a base at or before their first token's start (an encoded window's own start)."""
    n = len(piece)
    at = sorted({int(f * n) for f in splits} | {0, n})
    parts = []
    for k, (a, b) in enumerate(zip(at, at[1:])):
        start = int(piece.ends[a - 1]) if a else 0
        base = max(0, start - leads[k % len(leads)])
        ends = (piece.ends[a:b] - base).astype(np.int32)
        parts.append((base, piece.ids[a:b].copy(), ends, piece.flags[a:b].copy()))
    return BlockStore.of_parts(parts)


@settings(max_examples=200, deadline=None)
@given(initial=token_ends(), steps=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 9), token_ends(12),
                                                      st.integers(-5, 5)), max_size=12),
       parts=st.one_of(st.none(), st.tuples(st.lists(st.floats(0, 1), max_size=4),
                                            st.lists(st.integers(0, 3), min_size=1, max_size=4))))
def test_block_store_matches_flat_arrays(initial, steps, parts):
    """Splices and lookups on blocks equal the same operations on one flat array, whether
    the blocks were cut from one array or made of parts (as a large document is opened)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(blocks, "BLOCK_TOKENS", 4)
        store = BlockStore(piece_of(initial)) if parts is None else blocks_of_parts(piece_of(initial), *parts)
        flat = piece_of(initial)
        for where, removed, new_widths, delta in steps:
            n = len(flat)
            first = min(int(where * (n + 1)), n)
            last = min(n, first + removed)
            start = int(flat.ends[first - 1]) if first else 0
            new = piece_of([start + e for e in new_widths])
            new_end = int(new.ends[-1]) if len(new) else start
            old_end = int(flat.ends[last - 1]) if last else 0
            # the tail keeps its widths: the shift is whatever keeps it after the new tokens
            delta = new_end - old_end if last > first or len(new) else 0
            tail = Piece(flat.ids[last:], flat.ends[last:] + delta, flat.flags[last:])
            store.splice(first, last, new, delta)
            flat = Piece(
                np.concatenate([flat.ids[:first], new.ids, tail.ids]),
                np.concatenate([flat.ends[:first], new.ends, tail.ends]),
                np.concatenate([flat.flags[:first], new.flags, tail.flags]),
            )
            assert len(store) == len(flat)
            assert store.slice(0, len(store)).equals(flat)
            # the per-block counts of continuations, and the lookups of many at once
            continued = np.concatenate(([0], np.cumsum((flat.flags & CONTINUES) != 0)))
            assert [store.continuations_before(i) for i in range(len(flat) + 1)] == continued.tolist()
            assert store.flags_at(np.arange(len(flat))[::-1]).tolist() == flat.flags[::-1].tolist()
            offsets = np.arange(-1, (int(flat.ends[-1]) if len(flat) else 0) + 2)[::-1]
            for side in ("left", "right"):
                assert (store.ranks(offsets, side).tolist()
                        == np.searchsorted(flat.ends, offsets, side).tolist())
            for offset in (0, start, new_end, new_end + 1, int(flat.ends[-1]) if len(flat) else 0):
                for side in ("left", "right"):
                    assert store.rank(offset, side) == int(np.searchsorted(flat.ends, offset, side=side))
            # an edit's run found inside one block is the run the whole-document ranks give
            for lo, hi in ((start, new_end), (start, new_end + 2), (max(0, start - 1), None)):
                inner = (lo, (lo + (hi if hi is not None else lo + 3)) // 2)
                run = store.run_in_block(lo, hi, inner)
                if run is not None:
                    b, (a, *ranks, z) = run
                    offset = int(store.first_index[b])
                    assert a + offset == store.rank(lo)
                    assert z + offset == (store.rank(hi) if hi is not None else len(store))
                    assert [r + offset for r in ranks] == [min(store.rank(x), z + offset) for x in inner]
                    local = store.block_piece(b, a, z)
                    assert np.array_equal(local.ends + int(store.bases[b]),
                                          flat.ends[a + offset : z + offset])
        frozen = store.frozen()
        before = store.slice(0, len(store))
        if len(store):
            store.splice(0, 1, piece_of([]), 0)
        assert frozen.slice(0, len(frozen)).equals(before)


@settings(max_examples=200, deadline=None)
@given(text=st.text("xyz\n가🙂", min_size=1, max_size=200), runs=st.lists(
    st.tuples(st.floats(0, 1),
              st.lists(st.tuples(st.integers(0, 2), st.text("ab한🙂", max_size=3)), max_size=12)),
    max_size=6))
def test_typing_runs_keep_every_version_right(text, runs):
    """Typing in one place (each edit where the last one ended) leaves later chunks'
    shift pending and the chunk starts list shared; every version must still read right."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rope, "CHUNK_CHARS", 8)
        versions = [(Rope(text), text)]
        for where, keys in runs:
            r, s = versions[-1]
            cursor = min(int(where * (len(s) + 1)), len(s))
            for removed, typed in keys:
                end = min(len(s), cursor + removed)
                r, s = r.replaced(cursor, end, typed), s[:cursor] + typed + s[end:]
                versions.append((r, s))
                cursor += len(typed)
        for r, s in versions:
            assert len(r) == len(s) and str(r) == s
            assert all(r.slice(k, k + 7) == s[k : k + 7] for k in range(0, len(s), 3))
