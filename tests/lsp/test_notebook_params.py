"""Malformed notebook notifications, sent as raw bytes (no client library would send them):
each is one log line without a traceback, and the notebook keeps working."""

from __future__ import annotations

from raw_lsp import RawServer, notification, request

NB = "file:///raw.ipynb"
CELL = "vscode-notebook-cell:/raw.ipynb#W0"

V2 = {"uri": NB, "version": 2}
BAD_CHANGES = {
    "no change": {"notebookDocument": V2},
    "text content not a list": {"notebookDocument": V2, "change": {"cells": {"textContent": 3}}},
    "document not an object": {
        "notebookDocument": V2, "change": {"cells": {"textContent": [{"document": 3}]}},
    },
    "version a string": {"notebookDocument": {"uri": NB, "version": "2"}, "change": {}},
    "cell kind unknown": {
        "notebookDocument": V2,
        "change": {"cells": {"structure": {"array": {
            "start": 0, "deleteCount": 0, "cells": [{"kind": 9, "document": "x"}]}}}},
    },
    "negative delete count": {
        "notebookDocument": V2,
        "change": {"cells": {"structure": {"array": {"start": 0, "deleteCount": -1}}}},
    },
}
END_OF_LINE = {"line": 0, "character": 5}


def test_malformed_notebook_changes_are_refused_in_one_line_each():
    with RawServer() as srv:
        srv.initialize()
        srv.send(notification("notebookDocument/didOpen", {
            "notebookDocument": {"uri": NB, "notebookType": "jupyter-notebook", "version": 1,
                                 "cells": [{"kind": 1, "document": CELL}]},
            "cellTextDocuments": [{"uri": CELL, "languageId": "markdown", "version": 1, "text": "hello"}],
        }))
        for params in BAD_CHANGES.values():
            srv.send(notification("notebookDocument/didChange", params))
        srv.send(notification("notebookDocument/didChange", {
            "notebookDocument": {"uri": NB, "version": 2},
            "change": {"cells": {"textContent": [{
                "document": {"uri": CELL, "version": 2},
                "changes": [{"range": {"start": END_OF_LINE, "end": END_OF_LINE}, "text": " world"}],
            }]}},
        }))
        stats = srv.next_message(
            # settled: a slow first encode of version 1 may be reported at version 2, pending
            lambda m: m.get("method") == "tokenprism/notebookStats"
            and m["params"]["version"] == 2 and m["params"]["pending"] == 0,
            timeout=60,
        )
        assert stats is not None and stats["params"]["tokens"] == 2  # "hello world"
        # asked once tokenized: a request waits only a second for a first tokenizer load
        srv.send(request("count", "tokenprism/count", {"textDocument": {"uri": CELL}, "ranges": []}))
        answer = srv.answer("count", timeout=60)
        assert answer is not None and answer["result"]["version"] == 2, answer
        srv.close_stdin()
        assert srv.wait_exit(10) is not None
        log = srv.stderr.decode(errors="replace")
        assert "Traceback" not in log, log
        refused = [line for line in log.splitlines() if "notebookDocument/didChange" in line]
        assert len(refused) == len(BAD_CHANGES), log
