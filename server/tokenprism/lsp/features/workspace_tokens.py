"""``tokenprism/workspaceTokens``: the token counts of every file in the workspace folders,
with folder subtotals, for the current model.

The counting is :func:`~tokenprism.tokenization.tree_counts.count_tree` (the CLI's walker and
batch encode) on a thread of its own, one walk at a time: hovers and hints keep answering.
Each batch goes to the client as a partial result (``$/progress`` on ``partialResultToken``)
and as work-done progress; counts are cached by path + size + mtime, so asking again re-reads
only changed files. Saves and file-system events under a counted folder tell the client
(``tokenprism/workspaceTokensChanged``) to ask again."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import from_fs_path, to_fs_path

from ...tokenization import TokenizerLoadError
from ...tokenization.costing import facts_for, format_cost, format_count
from ...tokenization.tree_counts import Batch, CountCache, TreeCount, count_tree
from .. import convert

log = logging.getLogger(__name__)

METHOD = "tokenprism/workspaceTokens"
CHANGED = "tokenprism/workspaceTokensChanged"
CHANGED_DELAY = 0.5  # seconds: a burst of saves or file events is one notification
WATCHER_ID = "tokenprism-workspace-files"


def file_json(count) -> dict:
    return {"path": count.path, "tokens": count.tokens, "characters": count.characters, "bytes": count.bytes}


def folder_json(node) -> dict:
    return {"path": node.path, "tokens": node.tokens, "files": node.files}


def batch_json(uri: str, batch: Batch) -> dict:
    """A partial result: what one batch added to a root, and the subtotals it changed."""
    return {
        "root": uri,
        "files": [file_json(f) for f in batch.files],
        "skipped": [vars(s) for s in batch.skipped],
        "folders": [folder_json(n) for n in batch.folders],
        "done": batch.done,
        "planned": batch.planned,
    }


def root_json(uri: str, name: str, counted: TreeCount) -> dict:
    tree = counted.tree
    folders, files = [], []
    for folder in tree.folders():
        folders.append(folder_json(folder))
        files.extend(file_json(n) for n in folder.children.values() if not n.is_folder)
    return {
        "uri": uri,
        "name": name,
        "complete": counted.complete,
        "total": {"tokens": tree.root.tokens, "files": tree.root.files},
        "folders": folders,
        "files": files,
        "skipped": [vars(s) for s in counted.skipped],
    }


class WorkspaceWalks:
    """One walk at a time: a new request stops the running one (its answer says
    ``complete: false``) and waits for it; the cache outlives walks."""

    def __init__(self, server) -> None:
        self.server = server
        self.cache = CountCache()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokenprism-walk")
        self._cancel: threading.Event | None = None
        self._counted_folders: set[str] = set()  # absolute folder paths of the last walks
        self._changed: set[str] = set()
        self._changed_timer: asyncio.TimerHandle | None = None
        self._watching = False
        self._progress_ids = itertools.count(1)

    def roots(self, params: dict) -> list[tuple[str, str, Path]]:
        """``(uri, name, path)`` of the folders to count: ``folders`` if given, else the
        workspace folders (or the root URI)."""
        given = params.get("folders")
        if given is not None:
            if not isinstance(given, list) or not all(isinstance(u, str) for u in given):
                raise JsonRpcInvalidParams("folders must be a list of folder URIs")
            uris = [(u, u.rstrip("/").rsplit("/", 1)[-1]) for u in given]
        else:
            workspace = self.server.workspace
            uris = [(f.uri, f.name) for f in workspace.folders.values()]
            if not uris and workspace.root_uri:
                uris = [(workspace.root_uri, workspace.root_uri.rstrip("/").rsplit("/", 1)[-1])]
        roots = []
        for uri, name in uris:
            path = to_fs_path(uri) if uri.startswith("file:") else None
            if path is None or not Path(path).is_dir():
                raise convert.RequestFailed(f"not a folder on disk: {uri}")
            roots.append((uri, name, Path(path)))
        return roots

    async def count(self, params: dict) -> dict:
        roots = self.roots(params)
        settings = self.server.settings
        try:
            tokenizer = await self.server.session.tokenizers.load(settings.model)
        except TokenizerLoadError as exc:
            raise convert.RequestFailed(str(exc)) from None
        special = settings.special_tokens
        if self._cancel is not None:
            self._cancel.set()  # the running walk stops between files; the executor queues ours
        cancel = self._cancel = threading.Event()
        await self._watch_files()
        progress = Progress(self.server, params.get("workDoneToken"), cancel, next(self._progress_ids))
        partial_token = params.get("partialResultToken")
        loop = asyncio.get_running_loop()
        results = []
        try:
            await progress.begin(len(roots))
            for uri, name, path in roots:

                def on_batch(batch: Batch, uri=uri, name=name) -> None:  # on the walk's thread
                    value = batch_json(uri, batch)
                    loop.call_soon_threadsafe(self._send_batch, partial_token, progress, name, value)

                def walk(path=path, on_batch=on_batch, uri=uri, name=name) -> tuple[dict, list[str]]:
                    counted = count_tree(
                        path, tokenizer, special, cache=self.cache, cancel=cancel, on_batch=on_batch
                    )
                    # the answer's JSON is built here too: for a big tree that takes a while
                    folders = [str(counted.root / n.path) for n in counted.tree.folders()]
                    return root_json(uri, name, counted), folders

                answer, folders = await loop.run_in_executor(self._executor, walk)
                self._counted_folders.update(folders)
                results.append(answer)
                if cancel.is_set():
                    break
        finally:
            cancel.set()  # a cancelled request (CancelledError) stops its walk too
            if self._cancel is cancel:
                self._cancel = None
            progress.end()
        complete = len(results) == len(roots) and all(r["complete"] for r in results)
        tokens = sum(r["total"]["tokens"] for r in results)
        # what the whole workspace as one prompt would cost the model named in the settings
        # (null for a plain tokenizer); the price data loads off the event loop
        facts = await loop.run_in_executor(
            self._executor,
            lambda: facts_for(settings.model, tokens, tokenizer_window=tokenizer.context_window),
        )
        return {
            "model": tokenizer.name,
            "spec": settings.model,
            "specialTokens": special.value,
            "complete": complete,
            "roots": results,
            "total": {
                "tokens": tokens,
                "files": sum(r["total"]["files"] for r in results),
                "skipped": sum(len(r["skipped"]) for r in results),
                **facts.to_json(),
                "countText": format_count(facts.count, facts.exact),
                "costText": None if facts.cost is None else format_cost(facts.cost),
            },
        }

    def _send_batch(self, partial_token, progress: Progress, name: str, value: dict) -> None:
        if partial_token is not None:
            self.server.notify(types.PROGRESS, {"token": partial_token, "value": value})
        progress.report(name, value["done"], value["planned"])

    # -- keeping the client's tree current ----------------------------------------------------------

    async def _watch_files(self) -> None:
        """Ask the client for file-system events (once), when it can register watchers."""
        if self._watching or not self.server.client_supports(
            "workspace.did_change_watched_files.dynamic_registration"
        ):
            return
        self._watching = True
        watcher = types.FileSystemWatcher(glob_pattern="**/*")
        registration = types.Registration(
            id=WATCHER_ID,
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=[watcher]),
        )
        try:
            await self.server.client_register_capability_async(
                types.RegistrationParams(registrations=[registration])
            )
        except Exception as exc:
            log.info("the client did not register a file watcher: %s", exc)

    def files_changed(self, uris: list[str]) -> None:
        """Files saved, created, changed or deleted: forget their counts and, if they lie
        in a counted folder, tell the client soon (once for a burst)."""
        paths = [p for p in (to_fs_path(u) for u in uris if u.startswith("file:")) if p]
        self.cache.forget(paths)
        relevant = [
            p for p in paths if p in self._counted_folders or str(Path(p).parent) in self._counted_folders
        ]
        if not relevant:
            return
        self._changed.update(relevant)
        if self._changed_timer is None:
            self._changed_timer = asyncio.get_running_loop().call_later(CHANGED_DELAY, self._send_changed)

    def _send_changed(self, reason: str = "files") -> None:
        self._changed_timer = None
        changed, self._changed = sorted(self._changed), set()
        self.server.notify(CHANGED, {"reason": reason, "uris": [from_fs_path(p) for p in changed]})

    def settings_changed(self, old, new) -> None:
        if (old.model, old.special_tokens) != (new.model, new.special_tokens) and self._counted_folders:
            self.server.notify(CHANGED, {"reason": "model", "uris": []})


class Progress:
    """Work-done progress of one walk: on the client's ``workDoneToken``, else on one the
    server creates when the client supports that; ``cancel`` is set when the user cancels."""

    def __init__(self, server, token, cancel: threading.Event, number: int) -> None:
        self.server, self.token, self.cancel = server, token, cancel
        self.created = token is not None
        if token is None and server.client_supports("window.work_done_progress"):
            self.token = f"tokenprism-workspace-{number}"
        self.started = False

    async def begin(self, roots: int) -> None:
        if self.token is None:
            return
        if not self.created:
            try:
                await self.server.work_done_progress.create_async(self.token)
            except Exception:
                self.token = None
                return
        self.server.work_done_progress.begin(
            self.token,
            types.WorkDoneProgressBegin(
                title="TokenPrism: counting tokens", message="listing files", cancellable=True, percentage=0
            ),
        )
        self.started = True
        future = self.server.work_done_progress.tokens.get(self.token)
        if future is not None:  # window/workDoneProgress/cancel cancels this future
            future.add_done_callback(lambda f: f.cancelled() and self.cancel.set())

    def report(self, name: str, done: int, planned: int) -> None:
        if self.started:
            self.server.work_done_progress.report(
                self.token,
                types.WorkDoneProgressReport(
                    message=f"{name}: {done:,}/{planned:,} files", percentage=100 * done // max(planned, 1)
                ),
            )

    def end(self) -> None:
        if self.started:
            self.started = False
            self.server.work_done_progress.end(self.token, types.WorkDoneProgressEnd())
            self.server.work_done_progress.tokens.pop(self.token, None)


def register(server) -> None:
    walks = WorkspaceWalks(server)
    server.workspace_walks = walks  # for tests and the other features

    @server.feature(METHOD)
    async def workspace_tokens(ls, params) -> dict:
        return await walks.count(convert.params_dict(params))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_files(ls, params: types.DidChangeWatchedFilesParams) -> None:
        walks.files_changed([change.uri for change in params.changes])

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls, params: types.DidSaveTextDocumentParams) -> None:
        walks.files_changed([params.text_document.uri])

    server.settings_listeners.append(walks.settings_changed)
