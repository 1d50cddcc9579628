"""Fuzz chat documents (``tokenization/chat/``): format detection and parsing of JSON,
JSONL and ``.prompt.yml`` text. Any text either parses or raises ``ChatError`` (one line), in
bounded time and memory, and every message range lies inside the text."""

from __future__ import annotations

import json

import pytest
from budget import bounded_memory, fuzz_for, only_under_make_fuzz, share, time_limit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenprism.tokenization.chat import FORMATS, ChatError, detect_chat_format, parse_chat_document

only_under_make_fuzz()

roles = st.sampled_from(["system", "user", "assistant", "tool", "", "x" * 3, 7, None])
contents = st.one_of(st.text(max_size=30), st.none(), st.integers(),
                     st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=10)}),
                              max_size=2))
message = st.dictionaries(st.sampled_from(["role", "content", "name", "tool_calls", "thinking"]),
                          st.one_of(roles, contents), max_size=4)
conversation = st.one_of(
    st.lists(message, max_size=4),
    st.fixed_dictionaries({"messages": st.lists(message, max_size=4)},
                          optional={"tools": st.lists(st.dictionaries(st.text(max_size=5),
                                                                      st.text(max_size=5)))}),
)
documents = st.one_of(conversation, st.lists(conversation, max_size=3))
# JSON nesting kept shallow here; deep nesting has its own test below
shallow = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                       lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                       max_leaves=15)


@st.composite
def json_texts(draw) -> str:
    value = draw(st.one_of(documents, shallow))
    text = json.dumps(value, indent=draw(st.sampled_from([None, 2])), ensure_ascii=draw(st.booleans()))
    return mutate(draw, text)


@st.composite
def jsonl_texts(draw) -> str:
    lines = [json.dumps(v) for v in draw(st.lists(st.one_of(documents, shallow), max_size=4))]
    return mutate(draw, draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines))


@st.composite
def yaml_texts(draw) -> str:
    parts = ["messages:\n"]
    for msg in draw(st.lists(message, max_size=4)):
        parts.append("  - " + "\n    ".join(f"{k}: {json.dumps(v)}" for k, v in msg.items()) + "\n")
    head = draw(st.sampled_from(["", "name: x\nmodel: gpt-4o\n", "---\n", "a: &A [1, 2]\nb: [*A, *A]\n"]))
    return mutate(draw, head + "".join(parts))


def mutate(draw, text: str) -> str:
    """Sometimes cut, corrupt or decorate the text (BOM, stray bytes, a lone surrogate)."""
    how = draw(st.sampled_from(["keep", "keep", "cut", "insert", "bom"]))
    at = draw(st.integers(0, len(text)))
    if how == "cut":
        return text[:at]
    if how == "insert":
        return text[:at] + draw(st.sampled_from(["{", "]", '"', "\\", "\n", "\x00", "\ud800", "- ", ": ",
                                                 "*A"])) + text[at:]
    if how == "bom":
        return "\ufeff" + text
    return text


def check(text: str, language_id: str | None, path: str | None) -> None:
    with time_limit(), bounded_memory(200 * len(text) + (16 << 20)):
        fmt = detect_chat_format(text, language_id, path)
        for candidate in ([fmt] if fmt else []) + list(FORMATS):
            try:
                document = parse_chat_document(text, candidate)
            except ChatError as exc:
                assert "\n" not in str(exc)
                continue
            for conv in document.conversations:
                assert 0 <= conv.start <= conv.end <= len(text)
                for msg in conv.messages:
                    assert 0 <= msg.start <= msg.end <= len(text), (candidate, msg)


@settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(text=st.one_of(json_texts(), jsonl_texts(), yaml_texts(), st.text(max_size=200)),
       language_id=st.sampled_from([None, "json", "jsonl", "yaml", "prompty", "plaintext"]),
       path=st.sampled_from([None, "a.json", "a.jsonl", "a.prompt.yml", "a.txt"]))
def run(text, language_id, path):
    check(text, language_id, path)


def test_chat_documents():
    fuzz_for(share(), run)


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_deeply_nested_json(fmt):
    check("[" * 100_000 + "]" * 100_000, fmt, None)
