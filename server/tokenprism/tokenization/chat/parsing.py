"""Reading a chat document: JSON (a messages array, a request body or an array of them),
JSONL (one conversation per line, parsed lines carried from one edit to the next) and YAML
(``yaml_prompts``), each message with its character range in the source."""

from __future__ import annotations

import json
import re

from .json_spans import element_spans, member_spans, skip_space, value_end
from .messages import FORMATS, ChatDocument, ChatError, ChatMessage, Conversation, conversation_of, is_message
from .yaml_prompts import yaml_conversations

_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # LSP's line breaks (str.splitlines knows many more)


def lines_of(text: str):
    """The lines of ``text`` with their start offsets and line breaks, lazily."""
    start = 0
    for m in _LINE_BREAK.finditer(text):
        yield text[start : m.start()], start, m.group()
        start = m.end()
    if start < len(text):
        yield text[start:], start, ""


def without_bom(text: str) -> str:
    """A leading byte-order mark as a space: parsers accept it, offsets stay the same."""
    return " " + text[1:] if text.startswith("\ufeff") else text


class LineMemo:
    """Parsed JSONL lines carried from one parse to the next: lookups fall back to the
    previous parse's lines, and ``now`` keeps only the lines this parse saw."""

    def __init__(self, before: dict | None = None):
        self.before = before or {}
        self.now: dict = {}

    def get(self, line: str):
        parsed = self.now.get(line)
        if parsed is None:
            parsed = self.before.get(line)
            if parsed is not None:
                self.now[line] = parsed
        return parsed

    def put(self, line: str, parsed) -> None:
        self.now[line] = parsed


def parse_chat_document(text: str, fmt: str, line_memo: LineMemo | None = None) -> ChatDocument:
    """Read the conversations of a chat document; raises :class:`ChatError` when the whole
    document is unreadable (a bad JSONL line only marks that line's conversation).
    ``line_memo`` (JSONL only) carries parsed lines from one call to the next."""
    text = without_bom(text)
    if fmt == "json":
        return ChatDocument("json", tuple(_json_conversations(text)))
    if fmt == "jsonl":
        return ChatDocument("jsonl", tuple(_jsonl_conversations(text, line_memo)))
    if fmt == "yaml":
        return ChatDocument("yaml", tuple(yaml_conversations(text)))
    raise ChatError(f"unknown chat format '{fmt}'; use one of {', '.join(FORMATS)}")


def _json_conversations(text: str) -> list[Conversation]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ChatError(f"not valid JSON: {exc}") from exc
    except RecursionError:
        raise ChatError("JSON nested too deeply to read") from None
    return _conversations_in(value, text, skip_space(text, 0))


def _jsonl_conversations(text: str, memo: LineMemo | None = None) -> list[Conversation]:
    """One conversation per non-empty line. ``memo`` holds lines' conversations parsed at
    offset 0, so an edit re-parses only the lines it touched."""
    conversations = []
    for number, (body, offset, _) in enumerate(lines_of(text)):
        if body.strip():
            parsed = memo.get(body) if memo is not None else None
            if parsed is None:
                parsed = _parse_jsonl_line(body)
                if memo is not None:
                    memo.put(body, parsed)
            conversations.extend(_shifted(c, offset, number) for c in parsed)
    return conversations


def _parse_jsonl_line(body: str) -> list[Conversation]:
    try:
        found = _json_conversations(body)
    except ChatError as exc:
        return [Conversation((), 0, len(body), error=str(exc))]
    return found or [Conversation((), 0, len(body), error="no messages on this line")]


def _shifted(conv: Conversation, offset: int, line: int) -> Conversation:
    messages = tuple(ChatMessage(m.role, m.data, m.start + offset, m.end + offset) for m in conv.messages)
    return Conversation(messages, conv.start + offset, conv.end + offset, line, conv.tools, conv.error)


def _conversations_in(value, text: str, pos: int) -> list[Conversation]:
    """Conversations in a JSON value whose source starts at ``text[pos]``."""
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        members = member_spans(text, pos)
        if "messages" not in members:
            return []
        spans = element_spans(text, members["messages"][0])
        tools = value.get("tools") if isinstance(value.get("tools"), list) else None
        return [conversation_of(value["messages"], spans, pos, value_end(text, pos), tools)]
    if isinstance(value, list) and value and all(is_message(v) for v in value):
        return [conversation_of(value, element_spans(text, pos), pos, value_end(text, pos))]
    if isinstance(value, list) and value and all(isinstance(v, dict) and "messages" in v for v in value):
        found = []
        for item, (start, _) in zip(value, element_spans(text, pos)):
            found.extend(_conversations_in(item, text, start))
        return found
    return []
