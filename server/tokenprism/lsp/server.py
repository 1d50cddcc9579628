"""The TokenPrism language server: lifecycle, document sync, settings; features plug in
through :mod:`tokenprism.lsp.features`.

Documents are kept in our own store (:mod:`.session`), not in pygls's workspace: pygls
would re-split the whole text on every access and keep a second copy of every edit.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import itertools
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from cattrs import transform_error
from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.exceptions import FeatureNotificationError, JsonRpcInternalError, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    LanguageServerProtocol,
    default_converter,
)
from pygls.protocol.language_server import lsp_method

from .. import __version__
from ..tokenization.errors import is_rust_panic, one_line
from ..tokenization.memory import map_large_blocks
from . import wire
from .convert import RequestFailed, is_int, text_changes
from .document import ENCODINGS, UTF16
from .facts import server_facts
from .notebooks import CellText, Notebook, NotebookChange, Notebooks, cell_of, notebook_change
from .open_document import OpenDocument
from .session import Session, TokenizedListener
from .settings import SECTION, Settings
from .token_view import TokenView
from .transport import exit_process, serve_stdio

log = logging.getLogger(__name__)

SettingsListener = Callable[[Settings, Settings], None]
# extra inlay hints for a request (the chat feature's counts); may be async
InlayHintProvider = Callable[
    [types.InlayHintParams], "Sequence[types.InlayHint] | Awaitable[Sequence[types.InlayHint]]"
]


class RawNotification:
    """A client notification whose params stay the parsed JSON. Used for ``didChange``,
    sent on every keystroke: turning it into lsprotocol objects with cattrs and dispatching
    it through pygls's generic machinery costs more than applying the edit itself."""

    __slots__ = ("method", "params", "jsonrpc")

    def __init__(self, data: dict):
        self.method, self.params, self.jsonrpc = data["method"], data.get("params"), data["jsonrpc"]


# notebookDocument/didChange carries every keystroke in a notebook cell
RAW_NOTIFICATIONS = frozenset({types.TEXT_DOCUMENT_DID_CHANGE, types.NOTEBOOK_DOCUMENT_DID_CHANGE})
# every cell of every notebook, saved too
NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[types.NotebookDocumentFilterWithNotebook(notebook="*")], save=True
)


class TokenPrismProtocol(LanguageServerProtocol):
    """Hands document sync straight to our handlers, bypassing pygls's workspace store;
    ``didChange`` takes a short path from the JSON to the handler."""

    BURST_METHODS = RAW_NOTIFICATIONS  # read back to back: a burst of edits is one advance

    def structure_message(self, data: dict):
        method = data.get("method")
        if "id" not in data and "jsonrpc" in data and method in RAW_NOTIFICATIONS:
            return RawNotification(data)
        if not isinstance(method, str) or "error" in data:
            return super().structure_message(data)  # a response to one of our requests
        # a request or notification: params that do not fit its type are the client's
        # mistake, answered with InvalidParams in one line (pygls logs a traceback and
        # leaves the request unanswered)
        kind = self.get_message_type(method)
        if kind is None:
            kind = JsonRPCRequestMessage if "id" in data else JsonRPCNotification
        try:
            return self._converter.structure(data, kind)
        except Exception as exc:
            raise JsonRpcInvalidParams(f"invalid params for {method}: {_structure_problem(exc)}") from None

    def answer_error(self, msg_id, code: int, message: str) -> None:
        """Answer a message the transport could not hand over (see ``MessageReader``)."""
        self._send_data({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}})

    def _answer_panic(self, msg_id, error: BaseException) -> None:
        """A request whose tokenizer panicked (pyo3's PanicException is no Exception, so
        pygls would send nothing): an error answer, one log line."""
        log.warning("request %r failed: the tokenizer panicked: %s", msg_id, one_line(error))
        self._request_futures.pop(msg_id, None)
        failed = RequestFailed(f"the tokenizer failed on this text (it panicked: {one_line(error)})")
        self._send_response(msg_id, error=failed.to_response_error())

    def _send_handler_result(self, future, *, msg_id) -> None:
        if not future.cancelled() and is_rust_panic(future.exception()):
            self._answer_panic(msg_id, future.exception())
            return
        super()._send_handler_result(future, msg_id=msg_id)

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):
        """pygls's answer, plus the server's facts for clients (``facts.py``)."""
        result = yield from super().lsp_initialize(params)
        result.capabilities.experimental = {"tokenprism": server_facts()}
        return result

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args):
        """``exit``: over stdio, stop reading; ``serve_stdio`` then returns the exit code (0
        after ``shutdown``, else 1) and the process ends (``exit_process``). pygls raises
        SystemExit inside the handler instead, which ended the process with 0 either way."""
        if not getattr(self._server, "serving_stdio", False):
            yield from super().lsp_exit(*args)
            return
        self._server._stop_event.set()
        yield from ()

    def _send_data(self, data: Any) -> None:
        if type(data) is not dict or self.writer is None:
            super()._send_data(data)
            return
        # plain JSON (documentStats on every edit): no attrs hook, no cattrs
        try:
            body = wire.dumps(data)
        except TypeError:  # an lsprotocol object inside after all: pygls's serializer
            super()._send_data(data)
            return
        try:
            written = self.writer.write(b"Content-Length: %d\r\n\r\n%b" % (len(body), body))
            if written is not None and inspect.isawaitable(written):  # a websocket writer; stdio: None
                asyncio.ensure_future(written)
        except BrokenPipeError:
            log.error("the client's end of the connection is closed")
            raise
        except Exception as error:  # as pygls does: report, keep serving
            log.exception("sending a message failed")
            self._server._report_server_error(error, JsonRpcInternalError)

    def handle_message(self, message) -> None:
        if type(message) is not RawNotification:
            try:
                super().handle_message(message)
            except BaseException as error:  # a synchronous handler's tokenizer panicked
                if not is_rust_panic(error) or getattr(message, "id", None) is None:
                    raise
                self._answer_panic(message.id, error)
            return
        if self._shutdown:
            return
        handler = self.fm.features.get(message.method)
        if handler is None:
            return
        try:
            handler(message.params)
        except JsonRpcInvalidParams as error:  # the client's mistake: one line, no traceback
            log.warning("%s ignored: %s", message.method, error)
            self._server._report_server_error(error, FeatureNotificationError)
        except Exception as error:  # as pygls does for a failing notification handler
            log.exception("%s failed", message.method)
            self._server._report_server_error(error, FeatureNotificationError)

    def messages_handled(self) -> None:
        """The transport has handled every message it read."""
        self._server.after_batch()

    def _user_handler(self, method: str, params):
        if (handler := self.fm.features.get(method)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: dict):
        # not reached: see handle_message
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_CLOSE, params)

    @lsp_method(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def lsp_notebook_document__did_open(self, params: types.DidOpenNotebookDocumentParams):
        yield from self._user_handler(types.NOTEBOOK_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def lsp_notebook_document__did_change(self, params: dict):
        yield from self._user_handler(types.NOTEBOOK_DOCUMENT_DID_CHANGE, params)  # not reached: as above

    @lsp_method(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def lsp_notebook_document__did_close(self, params: types.DidCloseNotebookDocumentParams):
        yield from self._user_handler(types.NOTEBOOK_DOCUMENT_DID_CLOSE, params)


class TokenPrismServer(LanguageServer):
    """The server object every feature receives in ``register(server)``."""

    def __init__(self) -> None:
        super().__init__(
            "tokenprism",
            __version__,
            notebook_document_sync=NOTEBOOK_SYNC,
            protocol_cls=TokenPrismProtocol,
            converter_factory=default_converter,
        )
        self.session = Session()
        self.notebooks = Notebooks()
        # fn(notebook, edited) after a notebook opened or changed: ``edited`` lists the cells
        # whose text changed (their new tokens follow as tokenized_listeners calls), None when
        # cells were added, removed, moved or changed kind; fn(uri) after one closed
        self.notebook_listeners: list[Callable[[Notebook, list[str] | None], None]] = []
        self.notebook_closed_listeners: list[Callable[[str], None]] = []
        self.settings_listeners: list[SettingsListener] = []
        # the tokenized event: fn(doc, view, previous view) after each advance of a document
        self.tokenized_listeners: list[TokenizedListener] = self.session.tokenized_listeners
        self.closed_listeners: list[Callable[[str], None]] = []
        # fn(document, reason) when a document is left untokenized (binary, too large, the
        # tokenizer failed on its text): once per reason, until it is tokenized again
        self.skipped_listeners: list[Callable[[OpenDocument, str], None]] = []
        self.inlay_hint_providers: list[InlayHintProvider] = []
        self._diagnostics: dict[str, dict[str, list[types.Diagnostic]]] = {}  # uri -> source -> list
        self._initialization_options: Any = None
        self._refresh_pending: set[str] = set()
        self._progress_ids = itertools.count(1)
        self.tokenized_listeners.append(self._refresh_after)
        self.session.on_skipped = self._skipped
        self.session.tokenizers.on_load_start = self._load_started
        self.session.tokenizers.on_load_failed = self._load_failed

    @property
    def settings(self) -> Settings:
        return self.session.settings

    # -- client capabilities --------------------------------------------------------------------

    def client_supports(self, field: str) -> bool:
        try:
            return bool(get_capability(self.client_capabilities, field, False))
        except Exception:
            return False

    # -- messages to the client -----------------------------------------------------------------

    def show_message(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def notify(self, method: str, params: Any) -> None:
        if isinstance(params, dict):  # plain JSON already: no attrs object, no cattrs pass
            self.protocol._send_data({"jsonrpc": "2.0", "method": method, "params": params})
        else:
            self.protocol.notify(method, params)

    def publish_diagnostics(
        self, uri: str, source: str, diagnostics: Sequence[types.Diagnostic], version: int | None = None
    ) -> None:
        """Set the diagnostics one source (a feature) has for a document; the client gets
        the union of every source's, so no feature wipes another's. Nothing is sent while
        a source has nothing to say and never had."""
        by_source = self._diagnostics.get(uri, {})
        if not diagnostics and source not in by_source:
            return
        if diagnostics:
            by_source[source] = list(diagnostics)
        else:
            by_source.pop(source, None)
        if by_source:
            self._diagnostics[uri] = by_source
        else:
            self._diagnostics.pop(uri, None)
        union = [d for listed in by_source.values() for d in listed]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=union, version=version)
        )

    def clear_diagnostics(self, uri: str) -> None:
        """Remove every source's diagnostics of a (closed) document."""
        if self._diagnostics.pop(uri, None):
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def request_refresh(self, what: str) -> None:
        """Ask the client to re-request inlay hints (``"inlayHint"``) or semantic tokens
        (``"semanticTokens"``), once for a burst of calls, if it supports that."""
        if what in self._refresh_pending:
            return
        self._refresh_pending.add(what)
        asyncio.get_running_loop().call_later(0.05, self._send_refresh, what)

    def _send_refresh(self, what: str) -> None:
        self._refresh_pending.discard(what)
        try:
            if what == "inlayHint" and self.client_supports("workspace.inlay_hint.refresh_support"):
                self.workspace_inlay_hint_refresh(None)
            elif what == "semanticTokens" and self.client_supports(
                "workspace.semantic_tokens.refresh_support"
            ):
                self.workspace_semantic_tokens_refresh(None)
        except Exception:
            log.exception("refresh %s failed", what)

    # -- documents ------------------------------------------------------------------------------

    def close_document(self, uri: str) -> None:
        """Close a text document (or a notebook's cell): its tokens, diagnostics, features' state."""
        self.session.close(uri)
        self.clear_diagnostics(uri)
        self._tell(self.closed_listeners, f"closing {uri}", uri)

    def _tell(self, listeners: list, what: str, *arguments: Any) -> None:
        for listener in listeners:
            try:
                listener(*arguments)
            except Exception:
                log.exception("a feature failed on %s", what)

    def open_notebook(self, notebook: Notebook, cells: Sequence[CellText]) -> None:
        for uri in self.notebooks.open(notebook):  # a notebook opened again: its old cells go
            self.close_document(uri)
        for cell in cells:
            self.session.open(cell.uri, cell.language_id, cell.version, cell.text)
        self._tell(self.notebook_listeners, f"opening {notebook.uri}", notebook, None)

    def change_notebook(self, change: NotebookChange) -> None:
        notebook = self.notebooks.apply(change)
        if notebook is None:
            log.warning("notebookDocument/didChange for %s, which is not open", change.uri)
            return
        for uri in change.closed:
            self.close_document(uri)
        for cell in change.opened:
            self.session.open(cell.uri, cell.language_id, cell.version, cell.text)
        edited = []
        for uri, version, changes in change.texts:
            if uri in self.session.documents:
                self.session.change(uri, version, changes)
                edited.append(uri)
            else:
                log.warning("a change to cell %s, which is not open", uri)
        restructured = change.structure is not None or change.opened or change.closed or change.kinds
        edited_or_none = None if restructured else edited
        self._tell(self.notebook_listeners, f"changing {notebook.uri}", notebook, edited_or_none)

    def close_notebook(self, uri: str) -> None:
        for cell_uri in self.notebooks.close(uri):
            self.close_document(cell_uri)
        self._tell(self.notebook_closed_listeners, f"closing {uri}", uri)

    # -- session hooks --------------------------------------------------------------------------

    def after_batch(self) -> None:
        """The transport handled every message it read: edited documents advance now, so a
        burst of edits is one advance."""
        self.session.advance_due()

    def _refresh_after(self, doc: OpenDocument, view: TokenView, previous: TokenView | None) -> None:
        """Ask the client to re-request what it may have got from an older version or model."""
        model_changed = previous is not None and previous.tokenizer is not view.tokenizer
        if model_changed or (doc.stale_answers and doc.up_to_date):
            doc.stale_answers = False
            self.request_refresh("inlayHint")
            self.request_refresh("semanticTokens")
        elif previous is not None and previous.spec != view.spec:
            self.request_refresh("inlayHint")  # the same tokens for another model: ≈ may come or go

    def _skipped(self, doc: OpenDocument, reason: str) -> None:
        name = doc.uri.rsplit("/", 1)[-1]
        self.show_message(f"TokenPrism: {name} is {reason}.", types.MessageType.Warning)
        self._tell(self.skipped_listeners, f"skipping {doc.uri}", doc, reason)

    def _load_failed(self, spec: str, message: str) -> None:
        session = self.session
        kept = sorted(
            {d.view.model for d in session.documents.values() if d.view and session.spec_for(d) == spec}
        )
        if not kept and session.tokenizers.last_good is not None:
            kept = [session.tokenizers.last_good.name]
        tail = f"; still using {', '.join(kept)}" if kept else ""
        self.show_message(f"TokenPrism: {message}{tail}")

    def _load_started(self, spec: str) -> Callable[[], None]:
        if not self.client_supports("window.work_done_progress"):
            return lambda: None
        token = f"tokenprism-load-{next(self._progress_ids)}"
        state = {"created": False, "ended": False}

        async def begin() -> None:
            try:
                await self.work_done_progress.create_async(token)
            except Exception:
                return
            state["created"] = True
            self.work_done_progress.begin(
                token, types.WorkDoneProgressBegin(title="TokenPrism", message=f"loading {spec}")
            )
            if state["ended"]:
                end()

        def end() -> None:
            state["ended"] = True
            if state["created"]:
                state["created"] = False
                self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=f"{spec} ready"))

        asyncio.ensure_future(begin())
        return end

    # -- settings -------------------------------------------------------------------------------

    async def reload_settings(self, pushed: Any = None) -> None:
        """Read settings: initializationOptions, overridden by workspace/configuration when
        the client supports it, else by the pushed ``didChangeConfiguration`` settings."""
        raw = _merge(_section(self._initialization_options), _section(pushed))
        if self.client_supports("workspace.configuration"):
            try:
                result = await self.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
                )
                if result and result[0] is not None:
                    raw = _merge(raw, _section(result[0]))
            except Exception as exc:
                log.warning("workspace/configuration failed: %s", exc)
        self.apply_settings(raw)

    def apply_settings(self, raw: Any) -> None:
        settings, problems = Settings.from_dict(raw)
        for problem in problems:
            self.show_message(f"TokenPrism: {problem}", types.MessageType.Warning)
        old = self.session.settings
        if settings == old:
            return
        self.session.apply_settings(settings)
        for listener in self.settings_listeners:
            try:
                listener(old, settings)
            except Exception:
                log.exception("a feature failed to apply new settings")


def _section(raw: Any) -> dict:
    from .settings import to_plain

    raw = to_plain(raw)
    if not isinstance(raw, dict):
        return {}
    inner = raw.get(SECTION)
    return inner if isinstance(inner, dict) else raw


def _merge(base: dict, top: dict) -> dict:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "modelByLanguage":
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _register_core(server: TokenPrismServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: TokenPrismServer, params: types.InitializeParams) -> None:
        encoding = str(ls.workspace.position_encoding or UTF16)
        ls.session.encoding = encoding if encoding in ENCODINGS else UTF16
        ls._initialization_options = params.initialization_options
        ls.apply_settings(_section(params.initialization_options))

    @server.feature(types.INITIALIZED)
    async def initialized(ls: TokenPrismServer, params: types.InitializedParams) -> None:
        if ls.client_supports("workspace.configuration"):
            await ls.reload_settings()
        ls.session.tokenizers.start(ls.settings.model)  # load early: the first document opens faster

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: TokenPrismServer, params: types.DidChangeConfigurationParams
    ) -> None:
        await ls.reload_settings(params.settings)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: TokenPrismServer, params: types.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        ls.session.open(item.uri, item.language_id, item.version, item.text)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: TokenPrismServer, params: dict) -> None:
        uri, version, changes = content_changes(params)  # the JSON as sent: see RawNotification
        if uri not in ls.session.documents:
            log.warning("didChange for %s, which is not open", uri)
            return
        ls.session.change(uri, version, changes)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: TokenPrismServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.close_document(params.text_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_did_open(ls: TokenPrismServer, params: types.DidOpenNotebookDocumentParams) -> None:
        nb = params.notebook_document
        cells = [cell_of(cell) for cell in nb.cells]
        texts = [CellText(d.uri, d.language_id, d.version, d.text) for d in params.cell_text_documents]
        ls.open_notebook(Notebook(nb.uri, nb.notebook_type, nb.version, cells), texts)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_did_change(ls: TokenPrismServer, params: dict) -> None:
        ls.change_notebook(notebook_change(params))  # the JSON as sent: see RawNotification

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_did_save(ls: TokenPrismServer, params: types.DidSaveNotebookDocumentParams) -> None:
        pass  # the cells' texts are the editor's already; nothing to read from disk

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_did_close(ls: TokenPrismServer, params: types.DidCloseNotebookDocumentParams) -> None:
        ls.close_notebook(params.notebook_document.uri)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: TokenPrismServer, params: Any) -> None:
        ls.session.shutdown()


def _structure_problem(error: Exception) -> str:
    """What is wrong with a message's fields, in one line (cattrs lists each field's problem)."""
    try:
        problems = transform_error(error, path="message")
    except Exception:
        problems = []
    return "; ".join(problems[:3]) or one_line(error)


def content_changes(params: Any) -> tuple[str, int, list[tuple]]:
    """``(uri, version, changes)`` of a ``didChange``'s JSON params, each change
    ``((line, col), (line, col), text)`` or ``(None, None, text)`` for the whole text;
    JsonRpcInvalidParams if they are not shaped like DidChangeTextDocumentParams."""
    try:
        document = params["textDocument"]
        uri, version = document["uri"], document["version"]
        raw_changes = params["contentChanges"]
    except (KeyError, TypeError) as exc:
        raise JsonRpcInvalidParams(f"didChange params are malformed: {exc!r}") from None
    if not isinstance(uri, str) or not is_int(version):
        raise JsonRpcInvalidParams("didChange params are malformed: wrong types")
    return uri, version, text_changes(raw_changes, "didChange")


class ExpectedErrorAnswers(logging.Filter):
    """pygls logs every error answer at ERROR with a traceback. Bad params and requests that
    cannot be answered are answers we give on purpose: one INFO line with the reason."""

    EXPECTED = (JsonRpcInvalidParams, RequestFailed)

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, self.EXPECTED):
            return True
        record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        record.msg, record.args = "answered with an error: %s", (
            str(error).splitlines()[0] if str(error) else type(error).__name__,
        )
        record.exc_info = record.exc_text = None
        return logging.getLogger(record.name).isEnabledFor(logging.INFO)


def quiet_expected_errors() -> None:
    json_rpc = logging.getLogger("pygls.protocol.json_rpc")
    if not any(isinstance(f, ExpectedErrorAnswers) for f in json_rpc.filters):
        json_rpc.addFilter(ExpectedErrorAnswers())


def create_server() -> TokenPrismServer:
    from .features import register_all

    quiet_expected_errors()
    server = TokenPrismServer()
    _register_core(server)
    register_all(server)
    return server


def main(args: argparse.Namespace | None = None) -> int:
    """Run the server: stdio by default, ``--tcp [HOST:]PORT`` for debugging."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    level = os.environ.get("TOKENPRISM_LOG", "WARNING").upper()
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, level, logging.WARNING))
    map_large_blocks()  # before any thread has an arena: big arrays never fragment the heap
    server = create_server()
    tcp = getattr(args, "tcp", None)
    if tcp:
        host, port = parse_host_port(tcp)
        server.start_tcp(host, port)
        return 0
    server.serving_stdio = True
    exit_process(serve_stdio(server))  # never returns: see exit_process
    return 0


def parse_host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"--tcp expects [HOST:]PORT, got {value!r}") from None
    if not 0 < number < 65536:
        raise ValueError(f"--tcp port must be 1-65535, got {number}")
    return host or "127.0.0.1", number
