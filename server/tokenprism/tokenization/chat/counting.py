"""Counting chat documents: each conversation rendered and encoded (or the OpenAI cookbook
estimate where a model has no published template), each message's share of the tokens, and
a whole document counted with a memo so an edit re-counts only the conversations it changed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..base import SpecialTokens, Tokenizer
from ..encoding import SPECIAL
from ..openai import BUILTIN_ENCODINGS
from .message_bounds import message_bounds, message_text
from .messages import ChatError, ChatMessage, Conversation
from .parsing import LineMemo, parse_chat_document
from .render import render_template
from .sandbox import RENDER_SECONDS
from .template_files import ChatTemplate, template_tokens

DOCUMENT_RENDER_SECONDS = 10.0  # all the conversations of one document

# What the OpenAI cookbook documents for its chat models (num_tokens_from_messages).
OPENAI_TOKENS_PER_MESSAGE = 3
OPENAI_TOKENS_PER_NAME = 1
OPENAI_REPLY_PRIMING = 3


@dataclass
class MessageCount:
    role: str
    tokens: int
    start: int  # source range
    end: int
    rendered_start: int = 0  # the message's share of the rendered prompt
    rendered_end: int = 0


@dataclass
class ChatCount:
    """A rendered conversation and its token counts. ``tokens`` equals the sum of the
    messages' tokens plus ``reply_tokens`` (the generation prompt / reply priming)."""

    model: str
    rendered: str = ""
    tokens: int = 0
    estimate: bool = False
    messages: list[MessageCount] = field(default_factory=list)
    reply_tokens: int = 0
    special_ranges: list[tuple[int, int]] = field(default_factory=list)  # in ``rendered``
    template_source: str = ""
    error: str | None = None

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "rendered": self.rendered,
            "tokens": self.tokens,
            "estimate": self.estimate,
            "replyTokens": self.reply_tokens,
            "templateSource": self.template_source,
            "messages": [
                {"role": m.role, "tokens": m.tokens, "start": m.start, "end": m.end,
                 "renderedStart": m.rendered_start, "renderedEnd": m.rendered_end}
                for m in self.messages
            ],
            "specialRanges": [list(r) for r in self.special_ranges],
            **({"error": self.error} if self.error else {}),
        }


def _prepare(
    tokenizer: Tokenizer, conversation: Conversation | list, template: ChatTemplate | None, tools=None,
    seconds: float | None = None,
) -> tuple[list[ChatMessage], str | ChatCount]:
    """The messages and either the rendered prompt or a finished count (an error or the
    OpenAI estimate)."""
    if isinstance(conversation, Conversation):
        if conversation.error:
            return [], ChatCount(tokenizer.name, error=conversation.error)
        tools = conversation.tools if tools is None else tools
        messages = list(conversation.messages)
    else:
        messages = [m if isinstance(m, ChatMessage) else ChatMessage(str(m.get("role")), m, 0, 0)
                    for m in conversation]
    if template is None:
        if tokenizer.info.kind == "tiktoken" and tokenizer.info.name in BUILTIN_ENCODINGS:
            return messages, openai_estimate(tokenizer, messages)
        return messages, ChatCount(
            tokenizer.name, error=f"model '{tokenizer.name}' has no chat template; "
            "name a template file in tokenprism.chatTemplate (CLI: --template FILE)",
        )
    try:
        return messages, render_template(template, messages, template_tokens(tokenizer), tools,
                                         seconds=seconds)
    except ChatError as exc:
        return messages, ChatCount(tokenizer.name, template_source=template.source, error=str(exc))


def _finish(tokenizer: Tokenizer, messages, rendered: str, encoding, template: ChatTemplate) -> ChatCount:
    """Counts of a rendered prompt from its tokens: the total and each message's share."""
    result = ChatCount(tokenizer.name, rendered, len(encoding), template_source=template.source)
    special = (encoding.flags & SPECIAL).nonzero()[0]
    special_starts = [encoding.start_of(int(i)) for i in special]
    result.special_ranges = _special_ranges(encoding, special)
    bounds = message_bounds(rendered, messages, special_starts)
    for message, (start, end) in zip(messages, bounds):
        result.messages.append(MessageCount(
            message.role, encoding.count_in(start, end), message.start, message.end, start, end,
        ))
    reply_start = bounds[-1][1] if bounds else 0
    result.reply_tokens = encoding.count_in(reply_start, len(rendered) + 1)
    return result


def count_conversation(
    tokenizer: Tokenizer, conversation: Conversation | list, template: ChatTemplate | None = None,
    tools=None,
) -> ChatCount:
    """Render and count one conversation. Never raises for bad input: problems land in
    ``error`` (with counts of zero)."""
    messages, prepared = _prepare(tokenizer, conversation, template, tools)
    if isinstance(prepared, ChatCount):
        return prepared
    return _finish(tokenizer, messages, prepared, tokenizer.encode(prepared, SpecialTokens.SPECIAL), template)


def _special_ranges(encoding, special) -> list[tuple[int, int]]:
    """Character ranges of the special tokens, adjacent ones joined."""
    ranges: list[tuple[int, int]] = []
    for i in special:
        start, end = encoding.start_of(int(i)), int(encoding.ends[i])
        if ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return ranges

def openai_estimate(tokenizer: Tokenizer, messages) -> ChatCount:
    """The OpenAI cookbook count: 3 tokens per message, every string field encoded, 1 more
    per name, 3 for the reply priming. An estimate: the real format is not published."""
    result = ChatCount(tokenizer.name, estimate=True, template_source="OpenAI cookbook estimate")
    parts = []
    for message in messages:
        data = message.data
        tokens = OPENAI_TOKENS_PER_MESSAGE
        for key, value in data.items():
            text = message_text(data) if key == "content" else value
            if isinstance(text, str):
                tokens += tokenizer.count(text, SpecialTokens.TEXT)
            if key == "name":
                tokens += OPENAI_TOKENS_PER_NAME
        start = sum(len(p) for p in parts)
        parts.append(f"<|start|>{data.get('name') or message.role}\n{message_text(data)}<|end|>\n")
        result.messages.append(MessageCount(message.role, tokens, message.start, message.end, start,
                                            start + len(parts[-1])))
    result.rendered = "".join(parts) + "<|start|>assistant\n"
    result.reply_tokens = OPENAI_REPLY_PRIMING
    result.tokens = sum(m.tokens for m in result.messages) + OPENAI_REPLY_PRIMING
    return result


_PARSED_LINES = ("parsed JSONL lines",)  # a memo key no conversation text can be


@dataclass
class DocumentCount:
    """Every conversation of a chat document counted; ``tokens`` is the document total.

    ``memo`` maps each conversation's source text to its count: hand it to the next
    :func:`count_document` of an edited version (same tokenizer and template) and only the
    conversations that changed are rendered and encoded again. Source offsets in a reused
    count are stale; take positions from the conversation, counts from the count."""

    format: str
    conversations: list[tuple[Conversation, ChatCount]]
    memo: dict = field(default_factory=dict, repr=False)

    @property
    def tokens(self) -> int:
        return sum(c.tokens for _, c in self.conversations)

    @property
    def errors(self) -> list[tuple[Conversation, str]]:
        return [(conv, c.error) for conv, c in self.conversations if c.error]


def count_document(
    tokenizer: Tokenizer, text: str, fmt: str, template: ChatTemplate | None = None,
    previous: dict | None = None,
) -> DocumentCount:
    """Parse, render and count every conversation; the rendered prompts are encoded in one
    batch (both cores). ``previous`` is the ``memo`` of an earlier count."""
    previous = previous or {}
    memo: dict = {}
    if fmt == "jsonl":
        lines = LineMemo(previous.get(_PARSED_LINES))
        document = parse_chat_document(text, fmt, lines)
        memo[_PARSED_LINES] = lines.now
    else:
        document = parse_chat_document(text, fmt)
    counts: list[ChatCount | None] = []
    pending: list[tuple[int, list, str]] = []  # (index, messages, rendered)
    deadline = time.monotonic() + DOCUMENT_RENDER_SECONDS  # many slow conversations share one budget
    for k, conv in enumerate(document.conversations):
        key = text[conv.start : conv.end]
        known = previous.get(key) or memo.get(key)
        if known is not None and not conv.error:
            counts.append(known)
            memo[key] = known
            continue
        left = min(RENDER_SECONDS, max(0.0, deadline - time.monotonic()))
        messages, prepared = _prepare(tokenizer, conv, template, seconds=left)
        if isinstance(prepared, ChatCount):
            counts.append(prepared)
            if not conv.error and not (prepared.error and "stopped:" in prepared.error):
                memo[key] = prepared
        else:
            counts.append(None)
            pending.append((k, messages, prepared))
    if pending:
        encodings = tokenizer.encode_batch([rendered for _, _, rendered in pending], SpecialTokens.SPECIAL)
        for (k, messages, rendered), encoding in zip(pending, encodings):
            counts[k] = _finish(tokenizer, messages, rendered, encoding, template)
            memo[text[document.conversations[k].start : document.conversations[k].end]] = counts[k]
    return DocumentCount(fmt, list(zip(document.conversations, counts)), memo)
