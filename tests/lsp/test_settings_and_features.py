"""Settings parsing and the feature registry, in process (no editor needed)."""

from __future__ import annotations

import sys
import types as pytypes

from tokenprism.lsp.features import FEATURES, register_all
from tokenprism.lsp.server import TokenPrismServer, create_server
from tokenprism.lsp.settings import ColorMode, InlayHintMode, Settings
from tokenprism.tokenization import SpecialTokens


def test_settings_nested_dotted_and_wrapped_forms_agree():
    nested, _ = Settings.from_dict({"tokenprism": {"inlayHints": {"mode": "boundaries"}, "budget": 10}})
    dotted, _ = Settings.from_dict({"inlayHints.mode": "boundaries", "budget": 10})
    assert nested == dotted
    assert nested.inlay_hints_mode is InlayHintMode.BOUNDARIES and nested.budget.value == 10


def test_bad_settings_fall_back_one_line_each():
    settings, problems = Settings.from_dict(
        {
            "model": "",
            "modelByLanguage": {"python": "starcoder2"},
            "inlayHints": {"mode": "sometimes"},
            "colorize": "yes",
            "specialTokens": "text",
            "budget": -3,
            "gguf": {"searchPaths": 5},
        }
    )
    assert settings.model == Settings().model  # the default, not ""
    assert settings.model_for("python") == "starcoder2" and settings.model_for("markdown") == settings.model
    assert settings.inlay_hints_mode is InlayHintMode.COUNTS and settings.colorize is ColorMode.OFF
    assert settings.special_tokens is SpecialTokens.TEXT and settings.budget is None
    assert settings.gguf_search_paths is None
    assert len(problems) == 5 and all("\n" not in p for p in problems)
    assert any("tokenprism.inlayHints.mode" in p and "'sometimes'" in p for p in problems)


def test_colorize_takes_a_mode_or_the_old_boolean():
    modes = {True: ColorMode.FOREGROUND, False: ColorMode.OFF, "off": ColorMode.OFF,
             "foreground": ColorMode.FOREGROUND, "background": ColorMode.BACKGROUND}
    for raw, mode in modes.items():
        settings, problems = Settings.from_dict({"colorize": raw})
        assert settings.colorize is mode and problems == []
    settings, problems = Settings.from_dict({"colorize": "rainbow"})
    assert settings.colorize is ColorMode.OFF
    expected = (
        "tokenprism.colorize: expected 'off', 'foreground' or 'background', got 'rainbow'; using the default"
    )
    assert problems == [expected]


def test_garbage_settings_are_defaults():
    for raw in (None, 42, "model", [1, 2]):
        settings, problems = Settings.from_dict(raw)
        assert settings == Settings() and problems == []


def test_a_broken_feature_does_not_take_the_others_down(monkeypatch):
    broken = pytypes.ModuleType("tokenprism.lsp.features.broken")

    def register(server):
        raise RuntimeError("this feature is broken")

    broken.register = register
    monkeypatch.setitem(sys.modules, "tokenprism.lsp.features.broken", broken)
    monkeypatch.setattr("tokenprism.lsp.features.FEATURES", ("broken",) + FEATURES)
    server = TokenPrismServer()
    registered = register_all(server)
    assert "broken" not in registered
    assert {"inlay_hints", "hover", "count", "tokens", "models"} <= set(registered)
    assert "textDocument/hover" in server.protocol.fm.features


def test_the_server_registers_every_standard_feature():
    features = set(create_server().protocol.fm.features)
    assert {
        "textDocument/inlayHint", "inlayHint/resolve", "textDocument/hover",
        "textDocument/semanticTokens/full", "textDocument/semanticTokens/range",
        "tokenprism/count", "tokenprism/tokens", "tokenprism/models",
    } <= features
