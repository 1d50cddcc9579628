"""Local models (``tokenization/local_models.py``, what ``tokenprism/models`` lists) on their
own: a Hugging Face cache and an Ollama store laid out as those tools lay them out, in a
temporary folder."""

from __future__ import annotations

import json

from tokenprism.tokenization.local_models import list_models


def test_hf_cache_ollama_and_gguf_files(tmp_path, monkeypatch, testdata_models):
    hub = tmp_path / "hub"
    snapshot = hub / "models--acme--tiny-llm" / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot / "tokenizer.json").write_text("{}")
    (hub / "models--acme--weights-only" / "snapshots" / "9").mkdir(parents=True)  # no tokenizer
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))

    ollama = tmp_path / "ollama"
    blob = ollama / "blobs" / "sha256-abc123"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"GGUF" + b"\0" * 60)
    manifest = ollama / "manifests" / "registry.ollama.ai" / "library" / "llama3.2" / "latest"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"layers": [
        {"mediaType": "application/vnd.ollama.image.license", "digest": "sha256-none"},
        {"mediaType": "application/vnd.ollama.image.model", "digest": "sha256:abc123"},
    ]}))
    (tmp_path / "fake.gguf").write_bytes(b"not a gguf at all")

    result = list_models((str(ollama), str(tmp_path), str(testdata_models)))
    by_group: dict[str, list[dict]] = {}
    for entry in result["models"]:
        by_group.setdefault(entry["group"], []).append(entry)

    cached = by_group["huggingface-cache"]
    assert [m["spec"] for m in cached] == ["acme/tiny-llm"] and cached[0]["loadAs"] == "hub"
    ggufs = {m["spec"]: m for m in by_group["gguf"]}
    assert ggufs[str(blob)]["description"] == "Ollama llama3.2:latest"
    assert str(tmp_path / "fake.gguf") not in ggufs  # the name is not enough: the magic bytes decide
    assert str(testdata_models / "ggml-vocab-phi-3.gguf") in ggufs
    assert ggufs[str(testdata_models / "ggml-vocab-phi-3.gguf")]["loadAs"] == "gguf"
    aliases = {m["spec"]: m for m in by_group["alias"]}
    packaged = {"mistral-tekken", "mistral-v3", "mistral-v7", "deepseek-v3", "deepseek-v4", "qwen3",
                "qwen3.6"}
    assert set(aliases) == {"llama3", "phi3", "qwen2", "starcoder2", "gpt2"} | packaged
    assert all(m["loadAs"] == "gguf" for spec, m in aliases.items() if spec not in packaged)
    assert all(aliases[spec]["loadAs"] == "packaged" for spec in packaged)
    assert {m["spec"] for m in by_group["builtin"]} >= {"o200k_base", "cl100k_base", "gpt-4o"}
    assert str(ollama) in result["searchPaths"]
