"""The tokenizer layer: text in, exact tokens out. No LSP types here."""

from .base import AddedTokens, SpecialTokens, Tokenizer, TokenizerInfo, visible_whitespace
from .encoding import Encoding
from .errors import Reason, TokenizerLoadError
from .queries import CONTINUES, SPECIAL, Segment, Token, TokenQueries, TokenRun
from .registry import load_tokenizer
from .spec import ALIASES, DEFAULT_MODEL, OPENAI_MODELS, LoadOptions, resolve

__all__ = [
    "ALIASES", "AddedTokens", "CONTINUES", "DEFAULT_MODEL", "Encoding", "LoadOptions",
    "OPENAI_MODELS", "Reason", "SPECIAL", "Segment", "SpecialTokens", "Token", "Tokenizer",
    "TokenQueries", "TokenRun", "TokenizerInfo", "TokenizerLoadError", "load_tokenizer", "resolve",
    "visible_whitespace",
]
