"""``--api``: exact Claude and Gemini counts from the providers' count-tokens endpoints, for the
CLI. Opt-in twice: the flag, and a key in the environment (``ANTHROPIC_API_KEY``,
``GEMINI_API_KEY`` / ``GOOGLE_API_KEY``). Each text is one request through
:class:`RemoteCounter` (its cap, cache and key masking); a text without an answer before the
deadline, or on any error, keeps its estimate and the reason is said."""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass

from ..tokenization.count_api import PROVIDERS
from ..tokenization.model_catalog import ModelInfo, split_name
from ..tokenization.remote_count import NO_KEY, RemoteCount, RemoteCounter

# The catalog's makers that have a count-tokens endpoint -> count_api's provider names.
API_PROVIDERS = {"anthropic": "anthropic", "google": "gemini"}
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class ApiAnswer:
    """What ``--api`` found: exact counts by text name, and why the others have none."""

    state: str  # "exact" (every text), "no-key", "error" (some or all failed), "off" (no API for the model)
    counts: dict[str, int]
    reason: str | None = None
    provider: str | None = None  # count_api's name: "anthropic", "gemini"

    def to_json(self) -> dict:
        return {"state": self.state, **({"reason": self.reason} if self.reason else {})}


def api_provider(info: ModelInfo | None) -> str | None:
    return API_PROVIDERS.get(info.provider) if info is not None else None


def count_texts(spec: str, info: ModelInfo | None, texts: list[tuple[str, str]],
                timeout: float = DEFAULT_TIMEOUT) -> ApiAnswer:
    """Count every ``(name, text)`` with the model's provider; never raises for network trouble."""
    provider = api_provider(info)
    if provider is None:
        why = ("is counted exactly here already" if info is not None and info.exact
               else "has no count-tokens API")
        return ApiAnswer("off", {}, f"{spec} {why} (--api is for Claude and Gemini models)")
    model = split_name(spec)[1]
    answers: queue.Queue[RemoteCount] = queue.Queue()
    counter = RemoteCounter(debounce=0.0, max_wait=0.0, timeout=min(timeout, 60.0))
    counts: dict[str, int] = {}
    reasons: list[str] = []
    try:
        waiting = set()
        for name, text in texts:
            now = counter.request(name, provider, model, text=text, on_result=answers.put)
            if now.exact:
                counts[name] = now.tokens
            elif now.pending:
                waiting.add(name)
            elif now.reason == NO_KEY:
                keys = " or ".join(PROVIDERS[provider].env_keys)
                return ApiAnswer("no-key", {}, f"no key: set {keys} to count with the {provider} API",
                                 provider)
            else:
                reasons.append(f"{name}: {now.reason}")
        deadline = time.monotonic() + timeout
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                reasons.append(f"no answer within {timeout:g} s for {len(waiting)} of {len(texts)}")
                break
            try:
                result = answers.get(timeout=left)
            except queue.Empty:
                continue
            if result.key not in waiting:
                continue
            waiting.discard(result.key)  # the first answer is final here: no retries from a CLI
            if result.exact:
                counts[result.key] = result.tokens
            else:
                reasons.append(f"{result.key}: {result.reason}"
                               + (f" ({result.detail})" if result.detail else ""))
    finally:
        counter.close()
    if not reasons:
        return ApiAnswer("exact", counts, provider=provider)
    more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return ApiAnswer("error", counts, counter.keys.mask(reasons[0]) + more, provider)
