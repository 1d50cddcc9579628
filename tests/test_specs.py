"""Model specs: what each form resolves to, local tokenizer.json files and directories, the
hub failing fast offline, and one-line errors for everything that cannot load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CORPUS, GGUF_FILES
from tokenprism.tokenization import (
    ALIASES,
    OPENAI_MODELS,
    LoadOptions,
    Reason,
    SpecialTokens,
    TokenizerLoadError,
    load_tokenizer,
    resolve,
)

# -- resolving ----------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", sorted(OPENAI_MODELS))
def test_openai_names_resolve_to_their_encoding(spec):
    resolved = resolve(spec)
    assert (resolved.kind, resolved.target) == ("tiktoken", OPENAI_MODELS[spec])
    assert resolve(spec.upper()).target == OPENAI_MODELS[spec]


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_aliases_resolve_to_the_local_gguf(alias, testdata_models):
    resolved = resolve(alias)
    assert resolved.kind == "gguf" and resolved.alias == alias
    assert Path(resolved.target) == testdata_models / GGUF_FILES[alias]
    assert load_tokenizer(alias).info.name == alias


def test_aliases_fall_back_to_the_hub_without_a_local_file(monkeypatch, tmp_path):
    monkeypatch.setenv("TOKENPRISM_GGUF_PATH", str(tmp_path))
    resolved = resolve("llama3")
    assert (resolved.kind, resolved.target) == ("hub", ALIASES["llama3"].hub_id)
    # an explicit search path and an explicit alias path both win over the environment
    models = tmp_path / "models"
    models.mkdir()
    (models / "My-Llama-3-8B.Q4_K_M.gguf").write_bytes(b"")
    assert (resolve("llama3", LoadOptions(gguf_search_paths=(str(models),))).target
            == str(models / "My-Llama-3-8B.Q4_K_M.gguf"))
    pinned = LoadOptions(alias_paths=(("llama3", str(models)),))
    assert resolve("llama3", pinned).kind == "directory"


def test_paths_and_hub_ids(tmp_path):
    folder = tmp_path / "tok"
    folder.mkdir()
    (tmp_path / "vocab.json").write_text("{}")
    assert resolve(str(tmp_path / "model.gguf")).kind == "gguf"
    assert resolve(str(folder)).kind == "directory"
    assert resolve(str(tmp_path / "vocab.json")).kind == "tokenizer.json"
    hub = resolve("Qwen/Qwen2.5-7B-Instruct@a1b2c3")
    assert (hub.kind, hub.target, hub.revision) == ("hub", "Qwen/Qwen2.5-7B-Instruct", "a1b2c3")
    assert resolve("hf:gpt2/gpt2").target == "gpt2/gpt2" and resolve("hf:org/name").revision is None


@pytest.mark.parametrize(
    "spec, reason",
    [
        ("", Reason.INVALID),
        ("   ", Reason.INVALID),
        ("hf:no-slash", Reason.INVALID),
        ("a/b/c", Reason.INVALID),
        ("org/@main", Reason.INVALID),
        ("gpt-9-ultra", Reason.NOT_FOUND),
        ("./no/such/tokenizer", Reason.NOT_FOUND),
        ("/no/such/dir/tokenizer.json", Reason.NOT_FOUND),
        ("~/no-such-file.gguf", Reason.NOT_FOUND),
    ],
)
def test_bad_specs_fail_with_one_line(spec, reason):
    with pytest.raises(TokenizerLoadError) as caught:
        load_tokenizer(spec)
    error = caught.value
    assert error.reason is reason, str(error)
    assert "\n" not in str(error) and str(error).startswith(f"cannot load tokenizer '{spec}'")


def test_unknown_name_lists_what_works():
    with pytest.raises(TokenizerLoadError) as caught:
        resolve("gpt-9-ultra")
    message = str(caught.value)
    assert "o200k_base" in message and "llama3" in message and ".gguf" in message


# -- tokenizer.json files and directories -------------------------------------------------------


@pytest.fixture(scope="module")
def exported_phi3(tokenizer, tmp_path_factory) -> Path:
    """Phi-3's GGUF tokenizer written out the way a Hugging Face repo lays it out."""
    phi3 = tokenizer("phi3")
    folder = tmp_path_factory.mktemp("exported") / "phi3-hf"
    folder.mkdir()
    phi3.backend.save(str(folder / "tokenizer.json"))
    config = {key: phi3.config.get(key)
              for key in ("chat_template", "bos_token", "eos_token", "add_bos_token")}
    config["eos_token"] = {"content": config["eos_token"], "special": True}  # the AddedToken form
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize("form", ["tokenizer.json", "directory"])
def test_tokenizer_json_and_directory_load_like_the_gguf(form, exported_phi3, tokenizer):
    phi3 = tokenizer("phi3")
    spec = str(exported_phi3 / "tokenizer.json") if form == "tokenizer.json" else str(exported_phi3)
    loaded = load_tokenizer(spec)
    assert loaded.info.kind == "huggingface" and loaded.info.name == "phi3-hf"
    for text in CORPUS.values():
        for special in SpecialTokens:
            assert loaded.encode(text, special).equals(phi3.encode(text, special))
    assert loaded.added_tokens == phi3.added_tokens
    assert loaded.chat_template == phi3.chat_template and loaded.chat_template
    assert loaded.special_tokens == phi3.special_tokens


def test_broken_local_tokenizers(tmp_path):
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    bad_json = tmp_path / "bad" / "tokenizer.json"
    bad_json.parent.mkdir()
    bad_json.write_text('{"model": "not really"}')
    for spec, reason in ((str(empty_dir), Reason.NOT_FOUND), (str(bad_json), Reason.CORRUPT)):
        with pytest.raises(TokenizerLoadError) as caught:
            load_tokenizer(spec)
        assert caught.value.reason is reason and "\n" not in str(caught.value)


# -- the hub, which this machine cannot reach ---------------------------------------------------

_HUB_SCRIPT = """
import json, time
start = time.perf_counter()
from tokenprism.tokenization import TokenizerLoadError, load_tokenizer
try:
    load_tokenizer("Qwen/Qwen2.5-7B-Instruct@main")
    outcome = {"loaded": True}
except TokenizerLoadError as error:
    outcome = {"loaded": False, "reason": error.reason.name, "message": str(error)}
outcome["seconds"] = time.perf_counter() - start
print(json.dumps(outcome))
"""


@pytest.mark.parametrize("offline_flag", ["1", None], ids=["HF_HUB_OFFLINE=1", "no-flag"])
def test_hub_id_fails_fast_offline(offline_flag, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["HF_HOME"] = str(tmp_path / "hf-home")  # nothing cached
    if offline_flag:
        env["HF_HUB_OFFLINE"] = offline_flag
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _HUB_SCRIPT], env=env, capture_output=True, text=True,
                         timeout=120)
    wall = time.perf_counter() - started
    assert out.returncode == 0, out.stderr
    outcome = json.loads(out.stdout.splitlines()[-1])
    if outcome["loaded"]:
        pytest.skip("the Hugging Face hub is reachable from this machine")
    assert outcome["reason"] == "OFFLINE", outcome
    assert outcome["seconds"] < 15 and wall < 20, f"took {outcome['seconds']:.1f} s"
    message = outcome["message"]
    assert "\n" not in message and "tokenizer.json" in message and ".gguf" in message


def test_alias_and_path_to_one_file_keep_their_own_names(testdata_models):
    path = str(testdata_models / GGUF_FILES["gpt2"])
    by_path, by_alias, again = load_tokenizer(path), load_tokenizer("gpt2"), load_tokenizer(path)
    assert by_path.info.name == again.info.name == "ggml-vocab-gpt-2"
    assert by_alias.info.name == "gpt2" and load_tokenizer("GPT2").info.name == "gpt2"
    assert by_alias.encode(CORPUS["python"]).equals(by_path.encode(CORPUS["python"]))


def test_a_borrowed_backend_is_left_as_it_was(exported_phi3, tokenizer):
    """A transformers tokenizer's backend (as from the hub) keeps its post-processor: we copy it."""
    from tokenizers import Tokenizer as RustTokenizer

    from tokenprism.tokenization import TokenizerInfo
    from tokenprism.tokenization.huggingface import HuggingFaceTokenizer

    backend = RustTokenizer.from_file(str(exported_phi3 / "tokenizer.json"))
    wrapped = HuggingFaceTokenizer(backend, TokenizerInfo("x", "x", "huggingface", "memory", 0))
    assert backend.post_processor is not None
    assert backend.encode("hi", add_special_tokens=True).ids[0] == tokenizer("phi3").added_tokens.prefix[0]
    assert wrapped.encode(CORPUS["mixed"]).equals(tokenizer("phi3").encode(CORPUS["mixed"]))
    assert wrapped.added_tokens == tokenizer("phi3").added_tokens


def test_a_gguf_without_suffix_is_recognised_by_its_magic(testdata_models, tmp_path, tokenizer):
    # Ollama stores models as content-addressed blobs with no file suffix.
    blob = tmp_path / "sha256-0123abcd"
    blob.write_bytes((testdata_models / "ggml-vocab-gpt-2.gguf").read_bytes())
    assert resolve(str(blob)).kind == "gguf"
    text = CORPUS["code"] if "code" in CORPUS else next(iter(CORPUS.values()))
    assert load_tokenizer(str(blob)).encode(text).ids.tolist() == tokenizer("gpt2").encode(text).ids.tolist()
    plain = tmp_path / "notes"
    plain.write_text("not a model")
    assert resolve(str(plain)).kind == "tokenizer.json"  # and loading it says it is corrupt
