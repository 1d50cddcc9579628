"""Time and memory bounds shared by the fuzz harnesses (``make fuzz``).

The harnesses run only when FUZZ_SECONDS is set: a plain ``pytest`` run skips their modules
at once (``only_under_make_fuzz``).

``FUZZ_SECONDS`` is the budget of a whole ``make fuzz`` run; each of the ``TARGETS`` harness
families gets an equal share and re-runs its hypothesis test (fresh random examples each time)
until the share is spent. Every example runs under an alarm, so a hang fails with the input
that caused it instead of stopping the run, and inputs that are small on disk must stay small
in memory (``bounded_memory``)."""

from __future__ import annotations

import os
import signal
import time
import tracemalloc
from contextlib import contextmanager

TARGETS = 4  # gguf, transport, chat, edits
SECONDS = float(os.environ.get("FUZZ_SECONDS", "60"))
EXAMPLE_SECONDS = float(os.environ.get("FUZZ_EXAMPLE_SECONDS", "10"))  # one example longer than this: a hang
ROUND_EXAMPLES = 50  # examples per hypothesis run; runs repeat until the share is spent


def only_under_make_fuzz() -> None:
    import pytest

    if "FUZZ_SECONDS" not in os.environ:
        pytest.skip("fuzzing runs under make fuzz (FUZZ_SECONDS)", allow_module_level=True)


def share(parts: int = 1) -> float:
    """Seconds for one harness when its family is split ``parts`` ways."""
    return SECONDS / TARGETS / parts


def fuzz_for(seconds: float, run) -> int:
    """Call ``run`` (a hypothesis test) until ``seconds`` have passed, at least once.
    Returns the number of runs."""
    deadline = time.monotonic() + seconds
    runs = 0
    while runs == 0 or time.monotonic() < deadline:
        run()
        runs += 1
    return runs


class Hang(Exception):
    """An example ran longer than EXAMPLE_SECONDS."""


@contextmanager
def time_limit(seconds: float = EXAMPLE_SECONDS):
    """Interrupt the example after ``seconds`` (main thread only: SIGALRM)."""

    def interrupt(signum, frame):
        raise Hang(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except Hang as exc:
        # raised afresh: the alarm can land in a frame without a line number (deep in the YAML
        # parser), whose traceback pytest cannot print (an INTERNALERROR instead of a failure)
        raise Hang(str(exc)) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def bounded_memory(limit: int):
    """Fail when the Python allocations (numpy's included) inside the block peak above ``limit``."""
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= limit, f"peak {peak:,} bytes allocated, more than {limit:,}"
