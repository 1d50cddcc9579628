"""The same text through several tokenizers: counts, density and timings side by side.

A model that cannot be loaded stays in the result with its reason, so a comparison never
silently drops a column.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from .base import SpecialTokens, Tokenizer
from .errors import TokenizerLoadError
from .registry import is_loaded, load_tokenizer
from .spec import LoadOptions

DEFAULT_COMPARE_MODELS = ("o200k_base", "llama3", "phi3", "qwen2", "starcoder2")


@dataclass
class ModelComparison:
    model: str  # the spec as asked for
    ok: bool
    error: str | None = None
    tokens: int = 0
    characters: int = 0
    utf8_bytes: int = 0
    load_ms: float = 0.0
    encode_ms: float = 0.0
    cached: bool = False  # the tokenizer was already loaded, so load_ms is only the lookup
    rendered_tokens: int | None = None  # the chat document's rendered prompt, when it is one
    rendered_estimate: bool = False
    rendered_error: str | None = None

    @property
    def chars_per_token(self) -> float:
        return self.characters / self.tokens if self.tokens else 0.0

    @property
    def bytes_per_token(self) -> float:
        return self.utf8_bytes / self.tokens if self.tokens else 0.0

    def to_json(self) -> dict:
        out = {
            "model": self.model, "ok": self.ok, "tokens": self.tokens, "characters": self.characters,
            "charsPerToken": round(self.chars_per_token, 3), "bytesPerToken": round(self.bytes_per_token, 3),
            "loadMs": round(self.load_ms, 1), "encodeMs": round(self.encode_ms, 1), "cached": self.cached,
        }
        if self.error:
            out["error"] = self.error
        if self.rendered_tokens is not None:
            out["renderedTokens"] = self.rendered_tokens
            out["renderedEstimate"] = self.rendered_estimate
        if self.rendered_error:
            out["renderedError"] = self.rendered_error
        return out


def parse_model_list(text: str | list | tuple | None) -> list[str]:
    """``"a, b,c"`` or a list into specs, blanks and repeats dropped, order kept."""
    items = text.split(",") if isinstance(text, str) else list(text or [])
    seen: dict[str, None] = {}
    for item in items:
        name = str(item).strip()
        if name:
            seen.setdefault(name, None)
    return list(seen)


def compare_text(
    text: str,
    models: list[str],
    options: LoadOptions = LoadOptions(),
    special: SpecialTokens = SpecialTokens.SPECIAL,
    chat_format: str | None = None,
    loader: Callable[[str, LoadOptions], Tokenizer] = load_tokenizer,
) -> list[ModelComparison]:
    """Count ``text`` with every model in order. With ``chat_format`` (the text is a chat
    document) each model also counts the document rendered with its own chat template."""
    characters = len(text)
    utf8_bytes = len(text.encode("utf-8", "surrogatepass"))
    results = []
    for spec in models:
        result = ModelComparison(spec, ok=False, characters=characters, utf8_bytes=utf8_bytes)
        results.append(result)
        result.cached = is_loaded(spec, options)
        started = time.perf_counter()
        try:
            tokenizer = loader(spec, options)
        except TokenizerLoadError as exc:
            result.error = str(exc)
            continue
        result.load_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        try:
            result.tokens = tokenizer.count(text, special)
        except ValueError as exc:  # text the tokenizer cannot take (lone surrogates)
            result.error = f"cannot encode: {exc}"
            continue
        result.encode_ms = (time.perf_counter() - started) * 1000
        result.ok = True
        if chat_format:
            _add_rendered(result, tokenizer, text, chat_format)
    return results


def _add_rendered(result: ModelComparison, tokenizer: Tokenizer, text: str, chat_format: str) -> None:
    from .chat import ChatError, count_document, template_for

    try:
        counted = count_document(tokenizer, text, chat_format, template_for(tokenizer))
    except ChatError as exc:
        result.rendered_error = str(exc)
        return
    errors = counted.errors
    if errors and len(errors) == len(counted.conversations):
        result.rendered_error = errors[0][1]
        return
    result.rendered_tokens = counted.tokens
    result.rendered_estimate = any(c.estimate for _, c in counted.conversations)
    if errors:
        result.rendered_error = (f"{len(errors)} of {len(counted.conversations)} conversations "
                                 f"not counted: {errors[0][1]}")
