"""One interface for every tokenizer TokenPrism loads (tiktoken, Hugging Face, GGUF).

This layer knows nothing about LSP: it maps text to an :class:`Encoding` and answers
questions about token ids.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum

from .encoding import Encoding


class SpecialTokens(str, Enum):
    """How literal special-token text in a document (``<|endoftext|>``) is read."""

    SPECIAL = "special"  # as the special token, like Hugging Face does
    TEXT = "text"  # as ordinary text, split by the normal rules


@dataclass(frozen=True)
class AddedTokens:
    """The tokens a model's tokenizer would add around a text (BOS/EOS); never counted."""

    prefix: tuple[int, ...] = ()
    suffix: tuple[int, ...] = ()

    def describe(self, tokenizer: Tokenizer) -> str:
        parts = [tokenizer.token_text(i) for i in self.prefix] + ["…"] + [
            tokenizer.token_text(i) for i in self.suffix
        ]
        return " ".join(parts) if (self.prefix or self.suffix) else "nothing"


@dataclass(frozen=True)
class TokenizerInfo:
    spec: str  # the model spec as the user wrote it
    name: str  # short display name ("o200k_base", "llama3")
    kind: str  # "tiktoken" | "huggingface" | "gguf"
    source: str  # where it came from (package file, path, hub id@revision)
    vocab_size: int
    extra: dict = field(default_factory=dict)
    context_window: int | None = None  # tokens the model reads, when the tokenizer's files say so


def sane_context_window(value) -> int | None:
    """A window from a tokenizer's files; None for missing values and Hugging Face's
    "no limit" sentinel (int(1e30) in model_max_length)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1 << 32:
        return None
    return int(value)


class Tokenizer(ABC):
    """A loaded tokenizer. Implementations must be safe to call from several threads."""

    info: TokenizerInfo

    @abstractmethod
    def encode(self, text: str, special: SpecialTokens = SpecialTokens.SPECIAL) -> Encoding:
        """Tokens of ``text`` without BOS/EOS, with spans that tile the text."""

    def encode_batch(
        self, texts: list[str], special: SpecialTokens = SpecialTokens.SPECIAL
    ) -> list[Encoding]:
        """Encode several texts; backends override this to use both cores."""
        return [self.encode(t, special) for t in texts]

    def warm_up(self) -> None:
        """Encode a tiny text on the calling thread, before any other thread does: call it
        from the thread whose encodes must be fastest. tiktoken's regex engine keeps a
        lock-free cache for the first thread that uses it; the others take a locked path
        (~10 % slower per small encode)."""
        self.encode("\n")

    @abstractmethod
    def token_bytes(self, token_id: int) -> bytes:
        """The bytes a token stands for (a special token: its text in UTF-8)."""

    @abstractmethod
    def token_text(self, token_id: int) -> str:
        """The token as written in the vocabulary (``Ġthe``, ``▁the``, ``<|im_start|>``)."""

    @abstractmethod
    def is_special(self, token_id: int) -> bool: ...

    @property
    @abstractmethod
    def special_tokens(self) -> dict[str, int]: ...

    @property
    def added_tokens(self) -> AddedTokens:
        return AddedTokens()

    @property
    def chat_template(self) -> str | None:
        return None

    def count(self, text: str, special: SpecialTokens = SpecialTokens.SPECIAL) -> int:
        return len(self.encode(text, special))

    def decode_bytes(self, ids) -> bytes:
        return b"".join(self.token_bytes(int(i)) for i in ids)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def context_window(self) -> int | None:
        return self.info.context_window

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.info.name} from {self.info.source}>"


# How ``show``, the hover and clients make whitespace visible (``\r\n`` reads ``␍↵``).
VISIBLE_WHITESPACE = {" ": "␣", "\n": "↵", "\r": "␍", "\t": "⇥"}
_VISIBLE = str.maketrans(VISIBLE_WHITESPACE)


def visible_whitespace(text: str) -> str:
    """Make whitespace visible the way the hover and ``show`` do: ␣ ↵ ⇥."""
    return text.translate(_VISIBLE)
