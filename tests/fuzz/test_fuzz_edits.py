"""Fuzz incremental re-tokenization (``TokenState.apply_edits``): after every batch of random
edits the state equals a fresh encode of its text, for every test tokenizer. Wider input than
tests/test_incremental.py: any Unicode (controls, NUL, combining marks, astral characters),
long runs, and batches of several edits, on tiny pieces and blocks so seams are everywhere."""

from __future__ import annotations

import pytest
from budget import fuzz_for, only_under_make_fuzz, share, time_limit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import TOKENIZER_NAMES
from test_incremental import FRAGMENTS, assert_same, edit_positions, tiny_pieces
from tokenprism.tokenization import SpecialTokens
from tokenprism.tokenization.incremental import TokenState

only_under_make_fuzz()

characters = st.characters(blacklist_categories=("Cs",))  # lone surrogates are not text a client can send
pieces = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.text(characters, max_size=6),
    st.builds(lambda c, n: c * n, st.sampled_from([" ", "\n", "0", "a", "é", "🙂", "\t", "<|"]),
              st.integers(1, 40)),
)
texts = st.lists(pieces, max_size=30).map("".join)
batches = st.lists(
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 20), st.lists(pieces, max_size=4).map("".join)),
             min_size=1, max_size=4),
    min_size=1, max_size=4,
)


@pytest.mark.parametrize("name", TOKENIZER_NAMES)
@pytest.mark.parametrize("special", [SpecialTokens.SPECIAL, SpecialTokens.TEXT])
def test_edits_equal_a_fresh_encode(tokenizer, name, special):
    loaded = tokenizer(name)

    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(text=texts, edit_batches=batches)
    def run(text, edit_batches):
        with tiny_pieces(), time_limit():
            state = TokenState(loaded, text, special)
            assert_same(state, loaded, special, "after opening")
            for batch in edit_batches:
                edits, length = [], len(state.text)
                for where, removed, inserted in batch:  # each in the coordinates the previous leaves
                    start, end = edit_positions("x" * length, where, removed)
                    edits.append((start, end, inserted))
                    length += len(inserted) - (end - start)
                assert state.apply_edits(edits) == len(edits)
                assert_same(state, loaded, special, f"after {edits!r}")

    fuzz_for(share(parts=2 * len(TOKENIZER_NAMES)), run)
