"""What a chat document holds: conversations of messages, each with its character range in
the source, and the shapes of JSON values that count as a message or a conversation."""

from __future__ import annotations

from dataclasses import dataclass

FORMATS = ("json", "jsonl", "yaml")


class ChatError(Exception):
    """A chat document or template problem, always one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True)
class ChatMessage:
    role: str
    data: dict  # the message as the template sees it
    start: int  # character range of the message in the source document
    end: int


@dataclass(frozen=True)
class Conversation:
    messages: tuple[ChatMessage, ...]
    start: int
    end: int
    line: int | None = None  # 0-based line of a JSONL conversation
    tools: list | None = None  # an OpenAI request body's tools, handed to the template
    error: str | None = None  # this conversation could not be read (a bad JSONL line)


@dataclass(frozen=True)
class ChatDocument:
    format: str
    conversations: tuple[Conversation, ...]


def is_message(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("role"), str)


def is_conversation_value(value) -> bool:
    if isinstance(value, dict):
        messages = value.get("messages")
        return isinstance(messages, list) and any(is_message(m) for m in messages)
    if isinstance(value, list) and value:
        return all(is_message(v) for v in value) or all(
            isinstance(v, dict) and is_conversation_value(v) for v in value
        )
    return False


def conversation_of(messages, spans, start: int, end: int, tools=None) -> Conversation:
    """A conversation from its messages' values and source spans; one without a role marks
    the whole conversation as unreadable."""
    bad = next((i for i, m in enumerate(messages) if not is_message(m)), None)
    if bad is not None:
        return Conversation((), start, end, tools=tools, error=f"message {bad + 1} has no \"role\"")
    return Conversation(
        tuple(ChatMessage(m["role"], m, s, e) for m, (s, e) in zip(messages, spans)), start, end, tools=tools,
    )
