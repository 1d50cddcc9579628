"""Whether a document is a chat document, and in which format: language id and file name
choose the parser, the content must then hold a conversation; a cheap gate first so an
editor need not analyze every large file on every edit."""

from __future__ import annotations

import json
import re

from .messages import ChatError, is_conversation_value
from .parsing import lines_of, parse_chat_document, without_bom
from .yaml_prompts import depth_limited_loader

CHAT_LANGUAGES = ("json", "jsonc", "jsonl", "yaml", "prompty")
CHAT_EXTENSIONS = (".json", ".jsonl", ".ndjson", ".prompt.yml", ".prompt.yaml")
SNIFF_CHARACTERS = 8192  # how far into an unnamed document a "messages:" key is looked for
JSONL_SNIFF_LINES = 20  # JSONL is recognised from its first lines, so a huge file costs nothing
_NON_SPACE = re.compile(r"\S")
_YAML_MESSAGES = re.compile(r"^messages\s*:", re.M)


def detect_chat_format(text: str, language_id: str | None = None, path: str | None = None) -> str | None:
    """The chat format this document is written in, or None when it is not a chat document.

    Language id and extension choose the parser; the content must then hold at least one
    conversation (so a ``package.json`` is not a chat document). Without either, the content
    decides."""
    name = (path or "").lower()
    lang = (language_id or "").lower()
    text = without_bom(text)
    if name.endswith((".prompt.yml", ".prompt.yaml")) or (
        lang in ("yaml", "prompty") and _YAML_MESSAGES.search(text)
    ):
        candidates = ["yaml"]
    elif lang == "jsonl" or name.endswith((".jsonl", ".ndjson")):
        candidates = ["jsonl"]
    elif lang in ("json", "jsonc") or name.endswith(".json"):
        candidates = ["json"]
    else:
        first = _NON_SPACE.search(text)  # not text.lstrip(): that copies the whole text
        head = first.group() if first else ""
        if head in ("[", "{"):
            candidates = ["json", "jsonl"]
        elif _YAML_MESSAGES.search(text):
            candidates = ["yaml"]
        else:
            return None
    return next((fmt for fmt in candidates if _holds_a_conversation(text, fmt)), None)


def not_chat_reason(text: str, language_id: str | None = None, path: str | None = None) -> str | None:
    """Why a document named or marked as JSON / JSONL / YAML is not a chat document when it
    does not parse (the parse error with its line and column), or None."""
    name = (path or "").lower()
    lang = (language_id or "").lower()
    if name.endswith((".prompt.yml", ".prompt.yaml")):
        fmt = "yaml"
    elif lang in ("json", "jsonc") or name.endswith(".json"):
        fmt = "json"
    else:
        return None
    try:
        parse_chat_document(text, fmt)
    except ChatError as exc:
        return str(exc)
    return None


def might_be_chat(text: str, language_id: str | None = None, path: str | None = None) -> bool:
    """A cheap test (O(1) in the document's length) before :func:`detect_chat_format`:
    False means the document is certainly not read as a chat document here, so an editor
    need not analyze a large Markdown or source file on every edit. Language id and
    extension decide; without them the content must start like JSON or hold a YAML
    ``messages:`` key near the top."""
    lang = (language_id or "").lower()
    name = (path or "").lower()
    if lang in CHAT_LANGUAGES or name.endswith(CHAT_EXTENSIONS):
        return True
    head = text[:SNIFF_CHARACTERS]
    first = _NON_SPACE.search(head)
    if first is not None and first.group() in ("[", "{", "\ufeff"):
        return True
    return _YAML_MESSAGES.search(head) is not None


def _holds_a_conversation(text: str, fmt: str) -> bool:
    """Whether the text parses as ``fmt`` with at least one conversation, without finding
    where everything is (that is the parser's job)."""
    if fmt == "jsonl":
        seen = 0
        for line, _, _ in lines_of(text):
            if not line.strip():
                continue
            try:
                if is_conversation_value(json.loads(line)):
                    return True
            except (ValueError, RecursionError):  # not JSON, or nested too deeply to be a chat
                pass
            seen += 1
            if seen >= JSONL_SNIFF_LINES:
                break
        return False
    try:
        if fmt == "json":
            value = json.loads(text)
        else:
            loader = depth_limited_loader()(text)
            try:
                value = loader.get_single_data()
            finally:
                loader.dispose()
    except Exception:  # any parse failure (ChatError for deep nesting too): not this format
        return False
    if fmt == "yaml":
        return isinstance(value, dict) and is_conversation_value({"messages": value.get("messages")})
    return is_conversation_value(value)
