"""Chat templates: the tokenizer's own, or a file the user names (a ``.jinja`` file or a
``tokenizer_config.json``; regular files only, size-capped, cached per file version), and the
special-token variables a template receives."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..base import Tokenizer
from ..regular_files import NotRegularFile, open_regular
from .messages import ChatError

# The named special tokens transformers hands to every template (special_tokens_map).
TEMPLATE_TOKEN_NAMES = (
    "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"
)


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
    """The text of a regular file (``open_regular``: a FIFO or a device is refused before
    any byte is read), with its cache key."""
    try:
        file = open_regular(p)
    except NotRegularFile:
        raise ChatError(f"chat template {p} is not a regular file") from None
    except OSError as exc:
        raise ChatError(f"cannot read chat template {p}: {exc.strerror or exc}") from exc
    try:
        with file:
            st = os.fstat(file.fileno())
            if st.st_size > TEMPLATE_FILE_BYTES:
                raise ChatError(f"chat template {p} is {st.st_size:,} bytes; "
                                f"the limit is {TEMPLATE_FILE_BYTES:,}")
            key = (str(p), st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
            if key in _TEMPLATE_FILES:
                return "", key
            data = file.read(TEMPLATE_FILE_BYTES + 1)
    except OSError as exc:
        raise ChatError(f"cannot read chat template {p}: {exc.strerror or exc}") from exc
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

