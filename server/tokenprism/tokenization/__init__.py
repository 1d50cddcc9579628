"""The tokenizer layer: text in, exact tokens out. No LSP types here."""

from .base import AddedTokens, SpecialTokens, Tokenizer, TokenizerInfo, visible_whitespace
from .encoding import CONTINUES, SPECIAL, Encoding, Segment, Token
from .errors import Reason, TokenizerLoadError
from .registry import load_tokenizer
from .spec import ALIASES, DEFAULT_MODEL, OPENAI_MODELS, LoadOptions, resolve

__all__ = [
    "ALIASES", "AddedTokens", "CONTINUES", "DEFAULT_MODEL", "Encoding", "LoadOptions",
    "OPENAI_MODELS", "Reason", "SPECIAL", "Segment", "SpecialTokens", "Token", "Tokenizer",
    "TokenizerInfo", "TokenizerLoadError", "load_tokenizer", "resolve", "visible_whitespace",
]
