"""Chat documents and comparison end to end over stdio: tokenprism/renderChat against
transformers, per-message and per-line hints, diagnostics for what cannot be rendered,
tokenprism/compare against the tokenizers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time

import pytest
from lsp_helpers import (
    WAIT,
    configured,
    make_client_fixture,
    open_document,
    reconfigure,
    reference_position,
    request,
    until,
    wait_stats,
)
from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import _models_dir
from tokenprism.tokenization import load_tokenizer

LLAMA_TEMPLATE = _models_dir() / "templates" / "meta-llama-Llama-3.1-8B-Instruct.jinja"

pytestmark = pytest.mark.asyncio(loop_scope="module")

client = make_client_fixture({"model": "qwen2"})
llama_client = make_client_fixture(
    {"model": "llama3", "chatTemplate": str(LLAMA_TEMPLATE), "chatTemplate.allowOutsideWorkspace": True},
    profiles=("neovim",),
)

MESSAGES = [
    {"role": "system", "content": "Réponds brièvement."},
    {"role": "user", "content": "Combien de tokens? 🐈 数字"},
    {"role": "assistant", "content": "Quelques-uns."},
    {"role": "user", "content": "Et maintenant ?"},
]


def chat_json(messages) -> tuple[str, list[tuple[int, int]]]:
    """A pretty request body and the character span of each message in it."""
    parts, spans = ['{\n  "model": "x",\n  "messages": [\n'], []
    for i, message in enumerate(messages):
        at = sum(len(p) for p in parts) + 4
        body = json.dumps(message, ensure_ascii=False)
        spans.append((at, at + len(body)))
        parts.append("    " + body + (",\n" if i < len(messages) - 1 else "\n"))
    parts.append("  ]\n}\n")
    return "".join(parts), spans


def reference(tok, template: str):
    from transformers import PreTrainedTokenizerFast

    names = {k: tok.config[k] for k in ("bos_token", "eos_token") if tok.config.get(k)}
    return PreTrainedTokenizerFast(tokenizer_object=tok.backend, chat_template=template, **names)


async def chat_hints(client, uri: str, text: str, minimum: int, timeout: float = WAIT) -> list[dict]:
    """The chat hints (those naming prompt tokens or a role) once the analysis is ready."""
    lines = text.count("\n") + 1
    deadline = time.monotonic() + timeout
    while True:
        hints = await client.text_document_inlay_hint_async(
            types.InlayHintParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=types.Position(0, 0), end=types.Position(lines, 0)),
            )
        )
        ours = [h for h in hints or [] if "prompt token" in h.label or ": " in h.label]
        if len(ours) >= minimum or time.monotonic() > deadline:
            return [{"label": h.label,
                     "position": {"line": h.position.line, "character": h.position.character}}
                    for h in ours]
        await asyncio.sleep(0.1)


async def diagnostics_for(client: LanguageClient, uri: str, timeout: float = WAIT) -> list[types.Diagnostic]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = client.diagnostics.get(uri)
        if found:
            return found
        await asyncio.sleep(0.05)
    return []


async def open_and_render(client, uri: str, text: str, model: str) -> dict:
    """Open a JSON chat document, wait for its first advance, ask for renderChat."""
    open_document(client, uri, text, language="json")
    await wait_stats(client, uri, 1, timeout=180, model=model)  # the first GGUF load converts it
    return await request(client, "tokenprism/renderChat", {"textDocument": {"uri": uri}})


async def test_render_chat_matches_transformers_and_hints_sit_at_messages(client):
    text, spans = chat_json(MESSAGES)
    uri = "file:///chat/request.json"
    result = await open_and_render(client, uri, text, "qwen2")

    tok = load_tokenizer("qwen2")
    hf = reference(tok, tok.chat_template)
    assert result["model"] == "qwen2" and result["estimate"] is False and "error" not in result
    assert result["rendered"] == hf.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)
    ids = hf.apply_chat_template(MESSAGES, tokenize=True, add_generation_prompt=True)["input_ids"]
    assert result["tokens"] == len(ids)
    assert [m["role"] for m in result["messages"]] == [m["role"] for m in MESSAGES]
    assert sum(m["tokens"] for m in result["messages"]) + result["replyTokens"] == result["tokens"]
    encoding = client.position_encoding
    for message, (start, end) in zip(result["messages"], spans):
        assert message["range"] == {"start": reference_position(text, start, encoding),
                                    "end": reference_position(text, end, encoding)}
    utf16 = result["rendered"].encode("utf-16-le")  # specialRanges are JavaScript string indices
    specials = [utf16[2 * a : 2 * b].decode("utf-16-le") for a, b in result["specialRanges"]]
    assert "".join(specials).count("<|im_start|>") == len(MESSAGES) + 1

    hints = await chat_hints(client, uri, text, len(MESSAGES) + 1)
    expected = {(f"{m['role']}: {m['tokens']}",
                 json.dumps(reference_position(text, end, encoding), sort_keys=True))
                for m, (_, end) in zip(result["messages"], spans)}
    got = {(h["label"], json.dumps(h["position"], sort_keys=True)) for h in hints}
    assert expected <= got
    assert f"Σ {result['tokens']} prompt tokens (qwen2)" in {h["label"] for h in hints}


async def test_jsonl_hints_per_line_total_and_a_diagnostic_for_a_bad_line(client):
    lines = [json.dumps({"messages": MESSAGES[:k]}, ensure_ascii=False) for k in (2, 4)]
    lines.insert(1, '{"messages": [oops')
    text = "\n".join(lines) + "\n"
    uri = "file:///data/train.jsonl"
    open_document(client, uri, text, language="jsonl")
    await wait_stats(client, uri, 1)

    hints = await chat_hints(client, uri, text, 3)

    tok = load_tokenizer("qwen2")
    hf = reference(tok, tok.chat_template)
    counts = [
        len(hf.apply_chat_template(MESSAGES[:k], tokenize=True, add_generation_prompt=True)["input_ids"])
        for k in (2, 4)
    ]
    encoding = client.position_encoding
    line_hints = {h["label"]: h["position"] for h in hints if not h["label"].startswith("Σ")}
    assert line_hints == {
        f"{counts[0]} prompt tokens": reference_position(text, len(lines[0]), encoding),
        f"{counts[1]} prompt tokens": reference_position(
            text, len(lines[0]) + len(lines[1]) + 2 + len(lines[2]), encoding
        ),
    }
    assert f"Σ {sum(counts)} prompt tokens in 2 conversations (qwen2)" in {h["label"] for h in hints}
    (diagnostic,) = await diagnostics_for(client, uri)
    assert diagnostic.range.start.line == 1 and diagnostic.message.startswith("not valid JSON")
    assert diagnostic.severity == types.DiagnosticSeverity.Warning


@contextlib.asynccontextmanager
async def opened_with_template(client, template, uri: str, outside: bool = True):
    """A chat document opened while ``chatTemplate`` names ``template`` (allowed outside the
    workspace unless ``outside`` is False); the settings are put back afterwards (the server
    is shared by the module's tests)."""
    text, _ = chat_json(MESSAGES[:2])
    await reconfigure(client, chatTemplate=str(template), **{"chatTemplate.allowOutsideWorkspace": outside})
    try:
        open_document(client, uri, text, language="json")
        await wait_stats(client, uri, 1)
        yield text
    finally:
        await reconfigure(client, chatTemplate="", **{"chatTemplate.allowOutsideWorkspace": False})


async def test_broken_template_gives_a_diagnostic_and_an_error_not_a_crash(client, tmp_path):
    broken = tmp_path / "broken.jinja"
    broken.write_text("{% for m in messages %}{{ m.content", encoding="utf-8")
    uri = "file:///chat/broken.json"
    async with opened_with_template(client, broken, uri):
        (diagnostic,) = await diagnostics_for(client, uri)
        assert diagnostic.severity == types.DiagnosticSeverity.Error
        assert diagnostic.message.startswith(f"chat template ({broken})")
        result = await request(client, "tokenprism/renderChat", {"textDocument": {"uri": uri}})
        assert result["error"] == diagnostic.message and result["tokens"] == 0
        # the server still answers everything else
        assert (await request(client, "tokenprism/count",
                              {"textDocument": {"uri": uri}, "ranges": []}))["total"] == 0


async def test_a_looping_template_is_stopped_and_the_server_keeps_answering(client, tmp_path):
    from tokenprism.tokenization.chat import RENDER_SECONDS

    looping = tmp_path / "loop.jinja"
    looping.write_text("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
    uri = "file:///chat/looping.json"
    async with opened_with_template(client, looping, uri):
        started = time.monotonic()
        result = await asyncio.wait_for(
            request(client, "tokenprism/renderChat", {"textDocument": {"uri": uri}}), RENDER_SECONDS + 10
        )
        assert time.monotonic() - started < RENDER_SECONDS + 10
        assert "stopped: it ran longer than" in result["error"] and result["tokens"] == 0
        counted = await asyncio.wait_for(
            request(client, "tokenprism/count", {"textDocument": {"uri": uri}, "ranges": []}), 10
        )
        assert counted["total"] == 0


async def test_template_files_outside_the_workspace_fifos_and_non_templates_are_refused(client, tmp_path):
    template = tmp_path / "ok.jinja"
    template.write_text("{% for m in messages %}{{ m.content }}{% endfor %}")
    uri = "file:///chat/outside.json"
    async with opened_with_template(client, template, uri, outside=False):
        result = await asyncio.wait_for(
            request(client, "tokenprism/renderChat", {"textDocument": {"uri": uri}}), 20)
        assert "outside the workspace" in result["error"] and result["rendered"] == ""
    fifo = tmp_path / "fifo.jinja"
    os.mkfifo(fifo)
    uri = "file:///chat/fifo.json"
    async with opened_with_template(client, fifo, uri):
        result = await asyncio.wait_for(
            request(client, "tokenprism/renderChat", {"textDocument": {"uri": uri}}), 20)
        assert result["error"] == f"chat template {fifo} is not a regular file"
    uri = "file:///chat/passwd.json"
    async with opened_with_template(client, "/etc/passwd", uri):
        result = await asyncio.wait_for(
            request(client, "tokenprism/renderChat", {"textDocument": {"uri": uri}}), 20)
        assert "is not a chat template" in result["error"] and "root:" not in json.dumps(result)


async def test_not_a_chat_document_is_a_clear_request_error(client):
    uri = "file:///notes.md"
    open_document(client, uri, "# Notes\n\nJust text.\n", language="markdown")
    await wait_stats(client, uri, 1)
    with pytest.raises(Exception, match="is not a chat document"):
        await request(client, "tokenprism/renderChat", {"textDocument": {"uri": uri}})


async def test_compare_counts_each_model_and_keeps_unavailable_ones(client):
    text = "Tokenizers disagree: naïve café, 数字, 🐈, x**2.\n" * 5
    uri = "file:///compare.txt"
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    models = ["o200k_base", "qwen2", "starcoder2", "no-such-model"]
    result = await request(client, "tokenprism/compare", {"textDocument": {"uri": uri}, "models": models})
    rows = result["results"]
    assert [r["model"] for r in rows] == models
    for row in rows[:3]:
        assert row["ok"] and row["tokens"] == load_tokenizer(row["model"]).count(text)
        assert row["characters"] == len(text)
        assert row["charsPerToken"] == pytest.approx(len(text) / row["tokens"], abs=1e-3)
    assert not rows[3]["ok"] and "no-such-model" in rows[3]["error"]

    selected = {"start": {"line": 1, "character": 0}, "end": {"line": 2, "character": 0}}
    part = await request(client, "tokenprism/compare",
                         {"textDocument": {"uri": uri}, "range": selected, "models": ["o200k_base"]})
    line = text.splitlines(keepends=True)[1]
    assert part["results"][0]["tokens"] == load_tokenizer("o200k_base").count(line)

    with pytest.raises(Exception, match="models must be a list"):
        await request(client, "tokenprism/compare", {"textDocument": {"uri": uri}, "models": "o200k_base"})


async def test_chat_template_setting_renders_llama3_like_transformers(llama_client):
    text, _ = chat_json(MESSAGES)
    uri = "file:///chat/llama.json"
    result = await open_and_render(llama_client, uri, text, "llama3")
    tok = load_tokenizer("llama3")
    hf = reference(tok, LLAMA_TEMPLATE.read_text(encoding="utf-8"))
    assert result["rendered"] == hf.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)
    assert result["tokens"] == len(
        hf.apply_chat_template(MESSAGES, tokenize=True, add_generation_prompt=True)["input_ids"]
    )
    assert result["templateSource"] == str(LLAMA_TEMPLATE)
    # the model can be asked for per request: o200k_base has no template, so the cookbook estimate
    openai = await request(llama_client, "tokenprism/renderChat",
                           {"textDocument": {"uri": uri}, "model": "gpt-4o"})
    assert openai["estimate"] is True and openai["model"] == "o200k_base"


@pytest.mark.slow
async def test_a_large_jsonl_file_is_counted_in_the_background_and_edits_recount_fast(client):
    lines = [json.dumps({"messages": [{"role": "user", "content": f"Question {i}: " + "why? " * 40},
                                      {"role": "assistant", "content": "Because. " * 40}]})
             for i in range(3000)]
    text = "\n".join(lines) + "\n"
    uri = "file:///data/large.jsonl"
    open_document(client, uri, text, language="jsonl")
    await wait_stats(client, uri, 1, timeout=120)
    # the server keeps answering while the conversations are rendered
    started = time.monotonic()
    await request(client, "tokenprism/count", {"textDocument": {"uri": uri}, "ranges": []})
    assert time.monotonic() - started < 1.0
    hints = await chat_hints(client, uri, text, 3001, timeout=180)
    print(f"first chat hints after {time.monotonic() - started:.1f} s")
    total = next(h["label"] for h in hints if h["label"].startswith("Σ"))
    # an edit of one line: hints for the new version arrive quickly (only that line is rendered again)
    edited = lines[1500].replace("Question 1500", "Question 1500 (edited)")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(
            text="\n".join(lines[:1500] + [edited] + lines[1501:]) + "\n")],
    ))
    await wait_stats(client, uri, 2, timeout=60)
    started = time.monotonic()
    while time.monotonic() - started < 30:
        hints = await chat_hints(client, uri, text, 3001, timeout=5)
        new_total = next((h["label"] for h in hints if h["label"].startswith("Σ")), total)
        if new_total != total:
            break
        await asyncio.sleep(0.1)
    assert new_total != total
    print(f"recount after a one-line edit of a {len(text) / 1e6:.1f} MB JSONL: "
          f"{time.monotonic() - started:.2f} s")
    assert time.monotonic() - started < 10


async def test_an_edited_template_file_is_rendered_again(client, tmp_path):
    template = tmp_path / "mine.jinja"
    template.write_text("{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}",
                        encoding="utf-8")
    uri = "file:///chat/own-template.json"
    async with opened_with_template(client, template, uri) as text:
        first = await chat_hints(client, uri, text, 3)
        template.write_text("{% for m in messages %}<|im_start|>{{ m.content }}{% endfor %}",
                            encoding="utf-8")
        os.utime(template, (time.time() + 5, time.time() + 5))  # a clearly newer modification time
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            hints = await chat_hints(client, uri, text, 3, timeout=2)
            if hints and hints != first:
                break
            await asyncio.sleep(0.1)
        result = await request(client, "tokenprism/renderChat", {"textDocument": {"uri": uri}})
        assert result["rendered"] == "".join(f"<|im_start|>{m['content']}" for m in MESSAGES[:2])
        assert hints != first


async def test_budget_and_chat_diagnostics_are_shown_together(client):
    """Each feature publishes its own diagnostics; the client sees the union, and one
    source going quiet does not wipe the other's."""
    lines = [json.dumps({"messages": MESSAGES[:2]}, ensure_ascii=False), '{"messages": [oops']
    text = "\n".join(lines) + "\n"
    uri = "file:///data/both.jsonl"

    async def sources(predicate) -> set[str]:
        def found():
            return {d.source for d in client.diagnostics.get(uri, [])}

        await until(lambda: predicate(found()))
        return found()

    async with configured(client, budget=5):
        open_document(client, uri, text, language="jsonl")
        await wait_stats(client, uri, 1)
        assert await sources(lambda s: len(s) == 2) == {"tokenprism", "tokenprism chat"}
    assert await sources(lambda s: s == {"tokenprism chat"}) == {"tokenprism chat"}
    (diagnostic,) = client.diagnostics[uri]
    assert diagnostic.message.startswith("not valid JSON")
