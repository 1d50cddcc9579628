"""Calling code that must not block or loop: a test fails instead of hanging."""

from __future__ import annotations

import threading


def within(limit: float, func, *args, **kwargs):
    """``func``'s result or exception, failing the test when it takes longer than ``limit`` seconds."""
    box: dict = {}

    def run():
        try:
            box["value"] = func(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(limit)
    assert not worker.is_alive(), f"still running after {limit} s"
    if "error" in box:
        raise box["error"]
    return box["value"]
