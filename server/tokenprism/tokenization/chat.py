"""Chat documents: find the conversations in a file, render them with the model's chat
template and count the prompt the model really receives.

Three document formats, each keeping the character range of every message so a count can
be shown at the message:

- JSON: a messages array, an object with ``messages`` (an OpenAI request body), or an
  array of such objects;
- JSONL: one conversation per line (fine-tuning data);
- YAML prompt files (``*.prompt.yml``) with a top-level ``messages:``.

Rendering follows transformers' ``apply_chat_template(..., add_generation_prompt=True)``:
the same sandboxed Jinja environment, globals and special-token variables. OpenAI
encodings have no public template, so their count is the OpenAI cookbook estimate.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from .base import SpecialTokens, Tokenizer
from .encoding import SPECIAL
from .openai import BUILTIN_ENCODINGS

FORMATS = ("json", "jsonl", "yaml")

# What the OpenAI cookbook documents for its chat models (num_tokens_from_messages).
OPENAI_TOKENS_PER_MESSAGE = 3
OPENAI_TOKENS_PER_NAME = 1
OPENAI_REPLY_PRIMING = 3

# The named special tokens transformers hands to every template (special_tokens_map).
TEMPLATE_TOKEN_NAMES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")

_REASONING_FIELDS = ("reasoning_content", "thinking", "reasoning")


class ChatError(Exception):
    """A chat document or template problem, always one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


# -- documents -----------------------------------------------------------------------------------


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


def detect_chat_format(text: str, language_id: str | None = None, path: str | None = None) -> str | None:
    """The chat format this document is written in, or None when it is not a chat document.

    Language id and extension choose the parser; the content must then hold at least one
    conversation (so a ``package.json`` is not a chat document). Without either, the content
    decides."""
    name = (path or "").lower()
    lang = (language_id or "").lower()
    text = _without_bom(text)
    if name.endswith((".prompt.yml", ".prompt.yaml")) or (lang in ("yaml", "prompty") and _YAML_MESSAGES.search(text)):
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


CHAT_LANGUAGES = ("json", "jsonc", "jsonl", "yaml", "prompty")
CHAT_EXTENSIONS = (".json", ".jsonl", ".ndjson", ".prompt.yml", ".prompt.yaml")
SNIFF_CHARACTERS = 8192  # how far into an unnamed document a "messages:" key is looked for
_NON_SPACE = re.compile(r"\S")


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


JSONL_SNIFF_LINES = 20  # JSONL is recognised from its first lines, so a huge file costs nothing


def _holds_a_conversation(text: str, fmt: str) -> bool:
    """Whether the text parses as ``fmt`` with at least one conversation, without finding
    where everything is (that is the parser's job)."""
    if fmt == "jsonl":
        seen = 0
        for line, _, _ in _lines(text):
            if not line.strip():
                continue
            try:
                if _is_conversation_value(json.loads(line)):
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
            loader = _depth_limited_loader()(text)
            try:
                value = loader.get_single_data()
            finally:
                loader.dispose()
    except Exception:  # any parse failure (ChatError for deep nesting too): not this format
        return False
    if fmt == "yaml":
        return isinstance(value, dict) and _is_conversation_value({"messages": value.get("messages")})
    return _is_conversation_value(value)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # LSP's line breaks (str.splitlines knows many more)


def _lines(text: str):
    """The lines of ``text`` with their start offsets and line breaks, lazily."""
    start = 0
    for m in _LINE_BREAK.finditer(text):
        yield text[start : m.start()], start, m.group()
        start = m.end()
    if start < len(text):
        yield text[start:], start, ""


def _without_bom(text: str) -> str:
    """A leading byte-order mark as a space: parsers accept it, offsets stay the same."""
    return " " + text[1:] if text.startswith("\ufeff") else text


def _is_conversation_value(value) -> bool:
    if isinstance(value, dict):
        messages = value.get("messages")
        return isinstance(messages, list) and any(_is_message(m) for m in messages)
    if isinstance(value, list) and value:
        return all(_is_message(v) for v in value) or all(
            isinstance(v, dict) and _is_conversation_value(v) for v in value
        )
    return False


_YAML_MESSAGES = re.compile(r"^messages\s*:", re.M)


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
    text = _without_bom(text)
    if fmt == "json":
        return ChatDocument("json", tuple(_json_conversations(text)))
    if fmt == "jsonl":
        return ChatDocument("jsonl", tuple(_jsonl_conversations(text, line_memo)))
    if fmt == "yaml":
        return ChatDocument("yaml", tuple(_yaml_conversations(text)))
    raise ChatError(f"unknown chat format '{fmt}'; use one of {', '.join(FORMATS)}")


def _json_conversations(text: str) -> list[Conversation]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ChatError(f"not valid JSON: {exc}") from exc
    except RecursionError:
        raise ChatError("JSON nested too deeply to read") from None
    return _conversations_in(value, text, _skip_space(text, 0))


def _jsonl_conversations(text: str, memo: LineMemo | None = None) -> list[Conversation]:
    """One conversation per non-empty line. ``memo`` holds lines' conversations parsed at
    offset 0, so an edit re-parses only the lines it touched."""
    conversations = []
    for number, (body, offset, _) in enumerate(_lines(text)):
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
        members = _member_spans(text, pos)
        if "messages" not in members:
            return []
        spans = _element_spans(text, members["messages"][0])
        tools = value.get("tools") if isinstance(value.get("tools"), list) else None
        return [_conversation(value["messages"], spans, pos, _value_end(text, pos), tools)]
    if isinstance(value, list) and value and all(_is_message(v) for v in value):
        return [_conversation(value, _element_spans(text, pos), pos, _value_end(text, pos))]
    if isinstance(value, list) and value and all(isinstance(v, dict) and "messages" in v for v in value):
        found = []
        for item, (start, _) in zip(value, _element_spans(text, pos)):
            found.extend(_conversations_in(item, text, start))
        return found
    return []


def _is_message(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("role"), str)


def _conversation(messages, spans, start: int, end: int, tools=None) -> Conversation:
    bad = next((i for i, m in enumerate(messages) if not _is_message(m)), None)
    if bad is not None:
        return Conversation((), start, end, tools=tools, error=f"message {bad + 1} has no \"role\"")
    return Conversation(
        tuple(ChatMessage(m["role"], m, s, e) for m, (s, e) in zip(messages, spans)), start, end, tools=tools,
    )


# A minimal JSON span scanner: json.loads gives the values, this gives where they are.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:,]|[^\s\[\]{}:,"]+', re.S)


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n\ufeff":
        pos += 1
    return pos


def _value_end(text: str, pos: int) -> int:
    """End offset of the JSON value starting at ``pos``."""
    m = _TOKEN.match(text, pos)
    if m is None:
        return pos
    if m.group() not in ("[", "{"):
        return m.end()
    depth = 0
    for m in _TOKEN.finditer(text, pos):
        tok = m.group()
        if tok in ("[", "{"):
            depth += 1
        elif tok in ("]", "}"):
            depth -= 1
            if depth == 0:
                return m.end()
    return len(text)


def _element_spans(text: str, pos: int) -> list[tuple[int, int]]:
    """Spans of the elements of the JSON array starting at ``pos``."""
    spans = []
    i = _skip_space(text, pos + 1)
    while i < len(text) and text[i] != "]":
        end = _value_end(text, i)
        spans.append((i, end))
        i = _skip_space(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip_space(text, i + 1)
    return spans


def _member_spans(text: str, pos: int) -> dict[str, tuple[int, int]]:
    """Value spans of the members of the JSON object starting at ``pos``."""
    members = {}
    i = _skip_space(text, pos + 1)
    while i < len(text) and text[i] == '"':
        key_end = _value_end(text, i)
        key = json.loads(text[i:key_end])
        i = _skip_space(text, key_end)
        i = _skip_space(text, i + 1)  # the colon
        end = _value_end(text, i)
        members[key] = (i, end)
        i = _skip_space(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip_space(text, i + 1)
    return members


def _yaml_conversations(text: str) -> list[Conversation]:
    import yaml

    loader = None
    try:
        loader = _depth_limited_loader()(text)  # the reader refuses unprintable text here
        root = loader.get_single_node()
        if root is None:
            return []
        _check_alias_expansion(root)
        value = loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise ChatError(f"not valid YAML: {exc}") from exc
    except RecursionError:
        raise ChatError("YAML nested too deeply to read") from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(value, dict) or not isinstance(value.get("messages"), list):
        return []
    node = next((v for k, v in root.value if getattr(k, "value", None) == "messages"), None)
    if node is None or not isinstance(node, yaml.SequenceNode):
        return []
    spans = [(item.start_mark.index, _rstrip_end(text, item.end_mark.index)) for item in node.value]
    return [_conversation(value["messages"], spans, root.start_mark.index, len(text))]


YAML_MAX_DEPTH = 100  # nesting levels; a prompt file needs a handful


def _depth_limited_loader():
    """A safe loader that refuses deep nesting as it reads: PyYAML composes recursively and
    slows down quadratically on thousands of open ``[``, long before a RecursionError."""
    import yaml

    class DepthLimitedLoader(yaml.SafeLoader):
        depth = 0

        def fetch_flow_collection_start(self, token_class):
            # the scanner reads a flow collection's whole nesting ahead of the composer (each
            # open "[" may start a simple key), scanning it in quadratic time: stop it here
            if self.flow_level >= YAML_MAX_DEPTH:
                raise ChatError(f"YAML nested deeper than {YAML_MAX_DEPTH} levels; not read as a chat document")
            super().fetch_flow_collection_start(token_class)

        def compose_node(self, parent, index):
            if self.depth >= YAML_MAX_DEPTH:
                raise ChatError(f"YAML nested deeper than {YAML_MAX_DEPTH} levels; not read as a chat document")
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return DepthLimitedLoader


YAML_EXPANDED_NODES = 100_000  # a prompt file's nodes with every alias expanded


def _check_alias_expansion(root) -> None:
    """Refuse a YAML document whose aliases expand to more than ``YAML_EXPANDED_NODES``
    nodes ("billion laughs"): the loader shares aliased values, but a template's ``tojson``
    or a copy of the messages walks every expansion. Sizes are counted once per node."""
    import yaml

    sizes: dict[int, int] = {}
    stack = [(root, False)]
    while stack:  # post-order without recursion
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if done:
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > YAML_EXPANDED_NODES:
                raise ChatError(f"YAML aliases expand to more than {YAML_EXPANDED_NODES:,} values; "
                                "not read as a chat document")
            sizes[id(node)] = total
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)


def _rstrip_end(text: str, end: int) -> int:
    while end > 0 and text[end - 1] in " \t\r\n":
        end -= 1
    return end


# -- templates -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatTemplate:
    text: str
    source: str  # "tokenizer" or the file it was read from


TEMPLATE_FILE_BYTES = 4 * 1024 * 1024  # real templates / tokenizer_config.json are far smaller
_TEMPLATE_FILES: dict = {}  # (path, device, inode, mtime, size) → ChatTemplate


def template_from_file(path: str) -> ChatTemplate:
    """A template named by the user: a ``.jinja`` file, or a ``tokenizer_config.json``
    (its ``chat_template``). Only a regular file of at most ``TEMPLATE_FILE_BYTES`` is read
    (a FIFO or device is refused without blocking), and a file that is neither a Jinja
    template nor a config with a chat_template is refused, never echoed. Reads are cached
    per (path, inode, mtime, size)."""
    p = Path(path).expanduser()
    raw, key = _read_template_file(p)
    known = _TEMPLATE_FILES.get(key)
    if known is not None:
        return known
    if p.suffix == ".json":
        try:
            template = json.loads(raw).get("chat_template")
        except (ValueError, AttributeError, RecursionError) as exc:
            raise ChatError(f"{p} is not a tokenizer_config.json with a chat_template") from exc
        if isinstance(template, list):
            named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
            template = named.get("default") or next(iter(named.values()), None)
        if not isinstance(template, str):
            raise ChatError(f"{p} has no chat_template")
        raw = template
    elif not _JINJA_MARKUP.search(raw):
        raise ChatError(f"{p} is not a chat template (no Jinja {{{{ }}}} or {{% %}} in it)")
    if len(_TEMPLATE_FILES) > 32:
        _TEMPLATE_FILES.clear()
    _TEMPLATE_FILES[key] = result = ChatTemplate(raw, str(p))
    return result


_JINJA_MARKUP = re.compile(r"\{\{|\{%")


def _read_template_file(p: Path) -> tuple[str, tuple]:
    """The text of a regular file, with its cache key. O_NONBLOCK so opening a FIFO never
    waits for a writer; fstat decides before any byte is read."""
    import os
    import stat

    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise ChatError(f"cannot read chat template {p}: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ChatError(f"chat template {p} is not a regular file")
        if st.st_size > TEMPLATE_FILE_BYTES:
            raise ChatError(f"chat template {p} is {st.st_size:,} bytes; the limit is {TEMPLATE_FILE_BYTES:,}")
        key = (str(p), st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
        if key in _TEMPLATE_FILES:
            return "", key
        with os.fdopen(fd, "rb", closefd=True) as f:
            fd = -1
            data = f.read(TEMPLATE_FILE_BYTES + 1)
    except OSError as exc:
        raise ChatError(f"cannot read chat template {p}: {exc.strerror or exc}") from exc
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > TEMPLATE_FILE_BYTES:
        raise ChatError(f"chat template {p} is larger than {TEMPLATE_FILE_BYTES:,} bytes")
    try:
        return data.decode("utf-8"), key
    except UnicodeDecodeError:
        raise ChatError(f"chat template {p} is not UTF-8 text") from None


def template_for(tokenizer: Tokenizer, template_path: str | None = None) -> ChatTemplate | None:
    """The template to render with: the user's file wins over the tokenizer's own."""
    if template_path:
        return template_from_file(template_path)
    own = tokenizer.chat_template
    if isinstance(own, dict):  # named templates ({"default": …, "tool_use": …})
        own = own.get("default") or next((t for t in own.values() if isinstance(t, str)), None)
    return ChatTemplate(own, "tokenizer") if isinstance(own, str) and own else None


def template_tokens(tokenizer: Tokenizer) -> dict[str, str]:
    """bos_token, eos_token… as the template sees them (transformers' special_tokens_map)."""
    config = getattr(tokenizer, "config", None) or {}
    return {name: str(config[name]) for name in TEMPLATE_TOKEN_NAMES if config.get(name) is not None}


@lru_cache(maxsize=16)
def _compile(template: str):
    """The template compiled in the sandbox transformers uses, with the same globals."""
    import jinja2
    import jinja2.ext
    class GenerationTag(jinja2.ext.Extension):
        """``{% generation %}…{% endgeneration %}`` marks assistant text; it renders as is."""

        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

        def _render(self, caller):
            return caller()

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        # like transformers: no HTML escaping, and the options templates use
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    class TemplateNamespace(jinja2.utils.Namespace):
        def __init__(*args, **kwargs):
            self, args = args[0], args[1:]
            attrs = dict(*args, **kwargs)
            for name in attrs:
                TemplateNamespace._check(name)
            jinja2.utils.Namespace.__init__(self, attrs)

        def __setitem__(self, name, value):
            TemplateNamespace._check(name)
            jinja2.utils.Namespace.__setitem__(self, name, value)

        @staticmethod
        def _check(name):
            if isinstance(name, str) and name.startswith("_"):
                raise jinja2.exceptions.SecurityError(f"templates cannot set namespace attribute {name!r}")

    class TemplateDict:
        def __call__(self, *args, **kwargs):
            return dict(*args, **kwargs)

        def fromkeys(self, *args, **kwargs):
            return dict.fromkeys(*args, **kwargs)

    env = BoundedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.filters = {name: _bounded_result(f) for name, f in env.filters.items()}
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    env.globals["dict"] = TemplateDict()
    env.globals["namespace"] = TemplateNamespace
    compiled = env.from_string(template)
    # ``~`` compiles to the module's str_join / markup_join: bound those too
    namespace = compiled.root_render_func.__globals__
    for name in ("str_join", "markup_join"):
        if name in namespace:
            namespace[name] = _bounded_result(namespace[name])
    return compiled


# -- limits: a template is code from a file or a model, so rendering is bounded ----------------

RENDER_SECONDS = 3.0  # real templates render in milliseconds
DOCUMENT_RENDER_SECONDS = 10.0  # all the conversations of one document
RENDERED_CHARACTERS = 8_000_000  # the largest rendered prompt (and any string a template builds)


class RenderLimit(Exception):
    """A template went past a limit; raised inside the template's code."""


def _too_big(value) -> bool:
    return isinstance(value, (str, bytes, list, tuple)) and len(value) > RENDERED_CHARACTERS


def _size_error(value) -> RenderLimit:
    return RenderLimit(f"it builds a value of {len(value):,} items; the limit is {RENDERED_CHARACTERS:,}")


def _bounded_result(func):
    import functools

    @functools.wraps(func)  # keeps jinja's pass_context / pass_environment markers
    def bounded(*args, **kwargs):
        value = func(*args, **kwargs)
        if _too_big(value):
            raise _size_error(value)
        return value

    return bounded


def _sandbox_base():
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment


class _LazyBoundedEnvironment:
    """Built on first use so importing this module does not import jinja2."""

    cls = None

    def __call__(self, **kwargs):
        if self.cls is None:
            base = _sandbox_base()

            class Bounded(base):
                """The sandbox with ``*`` checked before it runs (``'A' * 300000000`` never
                allocates) and ``+`` / ``%`` checked after."""

                intercepted_binops = frozenset({"*", "+", "%"})

                def call_binop(self, context, operator, left, right):
                    if operator == "*":
                        for seq, times in ((left, right), (right, left)):
                            if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                                if len(seq) * times > RENDERED_CHARACTERS:
                                    raise RenderLimit(f"it repeats a value {times:,} times; the limit is "
                                                      f"{RENDERED_CHARACTERS:,} items")
                    value = super().call_binop(context, operator, left, right)
                    if _too_big(value):
                        raise _size_error(value)
                    return value

            self.cls = Bounded
        return self.cls(**kwargs)


BoundedEnvironment = _LazyBoundedEnvironment()


class RenderDeadline:
    """Stops a template's code on the thread that renders it: a trace function, set only on
    that thread and active only in the template's own frames, checks the deadline and the
    cancel flag on every line, so even a loop that emits nothing is stopped."""

    def __init__(self, seconds: float, cancelled=None):
        import time

        self.clock = time.monotonic
        self.deadline = self.clock() + seconds
        self.seconds = seconds
        self.cancelled = cancelled  # a threading.Event, or None

    def check(self) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            raise RenderLimit("rendering was cancelled")
        if self.clock() > self.deadline:
            raise RenderLimit(f"it ran longer than {self.seconds:g} s")

    def _local(self, frame, event, arg):
        self.check()
        return self._local

    def _global(self, frame, event, arg):
        if frame.f_code.co_filename == "<template>":
            self.check()
            return self._local
        return None

    def __enter__(self):
        import sys

        self.previous = sys.gettrace()
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc):
        import sys

        sys.settrace(self.previous)
        return False


def _render_bounded(compiled, context: dict, seconds: float | None = None, cancelled=None) -> str:
    """Render with a deadline and an output cap: the text is collected as the template
    emits it and refused once it passes ``RENDERED_CHARACTERS``, before any tokenizer."""
    parts, size = [], 0
    with RenderDeadline(RENDER_SECONDS if seconds is None else seconds, cancelled) as deadline:
        for piece in compiled.generate(**context):
            size += len(piece)
            if size > RENDERED_CHARACTERS:
                raise RenderLimit(f"its output passes {RENDERED_CHARACTERS:,} characters")
            parts.append(piece)
            deadline.check()
    return "".join(parts)


def template_messages(messages) -> list[dict]:
    """Messages as transformers hands them to a template: keys with None dropped, reasoning
    copied under the names templates read."""
    out = []
    for message in messages:
        data = message.data if isinstance(message, ChatMessage) else message
        data = {k: v for k, v in data.items() if v is not None}
        reasoning = next((data[k] for k in _REASONING_FIELDS if data.get(k) is not None), None)
        if reasoning is not None:
            data = {"thinking": reasoning, **data, "reasoning_content": reasoning}
        out.append(data)
    return out


def render_template(
    template: ChatTemplate, messages, special_tokens: dict[str, str], tools=None,
    add_generation_prompt: bool = True, seconds: float | None = None, cancelled=None,
) -> str:
    """The conversation as the template renders it; raises :class:`ChatError` on any failure,
    and when rendering passes ``seconds`` (default ``RENDER_SECONDS``), is cancelled
    (``cancelled``: a ``threading.Event``) or its output passes ``RENDERED_CHARACTERS``."""
    import jinja2

    try:
        compiled = _compile(template.text)
    except jinja2.TemplateSyntaxError as exc:
        raise ChatError(f"chat template ({template.source}) line {exc.lineno}: {exc.message}") from exc
    context = dict(messages=template_messages(messages), tools=tools, documents=None,
                   add_generation_prompt=add_generation_prompt, **special_tokens)
    try:
        return _render_bounded(compiled, context, seconds, cancelled)
    except RenderLimit as exc:
        raise ChatError(f"chat template ({template.source}) stopped: {exc}") from None
    except MemoryError:
        raise ChatError(f"chat template ({template.source}) stopped: out of memory") from None
    except RecursionError:
        raise ChatError(f"chat template ({template.source}) stopped: it recursed too deeply") from None
    except jinja2.TemplateError as exc:
        raise ChatError(f"chat template ({template.source}) failed: {exc}") from exc
    except Exception as exc:  # a template is code: any failure becomes one line
        raise ChatError(f"chat template ({template.source}) failed: {type(exc).__name__}: {exc}") from exc


# -- counting ------------------------------------------------------------------------------------


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
        return messages, render_template(template, messages, template_tokens(tokenizer), tools, seconds=seconds)
    except ChatError as exc:
        return messages, ChatCount(tokenizer.name, template_source=template.source, error=str(exc))


def _finish(tokenizer: Tokenizer, messages, rendered: str, encoding, template: ChatTemplate) -> ChatCount:
    """Counts of a rendered prompt from its tokens: the total and each message's share."""
    result = ChatCount(tokenizer.name, rendered, len(encoding), template_source=template.source)
    special = (encoding.flags & SPECIAL).nonzero()[0]
    special_starts = [encoding.start_of(int(i)) for i in special]
    result.special_ranges = _special_ranges(encoding, special)
    bounds = _message_bounds(rendered, messages, special_starts)
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


def message_text(data: dict) -> str:
    """The text of a message's content (text parts of a multi-part content)."""
    content = data.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _message_bounds(rendered: str, messages, special_starts: list[int]) -> list[tuple[int, int]]:
    """Split the rendered prompt into one consecutive share per message.

    Each message's content is found in order; the template text between two contents
    (closing of one message, header of the next) is cut where the next message's header
    begins: at the special token that holds or precedes its role name. A message the
    template dropped (not found) gets an empty share."""
    contents: list[tuple[int, int] | None] = []
    cursor = 0
    for message in messages:
        text = message_text(message.data).strip()
        # look after the message's role header first, so content that repeats template
        # text ("user", "system") is not matched inside the header
        role_at = rendered.find(message.role, cursor)
        at = rendered.find(text, role_at + len(message.role)) if text and role_at >= 0 else -1
        if text and at < 0:
            at = rendered.find(text, cursor)
        if text and at >= 0:
            contents.append((at, at + len(text)))
            cursor = at + len(text)
        elif not text:
            if role_at >= 0:
                cursor = role_at + len(message.role)
                contents.append((cursor, cursor))
            else:
                contents.append(None)
        else:
            contents.append(None)
    bounds: list[tuple[int, int]] = []
    last_found: int | None = None
    for k, (message, found) in enumerate(zip(messages, contents)):
        if found is None:
            at = bounds[-1][1] if bounds else 0
            bounds.append((at, at))
            continue
        cut = 0
        if last_found is not None:  # cut the gap after the previous content at this header
            cut = _header_start(rendered, contents[last_found][1], found[0], message.role, special_starts)
            bounds[last_found] = (bounds[last_found][0], cut)
            for dropped in range(last_found + 1, k):
                bounds[dropped] = (cut, cut)
        bounds.append((cut, found[1]))
        last_found = k
    if last_found is not None:  # the last message keeps its closing; the reply gets the prompt
        cut = _header_start(rendered, contents[last_found][1], len(rendered), "assistant", special_starts)
        bounds[last_found] = (bounds[last_found][0], cut)
        for dropped in range(last_found + 1, len(bounds)):
            bounds[dropped] = (cut, cut)
    return bounds


def _header_start(rendered: str, gap_start: int, gap_end: int, role: str, special_starts: list[int]) -> int:
    gap = rendered[gap_start:gap_end]
    role_at = gap.rfind(role)
    if role_at < 0:
        return gap_start
    role_at += gap_start
    k = bisect.bisect_right(special_starts, role_at) - 1  # the last special token at or before the role
    return special_starts[k] if k >= 0 and special_starts[k] >= gap_start else gap_start


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
    import time

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
