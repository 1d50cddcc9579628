"""Mistral's vocabularies, as ``mistral-common`` ships and reads them: Tekken (tiktoken) and
SentencePiece v3.

Tekken (``tekken.py``)
Tekken is tiktoken with the special tokens first: ids 0..N-1 are the N special tokens
(``<unk>``, ``<s>``, ``[INST]``… then ``<SPECIAL_k>`` fillers), and vocabulary rank r is
id r + N; only the first ``default_vocab_size - N`` ranks are used. mistral-common's own
``encode`` never reads special-token text as a special token; here that is
``SpecialTokens.TEXT``, while ``SPECIAL`` reads ``[INST]`` and the like as their control
tokens, as Hugging Face's Mistral tokenizers do.

SentencePiece v3 (Mistral 7B v0.3, Mixtral 8x22B, Codestral 22B) and v7 (Mistral Large 2411,
the v3 vocabulary with system-prompt control tokens): the ``.model`` file is read
with ``sentencepiece`` and converted to a Rust ``tokenizers`` BPE by transformers' GGUF
converter (the same pieces, scores and token types a GGUF carries), with SentencePiece's
dummy prefix always added, as Hugging Face's own Mistral tokenizer.json files do.
"""

from __future__ import annotations

import base64
import json
from functools import cached_property
from pathlib import Path

import numpy as np

from .base import AddedTokens, SpecialTokens, TokenizerInfo
from .encoding import CONTINUES, Encoding
from .errors import Reason, TokenizerLoadError
from .huggingface import HuggingFaceTokenizer
from .openai import TiktokenDefinition, TiktokenTokenizer
from .packaged import PackagedSpec, source_name

# Nemo, Ministral, Mistral Small 2409 (mistral-common's MODEL_NAME_TO_TOKENIZER_CLS); the
# 240911 file (Pixtral) has the same vocabulary and an image section.
TEKKEN_FILE = "tekken_240718.json"
SENTENCEPIECE_FILES = {  # spec -> the file mistral-common's MistralTokenizer.v3() / .v7() read
    "mistral-v3": "mistral_instruct_tokenizer_240323.model.v3",
    "mistral-v7": "mistral_instruct_tokenizer_241114.model.v7",
}
# GGUF token types, as transformers' converter reads them
_NORMAL, _UNKNOWN, _CONTROL, _BYTE = 1, 2, 3, 6


def _chat_template(path: Path) -> str:
    """The Jinja template mistral-common generates for a tokenizer file (its instruct format)."""
    from mistral_common.integrations.chat_templates.chat_templates import convert_tokenizer_to_chat_template

    return convert_tokenizer_to_chat_template(path)


def _special_tokens(data: dict, count: int) -> list[str]:
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    listed = data.get("special_tokens")
    defined = Tekkenizer.DEPRECATED_SPECIAL_TOKENS if listed is None else listed
    ordered = sorted(defined, key=lambda t: t["rank"])
    tokens = [str(getattr(t["token_str"], "value", t["token_str"])) for t in ordered]  # str or str Enum
    return tokens + [Tekkenizer.SPECIAL_TOKEN_TEMPLATE.format(id=i) for i in range(len(tokens), count)]


class TekkenTokenizer(TiktokenTokenizer):
    def __init__(self, definition: TiktokenDefinition, spec: str, path: Path):
        super().__init__(definition, spec)
        self._path = path

    @property
    def config(self) -> dict:
        """The token names the chat template uses (mistral-common's bos_id is ``<s>``)."""
        return {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}

    @property
    def added_tokens(self) -> AddedTokens:
        """mistral-common starts every prompt with ``<s>`` (``encode(text, bos=True, …)``)."""
        return AddedTokens(prefix=(self._special["<s>"],))

    @cached_property
    def chat_template(self) -> str | None:
        return _chat_template(self._path)


def load_tekken(root: Path, packaged: PackagedSpec, spec: str) -> TekkenTokenizer:
    path = root / "data" / TEKKEN_FILE
    data = json.loads(path.read_bytes())
    config = data["config"]
    n_special = config["default_num_special_tokens"]
    inner = config["default_vocab_size"] - n_special
    ranks = {base64.b64decode(t["token_bytes"]): n_special + t["rank"] for t in data["vocab"][:inner]}
    special = {token: i for i, token in enumerate(_special_tokens(data, n_special))}
    definition = TiktokenDefinition(
        packaged.name, config["pattern"], ranks, special, source_name(packaged, f"data/{TEKKEN_FILE}")
    )
    return TekkenTokenizer(definition, spec, path)


class MistralSentencePieceTokenizer(HuggingFaceTokenizer):
    """SentencePiece's dummy prefix: one ``▁`` before the text, even before a leading space,
    and none after a control token (what mistral-common's chat template expects). Hugging
    Face's normalizers add it before every piece between added tokens, and its Metaspace
    skips it before a leading space, so the prefix is a space added here and taken off the
    offsets again."""

    def __init__(self, *args, path: Path, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = path
        added = self._encoder.get_added_tokens_decoder()
        self._added_texts = tuple(added[i].content for i in self._added_ids)

    def _prefixed(self, text: str, special: SpecialTokens) -> bool:
        return bool(text) and not (special is SpecialTokens.SPECIAL and text.startswith(self._added_texts))

    def _without_prefix(self, enc: Encoding, text: str) -> Encoding:
        enc.ends = np.maximum(enc.ends - 1, 0).astype(enc.ends.dtype)
        enc.text_length = len(text)
        if len(enc) > 1 and enc.ends[0] == 0:  # the prefix alone ("▁" before "▁lead"): one segment
            enc.flags[1] |= CONTINUES
        return enc

    def encode(self, text: str, special: SpecialTokens = SpecialTokens.SPECIAL) -> Encoding:
        if not self._prefixed(text, special):
            return super().encode(text, special)
        return self._without_prefix(super().encode(" " + text, special), text)

    def encode_batch(self, texts, special=SpecialTokens.SPECIAL):
        texts = list(texts)
        prefixed = [self._prefixed(t, special) for t in texts]
        encs = super().encode_batch([" " + t if p else t for t, p in zip(texts, prefixed)], special)
        return [self._without_prefix(e, t) if p else e for e, t, p in zip(encs, texts, prefixed)]

    @cached_property
    def chat_template(self) -> str | None:
        return _chat_template(self._path)


def load_sentencepiece(root: Path, packaged: PackagedSpec, spec: str) -> MistralSentencePieceTokenizer:
    try:
        import sentencepiece
    except ImportError as exc:
        raise TokenizerLoadError(
            spec, Reason.NOT_FOUND,
            f"{packaged.name} needs the package 'sentencepiece': pip install 'tokenprism[{packaged.extra}]'",
        ) from exc
    from tokenizers import normalizers
    from transformers.integrations.gguf.gguf_tokenizer_mapping import convert_gguf_tokenizer

    file = SENTENCEPIECE_FILES[packaged.name]
    path = root / "data" / file
    model = sentencepiece.SentencePieceProcessor(model_file=str(path))
    ids = range(model.get_piece_size())
    kinds = ((model.is_unknown, _UNKNOWN), (model.is_control, _CONTROL), (model.is_byte, _BYTE))
    fields = {
        "tokenizer_type": "llama",
        "tokens": [model.id_to_piece(i) for i in ids],
        "scores": [model.get_score(i) for i in ids],
        "token_type": [next((kind for test, kind in kinds if test(i)), _NORMAL) for i in ids],
        "bos_token_id": model.bos_id(),
        "eos_token_id": model.eos_id(),
        "unk_token_id": model.unk_id(),
    }
    backend, _ = convert_gguf_tokenizer("llama", fields)
    backend.normalizer = normalizers.Replace(" ", "\u2581")  # the dummy prefix is added by the class
    backend.pre_tokenizer = None
    config = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True}
    info = TokenizerInfo(
        spec=spec, name=packaged.name, kind="huggingface",
        source=source_name(packaged, f"data/{file}"),
        vocab_size=backend.get_vocab_size(with_added_tokens=True),
    )
    return MistralSentencePieceTokenizer(backend, info, config, owned=True, path=path)
