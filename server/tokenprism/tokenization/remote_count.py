"""Exact Claude and Gemini counts from the providers' count-tokens endpoints, never waited for.

``RemoteCounter.request(key, provider, model, text=... | messages=..., version=...)`` answers at
once with what it has — the exact count of this content from the cache, or ``tokens=None`` and
the reason ("no key", "pending", "401 invalid key", "429 rate limited", "timeout", "offline", …) —
and, when it has no count yet, schedules one request for the key's newest content on its worker
thread. When that request ends, ``on_result(RemoteCount)`` is called *on the worker thread*
(an asyncio caller hands it over with ``loop.call_soon_threadsafe``).

How it keeps the network quiet:

- **debounce**: a key's request waits ``debounce`` seconds after the key's last change (at most
  ``max_wait`` after the first), so a burst of edits is one request for the newest version;
- **cache**: counts are kept by a hash of (provider, model, what is sent), so unchanged content
  (undo, reopening, switching back) is never sent twice;
- **cap**: at most ``max_requests`` per ``per_seconds`` per provider; what is over waits;
- **backoff**: after a 429 nothing goes to that provider for its ``retry-after`` (30 s when it
  says nothing); after a timeout, network or server error for 5 s, doubling up to 5 min;
  a refused content is never resent, an unknown model never retried, and an invalid key stops
  every request to that provider until the keys change. No request is ever retried in a loop.

Per-message counts (``per_message=True``, chat documents) count each message alone as one user
turn: every such count includes the request's own framing (a few tokens), so they add up to a
little more than the whole prompt's count, which is the exact one. They cost one request per
changed message, cached like any other, and are asked only after every pending whole-prompt
count and while a quarter of the cap is still free; a conversation with more uncached messages
than half the cap gets no per-message counts for that version.

Keys come from the environment (``ANTHROPIC_API_KEY``, ``GEMINI_API_KEY`` / ``GOOGLE_API_KEY``)
or from the client at runtime (:meth:`RemoteCounter.set_keys`), are held in memory only, and
never appear in a repr, a log line or a reason: every text from the network is masked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from .count_api import PROVIDERS, CountFailure, FailureKind, Turns, count_once, mask, turns_of

log = logging.getLogger(__name__)

DEFAULT_DEBOUNCE = 1.0
DEFAULT_MAX_WAIT = 10.0
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_REQUESTS = 30  # per provider and per_seconds
DEFAULT_PER_SECONDS = 60.0
DEFAULT_RATE_WAIT = 30.0  # after a 429 that does not say how long
BACKOFF_START, BACKOFF_MAX = 5.0, 300.0
MAX_RETRY_AFTER = 600.0
MAX_TRANSIENT_TRIES = 5  # then the job is dropped; the next edit asks again
MAX_CHARACTERS = 4_000_000  # far past every model's window: not sent
CACHE_SIZE = 4096

NO_KEY = "no key"
PENDING = "pending"
EMPTY = "empty"
TOO_LARGE = "too large to send"
UNKNOWN_PROVIDER = "unknown provider"


@dataclass(frozen=True)
class RemoteCount:
    """What the counter knows of one key's content. ``tokens`` is exact when it is not None;
    otherwise ``reason`` says why there is none (yet). ``messages``: per-message counts
    (each message alone) when asked, None where unknown."""

    key: Hashable
    provider: str
    model: str
    version: int | None
    content_hash: str
    tokens: int | None
    reason: str | None = None
    detail: str = ""
    pending: bool = False  # a request for this content is scheduled or under way
    messages: tuple[int | None, ...] | None = None

    @property
    def exact(self) -> bool:
        return self.tokens is not None


OnResult = Callable[[RemoteCount], None]


class ApiKeys:
    """The keys: the client's (set at runtime) before the environment's. Never shown."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self._environ = os.environ if environ is None else environ
        self._client: dict[str, str] = {}
        self._seen: set[str] = set()  # every key ever held, to mask them all in any text

    def set(self, provider: str, key: str | None) -> None:
        if key:
            self._client[provider] = key
            self._seen.add(key)
        else:
            self._client.pop(provider, None)

    def get(self, provider: str) -> str | None:
        if provider in self._client:
            return self._client[provider]
        for name in PROVIDERS[provider].env_keys if provider in PROVIDERS else ():
            if value := self._environ.get(name):
                self._seen.add(value)
                return value
        return None

    def source(self, provider: str) -> str | None:
        """ "client", "environment" or None: where this provider's key comes from."""
        if provider in self._client:
            return "client"
        return "environment" if self.get(provider) else None

    def mask(self, text: str) -> str:
        for provider in PROVIDERS:
            self.get(provider)  # the environment's keys join the masked set
        return mask(text, self._seen)

    def __repr__(self) -> str:
        return "ApiKeys(" + ", ".join(f"{p}={self.source(p) or 'unset'}" for p in PROVIDERS) + ")"


@dataclass(eq=False)
class _Part:
    turns: Turns
    hash: str


@dataclass(eq=False)
class _Job:
    key: Hashable
    provider: str
    model: str
    version: int | None
    total: _Part
    messages: list[_Part] | None  # per-message parts, in order; None when not asked
    first_asked: float
    due: float
    on_result: OnResult | None
    todo: list[_Part] = field(default_factory=list)  # parts still to send, the total first
    transient_tries: int = 0


def content_hash(provider: str, model: str, turns: Turns) -> str:
    data = json.dumps([provider, model, turns], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()


class RemoteCounter:
    def __init__(
        self,
        keys: ApiKeys | None = None,
        *,
        base_urls: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
        debounce: float = DEFAULT_DEBOUNCE,
        max_wait: float = DEFAULT_MAX_WAIT,
        timeout: float = DEFAULT_TIMEOUT,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        per_seconds: float = DEFAULT_PER_SECONDS,
        cache_size: int = CACHE_SIZE,
    ):
        environ = os.environ if environ is None else environ
        self.keys = keys if keys is not None else ApiKeys(environ)
        self._bases = {
            name: (base_urls or {}).get(name) or environ.get(p.base_env) or p.default_base
            for name, p in PROVIDERS.items()
        }
        self.debounce, self.max_wait, self.timeout = debounce, max_wait, timeout
        self.max_requests, self.per_seconds = max(1, int(max_requests)), per_seconds
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._cache_size = cache_size
        self._refused: OrderedDict[str, CountFailure] = OrderedDict()  # content hash -> why (REQUEST)
        self._model_failures: dict[tuple[str, str], CountFailure] = {}
        self._auth_failures: dict[str, CountFailure] = {}
        self._backoff_until: dict[str, float] = {}
        self._backoff_reason: dict[str, CountFailure] = {}
        self._transient_streak: dict[str, int] = {}
        self._sent: dict[str, deque[float]] = {name: deque() for name in PROVIDERS}
        self._jobs: dict[Hashable, _Job] = {}
        self._in_flight: set[str] = set()  # content hashes being counted now
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.requests_sent = 0  # for tests and the log

    def __repr__(self) -> str:
        return f"RemoteCounter({self.keys!r}, pending={len(self._jobs)}, cached={len(self._cache)})"

    # -- the caller's side (never blocks on the network) ----------------------------------------

    def set_keys(self, keys: Mapping[str, str | None]) -> None:
        """Sets (a non-empty string) or clears (None, "") the client's key of each provider named.
        Failures that depended on the old key are forgotten; pending work for a provider that
        now has no key ends with reason "no key"."""
        dropped: list[tuple[_Job, str]] = []
        with self._cond:
            for provider, key in keys.items():
                if provider not in PROVIDERS:  # not named: it may be a key pasted in the wrong place
                    log.warning(
                        "an API key for an unknown provider was ignored (known: %s)", ", ".join(PROVIDERS)
                    )
                    continue
                self.keys.set(provider, key or None)
                self._auth_failures.pop(provider, None)
                for pair in [p for p in self._model_failures if p[0] == provider]:
                    del self._model_failures[pair]
                self._backoff_until.pop(provider, None)
                self._backoff_reason.pop(provider, None)
                self._transient_streak.pop(provider, None)
                if self.keys.get(provider) is None:
                    for job in [j for j in self._jobs.values() if j.provider == provider]:
                        del self._jobs[job.key]
                        dropped.append((job, NO_KEY))
            self._cond.notify_all()
        for job, reason in dropped:
            self._deliver(job, reason=reason)
        log.info("API keys: %r", self.keys)

    def has_key(self, provider: str) -> bool:
        return provider in PROVIDERS and self.keys.get(provider) is not None

    def request(
        self,
        key: Hashable,
        provider: str,
        model: str,
        *,
        text: str | None = None,
        messages: Sequence[Mapping] | None = None,
        version: int | None = None,
        per_message: bool = False,
        on_result: OnResult | None = None,
    ) -> RemoteCount:
        """What is known of this content now; schedules a request when the answer is not known
        yet. ``key`` names the document (or conversation): a newer request for the same key
        replaces the older one before it is sent (``on_result=None`` keeps the key's callback).
        Never raises for bad input or network trouble: the reason says it."""
        turns = turns_of(text, messages)
        empty = RemoteCount(key, provider, model, version, "", None)
        if provider not in PROVIDERS:
            return replace(
                empty, reason=UNKNOWN_PROVIDER, detail=f"{provider!r}: one of {', '.join(PROVIDERS)}"
            )
        if sum(len(t) for _, t in turns) > MAX_CHARACTERS:
            return replace(empty, reason=TOO_LARGE)
        if not any(t.strip() for _, t in turns):
            return replace(empty, reason=EMPTY)
        total = _Part(turns, content_hash(provider, model, turns))
        parts = None
        if per_message and messages is not None:
            alone = [(("user", t),) for _, t in turns]
            parts = [_Part(t, content_hash(provider, model, t)) for t in alone]
        now = time.monotonic()
        with self._cond:
            status = self._status(key, provider, model, version, total, parts)
            blocked = None if status.exact else self._blocked(provider, model, total.hash)
            if blocked is None and self.keys.get(provider) is None:  # cached total, messages missing
                blocked = CountFailure(FailureKind.AUTH, NO_KEY)
            if blocked is not None:
                self._jobs.pop(key, None)
                return (
                    status if status.exact else replace(status, reason=blocked.reason, detail=blocked.detail)
                )
            todo = [
                p
                for p in [total, *(parts or ())]
                if p.hash not in self._cache and p.hash not in self._refused and p.turns[0][1].strip()
            ]  # an empty message is not sent alone (the APIs refuse empty turns): its count stays None
            if parts is not None and len(todo) - (total in todo) > self.max_requests // 2:
                todo = [p for p in todo if p is total]  # too many messages for the cap: totals only
            if not todo:
                self._jobs.pop(key, None)
                return status
            old = self._jobs.get(key)
            if old is not None and on_result is None:
                on_result = old.on_result  # the key's callback stays until another is given
            if old is not None and [p.hash for p in old.todo] == [p.hash for p in todo]:
                old.version, old.on_result = version, on_result  # same content: keep its place
            else:
                first = old.first_asked if old is not None else now
                self._jobs[key] = _Job(
                    key,
                    provider,
                    model,
                    version,
                    total,
                    parts,
                    first,
                    min(now + self.debounce, first + self.max_wait),
                    on_result,
                    todo,
                )
            self._start_worker()
            self._cond.notify_all()
            if status.exact:
                return replace(status, pending=True)
            backoff = (
                self._backoff_reason.get(provider) if self._backoff_until.get(provider, 0) > now else None
            )
            if backoff is not None:
                return replace(status, reason=backoff.reason, detail=backoff.detail, pending=True)
            return replace(status, reason=PENDING, pending=True)

    def forget(self, key: Hashable) -> None:
        """Drops the pending requests of ``key`` and of every tuple key that starts with it
        (``(uri, conversation)``): its document closed. The cache stays."""
        with self._cond:
            for k in [k for k in self._jobs if k == key or (isinstance(k, tuple) and k[:1] == (key,))]:
                del self._jobs[k]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._jobs.clear()
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.timeout + 1)

    # -- state, under the lock ------------------------------------------------------------------

    def _status(self, key, provider, model, version, total: _Part, parts) -> RemoteCount:
        tokens = self._cached(total.hash)
        messages = None if parts is None else tuple(self._cached(p.hash) for p in parts)
        return RemoteCount(key, provider, model, version, total.hash, tokens, None, "", False, messages)

    def _cached(self, h: str) -> int | None:
        if h in self._cache:
            self._cache.move_to_end(h)
            return self._cache[h]
        return None

    def _blocked(self, provider: str, model: str, total_hash: str) -> CountFailure | None:
        """Why nothing may be sent for this content: no key, a bad key, a bad model, refused."""
        if self.keys.get(provider) is None:
            return CountFailure(FailureKind.AUTH, NO_KEY, f"set {' or '.join(PROVIDERS[provider].env_keys)}")
        return (
            self._auth_failures.get(provider)
            or self._model_failures.get((provider, model))
            or self._refused.get(total_hash)
        )

    def _remember(self, store: OrderedDict, h: str, value) -> None:
        store[h] = value
        store.move_to_end(h)
        while len(store) > self._cache_size:
            store.popitem(last=False)

    # -- the worker -----------------------------------------------------------------------------

    def _start_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._work, name="tokenprism-remote-count", daemon=True)
            self._thread.start()

    def _next(self, now: float) -> tuple[_Job | None, _Part | None, float | None]:
        """The part to send now, or how long to wait before one may be (None: until notified)."""
        best, best_rank, wait = None, None, None
        for job in self._jobs.values():
            if not job.todo:
                continue
            part = job.todo[0]
            is_total = part is job.total
            sent = self._sent[job.provider]
            while sent and sent[0] <= now - self.per_seconds:
                sent.popleft()
            room = self.max_requests - len(sent) - (0 if is_total else self.max_requests // 4)
            ready_at = max(job.due, self._backoff_until.get(job.provider, 0.0))
            if room <= 0:
                ready_at = max(ready_at, sent[0] + self.per_seconds if sent else now)
            if part.hash in self._in_flight:
                continue  # its answer is coming: the result reaches this job too
            if ready_at > now:
                wait = ready_at - now if wait is None else min(wait, ready_at - now)
                continue
            rank = (not is_total, job.due)
            if best_rank is None or rank < best_rank:
                best, best_rank = job, rank
        if best is None:
            return None, None, wait
        return best, best.todo[0], 0.0

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    job, part, wait = self._next(time.monotonic())
                    if job is not None:
                        break
                    self._cond.wait(timeout=wait)
                cached = self._cache.get(part.hash)  # counted meanwhile for another key
                key = self.keys.get(job.provider)
                base = self._bases[job.provider]
                if cached is None:
                    self._sent[job.provider].append(time.monotonic())
                    self._in_flight.add(part.hash)
                    self.requests_sent += 1
            try:
                if cached is not None:
                    self._finish(job, part, cached, None, from_network=False)
                else:
                    self._count(job, part, key, base)
            except Exception as error:  # a bug must neither end the worker nor retry in a loop
                log.error("remote count of %s failed: %s", job.provider, type(error).__name__)
                with self._cond:
                    self._in_flight.discard(part.hash)
                    if self._jobs.get(job.key) is job:
                        del self._jobs[job.key]
                try:
                    self._deliver(job, reason="internal error", detail=type(error).__name__)
                except Exception:
                    pass  # the callback's own failure was logged by _deliver, or _deliver is what broke

    def _count(self, job: _Job, part: _Part, key: str | None, base: str) -> None:
        tokens, failure = None, None
        if key is not None:
            try:
                tokens = count_once(PROVIDERS[job.provider], base, job.model, key, part.turns, self.timeout)
            except CountFailure as error:
                failure = error
            except Exception as error:  # not the network's fault: reported, never with the key
                failure = CountFailure(FailureKind.TRANSIENT, "unexpected error", type(error).__name__)
        else:
            failure = CountFailure(FailureKind.AUTH, NO_KEY)
        self._finish(job, part, tokens, failure)

    def _finish(
        self,
        job: _Job,
        part: _Part,
        tokens: int | None,
        failure: CountFailure | None,
        from_network: bool = True,
    ) -> None:
        deliveries: list[tuple[_Job, str | None, str]] = []
        with self._cond:
            self._in_flight.discard(part.hash)
            now = time.monotonic()
            if failure is not None:
                failure = CountFailure(
                    failure.kind,
                    self.keys.mask(failure.reason),
                    self.keys.mask(failure.detail),
                    failure.retry_after,
                )
                log.info("%s count for %s failed: %s", job.provider, job.model, failure)
            if tokens is not None:
                self._remember(self._cache, part.hash, tokens)
            if tokens is not None and from_network:
                self._transient_streak.pop(job.provider, None)
                self._backoff_until.pop(job.provider, None)
                self._backoff_reason.pop(job.provider, None)
            jobs = [j for j in self._jobs.values() if j.todo and j.todo[0].hash == part.hash] or [job]
            for j in jobs:
                if tokens is not None or failure.kind in (
                    FailureKind.REQUEST,
                    FailureKind.MODEL,
                    FailureKind.AUTH,
                ):
                    self._advance(j)
                deliveries.append((j, None, ""))
            if failure is not None:
                deliveries = self._fail(job, part, failure, now, deliveries)
        for j, reason, detail in deliveries:
            self._deliver(j, reason=reason, detail=detail)

    def _advance(self, job: _Job) -> None:
        job.todo = [p for p in job.todo[1:] if p.hash not in self._cache]
        if not job.todo and self._jobs.get(job.key) is job:
            del self._jobs[job.key]

    def _fail(self, job: _Job, part: _Part, failure: CountFailure, now: float, deliveries) -> list:
        """Records a failure; returns what to tell whom (jobs stopped by it get its reason)."""
        kind = failure.kind
        if kind == FailureKind.AUTH:
            self._auth_failures[job.provider] = failure
            stopped = [j for j in self._jobs.values() if j.provider == job.provider]
        elif kind == FailureKind.MODEL:
            self._model_failures[(job.provider, job.model)] = failure
            stopped = [j for j in self._jobs.values() if (j.provider, j.model) == (job.provider, job.model)]
        elif kind == FailureKind.REQUEST:
            self._remember(self._refused, part.hash, failure)
            stopped = []
        else:
            if kind == FailureKind.RATE:
                wait = failure.retry_after if failure.retry_after is not None else DEFAULT_RATE_WAIT
            else:
                streak = self._transient_streak.get(job.provider, 0) + 1
                self._transient_streak[job.provider] = streak
                wait = max(failure.retry_after or 0.0, min(BACKOFF_START * 2 ** (streak - 1), BACKOFF_MAX))
            self._backoff_until[job.provider] = now + min(wait, MAX_RETRY_AFTER)
            self._backoff_reason[job.provider] = failure
            stopped = []
            if kind == FailureKind.TRANSIENT:
                job.transient_tries += 1
                if job.transient_tries >= MAX_TRANSIENT_TRIES and self._jobs.get(job.key) is job:
                    stopped = [job]
        for j in stopped:
            if self._jobs.get(j.key) is j:
                del self._jobs[j.key]
        stopped_keys = {id(j) for j in stopped}
        out = [(j, failure.reason, failure.detail) for j, _, _ in deliveries if id(j) not in stopped_keys]
        return out + [(j, failure.reason, failure.detail) for j in stopped]

    def _deliver(self, job: _Job, reason: str | None = None, detail: str = "") -> None:
        if job.on_result is None:
            return
        with self._cond:
            result = self._status(job.key, job.provider, job.model, job.version, job.total, job.messages)
            pending = self._jobs.get(job.key) is job and bool(job.todo)
        if result.exact and reason is not None:  # the total is known: a per-message count failed
            detail = f"per-message counts: {reason}" + (f": {detail}" if detail else "")
            reason = None
        elif result.exact:
            reason, detail = None, ""
        result = replace(result, reason=reason, detail=detail, pending=pending)
        try:
            job.on_result(result)
        except Exception as error:
            log.error("a remote-count callback failed: %s", self.keys.mask(repr(error)))
