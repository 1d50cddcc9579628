"""The wire format: orjson where it can, the standard library for what orjson refuses,
with the standard library's json as the reference."""

from __future__ import annotations

import json

import pytest

from tokenprism.lsp import wire

MESSAGES = [
    {"jsonrpc": "2.0", "method": "textDocument/didChange",
     "params": {"textDocument": {"uri": "file:///a", "version": 3},
                "contentChanges": [{"range": {"start": {"line": 1, "character": 2},
                                              "end": {"line": 1, "character": 2}},
                                    "text": "한😀\r\n"}]}},
    {"jsonrpc": "2.0", "id": 7, "result": [1.5, None, True, {"nested": ["x"] * 3}]},
    {"text": "lone \ud800 surrogate"},  # an editor can send one inside a document
    {"big": 2**70},  # beyond 64 bits
]


@pytest.mark.parametrize("message", MESSAGES)
def test_loads_reads_what_json_writes(message):
    for text in (json.dumps(message), json.dumps(message, ensure_ascii=False)):
        data = text.encode("utf-8", "surrogatepass")
        try:
            expected = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue  # raw lone surrogates are not UTF-8: no editor sends that
        assert wire.loads(data) == expected


@pytest.mark.parametrize("message", MESSAGES + [{1: "int key"}])
def test_dumps_writes_what_json_reads_back(message):
    assert json.loads(wire.dumps(message)) == json.loads(json.dumps(message))


def test_not_json_is_refused_like_json_does():
    with pytest.raises(json.JSONDecodeError):
        wire.loads(b"{x]")
    with pytest.raises(TypeError):
        wire.dumps({"a": object()})
