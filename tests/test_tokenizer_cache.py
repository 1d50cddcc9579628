"""The registry's cache of loaded tokenizers (issue 15): bounded by estimated memory, least
recently used first, never dropping a tokenizer someone still uses, always keeping the built-in
encodings, and giving the memory back."""

from __future__ import annotations

import gc
import json
import os
import resource
import shutil
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from conftest import GGUF_FILES, GGUF_NAMES
from tokenprism.tokenization import load_tokenizer
from tokenprism.tokenization.registry import is_loaded


@pytest.fixture
def copies(testdata_models, tmp_path) -> dict[str, str]:
    """Each test GGUF under a fresh path: loads that no earlier test has cached."""
    out = {}
    for name in GGUF_NAMES:
        path = tmp_path / GGUF_FILES[name]
        shutil.copyfile(testdata_models / GGUF_FILES[name], path)
        out[name] = str(path)
    return out


def _megabytes(monkeypatch, value: float) -> None:
    monkeypatch.setenv("TOKENPRISM_TOKENIZER_CACHE_MB", str(value))


def test_unused_tokenizers_beyond_the_bound_are_freed(copies, monkeypatch):
    _megabytes(monkeypatch, 100)  # room for Phi-3 + StarCoder2 + GPT-2, not for Llama 3 as well
    first = weakref.ref(load_tokenizer(copies["llama3"]))
    for name in ("phi3", "starcoder2", "gpt2"):
        load_tokenizer(copies[name])
    gc.collect()
    assert first() is None and not is_loaded(copies["llama3"])
    assert all(is_loaded(copies[name]) for name in ("phi3", "starcoder2", "gpt2"))


def test_the_least_recently_used_goes_first(copies, monkeypatch):
    _megabytes(monkeypatch, 100)
    load_tokenizer(copies["phi3"])
    load_tokenizer(copies["starcoder2"])
    load_tokenizer(copies["phi3"])  # used again: now StarCoder2 is the oldest
    load_tokenizer(copies["llama3"])
    gc.collect()
    assert is_loaded(copies["phi3"]) and not is_loaded(copies["starcoder2"])


def test_a_tokenizer_in_use_is_never_loaded_twice(copies, monkeypatch):
    _megabytes(monkeypatch, 0)  # keeps only the newest
    held = load_tokenizer(copies["qwen2"])
    load_tokenizer(copies["gpt2"])
    assert is_loaded(copies["qwen2"])  # evicted from the cache, alive in the caller
    assert load_tokenizer(copies["qwen2"]) is held
    # an alias-named copy keeps its original findable too
    monkeypatch.setenv("TOKENPRISM_GGUF_PATH", str(Path(copies["phi3"]).parent))
    named = load_tokenizer("phi3")
    original = weakref.ref(load_tokenizer(copies["phi3"]))
    load_tokenizer(copies["gpt2"])
    gc.collect()
    assert named.info.name == "phi3" and original() is not None
    assert load_tokenizer(copies["phi3"]) is original()


def test_the_built_in_encodings_are_always_kept(copies, monkeypatch):
    _megabytes(monkeypatch, 0)
    o200k = weakref.ref(load_tokenizer("o200k_base"))
    for name in GGUF_NAMES:
        load_tokenizer(copies[name])
    gc.collect()
    assert o200k() is not None and is_loaded("o200k_base")


_TRY_MODELS = """
import gc, json, sys, time
from tokenprism.tokenization import load_tokenizer

def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

current = load_tokenizer("o200k_base")
current.encode("hello")
at_start = rss_mb()
for spec in sys.argv[1:]:  # a user trying models one after another in the same document
    current = load_tokenizer(spec)
    current.encode("hello world " * 100)
current = load_tokenizer("o200k_base")
gc.collect()
time.sleep(1)  # the allocator is asked to give freed pages back shortly after
print(json.dumps({"start": at_start, "end": rss_mb()}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to read RSS")
def test_trying_many_models_then_switching_back_gives_the_memory_back(copies, tmp_path):
    # twice each test GGUF, under two names: ten loads of ~25-90 MB each, in a 64 MB bound
    specs = list(copies.values())
    for name, path in copies.items():
        again = tmp_path / f"again-{Path(path).name}"
        shutil.copyfile(path, again)
        specs.append(str(again))
    env = dict(os.environ, TOKENPRISM_TOKENIZER_CACHE_MB="64")
    out = subprocess.run(
        [sys.executable, "-c", _TRY_MODELS, *specs], capture_output=True, text=True, timeout=180, env=env,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30)),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rss = json.loads(out.stdout.splitlines()[-1])
    # what stays: the Rust/numpy libraries loaded on the way and at most the bound's worth of vocabularies
    # (keeping all ten costs ~450 MB more)
    assert rss["end"] - rss["start"] < 64 + 80, rss
