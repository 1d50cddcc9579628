"""`tokenprism chat`: JSON output against transformers, colour, JSONL totals, bad input."""

from __future__ import annotations

import json

from tokenprism.cli import main

MESSAGES = [
    {"role": "system", "content": "Antworte kurz."},
    {"role": "user", "content": "Was kostet «ein Token»? 🐈"},
]


def run_json(capsys, *argv) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_output_matches_transformers(tmp_path, capsys, tokenizer, testdata_models):
    llama_template = testdata_models / "templates" / "meta-llama-Llama-3.1-8B-Instruct.jinja"
    from transformers import PreTrainedTokenizerFast

    file = tmp_path / "request.json"
    file.write_text(json.dumps({"model": "x", "messages": MESSAGES}, ensure_ascii=False), encoding="utf-8")
    out = run_json(capsys, "chat", str(file), "-m", "llama3", "--template", str(llama_template))
    tok = tokenizer("llama3")
    hf = PreTrainedTokenizerFast(tokenizer_object=tok.backend, chat_template=llama_template.read_text(),
                                 bos_token=tok.config["bos_token"], eos_token=tok.config["eos_token"])
    assert out["model"] == "llama3"
    assert out["rendered"] == hf.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)
    ids = hf.apply_chat_template(MESSAGES, tokenize=True, add_generation_prompt=True)["input_ids"]
    assert out["tokens"] == len(ids)
    assert [m["role"] for m in out["messages"]] == ["system", "user"]
    assert sum(m["tokens"] for m in out["messages"]) + out["replyTokens"] == out["tokens"]


def test_colour_marks_special_tokens_and_jsonl_gives_a_total(tmp_path, capsys, testdata_models):
    file = tmp_path / "train.jsonl"
    lines = [json.dumps({"messages": MESSAGES[:k]}, ensure_ascii=False) for k in (1, 2)]
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["chat", str(file), "-m", "qwen2"]
    out = run_json(capsys, *args)
    assert [c["line"] for c in out["conversations"]] == [1, 2]
    assert out["tokens"] == sum(c["tokens"] for c in out["conversations"])
    assert main([*args, "--rendered", "--color", "always"]) == 0
    text = capsys.readouterr().out
    assert "\x1b[1;30;48;5;211m<|im_start|>\x1b[0m" in text
    assert f"total: {out['tokens']} tokens in 2 conversations" in text


def test_openai_model_is_labelled_an_estimate(tmp_path, capsys):
    file = tmp_path / "chat.json"
    file.write_text(json.dumps(MESSAGES), encoding="utf-8")
    out = run_json(capsys, "chat", str(file), "-m", "gpt-4o")
    assert out["estimate"] is True and out["template"] == "OpenAI cookbook estimate"
    assert main(["chat", str(file), "-m", "gpt-4o"]) == 0
    assert "≈" in capsys.readouterr().out


def test_bad_input_is_one_line(tmp_path, capsys):
    plain = tmp_path / "notes.md"
    plain.write_text("# just notes\n", encoding="utf-8")
    assert main(["chat", str(plain)]) == 2
    assert "not a chat document" in capsys.readouterr().err
    chat = tmp_path / "c.json"
    chat.write_text(json.dumps(MESSAGES), encoding="utf-8")
    assert main(["chat", str(chat), "--template", str(tmp_path / "missing.jinja")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read chat template" in err
    broken = tmp_path / "broken.jinja"
    broken.write_text("{% for m in messages %}", encoding="utf-8")
    assert main(["chat", str(chat), "--template", str(broken)]) == 1
    assert "error: chat template" in capsys.readouterr().out
