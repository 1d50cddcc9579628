"""``tokenprism/setApiKeys`` (client -> server): the Claude and Gemini keys the user gave the
editor, for exact counts from the providers' count-tokens endpoints (opt-in: without a key
nothing is sent). ``tokenprism/apiKeyStatus`` tells where each provider's key comes from,
never the key.

The keys live in the server's memory only, in the one :class:`RemoteCounter` of the server:
``remote_counter(server)`` gives it to the features that show exact counts.
"""

from __future__ import annotations

import logging

from ...tokenization.count_api import PROVIDERS
from ...tokenization.remote_count import RemoteCounter
from .. import convert
from ..costs import costs_of, counter_from_environment

log = logging.getLogger(__name__)

SET_API_KEYS = "tokenprism/setApiKeys"
API_KEY_STATUS = "tokenprism/apiKeyStatus"


def remote_counter(server) -> RemoteCounter:
    """The server's counter, made on first use (keys from the environment until the client sends its own)."""
    counter = getattr(server, "remote_counter", None)
    if counter is None:
        counter = server.remote_counter = counter_from_environment()
    return counter


def keys_from_params(params) -> tuple[dict[str, str | None], list[str]]:
    """``{provider: key | null}`` -> (the keys to set, one-line problems). Never raises and never
    puts a key into a problem: pygls would log the params of a failing notification."""
    try:
        raw = convert.params_dict(params)
    except Exception:
        return {}, ["params must be an object {provider: key or null}"]
    keys: dict[str, str | None] = {}
    problems = []
    for provider, key in raw.items():
        if provider not in PROVIDERS:
            problems.append(
                f"an unknown provider was ignored (known: {', '.join(PROVIDERS)})"
            )  # no name: it may be a key
        elif key is None or (isinstance(key, str) and not key.strip()):
            keys[provider] = None
        elif isinstance(key, str):
            keys[provider] = key.strip()
        else:
            problems.append(f"the {provider} key must be a string or null, got {type(key).__name__}")
    return keys, problems


def key_status(counter: RemoteCounter) -> dict:
    return {provider: counter.keys.source(provider) for provider in PROVIDERS}


def register(server) -> None:
    counter = remote_counter(server)
    server.closed_listeners.append(counter.forget)  # a closed document's pending counts are not sent

    @server.feature(SET_API_KEYS)
    def set_api_keys(ls, params) -> None:
        try:
            keys, problems = keys_from_params(params)
            for problem in problems:
                log.warning("%s: %s", SET_API_KEYS, problem)
            if keys:
                counter.set_keys(keys)
                costs_of(server).keys_changed()  # documents of Claude / Gemini models ask again
        except Exception as error:  # never let pygls log these params
            log.error("%s failed: %s", SET_API_KEYS, counter.keys.mask(type(error).__name__))

    @server.feature(API_KEY_STATUS)
    def api_key_status(ls, params) -> dict:
        return key_status(counter)
