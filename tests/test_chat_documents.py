"""Finding conversations in JSON, JSONL and YAML prompt files, with each message's source range."""

from __future__ import annotations

import json

import pytest
import yaml

from tokenprism.tokenization.chat import ChatError, detect_chat_format, parse_chat_document

MESSAGES = [
    {"role": "system", "content": "Be brief, \"quoted\" [brackets] {braces}"},
    {"role": "user", "content": "Grüße 🐈\nzweite Zeile", "name": "ada"},
    {"role": "assistant", "content": None,
     "tool_calls": [{"id": "1", "function": {"name": "f", "arguments": "{}"}}]},
]


def assert_ranges_hold_messages(text, conversation, expected, load=json.loads):
    assert [m.data for m in conversation.messages] == expected
    for message, want in zip(conversation.messages, expected):
        assert load(text[message.start : message.end]) == want


@pytest.mark.parametrize("indent", [None, 2])
def test_json_messages_array(indent):
    text = json.dumps(MESSAGES, indent=indent, ensure_ascii=False)
    (conversation,) = parse_chat_document(text, "json").conversations
    assert_ranges_hold_messages(text, conversation, MESSAGES)
    assert (conversation.start, conversation.end) == (0, len(text))


def test_openai_request_body_keeps_tools():
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    body = {"model": "gpt-4o", "tools": tools, "messages": MESSAGES, "temperature": 0}
    text = "\ufeff  " + json.dumps(body, indent=4, ensure_ascii=False) + "\n"
    (conversation,) = parse_chat_document(text.lstrip("\ufeff"), "json").conversations
    assert_ranges_hold_messages(text.lstrip("\ufeff"), conversation, MESSAGES)
    assert conversation.tools == tools


def test_json_array_of_conversations():
    items = [{"messages": MESSAGES[:1]}, {"messages": MESSAGES[1:]}]
    text = json.dumps(items, indent=1, ensure_ascii=False)
    first, second = parse_chat_document(text, "json").conversations
    assert_ranges_hold_messages(text, first, MESSAGES[:1])
    assert_ranges_hold_messages(text, second, MESSAGES[1:])


def test_jsonl_one_conversation_per_line_with_bad_lines_marked():
    lines = [
        json.dumps({"messages": MESSAGES}, ensure_ascii=False),
        "",
        "{broken",
        json.dumps({"prompt": "no messages here"}),
        json.dumps({"messages": [{"content": "no role"}]}),
        json.dumps({"messages": MESSAGES[1:]}),
    ]
    text = "\r\n".join(lines)
    conversations = parse_chat_document(text, "jsonl").conversations
    assert [c.line for c in conversations] == [0, 2, 3, 4, 5]
    assert_ranges_hold_messages(text, conversations[0], MESSAGES)
    assert_ranges_hold_messages(text, conversations[-1], MESSAGES[1:])
    assert conversations[1].error.startswith("not valid JSON")
    assert conversations[2].error == "no messages on this line"
    assert conversations[3].error == 'message 1 has no "role"'
    line_starts = [0]
    for line in lines:
        line_starts.append(line_starts[-1] + len(line) + 2)
    assert [c.start for c in conversations] == [line_starts[i] for i in (0, 2, 3, 4, 5)]


def test_yaml_prompt_file():
    text = (
        "name: Summarize\n"
        "model: openai/gpt-4o\n"
        "messages:\n"
        "  - role: system\n"
        "    content: You summarize.\n"
        "  - role: user\n"
        "    content: |\n"
        "      Summarize {{input}} — kurz.\n"
        "      Zwei Zeilen.\n"
        "testData:\n"
        "  - input: hello\n"
    )
    (conversation,) = parse_chat_document(text, "yaml").conversations
    expected = yaml.safe_load(text)["messages"]
    assert [m.data for m in conversation.messages] == expected
    for message, want in zip(conversation.messages, expected):
        chunk = text[message.start : message.end]
        # ranges end at the last character of the item (a block scalar keeps its final newline)
        assert yaml.safe_load(chunk.replace("\n    ", "\n") + "\n") == want


@pytest.mark.parametrize(
    ("text", "language", "path", "expected"),
    [
        (json.dumps(MESSAGES), "json", "chat.json", "json"),
        (json.dumps({"name": "x", "version": "1.0.0"}), "json", "package.json", None),
        (json.dumps({"messages": MESSAGES}) + "\n" + json.dumps({"messages": MESSAGES}), "jsonl", "d.jsonl",
         "jsonl"),
        (json.dumps({"messages": MESSAGES}) + "\n" + json.dumps({"messages": MESSAGES}), None, "data.txt",
         "jsonl"),
        (json.dumps({"messages": MESSAGES}), "plaintext", "untitled", "json"),
        ("messages:\n  - role: user\n    content: hi\n", "yaml", "x.prompt.yml", "yaml"),
        ("messages:\n  - role: user\n    content: hi\n", None, None, "yaml"),
        ("# Notes\n\nmessages are nice\n", "markdown", "notes.md", None),
        ("{not json", "json", "broken.json", None),
    ],
)
def test_detection(text, language, path, expected):
    assert detect_chat_format(text, language, path) == expected


@pytest.mark.parametrize(("fmt", "text"),
                         [("json", "[1, 2"), ("yaml", "messages: [a: b: c"), ("xml", "<a/>")])
def test_unreadable_documents_raise_one_line(fmt, text):
    with pytest.raises(ChatError) as info:
        parse_chat_document(text, fmt)
    assert "\n" not in str(info.value)


def test_jsonl_lines_are_the_editors_lines_and_a_bom_is_fine():
    # U+2028 and form feed are line breaks for str.splitlines, not for JSONL or LSP
    first = json.dumps({"messages": [{"role": "user", "content": "a\u2028b\x0cc"}]}, ensure_ascii=False)
    second = json.dumps({"messages": [{"role": "user", "content": "d"}]})
    text = "\ufeff" + first + "\r" + second + "\n"
    conversations = parse_chat_document(text, "jsonl").conversations
    assert [c.line for c in conversations] == [0, 1]
    assert [c.messages[0].data["content"] for c in conversations] == ["a\u2028b\x0cc", "d"]
    assert json.loads(text[conversations[1].start : conversations[1].end]) == json.loads(second)
    body = "\ufeff" + json.dumps(MESSAGES, ensure_ascii=False)
    assert detect_chat_format(body, "json", "chat.json") == "json"
    (conversation,) = parse_chat_document(body, "json").conversations
    assert_ranges_hold_messages(body, conversation, MESSAGES)
