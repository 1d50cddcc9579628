"""Hostile chat input is bounded: templates that loop, build huge values or flood their
output are stopped with one line; template files that are not regular files, too large or
not templates are refused without blocking; YAML alias bombs and deep or malformed JSON get
a clear message. Every case runs in a thread the test waits for with a timeout."""

from __future__ import annotations

import os
import resource
import threading
import time

import pytest

from bounded import within
from tokenprism.cli import main
from tokenprism.tokenization import chat
from tokenprism.tokenization.chat import ChatError, ChatTemplate, parse_chat_document, render_template

MESSAGES = [{"role": "user", "content": "hi"}]
NESTED_LOOP = "{% for i in range(100000) %}{% for j in range(100000) %}{{ body }}{% endfor %}{% endfor %}"


def render(text: str, **kwargs) -> str:
    return render_template(ChatTemplate(text, "t.jinja"), MESSAGES, {}, **kwargs)


def test_a_loop_that_emits_nothing_is_stopped_at_the_deadline():
    started = time.monotonic()
    with pytest.raises(ChatError, match=r"^chat template \(t.jinja\) stopped: it ran longer than 0.5 s$"):
        within(10, render, NESTED_LOOP.replace("{{ body }}", ""), seconds=0.5)
    assert time.monotonic() - started < 3


def test_rendering_can_be_cancelled_from_another_thread():
    cancelled = threading.Event()
    threading.Timer(0.3, cancelled.set).start()
    with pytest.raises(ChatError, match="stopped: rendering was cancelled"):
        within(10, render, NESTED_LOOP.replace("{{ body }}", ""), seconds=60, cancelled=cancelled)


def test_an_output_flood_stops_at_the_size_cap_without_growing_memory():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    flood = NESTED_LOOP.replace("{{ body }}", "x" * 64)
    with pytest.raises(ChatError, match="its output passes 8,000,000 characters"):
        within(20, render, flood, seconds=60)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200


@pytest.mark.parametrize("template", [
    "{{ 'A' * 300000000 }}",
    "{{ 300000000 * 'A' }}",
    "{{ ['A'] * 300000000 }}",
    "{% set ns = namespace(s='AAAAAAAA') %}{% for i in range(40) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ 1 }}",
    "{% set ns = namespace(s='AAAAAAAA') %}{% for i in range(40) %}"
    "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ 1 }}",
])
def test_huge_values_are_refused_before_they_reach_a_tokenizer(template):
    with pytest.raises(ChatError, match=r"stopped: it (repeats|builds) a value"):
        within(20, render, template, seconds=60)


def test_an_ordinary_template_still_renders():
    assert render("{% for m in messages %}{{ m.role }}: {{ m.content * 2 }}{% endfor %}") == "user: hihi"


def test_template_files_must_be_regular_files(tmp_path):
    fifo = tmp_path / "t.fifo"
    os.mkfifo(fifo)
    with pytest.raises(ChatError, match="is not a regular file"):
        within(5, chat.template_from_file, str(fifo))
    with pytest.raises(ChatError, match="/dev/zero is not a regular file"):
        within(5, chat.template_from_file, "/dev/zero")


def test_large_files_and_files_that_are_not_templates_are_refused_and_never_echoed(tmp_path, monkeypatch):
    plain = tmp_path / "passwd"
    plain.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(ChatError) as refused:
        chat.template_from_file(str(plain))
    assert "is not a chat template" in str(refused.value) and "root:x" not in str(refused.value)
    big = tmp_path / "big.jinja"
    big.write_text("{{ 1 }}" + " " * 100)
    monkeypatch.setattr(chat.template_files, "TEMPLATE_FILE_BYTES", 64)
    with pytest.raises(ChatError, match="bytes; the limit is 64"):
        chat.template_from_file(str(big))


def test_a_template_file_is_read_once_per_version(tmp_path, monkeypatch):
    file = tmp_path / "t.jinja"
    file.write_text("{{ 1 }}")
    first = chat.template_from_file(str(file))
    assert chat.template_from_file(str(file)) is first
    file.write_text("{{ 22 }}")
    assert chat.template_from_file(str(file)).text == "{{ 22 }}"


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for k in range(1, levels):
        prev, cur = chr(ord("a") + k - 1), chr(ord("a") + k)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    last = chr(ord("a") + levels - 1)
    return "\n".join(lines) + f"\nmessages:\n  - role: user\n    content: hi\n    extra: *{last}\n"


def test_yaml_alias_bombs_are_refused_and_small_aliases_still_work():
    with pytest.raises(ChatError, match="YAML aliases expand to more than 100,000 values"):
        within(10, parse_chat_document, billion_laughs(), "yaml")
    small = parse_chat_document(billion_laughs(2), "yaml")
    assert small.conversations[0].messages[0].data["extra"][0] == ["lol"] * 9


def test_deeply_nested_json_is_one_line(tmp_path, capsys):
    deep = "[" * 100000 + "]" * 100000
    with pytest.raises(ChatError, match="^JSON nested too deeply to read$"):
        parse_chat_document(deep, "json")
    file = tmp_path / "deep.json"
    file.write_text(deep)
    assert within(20, main, ["chat", str(file), "-m", "o200k_base", "--format", "json"]) == 2
    assert capsys.readouterr().err.strip() == f"tokenprism: {file}: JSON nested too deeply to read"


def test_malformed_json_reports_where_it_breaks(tmp_path, capsys):
    file = tmp_path / "bad.json"
    file.write_text('{"messages": [\n {"role": "user", "content": "x"},\n]}\n')
    assert within(20, main, ["chat", str(file), "-m", "o200k_base"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"tokenprism: {file}: not valid JSON: Expecting value: line 3 column 1 (char 50)"
    )


def test_a_document_of_many_looping_conversations_shares_one_time_budget(monkeypatch, tokenizer):
    monkeypatch.setattr(chat.counting, "DOCUMENT_RENDER_SECONDS", 1.0)
    text = '{"messages": [{"role": "user", "content": "hi"}]}\n' * 20
    template = ChatTemplate(NESTED_LOOP.replace("{{ body }}", ""), "t.jinja")
    started = time.monotonic()
    counted = within(20, chat.count_document, tokenizer("o200k_base"), text, "jsonl", template)
    assert time.monotonic() - started < 5
    assert len(counted.errors) == 20 and all("stopped: it ran longer than" in e for _, e in counted.errors)


def test_deep_yaml_flow_nesting_stops_at_the_limit_without_reading_further(monkeypatch):
    """The scanner stops at the 101st open bracket instead of reading the nesting ahead of
    the composer (a quadratic scan: 0.8 s for 100,000 brackets, 8 s under tracemalloc)."""
    import yaml.scanner

    fetched = []
    fetch = yaml.scanner.Scanner.fetch_more_tokens
    monkeypatch.setattr(yaml.scanner.Scanner, "fetch_more_tokens",
                        lambda self: fetched.append(1) or fetch(self))
    deep = "messages: " + "[" * 100_000 + "]" * 100_000
    with pytest.raises(ChatError, match=r"^YAML nested deeper than 100 levels; not read as a chat document$"):
        parse_chat_document(deep, "yaml")
    assert len(fetched) < 1_000
    assert parse_chat_document("messages: " + "[" * 99 + "]" * 99, "yaml") is not None
