"""Hugging Face tokenizers: a hub id (with revision), a local directory, a tokenizer.json.

Encoding runs on the Rust ``tokenizers.Tokenizer`` directly; ``transformers`` is only
imported for ``from_pretrained`` and chat templates.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from .base import AddedTokens, SpecialTokens, Tokenizer, TokenizerInfo, sane_context_window
from .encoding import Encoding, tile_from_byte_lengths, tile_from_char_spans
from .errors import Reason, TokenizerLoadError
from .files import MAX_CONFIG_JSON, MAX_TEMPLATE, MAX_TOKENIZER_JSON, load_error, read_bytes

_BYTE_TOKEN = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


def _byte_level_decoder() -> dict[str, int]:
    """Inverse of GPT-2's bytes_to_unicode: the printable stand-ins for raw bytes."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1)
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def _byte_level_translation() -> dict[int, int]:
    """A ``str.translate`` table from byte-level spelling to latin-1 code points; any
    other character below 256 maps to U+FFFF so that ``.encode("latin-1")`` fails."""
    table = {ord(c): b for c, b in _byte_level_decoder().items()}
    for code in range(256):
        table.setdefault(code, 0xFFFF)
    return table


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(text: str) -> str:
    """U+FFFD for each lone surrogate, as tiktoken does and as an editor saves it: the text keeps
    its length in characters, so spans still tile it."""
    return _LONE_SURROGATE.sub("\ufffd", text)


# Per-id tables (texts, bytes, flags) are as long as the largest id. A real vocabulary's ids are
# dense up to a few added tokens, so an id beyond this slack is refused rather than costing
# gigabytes for a 500-byte file.
ID_SLACK = 1 << 16


def _table_size(vocab: dict[str, int], info: TokenizerInfo) -> int:
    if not vocab:
        return 0
    largest = max(vocab.values())
    if largest >= 2 * len(vocab) + ID_SLACK or min(vocab.values()) < 0:
        token = max(vocab, key=vocab.get) if largest >= 0 else min(vocab, key=vocab.get)
        raise TokenizerLoadError(
            info.spec, Reason.CORRUPT,
            f"{info.source}: token {token!r} has id {vocab[token]:,}, far outside a vocabulary of"
            f" {len(vocab):,} entries (ids must run from 0 to at most {2 * len(vocab) + ID_SLACK - 1:,})",
        )
    return largest + 1


def _no_normalizer(encoder) -> bool:
    """No normalizer, or one that changes nothing (DeepSeek's empty ``Sequence``)."""
    normalizer = encoder.normalizer
    return normalizer is None or normalizer.__getstate__() == b'{"type":"Sequence","normalizers":[]}'


class HuggingFaceTokenizer(Tokenizer):
    """Wraps a ``tokenizers.Tokenizer``; ``config`` carries tokenizer_config-style
    fields (``chat_template``, ``bos_token``, ``eos_token``, ``add_bos_token``…).

    With ``owned=True`` the caller hands the backend over (it was just read from a file),
    so it is used directly instead of being copied — copying a 128k vocabulary costs
    about a second.
    """

    def __init__(
        self, backend, info: TokenizerInfo, config: dict | None = None, hf_tokenizer=None, *,
        owned: bool = False,
    ):
        from tokenizers import Tokenizer as RustTokenizer

        self.info = info
        self._config = dict(config or {})
        self._hf = hf_tokenizer  # a transformers tokenizer when we have one
        self._lock = threading.Lock()
        # Our encoder never adds BOS/EOS and never trims offsets, so it runs without the
        # post-processor; the post-processor is kept to tell what it would add.
        self._post_processor = backend.post_processor
        if owned:
            self._original = None  # rebuilt on demand by .backend
            encoder = backend
        else:
            self._original = backend
            encoder = RustTokenizer.from_str(backend.to_str())
        encoder.post_processor = None
        self._encoder = encoder
        self._text_encoder = None  # built on first use with special tokens read as text
        # the vocabulary dict is not kept: its table and id objects were ~9 MB for 128k
        # tokens, and the encoder answers the rare text → id question itself
        vocab = encoder.get_vocab(with_added_tokens=True)
        size = _table_size(vocab, info)
        self._strings = [""] * size
        for text, i in vocab.items():
            self._strings[i] = text
        del vocab
        added = encoder.get_added_tokens_decoder()
        self._special = {token.content: i for i, token in added.items() if token.special}
        self._added_ids = set(added)
        self._is_special = np.zeros(size, bool)
        if self._special:
            self._is_special[list(self._special.values())] = True
        self._bytes = self._token_bytes_table(encoder)
        self._byte_lengths = np.fromiter((len(b) for b in self._bytes), np.int64, size)
        # Byte-level tokenizers without a normalizer reproduce the text's bytes exactly,
        # so offsets come from byte lengths (fast, vectorized) instead of per-token tuples.
        self._bytes_tile_text = _no_normalizer(encoder) and self._kind == "byte-level"

    # -- vocabulary ---------------------------------------------------------------------------

    def _token_bytes_table(self, encoder) -> list[bytes]:
        decoder = encoder.decoder.__getstate__().decode("utf-8") if encoder.decoder is not None else ""
        model = encoder.model
        model_type = type(model).__name__
        if '"ByteLevel"' in decoder:
            self._kind = "byte-level"
        elif model_type == "WordPiece":
            self._kind = "wordpiece"
        elif "\u2581" in decoder or '"Metaspace"' in decoder or getattr(model, "byte_fallback", False):
            self._kind = "sentencepiece"
        else:
            self._kind = "plain"
        to_bytes = _byte_level_translation() if self._kind == "byte-level" else None
        prefix = (model.continuing_subword_prefix or "##") if self._kind == "wordpiece" else None
        table = []
        for i, s in enumerate(self._strings):
            if i in self._added_ids:
                table.append(s.encode("utf-8"))
            elif to_bytes is not None:
                try:
                    table.append(s.translate(to_bytes).encode("latin-1"))
                except UnicodeEncodeError:  # not spelled in the byte alphabet
                    table.append(s.encode("utf-8"))
            elif self._kind == "sentencepiece":
                m = _BYTE_TOKEN.match(s)
                table.append(bytes([int(m.group(1), 16)]) if m else s.replace("\u2581", " ").encode("utf-8"))
            elif prefix is not None and s.startswith(prefix):
                table.append(s[len(prefix):].encode("utf-8"))
            else:
                table.append(s.encode("utf-8"))
        return table

    @property
    def model_kind(self) -> str:
        """byte-level, sentencepiece, wordpiece or plain."""
        return self._kind

    def token_bytes(self, token_id: int) -> bytes:
        return self._bytes[token_id]

    def token_text(self, token_id: int) -> str:
        return self._strings[token_id]

    def is_special(self, token_id: int) -> bool:
        return 0 <= token_id < len(self._is_special) and bool(self._is_special[token_id])

    @property
    def special_tokens(self) -> dict[str, int]:
        return dict(self._special)

    @property
    def backend(self):
        """The Rust tokenizer as loaded (with its post-processor)."""
        with self._lock:
            if self._original is None:
                from tokenizers import Tokenizer as RustTokenizer

                original = RustTokenizer.from_str(self._encoder.to_str())
                original.post_processor = self._post_processor
                self._original = original
            return self._original

    @property
    def config(self) -> dict:
        return dict(self._config)

    # -- encoding -----------------------------------------------------------------------------

    def _encoder_for(self, special: SpecialTokens):
        if special is SpecialTokens.SPECIAL:
            return self._encoder
        with self._lock:
            if self._text_encoder is None:
                from tokenizers import Tokenizer as RustTokenizer

                enc = RustTokenizer.from_str(self._encoder.to_str())
                enc.encode_special_tokens = True
                self._text_encoder = enc
            return self._text_encoder

    def _to_encoding(self, text: str, enc) -> Encoding:
        ids = np.asarray(enc.ids, np.int64)
        if len(ids) == 0:
            return Encoding.empty(len(text))
        special = self._is_special[ids]
        if self._bytes_tile_text:
            tiled = tile_from_byte_lengths(ids, self._byte_lengths[ids], special, text)
            if tiled is not None:
                return tiled
        return tile_from_char_spans(ids, np.asarray(enc.offsets, np.int64), special, len(text))

    def encode(self, text: str, special: SpecialTokens = SpecialTokens.SPECIAL) -> Encoding:
        encoder = self._encoder_for(special)
        try:
            enc = encoder.encode(text, add_special_tokens=False)
        except TypeError:  # lone surrogates: the Rust side takes only valid Unicode
            text = _without_lone_surrogates(text)
            enc = encoder.encode(text, add_special_tokens=False)
        return self._to_encoding(text, enc)

    def encode_batch(self, texts, special=SpecialTokens.SPECIAL):
        # The Rust side parallelizes a batch over both cores.
        encoder = self._encoder_for(special)
        texts = list(texts)
        try:
            encs = encoder.encode_batch(texts, add_special_tokens=False)
        except TypeError:
            texts = [_without_lone_surrogates(t) for t in texts]
            encs = encoder.encode_batch(texts, add_special_tokens=False)
        # each backend encoding (per-token strings, offsets, masks: ~90 bytes a token) is
        # dropped as soon as it is converted, not when the whole batch is
        encs.reverse()
        return [self._to_encoding(t, encs.pop()) for t in texts]

    @cached_property
    def added_tokens(self) -> AddedTokens:
        """What the tokenizer's post-processor (or config) would add around a text."""
        encoding = self._encoder.encode("x", add_special_tokens=False)
        plain = encoding.ids
        processor = self._post_processor
        full = processor.process(encoding, add_special_tokens=True).ids if processor is not None else plain
        prefix, suffix = (), ()
        if plain and len(full) >= len(plain):
            for k in range(len(full) - len(plain) + 1):
                if full[k : k + len(plain)] == plain:
                    prefix, suffix = tuple(full[:k]), tuple(full[k + len(plain) :])
                    break
        if not prefix and self._config.get("add_bos_token") and self._config.get("bos_token"):
            bos = self._encoder.token_to_id(self._config["bos_token"])
            if bos is not None:
                prefix = (bos,)
        if not suffix and self._config.get("add_eos_token") and self._config.get("eos_token"):
            eos = self._encoder.token_to_id(self._config["eos_token"])
            if eos is not None:
                suffix = (eos,)
        return AddedTokens(prefix, suffix)

    @property
    def chat_template(self) -> str | None:
        template = self._config.get("chat_template")
        if template is None and self._hf is not None:
            template = getattr(self._hf, "chat_template", None)
        if isinstance(template, list):  # tokenizer_config may hold named templates
            named = {t.get("name"): t.get("template") for t in template}
            template = named.get("default") or next(iter(named.values()), None)
        return template

    def transformers_tokenizer(self):
        """A ``PreTrainedTokenizerFast`` over the same vocabulary (for apply_chat_template)."""
        if self._hf is None:
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            from transformers import PreTrainedTokenizerFast

            fields = {
                k: v
                for k, v in self._config.items()
                if k in ("bos_token", "eos_token", "unk_token", "pad_token", "chat_template")
                and v is not None
            }
            self._hf = PreTrainedTokenizerFast(tokenizer_object=self.backend, **fields)
        return self._hf


# -- loading -------------------------------------------------------------------------------------


def load_tokenizer_json(path: Path, spec: str, config: dict | None = None) -> HuggingFaceTokenizer:
    from tokenizers import Tokenizer as RustTokenizer

    try:  # read here, not by the Rust side: only a regular file, never blocking, size-capped
        text = read_bytes(path, MAX_TOKENIZER_JSON).decode("utf-8")
    except OSError as exc:
        raise load_error(spec, path, exc) from exc
    except UnicodeDecodeError as exc:
        raise TokenizerLoadError(spec, Reason.CORRUPT, f"{path}: not UTF-8 text ({exc.reason})") from exc
    try:
        backend = RustTokenizer.from_str(text)
    except Exception as exc:  # the Rust side raises plain Exceptions for bad JSON
        raise TokenizerLoadError(spec, Reason.CORRUPT, f"{path}: {exc}") from exc
    del text
    if config is None:
        config = _read_config(path.parent)
    info = TokenizerInfo(
        spec=spec, name=_short_name(spec, path), kind="huggingface", source=str(path),
        vocab_size=backend.get_vocab_size(with_added_tokens=True),
        context_window=sane_context_window(config.get("model_max_length")),
    )
    return HuggingFaceTokenizer(backend, info, config, owned=True)


def _read_config(directory: Path) -> dict:
    config: dict = {}
    cfg = directory / "tokenizer_config.json"
    if cfg.is_file():
        try:
            raw = json.loads(read_bytes(cfg, MAX_CONFIG_JSON))
        except (OSError, ValueError):
            raw = {}
        if not isinstance(raw, dict):
            raw = {}
        for key, value in raw.items():
            if isinstance(value, dict) and "content" in value:  # AddedToken as a dict
                value = value["content"]
            config[key] = value
    jinja = directory / "chat_template.jinja"
    if "chat_template" not in config and jinja.is_file():
        try:
            config["chat_template"] = read_bytes(jinja, MAX_TEMPLATE).decode("utf-8")
        except (OSError, ValueError):  # unreadable, too large or not UTF-8: no template
            pass
    return config


def _short_name(spec: str, path: Path) -> str:
    if path.name == "tokenizer.json":
        return path.parent.name or spec
    return path.stem


def load_directory(path: Path, spec: str) -> HuggingFaceTokenizer:
    tokenizer_json = path / "tokenizer.json"
    if not tokenizer_json.is_file():
        raise TokenizerLoadError(
            spec, Reason.NOT_FOUND, f"{path} has no tokenizer.json (only fast tokenizers are supported)"
        )
    return load_tokenizer_json(tokenizer_json, spec)


_PROBE_SECONDS = 3.0


def _reachable(url: str, timeout: float = _PROBE_SECONDS) -> bool:
    """Whether a TCP connection to ``url``'s host (or the HTTPS proxy) opens within ``timeout``;
    run in a thread because name resolution itself can hang."""
    target = urlsplit(os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy") or url)
    host = target.hostname
    port = target.port or (443 if target.scheme == "https" else 80)
    opened: list[bool] = []

    def probe():
        try:
            with socket.create_connection((host, port), timeout=timeout):
                opened.append(True)
        except (OSError, ValueError):
            pass

    if not host:
        return False
    thread = threading.Thread(target=probe, name="hub-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(opened)


def _hub_offline() -> bool:
    """HF_HUB_OFFLINE is set, or the hub does not answer: then only the local cache is used,
    instead of letting the hub client retry for a minute."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    return not _reachable(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")


def load_hub(repo_id: str, revision: str | None, spec: str) -> HuggingFaceTokenizer:
    """``AutoTokenizer.from_pretrained`` with the normal cache and token; never remote code.

    Offline (no network, or HF_HUB_OFFLINE=1) and not cached fails fast with a message
    that says how to point at a local file instead.
    """
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "5")
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "10")
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise TokenizerLoadError(spec, Reason.NOT_FOUND, f"transformers is not installed: {exc}") from exc
    offline = _hub_offline()
    try:
        hf = AutoTokenizer.from_pretrained(
            repo_id, revision=revision, trust_remote_code=False, local_files_only=offline
        )
    except OSError as exc:
        text = str(exc)
        offline = offline or any(
            marker in text
            for marker in (
                "offline", "connect", "resolve", "Network", "timed out", "cannot find the requested files"
            )
        )
        if offline:
            raise TokenizerLoadError(
                spec,
                Reason.OFFLINE,
                "the Hugging Face hub is unreachable (or HF_HUB_OFFLINE is set) and "
                f"'{repo_id}' is not in the"
                " local cache; download it once online, or set the model to a local tokenizer.json,"
                " tokenizer directory or .gguf file",
            ) from exc
        raise TokenizerLoadError(spec, Reason.NOT_FOUND, text.splitlines()[0] if text else repr(exc)) from exc
    except ValueError as exc:
        raise TokenizerLoadError(spec, Reason.UNSUPPORTED, str(exc)) from exc
    backend = getattr(hf, "backend_tokenizer", None)
    if backend is None:
        raise TokenizerLoadError(spec, Reason.UNSUPPORTED, f"'{repo_id}' has no fast (Rust) tokenizer")
    config = {
        "chat_template": getattr(hf, "chat_template", None),
        "bos_token": getattr(hf, "bos_token", None),
        "eos_token": getattr(hf, "eos_token", None),
        "add_bos_token": getattr(hf, "add_bos_token", None),
        "add_eos_token": getattr(hf, "add_eos_token", None),
    }
    info = TokenizerInfo(
        spec=spec, name=repo_id.split("/")[-1], kind="huggingface",
        source=f"{repo_id}@{revision or 'main'}", vocab_size=len(hf),
        context_window=sane_context_window(getattr(hf, "model_max_length", None)),
    )
    return HuggingFaceTokenizer(backend, info, config, hf_tokenizer=hf)
