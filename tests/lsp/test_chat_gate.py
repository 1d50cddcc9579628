"""The cheap test that keeps chat analysis off the edit path of ordinary documents."""

from __future__ import annotations

import pytest

from tokenprism.tokenization.chat import detect_chat_format, might_be_chat


@pytest.mark.parametrize(
    ("text", "language", "path"),
    [
        ('[{"role": "user", "content": "hi"}]', "plaintext", "untitled:1"),
        ('\n  {"messages": [{"role": "user", "content": "hi"}]}', None, None),
        ('{"messages": [{"role": "user", "content": "hi"}]}\n', "jsonl", "a.jsonl"),
        ("name: x\nmessages:\n  - role: user\n    content: hi\n", None, "p.prompt.yml"),
        ("name: x\nmessages:\n  - role: user\n    content: hi\n", "plaintext", "notes.txt"),
        ('\ufeff[{"role": "user", "content": "hi"}]', None, None),
    ],
)
def test_the_cheap_test_passes_every_detected_chat_document(text, language, path):
    """might_be_chat gates the editor's analysis: a document detect_chat_format recognises
    by its name or by its top must pass it."""
    assert detect_chat_format(text, language, path) is not None
    assert might_be_chat(text, language, path)


def test_the_cheap_test_rules_out_markdown():
    prose = "# Notes\n\n" + "Some prose about tokens.\n" * 50_000
    assert detect_chat_format(prose, "markdown", "notes.md") is None
    assert not might_be_chat(prose, "markdown", "notes.md")
    # a messages: key far down a Markdown file does not make it a prompt
    assert not might_be_chat(prose + "messages:\n  - role: user\n", "markdown", "notes.md")
