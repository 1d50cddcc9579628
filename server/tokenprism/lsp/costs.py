"""What a document's count means for the model it is counted for: the catalog facts (the number
to show, exactness, cost, window share), the provider's exact count when its count-tokens API
answered, and the budget in tokens. One :class:`Costs` per server; no LSP types here.

The facts of a view cost a dictionary lookup and a few multiplications per keystroke: the
catalog entry of each model spec is resolved once (genai-prices lookups take milliseconds) and
kept until the ``tokenprism.prices`` setting changes.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

from ..tokenization import pricing
from ..tokenization.costing import CountFacts, facts_for, model_info
from ..tokenization.model_catalog import Exactness, ModelInfo, split_name
from ..tokenization.remote_count import EMPTY, NO_KEY, PENDING, TOO_LARGE, RemoteCount, RemoteCounter
from ..tokenization.spec import is_api_model_name
from .idle import IdleTimer
from .settings import Budget

log = logging.getLogger(__name__)

# catalog provider -> count-tokens provider (tokenization/count_api.py)
API_PROVIDERS = {"anthropic": "anthropic", "google": "gemini"}
# Seconds without a new tokenized version before a document's text is hashed and handed to the
# counter (which debounces the network request itself): typing never hashes a whole document.
HAND_OVER_AFTER = 0.25
NO_KEY_REASON = {
    "anthropic": "no Anthropic API key (TokenPrism: Set API key…, or ANTHROPIC_API_KEY)",
    "gemini": "no Gemini API key (TokenPrism: Set API key…, or GEMINI_API_KEY)",
}


def api_provider(info: ModelInfo | None) -> str | None:
    """The count-tokens provider of a model whose offline count is an estimate (Claude, Gemini)."""
    if info is None or info.exact:
        return None
    return API_PROVIDERS.get(info.provider)


def counter_from_environment() -> RemoteCounter:
    """The server's counter; ``TOKENPRISM_API_DEBOUNCE`` / ``TOKENPRISM_API_TIMEOUT`` (seconds)
    tune it (tests, slow gateways)."""
    options = {}
    for name, option in (("TOKENPRISM_API_DEBOUNCE", "debounce"), ("TOKENPRISM_API_TIMEOUT", "timeout")):
        try:
            if os.environ.get(name):
                options[option] = max(0.0, float(os.environ[name]))
        except ValueError:
            log.warning("%s must be a number of seconds, got %r; using the default", name, os.environ[name])
    return RemoteCounter(**options)


def catalog_entry(spec: str, prices) -> ModelInfo | None:
    """The catalog entry of an API model name or of a name the user's ``prices`` entries give;
    None for a tokenizer spec (``o200k_base``, ``llama3``, a path), as in the CLI: a tokenizer
    counts exactly for itself and has no price of its own (and never loads the price data)."""
    if not is_api_model_name(spec) and split_name(spec)[1] not in (prices or {}):
        return None
    return model_info(spec, prices)


def count_facts(
    spec: str,
    tokens: int,
    info: ModelInfo | None,
    tokenizer_window: int | None,
    prices,
    api_tokens: int | None = None,
) -> CountFacts:
    """``costing.facts_for`` with the entry already looked up (None: no entry, not asked again)."""
    if info is None:
        exactness = Exactness.EXACT if api_tokens is None else Exactness.EXACT_API
        return CountFacts(
            spec,
            tokens,
            tokens if api_tokens is None else api_tokens,
            exactness,
            context_window=tokenizer_window,
        )
    return facts_for(
        spec, tokens, tokenizer_window=tokenizer_window, overrides=prices, api_tokens=api_tokens, info=info
    )


def api_state(count: RemoteCount | None, provider: str | None, version: int) -> dict | None:
    """The ``api`` field of documentStats: ``{state, reason?}``; None for models without an API."""
    if provider is None:
        return None
    if count is None:
        return {"state": "pending"}
    if count.tokens is not None and count.version == version:
        return {"state": "exact"}
    if count.reason == NO_KEY:
        return {"state": "no-key", "reason": NO_KEY_REASON.get(provider, NO_KEY)}
    if count.reason in (EMPTY, TOO_LARGE):
        return {"state": "off", "reason": count.reason}
    if count.reason == PENDING or count.version != version or count.reason is None:
        return {"state": "pending"}
    reason = f"{count.reason}: {count.detail}" if count.detail else count.reason
    return {"state": "error", "reason": reason}


# -- the budget ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetCheck:
    limit: int | None  # in tokens of ``facts.count``; None when this budget cannot apply
    problem: str | None = None  # why not (no window, no price)


def budget_limit(budget: Budget, facts: CountFacts) -> BudgetCheck:
    """The budget as a number of tokens for this model: tokens as written, a share of the
    context window, or the most input tokens the dollars buy (tiered prices included)."""
    if budget.kind == "tokens":
        return BudgetCheck(int(budget.value))
    if budget.kind == "share":
        if not facts.context_window:
            return BudgetCheck(
                None,
                f"budget {budget.spec} needs a context window and {facts.model} has none"
                " (add contextWindow in tokenprism.prices)",
            )
        return BudgetCheck(math.floor(facts.context_window * budget.value))
    prices = facts.prices
    if prices is None or prices.input is None:
        return BudgetCheck(
            None,
            f"budget {budget.spec} needs an input price and {facts.model} has none"
            " (add it in tokenprism.prices)",
        )
    if prices.input == 0:
        return BudgetCheck(None, f"budget {budget.spec}: input to {facts.model} is free")
    return BudgetCheck(affordable_tokens(budget.value, prices))


def affordable_tokens(usd: float, prices) -> int:
    """The most input tokens whose cost is at most ``usd``. A tier's price applies to every token
    of a request above its start, so each price has a range of counts: the best count of each
    range that the dollars cover, the highest of those."""
    budget = usd * (1 + 1e-12)  # float rounding of the divisions

    def cost(n: int) -> float:
        return pricing.cost(n, prices, "input") or 0.0

    bounds = [0] + [t.start for t in prices.input_tiers] + [None]
    units = [prices.input] + [t.price for t in prices.input_tiers]
    best = 0
    for low, high, unit in zip(bounds, bounds[1:], units):
        n = math.floor(usd * 1_000_000 / unit) if unit else (high if high is not None else 0)
        n = n if high is None else min(n, high)
        if n > low or low == 0:
            while n > 0 and cost(n) > budget:  # rounding
                n -= 1
            if cost(n + 1) <= budget and (high is None or n + 1 <= high):
                n += 1
            best = max(best, n)
    return best


def budget_json(budget: Budget | None, facts: CountFacts) -> tuple[dict | None, str | None]:
    """The documentStats ``budget`` field, and the problem when the budget cannot apply."""
    if budget is None:
        return None, None
    check = budget_limit(budget, facts)
    if check.limit is None:
        return None, check.problem
    over = max(0, facts.count - check.limit)
    return {"limit": check.limit, "spec": budget.spec, "over": over > 0, "overBy": over}, None


# -- the server's state --------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownCounts:
    calibration: float | None
    exact: bool
    basis: str | None

    def count(self, tokens: int) -> int:
        return math.ceil(tokens * self.calibration) if self.calibration else tokens


ApiListener = Callable[[object, object], None]  # (open document, its view)


class Costs:
    """The catalog entries of the models in use and the API counts of the open documents."""

    def __init__(self, server, counter: RemoteCounter) -> None:
        self.server = server
        self.counter = counter
        self._info: dict[str, ModelInfo | None] = {}
        self._json: dict[tuple, dict] = {}  # facts.to_json() by what they depend on (typing repeats counts)
        self._prices = None  # the overrides the cached entries were resolved with
        self._api: dict[str, RemoteCount] = {}  # uri -> the newest answer or status
        self._timers: dict[str, IdleTimer] = {}
        self.api_listeners: list[ApiListener] = []  # an API count arrived for a document's current version

    # -- facts ----------------------------------------------------------------------------------

    def info(self, spec: str) -> ModelInfo | None:
        prices = self.server.settings.prices
        if prices is not self._prices:
            self._info.clear()
            self._json.clear()
            self._prices = prices
        if spec not in self._info:
            self._info[spec] = catalog_entry(spec, prices)
        return self._info[spec]

    def facts_json(self, view) -> dict:
        """``facts(view).to_json()``, remembered: most keystrokes leave the count as it was, or
        bring back one seen a moment ago."""
        count = self.current(view)
        key = (
            view.model_spec,
            len(view),
            count.tokens if count is not None else None,
            view.tokenizer.context_window,
        )
        self.info(view.model_spec)  # clears the memo when the prices changed
        found = self._json.get(key)
        if found is None:
            if len(self._json) >= 256:
                self._json.clear()
            found = self._json[key] = self.facts(view).to_json()
        return dict(found)

    def facts(self, view, *, exact_api: bool = True) -> CountFacts:
        """The facts of a view's whole document; with the provider's count when it answered for
        exactly this version (``exact_api=False``: the offline count only)."""
        spec = view.model_spec
        count = self.current(view) if exact_api else None
        api_tokens = count.tokens if count is not None else None
        return count_facts(
            spec,
            len(view),
            self.info(spec),
            view.tokenizer.context_window,
            self.server.settings.prices,
            api_tokens,
        )

    def range_facts(self, view, tokens: int) -> CountFacts:
        """The facts of a part of a document (a selection, a line): never the API's, which counts
        whole documents."""
        spec = view.model_spec
        return count_facts(
            spec, tokens, self.info(spec), view.tokenizer.context_window, self.server.settings.prices
        )

    def shown_counts(self, view) -> ShownCounts:
        """How the tokenizer's counts of parts of this view (lines, messages) are shown for its
        model: calibrated and marked ``≈`` when the tokenizer only estimates the model's count."""
        facts = self.range_facts(view, 0)
        info = self.info(view.model_spec)
        if facts.exact or info is None:
            return ShownCounts(None, True, None)
        return ShownCounts(info.calibration, False, facts.basis)

    def current(self, view) -> RemoteCount | None:
        """What the provider said of this view's model and version, if anything."""
        count = self._api.get(view.uri)
        info = self.info(view.model_spec)
        if count is None or info is None or count.version != view.version or count.model != info.name:
            return None
        return count

    def api(self, view) -> dict | None:
        provider = api_provider(self.info(view.model_spec))
        if provider is not None and not self.counter.has_key(provider):
            return api_state(
                RemoteCount(view.uri, provider, "", view.version, "", None, NO_KEY), provider, view.version
            )
        return api_state(self.current(view), provider, view.version)

    # -- API counts -----------------------------------------------------------------------------

    def tokenized(self, doc, view) -> None:
        """A new version: ask the provider for its count once typing pauses (if the model has an
        API and a key). Until it answers, the facts are the estimate's."""
        provider = api_provider(self.info(view.model_spec))
        if provider is None or not self.counter.has_key(provider):
            self._stop(view.uri)
            return
        timer = self._timers.get(view.uri)
        if timer is None:
            timer = self._timers[view.uri] = IdleTimer(HAND_OVER_AFTER, lambda: self._hand_over(view.uri))
        timer.touch()

    def _hand_over(self, uri: str) -> None:
        doc = self.server.session.documents.get(uri)
        view = doc.view if doc is not None else None
        if view is None:
            return
        info = self.info(view.model_spec)
        provider = api_provider(info)
        if provider is None:
            return
        status = self.counter.request(
            uri,
            provider,
            info.name,
            text=view.text,
            version=view.version,
            on_result=_on_loop(self._arrived),
        )
        self._arrived(status)

    def _arrived(self, count: RemoteCount) -> None:
        """An answer or a status for a document (on the event loop)."""
        doc = self.server.session.documents.get(count.key) if isinstance(count.key, str) else None
        view = doc.view if doc is not None else None
        if view is None or count.version != view.version:
            return  # an older version's answer: the newer one's request follows
        before = self._known(view)
        self._api[count.key] = count
        if self._known(view) == before:
            return  # e.g. still pending: the client has heard that already
        for listener in self.api_listeners:
            try:
                listener(doc, view)
            except Exception:
                log.exception("a feature failed after an API count of %s", doc.uri)

    def chat_count(self, view, conversation: int, messages: list) -> tuple[RemoteCount | None, dict | None]:
        """The provider's counts of one conversation of a chat document (the whole prompt and each
        message alone), as far as known now, and the ``api`` state; asks for what is missing.
        When an answer arrives, documentStats goes out again (the client re-renders on it)."""
        info = self.info(view.model_spec)
        provider = api_provider(info)
        if provider is None or not self.counter.has_key(provider):
            return None, self.api(view)
        status = self.counter.request(
            (view.uri, conversation),
            provider,
            info.name,
            messages=messages,
            version=view.version,
            per_message=True,
            on_result=_on_loop(self._chat_arrived),
        )
        state = api_state(status, provider, status.version)
        return status, state

    def _chat_arrived(self, count: RemoteCount) -> None:
        doc = self.server.session.documents.get(count.key[0])
        view = doc.view if doc is not None else None
        if view is not None and view.version == count.version:
            for listener in self.api_listeners:
                listener(doc, view)

    def _known(self, view) -> tuple:
        current = self.current(view)
        return self.api(view), current.tokens if current is not None else None

    def keys_changed(self) -> None:
        """Keys set or cleared: every open document asks again (or says it has no key)."""
        for doc in list(self.server.session.documents.values()):
            if doc.view is not None:
                self._api.pop(doc.uri, None)
                for listener in self.api_listeners:
                    listener(doc, doc.view)
                self.tokenized(doc, doc.view)

    def closed(self, uri: str) -> None:
        self._stop(uri)
        self.counter.forget(uri)

    def _stop(self, uri: str) -> None:
        self._api.pop(uri, None)
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()


def _on_loop(callback: Callable[[RemoteCount], None]) -> Callable[[RemoteCount], None]:
    """A RemoteCounter callback (it runs on the counter's thread) that hands the answer to the
    event loop — unless the loop has closed meanwhile (the server is exiting)."""
    loop = asyncio.get_running_loop()

    def post(result: RemoteCount) -> None:
        try:
            loop.call_soon_threadsafe(callback, result)
        except RuntimeError:  # the loop is closed
            pass

    return post


def costs_of(server) -> Costs:
    """The server's one :class:`Costs`, made on first use."""
    costs = getattr(server, "costs", None)
    if costs is None:
        from .features.api_keys import remote_counter

        costs = server.costs = Costs(server, remote_counter(server))
    return costs
