"""Shared fixtures: the local test vocabularies, an isolated cache, loaded tokenizers and a
mixed corpus.

- ``testdata_models``: the folder with llama.cpp's GGUF vocabularies (``make testdata``).
- ``tokenizer("llama3")``: a loaded tokenizer by name (see ``TOKENIZER_NAMES``).
- ``each_tokenizer``: parametrizes a test over all of them.
- ``CORPUS`` / ``corpus`` / ``corpus_sample``: texts that exercise the hard cases.

For the whole session ``TOKENPRISM_CACHE_DIR`` points into a temporary folder (nothing
leaks into the user's cache) and ``TOKENPRISM_GGUF_PATH`` at the test vocabularies, so the
aliases resolve to local GGUF files; both are set in ``os.environ``, so servers started as
subprocesses see them too.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

LLAMA_CPP_VERSION = "0.3.36"
TIKTOKEN_NAMES = ("o200k_base", "cl100k_base")
GGUF_NAMES = ("llama3", "phi3", "qwen2", "starcoder2", "gpt2")
TOKENIZER_NAMES = TIKTOKEN_NAMES + GGUF_NAMES
# The GGUF file behind each alias (llama.cpp's names).
GGUF_FILES = {
    "llama3": "ggml-vocab-llama-bpe.gguf",
    "phi3": "ggml-vocab-phi-3.gguf",
    "qwen2": "ggml-vocab-qwen2.gguf",
    "starcoder2": "ggml-vocab-starcoder.gguf",
    "gpt2": "ggml-vocab-gpt-2.gguf",
}

CORPUS: dict[str, str] = {
    "python": (
        "def fib(n: int) -> int:\n"
        "\t\"\"\"Return the n-th Fibonacci number.\"\"\"\n"
        "    a, b = 0, 1\n"
        "    for _ in range(n):\n"
        "        a, b = b, a + b  # 12345678 and 3.14159\n"
        "    return a\n"
    ),
    "prose": (
        "Tokenizers don't cut text at words. They've learned pieces, and you're billed for each "
        "one: 'THE', 'the' and ' The' are different tokens. Prices: $0.002/1K, 1,000,000 tokens.\n"
    ),
    "korean": "안녕하세요, 세계! 한국어 토큰화는 음절마다 다릅니다. 값은 3개입니다.\n",
    "cjk": "東京は日本の首都です。北京是中国的首都。漢字とひらがなとカタカナ。\n",
    "emoji": (
        "smile 🙂 family 👨\u200d👩\u200d👧\u200d👦 rainbow flag 🏳\ufe0f\u200d🌈 "
        "thumbs 👍🏽 flag 🇰🇷 keycap 1\ufe0f\u20e3 astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎\n"
    ),
    "crlf": "first line\r\nsecond line\r\n\r\nafter a blank line\rlone CR\n",
    "whitespace": "\ttab\t\ttabs\n  two  spaces    four        eight\n \n\n\n   \t \n",
    "special_text": (
        "<|endoftext|>The end.<|endoftext|>\n<|im_start|>user\nhi<|im_end|>\n"
        "<s> and </s> and <|begin_of_text|> and <|user|>\n"
    ),
    "combining": "e\u0301te\u0301 Ame\u0301lie, n\u0303, Ä vs A\u0308, 𝔄, ½, ﬁ ligature, µ\n",
    "mixed": (
        "# Notes — résumé ✓\r\n"
        "x = {'key': [1, 2, 3]}\t# 코드 コード 代码 🧑\u200d💻\n"
        "    <|endoftext|>  \u00a0non-breaking\u2003em space\n"
    ),
}


@pytest.fixture(scope="session", autouse=True)
def _tokenprism_environment(tmp_path_factory):
    """An isolated cache, and the aliases pointed at the local vocabularies when present."""
    saved = {k: os.environ.get(k)
             for k in ("TOKENPRISM_CACHE_DIR", "TOKENPRISM_GGUF_PATH", "TRANSFORMERS_VERBOSITY")}
    os.environ["TOKENPRISM_CACHE_DIR"] = str(tmp_path_factory.mktemp("tokenprism-cache"))
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    models = _models_dir()
    if models.is_dir():
        os.environ["TOKENPRISM_GGUF_PATH"] = str(models)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _models_dir() -> Path:
    root = Path(os.environ.get("TOKENPRISM_TESTDATA") or "~/.cache/tokenprism-testdata").expanduser()
    return root / f"llama.cpp-{LLAMA_CPP_VERSION}" / "models"


@pytest.fixture(scope="session")
def testdata_models() -> Path:
    """The folder with llama.cpp's GGUF test vocabularies, reference ids and templates."""
    models = _models_dir()
    missing = [name for name in GGUF_FILES.values() if not (models / name).is_file()]
    if missing:
        pytest.fail(f"test vocabularies missing in {models} ({', '.join(missing)}): run `make testdata`")
    os.environ["TOKENPRISM_GGUF_PATH"] = str(models)
    return models


@pytest.fixture(scope="session")
def tokenizer(testdata_models):
    """``tokenizer(name)`` -> the loaded tokenizer; GGUF ones come from the local vocabularies."""
    from tokenprism.tokenization import load_tokenizer

    def load(name: str):
        if name not in TOKENIZER_NAMES:
            raise ValueError(f"unknown test tokenizer {name!r}; use one of {', '.join(TOKENIZER_NAMES)}")
        loaded = load_tokenizer(name)
        if name in GGUF_NAMES:  # guard against a hub or user-cache tokenizer sneaking in
            assert loaded.info.kind == "gguf" and Path(loaded.info.source).name == GGUF_FILES[name], loaded
        return loaded

    return load


@pytest.fixture(params=TOKENIZER_NAMES)
def each_tokenizer(request, tokenizer):
    """Runs the test once per tokenizer in ``TOKENIZER_NAMES``."""
    return tokenizer(request.param)


@pytest.fixture(scope="session")
def corpus() -> dict[str, str]:
    return dict(CORPUS)


@pytest.fixture(params=list(CORPUS))
def corpus_sample(request) -> tuple[str, str]:
    """Runs the test once per corpus text: ``(name, text)``."""
    return request.param, CORPUS[request.param]
