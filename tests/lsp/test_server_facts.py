"""The server's facts for clients (``initialize`` → ``capabilities.experimental.tokenprism``):
its settings' defaults and its whitespace glyphs. VS Code's package.json must declare the same
defaults, since VS Code hands a client those values for settings nobody set."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from raw_lsp import RawServer

from tokenprism.lsp.settings import Settings
from tokenprism.tokenization import visible_whitespace

ROOT = Path(__file__).resolve().parents[2]
# package.json's names for settings the server reads under another key
RENAMED = {"allowChatTemplateOutsideWorkspace": "chatTemplate.allowOutsideWorkspace"}
CLIENT_ONLY = {"explorer.badges", "statusBar.show", "server.command", "trace.server"}


def initialize_result() -> dict:
    with RawServer([sys.executable, "-m", "tokenprism.lsp", "--stdio"]) as srv:
        return srv.initialize()["result"]


def package_json_defaults() -> dict:
    configuration = json.loads((ROOT / "package.json").read_text("utf-8"))["contributes"]["configuration"]
    sections = configuration if isinstance(configuration, list) else [configuration]
    out = {}
    for section in sections:
        for key, schema in section["properties"].items():
            name = key.removeprefix("tokenprism.")
            if name not in CLIENT_ONLY:
                out[RENAMED.get(name, name)] = schema.get("default")
    return out


def test_initialize_carries_the_defaults_and_glyphs_and_package_json_agrees():
    facts = initialize_result()["capabilities"]["experimental"]["tokenprism"]
    defaults = facts["defaults"]
    assert defaults == package_json_defaults()
    # what the defaults say is what the server uses when a client sends them back
    parsed, problems = Settings.from_dict(defaults)
    assert problems == [] and parsed == Settings()
    assert parsed.search_paths() == Settings().search_paths()  # [] means the usual model folders
    # the glyph table is the one the hover uses: applying it spells visible_whitespace's output
    glyphs = facts["visibleWhitespace"]
    sample = " a\tb\r\nc\rd\ne "
    assert "".join(glyphs.get(c, c) for c in sample) == visible_whitespace(sample) == "␣a⇥b␍↵c␍d↵e␣"
