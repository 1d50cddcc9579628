"""The plain functions behind the editor's chat feature: settings and the renderChat answer."""

from __future__ import annotations

import json

MESSAGES = [
    {"role": "system", "content": "Réponds brièvement."},
    {"role": "user", "content": "Combien de tokens? 🐈 数字"},
    {"role": "assistant", "content": "Quelques-uns."},
]



def test_chat_settings_validate_and_fall_back():
    from tokenprism.lsp.settings import Settings
    from tokenprism.tokenization.compare import DEFAULT_COMPARE_MODELS

    settings, problems = Settings.from_dict(
        {"tokenprism": {"chatTemplate": " ~/t.jinja ", "compareModels": ["gpt2", " qwen2", "gpt2"]}}
    )
    assert settings.chat_template == "~/t.jinja" and settings.compare_models == ("gpt2", "qwen2")
    assert problems == []
    settings, problems = Settings.from_dict({"chatTemplate": 3, "compareModels": [1, 2]})
    assert settings == Settings() and settings.compare_models == DEFAULT_COMPARE_MODELS
    assert len(problems) == 2 and all("\n" not in p and "using" in p for p in problems)
    assert (Settings.from_dict({"compareModels": "o200k_base, llama3"})[0].compare_models
            == ("o200k_base", "llama3"))


def test_render_result_answers_for_the_conversation_at_the_position(tokenizer):
    from tokenprism.lsp.document import Document
    from tokenprism.lsp.features.chat import analyze, render_result

    lines = [json.dumps({"messages": MESSAGES[:k]}, ensure_ascii=False) for k in (1, 2, 3)]
    text = "\n".join(lines) + "\n"
    snapshot = Document("file:///d.jsonl", "jsonl", 1, text).snapshot
    analysis = analyze(snapshot, "jsonl", "file:///d.jsonl", tokenizer("qwen2"), None)
    second = render_result(analysis, len(lines[0]) + 1 + 5)
    assert second["conversation"] == 1 and second["conversations"] == 3
    assert [m["role"] for m in second["messages"]] == [m["role"] for m in MESSAGES[:2]]
    assert second["messages"][0]["range"]["start"] == {"line": 1, "character": lines[1].index("{", 1)}
    assert render_result(analysis)["conversation"] == 0
    assert second["documentTokens"] == sum(
        render_result(analysis, sum(len(x) + 1 for x in lines[:k]))["tokens"] for k in range(3)
    )
