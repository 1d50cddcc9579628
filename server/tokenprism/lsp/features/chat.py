"""Chat documents in the editor: ``tokenprism/renderChat``, a count hint per message (per
line for JSONL) with a document total, and a diagnostic where a conversation cannot be
rendered.

The analysis (parse, render with the chat template, count) runs off the event loop after
each advance of a document that may be a chat document (a cheap test keeps
Markdown and source files off that path) and is cached per document version and model;
requests and hints read the cache. The logic lives in plain functions over a
:class:`ChatAnalysis`; ``register`` only wires them to the server: an inlay-hint provider,
the ``chatTemplate`` setting, and its own diagnostics source.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field, replace

import numpy as np
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from ...tokenization import Tokenizer, pricing
from ...tokenization.chat import (
    SNIFF_CHARACTERS,
    ChatCount,
    ChatError,
    DocumentCount,
    count_document,
    detect_chat_format,
    might_be_chat,
    template_for,
)
from ...tokenization.costing import format_count
from .. import convert
from ..costs import ShownCounts, costs_of
from ..document import UTF16, Snapshot, cumulative_units
from ..token_view import DocumentError, TokenView

log = logging.getLogger(__name__)

METHOD = "tokenprism/renderChat"
DIAGNOSTIC_SOURCE = "tokenprism chat"


# -- analysis (plain functions) ------------------------------------------------------------------


@dataclass
class ChatAnalysis:
    """A chat document counted with one model, for one version of its text."""

    snapshot: Snapshot
    model: str
    format: str
    counted: DocumentCount | None
    error: str | None = None  # the whole document could not be counted (template file unreadable)
    key: tuple = field(default=(), repr=False)

    @property
    def version(self) -> int:
        return self.snapshot.version


def template_path(setting: str | None, uri: str) -> str | None:
    """The template file the setting names; a relative path is relative to the document."""
    if not setting:
        return None
    path = os.path.expanduser(os.path.expandvars(setting))
    if not os.path.isabs(path) and uri.startswith("file:"):
        from pygls.uris import to_fs_path

        folder = os.path.dirname(to_fs_path(uri) or "")
        path = os.path.join(folder, path)
    return path


def outside_workspace(path: str, folders: list[str], document_uri: str) -> str | None:
    """Why ``chatTemplate`` may not name ``path`` (a workspace setting can be written by
    whoever wrote the workspace), or None: it must lie in a workspace folder, the user's
    config folder or, without folders, the document's own folder — unless
    ``tokenprism.chatTemplate.allowOutsideWorkspace`` is set."""
    from pygls.uris import to_fs_path

    roots = [to_fs_path(f) or f for f in folders]
    roots.append(os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"))
    if not folders and document_uri.startswith("file:"):
        roots.append(os.path.dirname(to_fs_path(document_uri) or ""))
    real = os.path.realpath(path)
    for root in roots:
        if root and (real + os.sep).startswith(os.path.realpath(root).rstrip(os.sep) + os.sep):
            return None
    return (f"chat template {path} is outside the workspace; "
            "set tokenprism.chatTemplate.allowOutsideWorkspace to use it")


def _modified(path: str | None) -> float | None:
    """When the template file last changed, so an edited template is rendered again."""
    try:
        return os.stat(path).st_mtime if path else None
    except OSError:
        return None


def document_path(uri: str) -> str:
    return uri.rsplit("/", 1)[-1]


def analyze(snapshot: Snapshot, language_id: str, uri: str, tokenizer: Tokenizer,
            template_file: str | None, previous: dict | None = None,
            template_refused: str | None = None) -> ChatAnalysis | None:
    """Count a chat document; None when the text is not one. ``previous`` is the memo of
    the last analysis with the same tokenizer and template: unchanged conversations are
    not rendered again."""
    fmt = detect_chat_format(snapshot.text, language_id, document_path(uri))
    if fmt is None:
        return None
    if template_refused:
        return ChatAnalysis(snapshot, tokenizer.name, fmt, None, template_refused)
    try:
        template = template_for(tokenizer, template_file)
        counted = count_document(tokenizer, snapshot.text, fmt, template, previous)
    except ChatError as exc:
        return ChatAnalysis(snapshot, tokenizer.name, fmt, None, str(exc))
    return ChatAnalysis(snapshot, tokenizer.name, fmt, counted)


def _label(count: ChatCount, shown=None) -> str:
    shown = shown or _SAME
    n = shown.count(count.tokens)
    return f"{format_count(n, shown.exact and not count.estimate)} prompt token{'s' if n != 1 else ''}"


_SAME = ShownCounts(None, True, None)  # counts as the tokenizer gives them


def chat_hints(analysis: ChatAnalysis, first_line: int, last_line: int, shown=None) -> list[types.InlayHint]:
    """Hints in lines ``[first_line, last_line]``: each message's tokens (template share
    included) after the message, per line for JSONL, and the document total at the top.
    ``shown``: the model's counts from the tokenizer's (``.count(n)``, ``.exact``): calibrated
    and marked ``≈`` for an estimate."""
    shown = shown or _SAME
    counted = analysis.counted
    if counted is None:
        return []
    snapshot = analysis.snapshot
    places: list[tuple[int, str, str]] = []  # (offset, label, tooltip)
    good = [(conv, count) for conv, count in counted.conversations if not count.error]
    if counted.format == "jsonl":
        for conv, count in good:
            places.append((conv.end, _label(count, shown), _tooltip(analysis, count)))
    else:
        for conv, count in good:
            for message, share in zip(conv.messages, count.messages):
                exact = shown.exact and not count.estimate
                label = f"{share.role}: {format_count(shown.count(share.tokens), exact)}"
                places.append((message.end, label, f"{share.tokens} tokens of the rendered prompt, "
                               f"template tokens included ({analysis.model})"))
    if good:
        total = shown.count(sum(c.tokens for _, c in good))
        estimate = any(c.estimate for _, c in good) or not shown.exact
        what = f" in {len(good)} conversations" if len(good) > 1 else ""
        label = f"Σ {format_count(total, not estimate)} prompt tokens{what} ({analysis.model})"
        places.append((good[0][0].start, label, _tooltip(analysis, good[0][1]) if len(good) == 1 else label))
    if not places:
        return []
    offsets = np.array([p[0] for p in places], np.int64)
    lines, columns = snapshot.positions_at(offsets)
    hints = []
    for (offset, label, tooltip), line, column in zip(places, lines.tolist(), columns.tolist()):
        if first_line <= line <= last_line:
            hints.append(types.InlayHint(
                position=types.Position(line=line, character=column), label=label,
                kind=types.InlayHintKind.Type, padding_left=True, padding_right=True, tooltip=tooltip,
            ))
    return hints


def _tooltip(analysis: ChatAnalysis, count: ChatCount) -> str:
    how = ("OpenAI cookbook estimate" if count.estimate
           else f"rendered with the chat template ({count.template_source})")
    shares = ", ".join(f"{m.role} {m.tokens}" for m in count.messages)
    return f"{count.tokens} {analysis.model} tokens, {how}: {shares}, reply prompt {count.reply_tokens}"


def chat_diagnostics(analysis: ChatAnalysis) -> list[types.Diagnostic]:
    """One diagnostic per conversation that could not be counted, at the conversation."""
    snapshot = analysis.snapshot
    if analysis.counted is None:
        end = snapshot.line_end(0)
        return [_diagnostic(convert.lsp_range(snapshot, 0, end), analysis.error or "",
                            types.DiagnosticSeverity.Error)]
    out = []
    for conv, count in analysis.counted.conversations:
        if not count.error:
            continue
        # a model without a template is a fact to know, not a mistake in the document
        severity = (types.DiagnosticSeverity.Information if "no chat template" in count.error
                    else types.DiagnosticSeverity.Error if "chat template" in count.error
                    else types.DiagnosticSeverity.Warning)
        out.append(_diagnostic(convert.lsp_range(snapshot, conv.start, conv.end), count.error, severity))
    return out


def _diagnostic(rng: types.Range, message: str, severity) -> types.Diagnostic:
    return types.Diagnostic(range=rng, message=message, severity=severity, source=DIAGNOSTIC_SOURCE)


def utf16_offsets(text: str, offsets: list[int]) -> list[int]:
    """Character offsets in ``text`` as UTF-16 code units (JavaScript string indices)."""
    if text.isascii():
        return list(offsets)
    return cumulative_units(text, UTF16)[np.asarray(offsets, np.int64)].tolist()  # no loop per character


def render_result(analysis: ChatAnalysis, offset: int | None = None) -> dict:
    """The ``tokenprism/renderChat`` answer for the conversation at ``offset`` (the first
    one without)."""
    if analysis.counted is None:
        return {"model": analysis.model, "rendered": "", "tokens": 0, "estimate": False, "messages": [],
                "error": analysis.error, "version": analysis.version, "format": analysis.format}
    conversations = analysis.counted.conversations
    index = 0
    if offset is not None:
        for k, (conv, _) in enumerate(conversations):
            if conv.start <= offset <= conv.end:
                index = k
                break
            if conv.start > offset:
                break
    conv, count = conversations[index]
    snapshot = analysis.snapshot
    starts = [m.start for m in conv.messages] + [m.end for m in conv.messages]
    lines, columns = snapshot.positions_at(np.array(starts, np.int64)) if starts else ([], [])
    lines, columns = list(lines), list(columns)
    n = len(conv.messages)
    messages = [
        {
            "role": share.role, "tokens": share.tokens,
            "range": {"start": {"line": int(lines[i]), "character": int(columns[i])},
                      "end": {"line": int(lines[n + i]), "character": int(columns[n + i])}},
        }
        for i, share in enumerate(count.messages)
    ]
    flat = [o for r in count.special_ranges for o in r]
    units = utf16_offsets(count.rendered, flat)
    result = {
        "model": analysis.model, "rendered": count.rendered, "tokens": count.tokens,
        "estimate": count.estimate,
        "messages": messages, "specialRanges": [units[i : i + 2] for i in range(0, len(units), 2)],
        "replyTokens": count.reply_tokens, "templateSource": count.template_source,
        "format": analysis.format, "version": analysis.version,
        "conversation": index, "conversations": len(conversations), "documentTokens": analysis.counted.tokens,
    }
    if count.error:
        result["error"] = count.error
    return result


def add_costs(result: dict, analysis: ChatAnalysis, facts_of, epochs: int = 1, api=None) -> dict:
    """The renderChat answer with what it costs: ``count``/``cost`` per message and for the
    conversation (``facts_of(tokens)``: the model's facts for that many tokenizer tokens),
    ``exact``/``basis``, the provider's counts when its API answered (``api``: a RemoteCount of
    this conversation), and for JSONL training data ``trainingCost`` of the whole file."""
    whole = facts_of(result["tokens"])
    cookbook = "OpenAI cookbook estimate of the chat framing" if result.get("estimate") else None
    exact_api = api is not None and api.tokens is not None
    result.update(count=api.tokens if exact_api else whole.count, cost=whole.cost,
                  exact=exact_api or (whole.exact and not cookbook),
                  exactness="exact-api" if exact_api else ("estimate" if cookbook else whole.exactness.value),
                  basis=None if exact_api else "; ".join(b for b in (whole.basis, cookbook) if b) or None)
    if exact_api:
        result["cost"] = replace(whole, count=api.tokens).cost
    for i, message in enumerate(result["messages"]):
        facts = facts_of(message["tokens"])
        message.update(count=facts.count, cost=facts.cost)
        alone = api.messages[i] if api is not None and api.messages and i < len(api.messages) else None
        if alone is not None:
            message["apiCount"] = alone  # the message alone, with the request's framing
    result["trainingCost"] = None
    if analysis.format == "jsonl" and analysis.counted is not None:
        training = facts_of(analysis.counted.tokens)
        per_epoch = pricing.cost(training.count, training.prices, "training")
        result["trainingTokens"] = training.count
        if per_epoch is not None:
            result["trainingCost"] = {"perEpoch": per_epoch, "epochs": epochs, "total": per_epoch * epochs}
    return result


def epochs_of(params: dict) -> int:
    epochs = params.get("epochs", 1)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= 1000:
        raise JsonRpcInvalidParams(f"epochs must be a whole number from 1 to 1000, got {epochs!r}")
    return epochs


# -- wiring --------------------------------------------------------------------------------------


class ChatFeature:
    def __init__(self, server) -> None:
        self.server = server
        self.analyses: dict[str, ChatAnalysis] = {}
        self._running: dict[str, asyncio.Task] = {}
        self._latest: dict[str, tuple[TokenView, str]] = {}  # the next view to analyze, per document
        # per document: (language id, the rope chunks holding the head might_be_chat read,
        # its answer); typing below the head leaves those chunks the same objects
        self._sniffed: dict[str, tuple[str, tuple[str, ...], bool]] = {}

    def template_setting(self, view: TokenView) -> str | None:
        """``chatTemplate`` names the template of the document's model; a request for
        another model renders with that model's own template."""
        return (self.server.settings.chat_template if view.tokenizer is self._document_tokenizer(view.uri)
                else None)

    def key(self, view: TokenView) -> tuple:
        setting = self.template_setting(view)
        return (view.version, id(view.tokenizer), setting, _modified(template_path(setting, view.uri)))

    async def analysis(self, view: TokenView, language_id: str) -> ChatAnalysis | None:
        """The analysis of exactly this view, computed in a worker thread when not cached."""
        cached = self.analyses.get(view.uri)
        key = self.key(view)
        if cached is not None and cached.key == key:
            return cached
        template = template_path(self.template_setting(view), view.uri)
        previous = None
        if cached is not None and cached.counted is not None and cached.key[1:] == key[1:]:
            previous = cached.counted.memo  # same tokenizer and template: reuse what did not change
        refused = None
        if template and not self.server.settings.chat_template_outside_workspace:
            refused = outside_workspace(template, list(self.server.workspace.folders), view.uri)
        result = await asyncio.get_running_loop().run_in_executor(
            None, analyze, view.snapshot, language_id, view.uri, view.tokenizer, template, previous, refused
        )
        if result is not None:
            result.key = key
            if view.tokenizer is self._document_tokenizer(view.uri):
                self.analyses[view.uri] = result
        return result

    def _document_tokenizer(self, uri: str):
        doc = self.server.session.documents.get(uri)
        return doc.view.tokenizer if doc is not None and doc.view is not None else None

    def on_tokenized(self, doc, view: TokenView, previous) -> None:
        language_id = doc.document.language_id
        if not self._might_be_chat(doc.uri, view, language_id):
            # a Markdown or source file: nothing to analyze, on no edit (O(1) to decide)
            if self.analyses.pop(doc.uri, None) is not None:
                self.publish(doc.uri, view.version, [])  # it was a chat document until this edit
            return
        # One analysis per document at a time; versions that arrive meanwhile collapse
        # into the newest, which runs next (with the memo of the one before).
        self._latest[doc.uri] = (view, language_id)
        running = self._running.get(doc.uri)
        if running is None or running.done():
            self._running[doc.uri] = asyncio.ensure_future(self._drain(doc.uri))

    async def _drain(self, uri: str) -> None:
        while uri in self._latest:
            view, language_id = self._latest.pop(uri)
            await self._refresh(uri, view, language_id)

    async def _refresh(self, uri: str, view: TokenView, language_id: str) -> None:
        try:
            analysis = await self.analysis(view, language_id)
        except asyncio.CancelledError:
            return
        except Exception:
            log.exception("chat analysis of %s failed", uri)
            return
        if analysis is None:
            self.analyses.pop(uri, None)
        self.publish(uri, view.version, chat_diagnostics(analysis) if analysis else [])
        if analysis is not None:
            self.server.request_refresh("inlayHint")

    def publish(self, uri: str, version: int, diagnostics: list[types.Diagnostic]) -> None:
        self.server.publish_diagnostics(uri, DIAGNOSTIC_SOURCE, diagnostics, version)

    def _might_be_chat(self, uri: str, view: TokenView, language_id: str) -> bool:
        chunks = view.snapshot.content.leading_chunks(SNIFF_CHARACTERS)  # all might_be_chat reads
        sniffed = self._sniffed.get(uri)
        if (
            sniffed is not None
            and sniffed[0] == language_id
            and len(sniffed[1]) == len(chunks)
            and all(a is b for a, b in zip(sniffed[1], chunks))
        ):
            return sniffed[2]
        answer = might_be_chat(view.snapshot.slice(0, SNIFF_CHARACTERS), language_id, document_path(uri))
        self._sniffed[uri] = (language_id, chunks, answer)
        return answer

    def on_closed(self, uri: str) -> None:
        self._sniffed.pop(uri, None)
        self.analyses.pop(uri, None)
        self._latest.pop(uri, None)
        task = self._running.pop(uri, None)
        if task is not None:
            task.cancel()

    def on_settings(self, old, new) -> None:
        if (old.chat_template, old.chat_template_outside_workspace) == (
                new.chat_template, new.chat_template_outside_workspace):
            return
        for doc in list(self.server.session.documents.values()):
            if doc.view is not None:
                self.on_tokenized(doc, doc.view, None)

    async def hints(self, params: types.InlayHintParams) -> list[types.InlayHint]:
        uri = params.text_document.uri
        doc = self.server.session.documents.get(uri)
        cached = self.analyses.get(uri)
        if doc is None or cached is None or doc.view is None:
            return []  # not a chat document, or not analyzed yet (a refresh follows)
        if cached.key != self.key(doc.view):
            if cached.key[0] == doc.view.version:  # the template file changed on disk
                self.on_tokenized(doc, doc.view, None)
            return []
        return chat_hints(cached, params.range.start.line, params.range.end.line,
                          costs_of(self.server).shown_counts(doc.view))


def register(server) -> None:
    feature = ChatFeature(server)
    server.tokenized_listeners.append(feature.on_tokenized)
    server.settings_listeners.append(feature.on_settings)
    server.closed_listeners.append(feature.on_closed)
    server.inlay_hint_providers.append(feature.hints)

    costs = costs_of(server)

    @server.feature(METHOD)
    async def render_chat(ls, params) -> dict:
        p = convert.params_dict(params)
        epochs = epochs_of(p)
        view = await convert.requested_view(ls.session, p)
        position = p.get("position")
        offset = (convert.offset(view.snapshot, convert.parse_position(position, "position"))
                  if position else None)
        try:
            doc = ls.session.get(view.uri)
        except DocumentError as exc:
            raise convert.RequestFailed(str(exc)) from None
        analysis = await feature.analysis(view, doc.document.language_id)
        if analysis is None:
            raise convert.RequestFailed(
                f"{document_path(view.uri)} is not a chat document (a JSON messages array or request body, "
                "JSONL with one conversation per line, or a *.prompt.yml with messages:)"
            )
        result = render_result(analysis, offset)
        if analysis.counted is None:
            return result
        conv = analysis.counted.conversations[result["conversation"]][0]
        api, result["api"] = costs.chat_count(view, result["conversation"], [m.data for m in conv.messages])
        return add_costs(result, analysis, lambda n: costs.range_facts(view, n), epochs, api)
