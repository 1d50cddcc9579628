"""The providers' count-tokens endpoints on the standard library: what to send, how to read the
answer, and what every error means. :mod:`.remote_count` decides when to ask.

What the providers document (checked December 2026):

Anthropic, ``POST {base}/v1/messages/count_tokens``
(https://docs.anthropic.com/en/api/messages-count-tokens; the SDKs' ``messages.count_tokens``,
e.g. https://www.rubydoc.info/gems/anthropic/Anthropic/Models/MessageTokensCount):
headers ``x-api-key``, ``anthropic-version: 2023-06-01``, ``content-type: application/json``
(the ``anthropic-beta: token-counting-2024-11-01`` header was only needed during the beta);
body ``{"model", "messages": [{"role": "user" | "assistant", "content"}], "system"?}``, the system
prompt outside the messages; answer ``{"input_tokens": N}``, the messages, system prompt and tools.
Errors (https://docs.anthropic.com/en/api/errors) are ``{"type": "error", "error": {"type",
"message"}, "request_id"}``: 400 ``invalid_request_error``, 401 ``authentication_error``,
403 ``permission_error``, 404 ``not_found_error`` (an unknown model), 413 ``request_too_large``,
429 ``rate_limit_error`` with a ``retry-after`` header in seconds, 500 ``api_error``,
529 ``overloaded_error``.

Gemini, ``POST {base}/v1beta/models/{model}:countTokens`` (https://ai.google.dev/api/tokens):
header ``x-goog-api-key`` (https://ai.google.dev/gemini-api/docs/api-key); body
``{"contents": [{"role": "user" | "model", "parts": [{"text"}]}]}`` or, to count a system
instruction too, ``{"generateContentRequest": {"model": "models/{model}", "contents",
"systemInstruction": {"parts"}}}`` (the two forms are exclusive); answer ``{"totalTokens": N,
"cachedContentTokenCount"?, "promptTokensDetails"?}``. Errors
(https://ai.google.dev/gemini-api/docs/troubleshooting) are ``{"error": {"code", "message",
"status", "details"}}``: 400 ``INVALID_ARGUMENT`` (also an invalid key, with an ``ErrorInfo``
detail of reason ``API_KEY_INVALID``), 403 ``PERMISSION_DENIED``, 404 ``NOT_FOUND``,
429 ``RESOURCE_EXHAUSTED`` (the wait in a ``google.rpc.RetryInfo`` detail, ``"retryDelay": "58s"``,
as googleapis/python-genai#2114 reads it), 500 ``INTERNAL``, 503 ``UNAVAILABLE``,
504 ``DEADLINE_EXCEEDED``.

Base URLs can be moved (a proxy, a gateway, the tests' loopback server) with
``ANTHROPIC_BASE_URL`` and ``GOOGLE_GEMINI_BASE_URL``, the names the providers' SDKs read.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache

# urllib.request, http.client and email load on the first request only (~3 MB): without a key,
# nothing of the network side is imported.

ANTHROPIC_VERSION = "2023-06-01"
MAX_ANSWER_BYTES = 1 << 20
DETAIL_CHARACTERS = 200

Turns = tuple[tuple[str, str], ...]  # (role, text) in order; roles as the document wrote them
SYSTEM_ROLES = frozenset({"system", "developer"})
ASSISTANT_ROLES = frozenset({"assistant", "model"})


class FailureKind(str, Enum):
    AUTH = "auth"  # the key is wrong: no more requests to this provider until the keys change
    MODEL = "model"  # this model is unknown or not allowed: none for this model until the keys change
    REQUEST = "request"  # this content was refused: never sent again
    RATE = "rate"  # wait as long as the provider says
    TRANSIENT = "transient"  # network, timeout, server error, garbled answer: back off and try later


class CountFailure(Exception):
    """A count the provider did not give, in one line. ``reason`` is short ("401 invalid key");
    ``detail`` the provider's own message, if any. Neither ever holds a key (see ``mask``)."""

    def __init__(self, kind: FailureKind, reason: str, detail: str = "", retry_after: float | None = None):
        self.kind, self.reason, self.retry_after = kind, reason, retry_after
        self.detail = " ".join(str(detail).split())[:DETAIL_CHARACTERS]
        super().__init__(f"{reason}: {self.detail}" if self.detail else reason)


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***`` (an error body may echo what it was sent)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def turns_of(text: str | None = None, messages: Sequence[Mapping] | None = None) -> Turns:
    """A plain text (one user turn) or chat messages (``{"role", "content"}``, the content a
    string or a list of parts whose ``text`` counts) as (role, text) pairs."""
    if messages is None:
        return (("user", text or ""),)
    turns = []
    for message in messages:
        role = str(message.get("role") or "user")
        turns.append((role, _text_of(message.get("content"))))
    return tuple(turns)


def _text_of(content) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: only their text is sent
        return "".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return json.dumps(content, ensure_ascii=False)


@dataclass(frozen=True)
class HttpRequest:
    url: str
    headers: dict[str, str]
    body: bytes


class Provider:
    name: str
    env_keys: tuple[str, ...]  # where an environment key is looked for, first match wins
    base_env: str
    default_base: str

    def build(self, base: str, model: str, key: str, turns: Turns) -> HttpRequest:
        raise NotImplementedError

    def count_of(self, answer) -> int:
        raise NotImplementedError

    def failure(self, status: int, headers: Mapping[str, str], body: bytes) -> CountFailure:
        raise NotImplementedError


def _split_system(turns: Turns) -> tuple[list[str], list[tuple[str, str]]]:
    system = [text for role, text in turns if role in SYSTEM_ROLES]
    rest = [(role, text) for role, text in turns if role not in SYSTEM_ROLES]
    if not rest:  # both APIs count turns; a system prompt alone is counted as one
        return [], [("user", "\n\n".join(system))]
    return system, rest


def _json_body(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _answer_json(body: bytes):
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _error_of(body: bytes) -> tuple[dict, str]:
    """The ``error`` object of an error answer (both providers nest it so) and its message."""
    answer = _answer_json(body)
    error = answer.get("error") if isinstance(answer, dict) else None
    error = error if isinstance(error, dict) else {}
    return error, str(error.get("message") or "")


def _int_field(answer, name: str) -> int:
    value = answer.get(name) if isinstance(answer, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CountFailure(FailureKind.TRANSIENT, "malformed answer", f"no {name} in the answer")
    return value


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A ``retry-after`` header: seconds, or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _status_failure(status: int, detail: str, retry_after: float | None) -> CountFailure:
    """What a status means when the provider's own error type does not say more."""
    if status == 401:
        return CountFailure(FailureKind.AUTH, "401 invalid key", detail)
    if status == 404:
        return CountFailure(FailureKind.MODEL, "404 unknown model", detail)
    if status == 429:
        return CountFailure(FailureKind.RATE, "429 rate limited", detail, retry_after)
    if status == 413:
        return CountFailure(FailureKind.REQUEST, "413 too large", detail)
    if status >= 500:
        return CountFailure(FailureKind.TRANSIENT, f"{status} server error", detail, retry_after)
    if status == 400:
        return CountFailure(FailureKind.REQUEST, "400 bad request", detail)
    return CountFailure(FailureKind.TRANSIENT, f"HTTP {status}", detail, retry_after)


class Anthropic(Provider):
    name = "anthropic"
    env_keys = ("ANTHROPIC_API_KEY",)
    base_env = "ANTHROPIC_BASE_URL"
    default_base = "https://api.anthropic.com"

    def build(self, base: str, model: str, key: str, turns: Turns) -> HttpRequest:
        system, rest = _split_system(turns)
        body: dict = {
            "model": model,
            "messages": [
                {"role": "assistant" if role in ASSISTANT_ROLES else "user", "content": text}
                for role, text in rest
            ],
        }
        if system:
            body["system"] = system[0] if len(system) == 1 else [{"type": "text", "text": s} for s in system]
        headers = {
            "x-api-key": key,
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
        }
        return HttpRequest(base.rstrip("/") + "/v1/messages/count_tokens", headers, _json_body(body))

    def count_of(self, answer) -> int:
        return _int_field(answer, "input_tokens")

    def failure(self, status: int, headers: Mapping[str, str], body: bytes) -> CountFailure:
        error, detail = _error_of(body)
        retry_after = retry_after_seconds(headers.get("retry-after"))
        if status == 403 or error.get("type") == "permission_error":
            return CountFailure(FailureKind.MODEL, "403 permission denied", detail)
        if status == 529 or error.get("type") == "overloaded_error":
            return CountFailure(FailureKind.TRANSIENT, f"{status} overloaded", detail, retry_after)
        return _status_failure(status, detail, retry_after)


class Gemini(Provider):
    name = "gemini"
    env_keys = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    base_env = "GOOGLE_GEMINI_BASE_URL"
    default_base = "https://generativelanguage.googleapis.com"

    def build(self, base: str, model: str, key: str, turns: Turns) -> HttpRequest:
        model = model.removeprefix("models/")
        system, rest = _split_system(turns)
        contents = [
            {"role": "model" if role in ASSISTANT_ROLES else "user", "parts": [{"text": text}]}
            for role, text in rest
        ]
        if system:
            body: dict = {
                "generateContentRequest": {
                    "model": f"models/{model}",
                    "contents": contents,
                    "systemInstruction": {"parts": [{"text": s} for s in system]},
                }
            }
        else:
            body = {"contents": contents}
        path = f"/v1beta/models/{urllib.parse.quote(model, safe='-._~')}:countTokens"
        headers = {"x-goog-api-key": key, "content-type": "application/json"}
        return HttpRequest(base.rstrip("/") + path, headers, _json_body(body))

    def count_of(self, answer) -> int:
        return _int_field(answer, "totalTokens")

    def failure(self, status: int, headers: Mapping[str, str], body: bytes) -> CountFailure:
        error, detail = _error_of(body)
        details = [d for d in error.get("details") or [] if isinstance(d, dict)]
        reasons = {d.get("reason") for d in details}
        if "API_KEY_INVALID" in reasons or status == 401:
            return CountFailure(FailureKind.AUTH, f"{status} invalid key", detail)
        if status == 403:  # a restricted key, the API not enabled for its project
            return CountFailure(FailureKind.AUTH, "403 permission denied", detail)
        retry_after = retry_after_seconds(headers.get("retry-after"))
        if retry_after is None:
            delays = [
                d.get("retryDelay")
                for d in details
                if str(d.get("@type", "")).endswith("google.rpc.RetryInfo")
            ]
            retry_after = _duration_seconds(delays[0]) if delays else None
        return _status_failure(status, detail, retry_after)


def _duration_seconds(value) -> float | None:
    """A protobuf Duration in JSON: ``"58s"``, ``"1.5s"``."""
    if isinstance(value, str) and value.endswith("s"):
        try:
            return max(0.0, float(value[:-1]))
        except ValueError:
            return None
    return None


PROVIDERS: dict[str, Provider] = {p.name: p for p in (Anthropic(), Gemini())}


@cache
def _opener():
    import urllib.request

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        """A redirect would carry the key's header to another address: take it as an error."""

        def redirect_request(self, req, fp, code, msg, headers, newurl):
            return None

    return urllib.request.build_opener(NoRedirects)  # proxies from HTTPS_PROXY / NO_PROXY, as urllib does


def post(request: HttpRequest, timeout: float) -> tuple[int, dict[str, str], bytes]:
    """Sends one request: (status, lower-cased headers, body). Network trouble is a
    :class:`CountFailure`; an HTTP error status is an answer like any other."""
    import http.client
    import urllib.error
    import urllib.request

    req = urllib.request.Request(request.url, data=request.body, headers=request.headers, method="POST")
    try:
        with _opener().open(req, timeout=timeout) as response:
            return response.status, _headers(response.headers), response.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as error:
        try:
            body = error.read(MAX_ANSWER_BYTES)
        except (OSError, http.client.HTTPException):
            body = b""
        return error.code, _headers(error.headers), body
    except urllib.error.URLError as error:
        raise _network_failure(error.reason) from None
    except (OSError, http.client.HTTPException) as error:
        raise _network_failure(error) from None


def _headers(headers) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()} if headers is not None else {}


def _network_failure(reason) -> CountFailure:
    import http.client

    if isinstance(reason, (TimeoutError, socket.timeout)):
        return CountFailure(FailureKind.TRANSIENT, "timeout")
    if isinstance(reason, socket.gaierror):
        return CountFailure(FailureKind.TRANSIENT, "offline", "cannot resolve the host")
    if isinstance(reason, ConnectionRefusedError):
        return CountFailure(FailureKind.TRANSIENT, "offline", "connection refused")
    if isinstance(reason, ssl.SSLError):
        return CountFailure(FailureKind.TRANSIENT, "TLS error", str(reason))
    if isinstance(reason, (ConnectionError, http.client.HTTPException)):
        return CountFailure(FailureKind.TRANSIENT, "connection lost", type(reason).__name__)
    return CountFailure(FailureKind.TRANSIENT, "offline", str(reason))


def count_once(provider: Provider, base: str, model: str, key: str, turns: Turns, timeout: float) -> int:
    """One count-tokens call: the count, or :class:`CountFailure` (with the key possibly in
    its detail: the caller masks)."""
    status, headers, body = post(provider.build(base, model, key, turns), timeout)
    if status != 200:
        raise provider.failure(status, headers, body)
    answer = _answer_json(body)
    if answer is None:
        raise CountFailure(FailureKind.TRANSIENT, "malformed answer", "not JSON")
    return provider.count_of(answer)
