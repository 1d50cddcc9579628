"""What the server tells a client once, in ``initialize``'s result
(``capabilities.experimental.tokenprism``): its settings' defaults and how it makes whitespace
visible. A client shows these, so it keeps no second copy of the server's rules."""

from __future__ import annotations

from ..tokenization.base import VISIBLE_WHITESPACE
from .settings import Settings


def settings_json(settings: Settings) -> dict:
    """Settings as the ``tokenprism`` section writes them (dotted keys, as package.json names them)."""
    return {
        "model": settings.model,
        "modelByLanguage": dict(settings.model_by_language),
        "inlayHints.mode": settings.inlay_hints_mode.value,
        "colorize": settings.colorize.value,
        "specialTokens": settings.special_tokens.value,
        "budget": settings.budget.spec if settings.budget is not None else 0,
        "prices": {},  # the defaults have no user prices; entries are not written back
        "gguf.searchPaths": list(settings.gguf_search_paths or ()),  # []: the usual model folders
        "maxDocumentCharacters": settings.max_document_characters,
        "chatTemplate": settings.chat_template or "",
        "chatTemplate.allowOutsideWorkspace": settings.chat_template_outside_workspace,
        "compareModels": list(settings.compare_models),
        "notebook.cells": settings.notebook_cells.value,
    }


def server_facts() -> dict:
    return {"defaults": settings_json(Settings()), "visibleWhitespace": dict(VISIBLE_WHITESPACE)}
