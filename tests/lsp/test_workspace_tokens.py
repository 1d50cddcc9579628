"""``tokenprism/workspaceTokens`` over stdio: the workspace folder's files and folder subtotals
equal ``tokenprism count`` (another process), partial results and work-done progress arrive
per batch, a cancelled walk stops, a saved file is recounted, and hovers keep answering while
a big generated tree is being counted."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsp_helpers import SERVER, configured, open_document, plain, request, wait_stats
from lsprotocol import types
from pygls.uris import from_fs_path
from pytest_lsp import LanguageClient

from sample_trees import SAMPLE, cli_count, folder_sums, generate_big_tree, write_tree

pytestmark = pytest.mark.asyncio(loop_scope="module")

METHOD = "tokenprism/workspaceTokens"
CHANGED = "tokenprism/workspaceTokensChanged"
BIG_FILES = 4000


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("workspace-tokens")
    return {
        "sample": write_tree(base / "sample", SAMPLE),
        "big": generate_big_tree(base / "big", BIG_FILES),
    }


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient, folders):
    lsp_client.stats, lsp_client.partials, lsp_client.work, lsp_client.changed = [], {}, {}, []
    lsp_client.arrived = asyncio.Event()
    lsp_client.registrations = []

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def on_register(params):
        for r in params.registrations:
            lsp_client.registrations.append(
                {"method": r.method, "registerOptions": plain(r.register_options)}
            )

    @lsp_client.feature("tokenprism/documentStats")
    def on_stats(params):
        lsp_client.stats.append(plain(params))
        lsp_client.arrived.set()

    @lsp_client.feature(CHANGED)
    def on_changed(params):
        lsp_client.changed.append(plain(params))

    def on_progress(params):  # partial results and work-done progress share $/progress
        value = plain(params.value)
        if isinstance(value, dict) and "kind" in value:
            lsp_client.work.setdefault(params.token, []).append(value)
        else:
            lsp_client.partials.setdefault(params.token, []).append(value)

    lsp_client.protocol.fm._features[types.PROGRESS] = on_progress
    sample = from_fs_path(str(folders["sample"]))
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
            initialization_options={"model": "o200k_base"},
            workspace_folders=[types.WorkspaceFolder(uri=sample, name="sample")],
        )
    )
    yield
    await lsp_client.shutdown_session()


def files_of(root: dict) -> dict[str, int]:
    return {f["path"]: f["tokens"] for f in root["files"]}


async def test_workspace_totals_equal_the_cli_with_partial_results_and_progress(client, folders):
    result = await request(client, METHOD, {"partialResultToken": "partial-1", "workDoneToken": "work-1"})
    assert result["complete"] and result["model"] == "o200k_base"
    (root,) = result["roots"]
    assert root["uri"] == from_fs_path(str(folders["sample"])) and root["name"] == "sample"
    cli = cli_count(folders["sample"])
    assert files_of(root) == {f["path"]: f["tokens"] for f in cli["files"]}
    assert {s["path"]: s["reason"] for s in root["skipped"]} == {
        s["path"]: s["reason"] for s in cli["skipped"]
    }
    sums = folder_sums(files_of(root))
    assert {f["path"]: (f["tokens"], f["files"]) for f in root["folders"]} == sums
    assert root["total"] == {"tokens": cli["total"]["tokens"], "files": cli["total"]["files"]}
    assert result["total"]["tokens"] == cli["total"]["tokens"]

    partials = client.partials["partial-1"]
    assert partials and all(p["root"] == root["uri"] for p in partials)
    assert sorted(f["path"] for p in partials for f in p["files"]) == sorted(files_of(root))
    assert partials[-1]["folders"][0] == {
        "path": "",
        "tokens": cli["total"]["tokens"],
        "files": cli["total"]["files"],
    }
    (watcher,) = [r for r in client.registrations if r["method"] == "workspace/didChangeWatchedFiles"]
    assert watcher["registerOptions"]["watchers"][0]["globPattern"] == "**/*"
    kinds = [w["kind"] for w in client.work["work-1"]]
    assert kinds[0] == "begin" and kinds[-1] == "end" and "report" in kinds


async def test_a_saved_file_is_recounted_and_the_client_told(client, folders):
    await request(client, METHOD, {})
    path = folders["sample"] / "src" / "util.py"
    path.write_text("print('a longer file than it was before, by several words')\n" * 3, encoding="utf-8")
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=from_fs_path(str(path)))
        )
    )
    deadline = time.monotonic() + 10
    while not client.changed and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert client.changed and client.changed[-1]["uris"] == [from_fs_path(str(path))]
    (root,) = (await request(client, METHOD, {}))["roots"]
    assert (
        files_of(root)["src/util.py"]
        == {f["path"]: f["tokens"] for f in cli_count(folders["sample"])["files"]}["src/util.py"]
    )
    # a file created in a counted folder (a file-system event, not a save): counted at the next request
    created = folders["sample"] / "src" / "deep" / "new.md"
    created.write_text("A new note with a few words in it.\n", encoding="utf-8")
    client.changed.clear()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=from_fs_path(str(created)), type=types.FileChangeType.Created)]
        )
    )
    deadline = time.monotonic() + 10
    while not client.changed and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert client.changed and client.changed[-1]["uris"] == [from_fs_path(str(created))]
    (root,) = (await request(client, METHOD, {}))["roots"]
    assert files_of(root) == {f["path"]: f["tokens"] for f in cli_count(folders["sample"])["files"]}
    assert "src/deep/new.md" in files_of(root)
    # a file outside every counted folder is no news
    client.changed.clear()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri="file:///elsewhere/x.txt", type=types.FileChangeType.Changed)]
        )
    )
    await asyncio.sleep(1.0)
    assert client.changed == []


async def test_hover_answers_while_a_big_tree_is_counted_and_cancel_stops_it(client, folders):
    uri = "file:///hover-during-walk.txt"
    text = "hello tokens while the workspace is being counted\n"
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    big = from_fs_path(str(folders["big"]))
    walk = asyncio.ensure_future(
        request(
            client, METHOD, {"folders": [big], "partialResultToken": "big-1", "workDoneToken": "big-work"}
        )
    )
    deadline = time.monotonic() + 60
    while not client.partials.get("big-1") and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert client.partials.get("big-1"), "the walk sent no partial result"
    latencies = []
    for _ in range(5):  # while the walk runs
        started = time.monotonic()
        hover = await asyncio.wait_for(
            client.text_document_hover_async(
                types.HoverParams(
                    text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(0, 2)
                )
            ),
            timeout=10,
        )
        latencies.append(time.monotonic() - started)
        assert hover is not None and "token" in hover.contents.value.lower()
    assert not walk.done(), "the walk ended before the hovers: make the generated tree bigger"
    assert max(latencies) < 1.0, latencies
    # the user cancels the work-done progress: the walk stops, its answer says it is incomplete
    client.protocol.notify(
        types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token="big-work")
    )
    result = await asyncio.wait_for(walk, timeout=30)
    assert not result["complete"] and result["roots"][0]["total"]["files"] < BIG_FILES
    assert client.work["big-work"][-1]["kind"] == "end"


async def test_a_cancelled_request_stops_its_walk_and_the_next_one_completes(client, folders):
    big = from_fs_path(str(folders["big"]))
    from pygls.exceptions import JsonRpcRequestCancelled

    asked = asyncio.ensure_future(
        client.protocol.send_request_async(
            METHOD, {"folders": [big], "partialResultToken": "big-2"}, msg_id="big-2"
        )
    )
    deadline = time.monotonic() + 60
    while not client.partials.get("big-2") and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="big-2"))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(asked, timeout=30)
    # the walk stopped too: no more batches of it
    await asyncio.sleep(0.5)
    sent = len(client.partials["big-2"])
    await asyncio.sleep(1.0)
    assert len(client.partials["big-2"]) == sent
    assert client.partials["big-2"][-1]["done"] < BIG_FILES
    started = time.monotonic()
    result = await asyncio.wait_for(request(client, METHOD, {"folders": [big]}), timeout=300)
    assert result["complete"] and result["roots"][0]["total"]["files"] == BIG_FILES
    print(f"big tree ({BIG_FILES} files) counted in {time.monotonic() - started:.1f} s after the cancel")
    # asked again, nothing changed: answered from the cache
    again = await asyncio.wait_for(request(client, METHOD, {"folders": [big]}), timeout=120)
    assert files_of(again["roots"][0]) == files_of(result["roots"][0])


async def test_bad_params_are_one_line_errors(client):
    from pygls.exceptions import JsonRpcException

    with pytest.raises(JsonRpcException, match="folders must be a list"):
        await request(client, METHOD, {"folders": "file:///x"})
    with pytest.raises(JsonRpcException, match="not a folder on disk"):
        await request(client, METHOD, {"folders": ["file:///no/such/folder"]})


async def test_the_total_carries_the_cost_for_an_api_model_like_count_cost(client, folders):
    plain_total = (await request(client, METHOD, {}))["total"]
    # o200k_base: a tokenizer, no price
    assert plain_total["cost"] is None and plain_total["costText"] is None
    async with configured(client, model="gpt-5"):
        deadline = time.monotonic() + 30
        while True:
            result = await request(client, METHOD, {})
            if result["spec"] == "gpt-5" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    cli = cli_count(folders["sample"], "--cost", model="gpt-5")
    total = result["total"]
    assert result["spec"] == "gpt-5" and total["tokens"] == cli["total"]["tokens"]
    assert total["cost"] == pytest.approx(cli["total"]["cost"]) and total["cost"] > 0
    assert total["costText"].startswith("$") and total["exact"] is True
