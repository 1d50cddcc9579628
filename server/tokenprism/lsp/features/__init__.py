"""Server features: one module each, registered here and nowhere else.

A feature module has ``register(server: TokenPrismServer) -> None``, which uses
``@server.feature(METHOD)`` for requests/notifications and may subscribe to events:

- ``server.tokenized_listeners.append(fn)`` (the tokenized event): ``fn(doc, view,
  previous_view)`` after each advance of a document (``doc``: its ``OpenDocument``; bursts of
  edits are coalesced; the newest version always gets an advance);
- ``server.settings_listeners.append(fn)``: ``fn(old_settings, new_settings)``;
- ``server.closed_listeners.append(fn)``: ``fn(uri)`` after a document is closed (a
  notebook's cells are documents too: ``server.notebooks.of_cell(uri)`` finds the notebook);
- ``server.notebook_listeners.append(fn)``: ``fn(notebook, edited)`` after a notebook opens or
  changes: ``edited`` lists the cells whose text changed, None when cells were added, removed,
  moved or changed kind; ``server.notebook_closed_listeners``: ``fn(uri)``;
- ``server.inlay_hint_providers.append(fn)``: ``fn(params)`` (sync or async) returns extra
  inlay hints that the inlay-hint feature adds to its answer (a failing provider is logged
  and skipped).

What a feature can get at:

- settings: ``server.settings`` (:class:`~tokenprism.lsp.settings.Settings`, typed, defaulted);
- an open document: ``doc = server.session.get(uri)`` (raises ``DocumentError`` if not open);
  ``doc.document.text``, ``.version``, ``.language_id``, ``doc.document.snapshot`` (the
  newest text with its line index);
- its tokens: ``view = await server.session.view(uri)`` gives a consistent
  :class:`~tokenprism.lsp.token_view.TokenView` — ``view.snapshot`` (text, version, line index)
  and ``view.encoding`` (the tokens of exactly that text, read only through
  :class:`~tokenprism.tokenization.TokenQueries`: ``token_run``, ``segment_of``…),
  ``view.tokenizer``, ``view.model``, ``view.special``.
  ``await server.session.view_with_model(uri, spec)`` tokenizes with another model;
  ``await server.session.tokenizers.load(spec)`` loads any tokenizer off the event loop
  (raises ``TokenizerLoadError``);
- positions: :mod:`tokenprism.lsp.convert` — ``offset(snapshot, lsp_position)`` and
  ``position(snapshot, offset)`` / ``lsp_range(snapshot, start, end)`` convert between
  character offsets (what the tokenizer layer uses) and LSP positions in the negotiated
  encoding; ``view.snapshot.positions_at(offsets)`` converts many at once (numpy, one
  pass). Always convert with the snapshot that belongs to the tokens (``view.snapshot``);
- token counts: ``view.count(start, end)`` (tokens whose first character lies in the
  range), ``view.counts_between(bounds)`` for consecutive ranges;
- custom-method params arrive as namedtuples: ``convert.params_dict(params)`` gives plain
  dicts; ``convert.parse_range`` etc. check them and raise ``JsonRpcInvalidParams``;
  ``await convert.requested_view(server.session, params)`` resolves ``textDocument`` and an
  optional ``model`` into a view;
  raise ``convert.RequestFailed`` for a valid request that cannot be answered;
- diagnostics: ``server.publish_diagnostics(uri, source, diagnostics, version)`` sets the
  list of one source (a feature); the client gets the union of all sources, and a closed
  document's are cleared by the server;
- messages: ``server.notify(method, params)``, ``server.show_message(text, kind)``,
  ``server.request_refresh("inlayHint" | "semanticTokens")``.

Work heavier than a lookup in a cached view belongs in a thread
(``await asyncio.get_running_loop().run_in_executor(None, fn, ...)``).
A feature that fails to register is logged and skipped; the others still work.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

# The one registration point: module names under this package, in registration order.
FEATURES = (
    "stats",
    "notebook_stats",
    "budget",
    "inlay_hints",
    "hover",
    "semantic_tokens",
    "token_ranges",
    "count",
    "tokens",
    "models",
    "chat",
    "compare",
    "api_keys",
    "workspace_tokens",
)


def register_all(server) -> list[str]:
    """Register every feature that imports and registers cleanly; returns their names."""
    registered = []
    for name in FEATURES:
        try:
            module = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # not written yet
            log.exception("feature %s failed to import", name)
            continue
        except Exception:
            log.exception("feature %s failed to import", name)
            continue
        try:
            module.register(server)
        except Exception:
            log.exception("feature %s failed to register", name)
            continue
        registered.append(name)
    return registered
