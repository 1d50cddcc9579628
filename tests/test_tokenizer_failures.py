"""``tokenization.errors``: which exceptions out of a tokenizer call are failures of that call.
The panic is a real one: tiktoken's Rust core on a rank table that lacks a byte."""

from __future__ import annotations

import pytest

from tokenprism.tokenization.errors import is_rust_panic, is_tokenizer_failure, one_line


def real_panic() -> BaseException:
    import tiktoken

    ranks = {b"a": 0, b"b": 1}
    enc = tiktoken.Encoding(name="no-c", pat_str=r"\S+|\s+", mergeable_ranks=ranks, special_tokens={})
    try:
        enc.encode("c")  # no rank for b"c": the Rust side indexes a map with it and panics
    except BaseException as exc:  # noqa: BLE001 - the point: it is no Exception
        return exc
    pytest.fail("tiktoken did not panic on a byte its ranks lack")


def test_a_rust_panic_is_a_tokenizer_failure_though_not_an_exception():
    panic = real_panic()
    assert not isinstance(panic, Exception)  # why `except Exception` let it through
    assert is_rust_panic(panic) and is_tokenizer_failure(panic)
    assert one_line(panic) == "no entry found for key"


@pytest.mark.parametrize("error", [KeyboardInterrupt(), SystemExit(0), GeneratorExit()])
def test_stopping_the_process_is_no_tokenizer_failure(error):
    assert not is_tokenizer_failure(error) and not is_rust_panic(error)


def test_ordinary_errors_are_failures_and_none_is_no_panic():
    assert is_tokenizer_failure(ValueError("lone surrogate")) and not is_rust_panic(ValueError())
    assert not is_rust_panic(None)
    assert one_line(RuntimeError("two\nlines")) == "two lines" and one_line(RuntimeError()) == "RuntimeError"
