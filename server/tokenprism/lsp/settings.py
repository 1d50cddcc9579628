"""The server's settings (section ``tokenprism``): typed, defaulted, validated.

They come from ``initializationOptions`` and ``workspace/configuration`` and are re-read on
``workspace/didChangeConfiguration``. A bad value falls back to its default and is reported
as one line; it never stops the other settings from applying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from ..tokenization import DEFAULT_MODEL, LoadOptions, SpecialTokens
from ..tokenization.compare import DEFAULT_COMPARE_MODELS, parse_model_list
from ..tokenization.model_catalog import Override, parse_overrides
from ..tokenization.notebook import CellSelection

SECTION = "tokenprism"


class InlayHintMode(str, Enum):
    COUNTS = "counts"  # the token count at the end of each non-empty line
    BOUNDARIES = "boundaries"  # a marker at every token boundary
    OFF = "off"


class ColorMode(str, Enum):
    OFF = "off"
    FOREGROUND = "foreground"  # semantic tokens: the theme's colours for alternate tokens
    BACKGROUND = "background"  # pastel bands drawn by the client from tokenprism/tokenRanges


def default_gguf_search_paths() -> tuple[str, ...]:
    """The usual local model folders of Ollama, LM Studio and llama.cpp that exist here."""
    home = Path.home()
    candidates = [
        home / ".ollama" / "models",
        Path("/usr/share/ollama/.ollama/models"),
        home / ".lmstudio" / "models",
        home / ".cache" / "lm-studio" / "models",
        home / ".cache" / "llama.cpp",
        home / "Library" / "Caches" / "llama.cpp",
    ]
    return tuple(str(p) for p in candidates if p.is_dir())


@dataclass(frozen=True)
class Budget:
    """``tokenprism.budget``: a number of tokens, a share of the context window or input dollars."""

    kind: str  # "tokens" | "share" | "usd"
    value: float  # tokens, a fraction (0.8 for "80%"), or USD
    spec: str  # as the user wrote it: "8000", "80%", "$0.05"


def parse_budget(value: Any) -> Budget | None:
    """``8000`` / ``"8000"`` tokens, ``"80%"`` of the window, ``"$0.05"`` of input cost; ``0``,
    ``""`` or null: off. Raises ValueError with a one-line message for anything else."""
    text = value.strip().replace(",", "").replace("_", "") if isinstance(value, str) else None
    if text == "":
        return None
    try:
        if text is None:
            tokens = _non_negative_int(value)
            return Budget("tokens", tokens, str(tokens)) if tokens else None
        if text.endswith("%"):
            share = float(text[:-1]) / 100
            if 0 < share < float("inf"):
                return Budget("share", share, text)
        elif text.startswith("$"):
            usd = float(text[1:])
            if 0 < usd < float("inf"):
                return Budget("usd", usd, text)
        else:
            tokens = _non_negative_int(float(text))
            return Budget("tokens", tokens, text) if tokens else None
    except ValueError:
        pass
    raise ValueError(
        f"expected a number of tokens (8000), a share of the context window (\"80%\") or an input cost"
        f" (\"$0.05\"), got {value!r}"
    )


@dataclass(frozen=True)
class Settings:
    model: str = DEFAULT_MODEL
    model_by_language: dict[str, str] = field(default_factory=dict)
    inlay_hints_mode: InlayHintMode = InlayHintMode.COUNTS
    colorize: ColorMode = ColorMode.OFF
    special_tokens: SpecialTokens = SpecialTokens.SPECIAL
    budget: Budget | None = None  # None: off
    gguf_search_paths: tuple[str, ...] | None = None  # None: the default folders
    max_document_characters: int = 20_000_000  # larger documents are not tokenized
    chat_template: str | None = None  # a .jinja file or tokenizer_config.json; None: the model's own
    chat_template_outside_workspace: bool = False  # chatTemplate may name a file outside the workspace
    compare_models: tuple[str, ...] = DEFAULT_COMPARE_MODELS  # tokenprism/compare without "models"
    notebook_cells: CellSelection = CellSelection.ALL  # which cells a notebook's total counts
    prices: dict[str, Override] = field(default_factory=dict)  # tokenprism.prices, the valid entries

    def model_for(self, language_id: str | None) -> str:
        return self.model_by_language.get(language_id or "", self.model)

    def search_paths(self) -> tuple[str, ...]:
        if self.gguf_search_paths is None:
            return default_gguf_search_paths()
        return self.gguf_search_paths

    def load_options(self) -> LoadOptions:
        """How tokenizers load: the GGUF folders, and the tokenizers ``tokenprism.prices`` entries name."""
        tokenizers = tuple(sorted((name, o.tokenizer) for name, o in self.prices.items() if o.tokenizer))
        return LoadOptions(gguf_search_paths=tuple(self.search_paths()), model_tokenizers=tokenizers)

    @classmethod
    def from_dict(cls, raw: Any) -> tuple[Settings, list[str]]:
        """Settings from a JSON object (nested ``{"inlayHints": {"mode": ..}}`` or dotted
        ``{"inlayHints.mode": ..}`` keys, optionally wrapped in ``{"tokenprism": ..}``).
        Returns the settings and one message per ignored value."""
        problems: list[str] = []
        data = _flatten(_unwrap(raw))
        values: dict[str, Any] = {}

        def take(key: str, attr: str, convert) -> None:
            if key not in data or data[key] is None:
                return
            try:
                values[attr] = convert(data[key])
            except (TypeError, ValueError) as exc:
                problems.append(f"{SECTION}.{key}: {exc}; using the default")

        take("model", "model", _non_empty_string)
        take("modelByLanguage", "model_by_language", _string_map)
        take("inlayHints.mode", "inlay_hints_mode", lambda v: _choice(InlayHintMode, v))
        take("colorize", "colorize", _color_mode)
        take("specialTokens", "special_tokens", lambda v: _choice(SpecialTokens, v))
        take("budget", "budget", parse_budget)
        take("gguf.searchPaths", "gguf_search_paths", _search_paths)
        take("maxDocumentCharacters", "max_document_characters", _non_negative_int)
        take("chatTemplate", "chat_template", _optional_path)
        take("chatTemplate.allowOutsideWorkspace", "chat_template_outside_workspace", _boolean)
        take("compareModels", "compare_models", _model_list)
        take("notebook.cells", "notebook_cells", lambda v: _choice(CellSelection, v))
        if data.get("prices") is not None:
            values["prices"], bad = parse_overrides(data["prices"])
            if bad:  # one line for all of them: the good entries still apply
                ignored = "ignored" if len(bad) == 1 else f"{len(bad)} entries ignored"
                problems.append("; ".join(bad) + f" ({ignored})")
        return cls(**values), problems


def _unwrap(raw: Any) -> dict:
    if raw is None:
        return {}
    if hasattr(raw, "_asdict"):  # pygls gives custom JSON objects as namedtuples
        raw = to_plain(raw)
    if not isinstance(raw, dict):
        return {}
    inner = raw.get(SECTION)
    return inner if isinstance(inner, dict) else raw


def _flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in ("modelByLanguage", "prices"):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def to_plain(value: Any) -> Any:
    """Turn pygls's namedtuple objects back into dicts and lists, recursively."""
    if hasattr(value, "_asdict"):
        return {k: to_plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def _non_empty_string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a model name, got {value!r}")
    return value.strip()


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError(f"expected an object like {{\"python\": \"starcoder2\"}}, got {value!r}")
    return {str(k): _non_empty_string(v) for k, v in value.items()}


def _choice(enum: type[Enum], value: Any):
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise ValueError(f"expected one of {allowed}, got {value!r}") from None


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _color_mode(value: Any) -> ColorMode:
    """A mode name; ``true`` / ``false`` (the setting was a boolean once) mean foreground / off."""
    if isinstance(value, bool):
        return ColorMode.FOREGROUND if value else ColorMode.OFF
    try:
        return ColorMode(value)
    except ValueError:
        raise ValueError(f"expected 'off', 'foreground' or 'background', got {value!r}") from None


def _non_negative_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != int(value):
        raise ValueError(f"expected a whole number >= 0, got {value!r}")
    return int(value)


def _search_paths(value: Any) -> tuple[str, ...] | None:
    """Folders; an empty list (VS Code's default) means the usual model folders."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of folders, got {value!r}")
    return tuple(value) or None


def _optional_path(value: Any) -> str | None:
    if not isinstance(value, str):
        raise ValueError(f"expected a file path, got {value!r}")
    return value.strip() or None  # "": the model's own template


def _model_list(value: Any) -> tuple[str, ...]:
    """``["a", "b"]`` or ``"a, b"``; blanks and repeats dropped."""
    valid = isinstance(value, str) or (
        isinstance(value, (list, tuple)) and all(isinstance(m, str) for m in value)
    )
    models = parse_model_list(value) if valid else []
    if not models:
        raise ValueError(f"expected a list of model names, got {value!r}")
    return tuple(models)
