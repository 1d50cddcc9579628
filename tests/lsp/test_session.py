"""The session (documents, token states, tokenizers) in process, for races that are hard to
time from an editor."""

from __future__ import annotations

import asyncio

from lsp_helpers import until

from conftest import CORPUS
from tokenprism.lsp.session import Session
from tokenprism.lsp.settings import Settings
from tokenprism.tokenization import SpecialTokens, load_tokenizer


async def test_settings_changed_while_a_catch_up_runs_are_picked_up(testdata_models):
    session = Session()
    text = CORPUS["python"] * 3000  # long enough that the first advance is still running below
    doc = session.open("file:///race.py", "python", 1, text)
    for _ in range(200):
        await asyncio.sleep(0.01)
        if doc.task is not None and not doc.task.done() and session.tokenizers.get("o200k_base"):
            break
    assert doc.task is not None and not doc.task.done(), "the first advance finished too early to race"
    settings, problems = Settings.from_dict(
        {"modelByLanguage": {"python": "starcoder2"}, "specialTokens": "text"}
    )
    assert not problems
    session.apply_settings(settings)
    # a first GGUF load converts the vocabulary: minutes on a busy 2-core machine
    await until(lambda: doc.view is not None and doc.view.model == "starcoder2" and doc.task.done(),
                timeout=300)
    assert doc.view.model == "starcoder2"
    assert (doc.view.encoding.encoding().ids.tolist()
            == load_tokenizer("starcoder2").encode(text, SpecialTokens.TEXT).ids.tolist())
    session.shutdown()


async def test_edits_during_a_catch_up_end_in_the_newest_text():
    session = Session(encoding="utf-32")  # columns below count characters
    text = CORPUS["mixed"] * 500
    doc = session.open("file:///typing.txt", "plaintext", 1, text)
    version = 1
    for k in range(30):  # typing at the start while advances run
        version += 1
        session.change(doc.uri, version, [((0, k), (0, k), "é😀"[k % 2])])
        text = text[:k] + "é😀"[k % 2] + text[k:]
        await asyncio.sleep(0.003)
    view = await session.view(doc.uri, wait=30)
    assert view.version == version and view.text == text
    assert view.encoding.encoding().ids.tolist() == load_tokenizer("o200k_base").encode(text).ids.tolist()
    session.shutdown()


async def test_typing_is_tokenized_on_the_loop_and_a_big_paste_in_a_worker():
    """A typing-sized burst is one advance right after the messages are handled (no task); a
    paste bigger than the inline window goes to the catch-up task. Both end exact."""
    from tokenprism.lsp import open_document

    session = Session(encoding="utf-32")
    tokenizer = load_tokenizer("o200k_base")
    text = CORPUS["mixed"] * 200
    doc = session.open("file:///inline.txt", "plaintext", 1, text)
    await session.view(doc.uri, wait=60)
    first_task = doc.task
    advances = []
    session.tokenized_listeners.append(lambda d, view, previous: advances.append(view.version))
    for version, k in enumerate(range(5), start=2):  # a burst: handled before any advance
        session.change(doc.uri, version, [((3, k), (3, k), "x")])
    line3 = sum(len(line) for line in text.splitlines(keepends=True)[:3])
    text = text[:line3] + "xxxxx" + text[line3:]
    await asyncio.sleep(0)  # one turn of the loop
    assert advances == [6] and doc.task is first_task  # one advance, no new task
    assert doc.view.encoding.encoding().ids.tolist() == tokenizer.encode(text).ids.tolist()
    paste = CORPUS["korean"] * (open_document.INLINE_WINDOW_CHARS // len(CORPUS["korean"]) + 2)
    session.change(doc.uri, 7, [((10, 0), (10, 0), paste)])
    line10 = sum(len(line) for line in text.splitlines(keepends=True)[:10])
    text = text[:line10] + paste + text[line10:]
    await asyncio.sleep(0)
    assert doc.task is not first_task  # handed to the catch-up task
    view = await session.view(doc.uri, wait=60)
    assert view.version == 7 and advances[-1] == 7 and view.text == text
    assert view.encoding.encoding().ids.tolist() == tokenizer.encode(text).ids.tolist()
    session.shutdown()


async def test_the_idle_check_waits_for_a_pause_then_repairs_a_wrong_state(monkeypatch):
    """The safety net: no full check while typing goes on; once the document rests, a
    state that went wrong is found, repaired and republished."""
    from tokenprism.lsp import verify as verify_module
    from tokenprism.tokenization.chunking import Piece

    monkeypatch.setattr(verify_module, "VERIFY_AFTER_IDLE", 0.2)
    session = Session(encoding="utf-32")
    tokenizer = load_tokenizer("o200k_base")
    text = CORPUS["mixed"] * 300
    doc = session.open("file:///rest.txt", "plaintext", 1, text)
    await session.view(doc.uri, wait=60)
    checks = []  # when each full check started (it runs in a worker thread)
    loop = asyncio.get_running_loop()
    verify = type(doc.state).verify_and_repair
    monkeypatch.setattr(type(doc.state), "verify_and_repair",
                        lambda self, cancel=None: checks.append(loop.time()) or verify(self, cancel))
    # break the state where no edit below looks: the first token gets a wrong id
    store = doc.state._store
    first = store.slice(0, 1)
    store.splice(0, 1, Piece(first.ids + 1, first.ends, first.flags), 0)
    views = []
    session.tokenized_listeners.append(lambda d, view, previous: views.append(view))
    typing_started = loop.time()
    for version in range(2, 17):  # 15 keystrokes 50 ms apart, far from the broken token
        session.change(doc.uri, version, [((40, 0), (40, 0), "x")])
        last_keystroke = loop.time()
        await asyncio.sleep(0.05)
    assert not checks, "the full check ran while the user was typing"
    await until(lambda: checks and views and views[-1].version == 16
                and views[-1].encoding.token(0).id == tokenizer.encode(views[-1].text).ids[0], timeout=30)
    # after the pause (0.2 s from the last keystroke; timers may fire a clock tick early), not before
    assert checks[0] >= last_keystroke + 0.19 and last_keystroke > typing_started + 0.6
    line40 = sum(len(line) for line in text.splitlines(keepends=True)[:40])
    text = text[:line40] + "x" * 15 + text[line40:]
    assert doc.view.text == text
    assert doc.view.encoding.encoding().ids.tolist() == tokenizer.encode(text).ids.tolist()
    session.shutdown()


async def test_a_loaded_tokenizer_is_first_used_on_the_event_loop(monkeypatch):
    """The loop encodes every keystroke's window, so it must be the first thread to use a
    freshly loaded tokenizer (tiktoken's regex keeps its lock-free cache for that thread),
    not the worker that probes sync rules or encodes the first document."""
    import threading

    from tokenprism.lsp import tokenizers as tokenizers_module

    first_use = []

    class Recording:
        def __init__(self, inner):
            self._inner = inner

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def encode(self, text, special=SpecialTokens.SPECIAL):
            first_use.append(threading.get_ident())
            return self._inner.encode(text, special)

        def warm_up(self):
            type(self._inner).warm_up(self)  # the real method, through the recording encode

    loaded = load_tokenizer("o200k_base")
    monkeypatch.setattr(tokenizers_module, "load_tokenizer", lambda spec, options=None: Recording(loaded))
    session = Session()
    doc = session.open("file:///first.md", "markdown", 1, CORPUS["mixed"] * 50)
    await session.view(doc.uri, wait=60)
    assert first_use and first_use[0] == threading.get_ident()
    assert doc.view.encoding.encoding().ids.tolist() == loaded.encode(doc.document.text).ids.tolist()
    session.shutdown()


async def test_a_closed_document_is_freed_at_once():
    """A document owns its timers and tasks; closing it must leave nothing that refers back
    to it (a cycle would keep a large text and its tokens until a full garbage collection)."""
    import gc
    import weakref

    session = Session(encoding="utf-32")
    doc = session.open("file:///closed.txt", "plaintext", 1, CORPUS["mixed"] * 100)
    await session.view(doc.uri, wait=60)
    session.change(doc.uri, 2, [((3, 0), (3, 0), "x")])  # an incremental advance arms the idle check
    await session.view(doc.uri, wait=60)
    session.change(doc.uri, 3, [((0, 0), (0, 0), CORPUS["korean"] * 200)])  # a catch-up task, running
    gc.disable()
    try:
        gone = weakref.ref(doc)
        session.close(doc.uri)
        del doc
        for _ in range(5):  # the cancelled catch-up task unwinds
            await asyncio.sleep(0.01)
        assert gone() is None
    finally:
        gc.enable()
        session.shutdown()
