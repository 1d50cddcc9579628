"""The count-tokens clients against a loopback server that speaks the providers' documented
formats (see the docstring of ``tokenprism.tokenization.count_api``): request shape, caching,
debounce, the cap, and every failure path. Traffic goes to 127.0.0.1 only."""

from __future__ import annotations

import json
import logging
import queue
import socket
import time
from http.server import BaseHTTPRequestHandler

import pytest

from loopback import LoopbackServer
from tokenprism.tokenization import count_api
from tokenprism.tokenization.remote_count import ApiKeys, RemoteCounter

KEY = "sk-ant-test-0123456789-SECRET"
GKEY = "AIzaTEST-gemini-SECRET-key"
WAIT = 5.0  # every wait in these tests is bounded by this


def words(text: str) -> int:
    return len(text.split())


def reference_count(path: str, body: dict) -> int:
    """The fake provider's own count: words of everything sent, plus a fixed framing."""
    if path.endswith("/v1/messages/count_tokens"):
        system = body.get("system", "")
        system = system if isinstance(system, str) else " ".join(b["text"] for b in system)
        return 7 + words(system) + sum(words(m["content"]) for m in body["messages"])
    request = body.get("generateContentRequest", body)
    parts = [p for c in request["contents"] for p in c["parts"]]
    parts += request.get("systemInstruction", {}).get("parts", [])
    return 3 + sum(words(p["text"]) for p in parts)


def anthropic_error(error_type: str, message: str) -> dict:
    """Anthropic's documented error body."""
    return {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_test"}


def gemini_error(code: int, status: str, message: str, *details: dict) -> dict:
    """Google's documented error body."""
    return {"error": {"code": code, "message": message, "status": status, "details": list(details)}}


class FakeProvider:
    """A loopback HTTP server. ``script`` is a queue of responses (status, headers, body bytes,
    delay); when empty, a correct answer in the provider's format."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: queue.Queue = queue.Queue()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # never asked for: recorded, so a test can say it did not happen
                outer.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
                self.send_error(405)

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                body = json.loads(raw)
                outer.requests.append(
                    {
                        "method": "POST",
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                try:
                    status, headers, payload, delay = outer.script.get_nowait()
                except queue.Empty:
                    count = reference_count(self.path, body)
                    answer = (
                        {"input_tokens": count} if "/v1/messages/" in self.path else {"totalTokens": count}
                    )
                    status, headers, payload, delay = 200, {}, json.dumps(answer).encode(), 0
                time.sleep(delay)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.loopback = LoopbackServer(Handler)
        self.url = self.loopback.url

    def answer(self, status: int, body, headers=None, delay: float = 0.0) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.script.put((status, headers or {}, payload, delay))

    def close(self):
        self.loopback.close()


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # a proxy in the environment must not catch loopback
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    server = FakeProvider()
    yield server
    server.close()


class Results:
    """Collects callbacks (they arrive on the counter's worker thread)."""

    def __init__(self):
        self.items: queue.Queue = queue.Queue()

    def __call__(self, result):
        self.items.put(result)

    def next(self, timeout: float = WAIT):
        return self.items.get(timeout=timeout)

    def until(self, predicate, timeout: float = WAIT):
        deadline = time.monotonic() + timeout
        while True:
            result = self.next(max(0.01, deadline - time.monotonic()))
            if predicate(result):
                return result

    def empty(self) -> bool:
        return self.items.empty()


def make_counter(fake: FakeProvider, keys: dict | None = None, **options) -> RemoteCounter:
    api_keys = ApiKeys(environ={})
    for provider, key in (keys if keys is not None else {"anthropic": KEY, "gemini": GKEY}).items():
        api_keys.set(provider, key)
    options.setdefault("debounce", 0.05)
    options.setdefault("timeout", 2.0)
    return RemoteCounter(
        api_keys, base_urls={"anthropic": fake.url, "gemini": fake.url}, environ={}, **options
    )


@pytest.fixture
def counter(fake):
    c = make_counter(fake)
    yield c
    c.close()


CHAT = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is a token?"},
    {"role": "assistant", "content": [{"type": "text", "text": "A piece of text."}]},
    {"role": "user", "content": "Count them for me please"},
]


# -- the request each provider gets -------------------------------------------------------------


def test_anthropic_request_shape_and_answer(fake, counter):
    results = Results()
    first = counter.request(
        "doc", "anthropic", "claude-sonnet-4-5", messages=CHAT, version=1, on_result=results
    )
    assert (first.tokens, first.reason, first.pending) == (None, "pending", True)
    result = results.next()
    (sent,) = fake.requests
    assert sent["path"] == "/v1/messages/count_tokens"
    assert sent["headers"]["x-api-key"] == KEY
    assert sent["headers"]["anthropic-version"] == "2023-06-01"
    assert sent["headers"]["content-type"] == "application/json"
    assert sent["body"] == {
        "model": "claude-sonnet-4-5",
        "system": "You are terse.",  # outside the messages, as the API wants it
        "messages": [
            {"role": "user", "content": "What is a token?"},
            {"role": "assistant", "content": "A piece of text."},
            {"role": "user", "content": "Count them for me please"},
        ],
    }
    assert result.exact and result.tokens == reference_count(sent["path"], sent["body"])
    assert (result.key, result.version, result.reason, result.pending) == ("doc", 1, None, False)


def test_gemini_request_shape_with_and_without_system(fake, counter):
    results = Results()
    counter.request("a", "gemini", "models/gemini-2.5-flash", text="hello there world", on_result=results)
    plain = results.next()
    counter.request("b", "gemini", "gemini-2.5-pro", messages=CHAT, on_result=results)
    chat = results.next()
    first, second = fake.requests
    assert first["path"] == "/v1beta/models/gemini-2.5-flash:countTokens"
    assert first["headers"]["x-goog-api-key"] == GKEY
    assert "x-api-key" not in first["headers"]
    assert first["body"] == {"contents": [{"role": "user", "parts": [{"text": "hello there world"}]}]}
    assert plain.tokens == 3 + 3
    assert second["path"] == "/v1beta/models/gemini-2.5-pro:countTokens"
    assert second["body"] == {
        "generateContentRequest": {
            "model": "models/gemini-2.5-pro",
            "contents": [
                {"role": "user", "parts": [{"text": "What is a token?"}]},
                {"role": "model", "parts": [{"text": "A piece of text."}]},
                {"role": "user", "parts": [{"text": "Count them for me please"}]},
            ],
            "systemInstruction": {"parts": [{"text": "You are terse."}]},
        }
    }
    assert chat.tokens == reference_count(second["path"], second["body"])


# -- caching, debounce, cap ---------------------------------------------------------------------


def test_same_content_is_never_sent_twice(fake, counter):
    results = Results()
    counter.request(
        "doc", "anthropic", "claude-opus-4-1", text="some words here", version=1, on_result=results
    )
    exact = results.next().tokens
    again = counter.request("other-doc", "anthropic", "claude-opus-4-1", text="some words here", version=9)
    assert (again.tokens, again.reason, again.pending) == (exact, None, False)
    time.sleep(0.2)
    assert len(fake.requests) == 1
    # another model is another count
    counter.request("doc", "anthropic", "claude-haiku-4-5", text="some words here", on_result=results)
    results.next()
    assert len(fake.requests) == 2


def test_a_burst_of_versions_is_one_request_for_the_newest(fake):
    counter = make_counter(fake, debounce=0.3)
    try:
        results = Results()
        for version in range(1, 6):
            counter.request(
                "doc",
                "anthropic",
                "claude-sonnet-4-5",
                text="word " * version,
                version=version,
                on_result=results,
            )
            time.sleep(0.02)
        result = results.next()
        time.sleep(0.4)
        assert len(fake.requests) == 1
        assert fake.requests[0]["body"]["messages"][0]["content"] == "word " * 5
        assert (result.version, result.tokens) == (5, 7 + 5)
        assert results.empty()
    finally:
        counter.close()


def test_the_cap_holds_requests_back_until_the_window_frees(fake):
    counter = make_counter(fake, debounce=0.0, max_requests=2, per_seconds=1.0)
    try:
        results = Results()
        start = time.monotonic()
        for i in range(3):
            counter.request(f"doc{i}", "gemini", "gemini-2.5-flash", text=f"text {i}", on_result=results)
        arrived = []
        for _ in range(2):
            assert results.next().exact
            arrived.append(time.monotonic() - start)
        status = counter.request("doc2", "gemini", "gemini-2.5-flash", text="text 2")
        assert (status.tokens, status.reason, status.pending) == (None, "pending", True)
        assert len(fake.requests) == 2
        assert results.next().exact
        arrived.append(time.monotonic() - start)
        assert arrived[1] < 0.8 and arrived[2] >= 0.95  # the third waited for the window
        assert len(fake.requests) == 3
    finally:
        counter.close()


# -- failures: the estimate stays, with its reason ----------------------------------------------


def test_no_key_sends_nothing(fake):
    counter = make_counter(fake, keys={})
    try:
        result = counter.request("doc", "anthropic", "claude-sonnet-4-5", text="hello")
        assert (result.tokens, result.reason, result.pending) == (None, "no key", False)
        assert "ANTHROPIC_API_KEY" in result.detail
        time.sleep(0.2)
        assert fake.requests == []
    finally:
        counter.close()


def test_invalid_key_stops_that_provider_until_the_keys_change(fake, counter):
    results = Results()
    fake.answer(401, anthropic_error("authentication_error", "invalid x-api-key"))
    counter.request("doc", "anthropic", "claude-sonnet-4-5", text="one", on_result=results)
    failed = results.next()
    assert (failed.tokens, failed.reason, failed.detail, failed.pending) == (
        None,
        "401 invalid key",
        "invalid x-api-key",
        False,
    )
    later = counter.request("doc", "anthropic", "claude-sonnet-4-5", text="one two")
    assert (later.reason, later.pending) == ("401 invalid key", False)
    # the other provider still works
    counter.request("g", "gemini", "gemini-2.5-flash", text="one two", on_result=results)
    assert results.next().exact
    assert [r["path"].startswith("/v1/") for r in fake.requests] == [True, False]
    counter.set_keys({"anthropic": "sk-ant-new-key-XYZ"})
    counter.request("doc", "anthropic", "claude-sonnet-4-5", text="one two", on_result=results)
    assert results.next().tokens == 7 + 2
    assert fake.requests[-1]["headers"]["x-api-key"] == "sk-ant-new-key-XYZ"


def test_gemini_invalid_key_is_a_400_with_api_key_invalid(fake, counter):
    results = Results()
    invalid = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
    fake.answer(
        400, gemini_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", invalid)
    )
    counter.request("doc", "gemini", "gemini-2.5-flash", text="one", on_result=results)
    failed = results.next()
    assert (failed.reason, failed.pending) == ("400 invalid key", False)
    assert counter.request("doc", "gemini", "gemini-2.5-flash", text="other").reason == "400 invalid key"
    time.sleep(0.2)
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("status", "error_type", "reason", "blocked", "allowed"),
    [
        # an unknown model: not asked again, whatever the text; another model is
        (
            404,
            "not_found_error",
            "404 unknown model",
            ("claude-nope", "other text"),
            ("claude-sonnet-4-5", "one"),
        ),
        # a refused text: not resent; another text is
        (
            400,
            "invalid_request_error",
            "400 bad request",
            ("claude-nope", "one"),
            ("claude-nope", "new text"),
        ),
    ],
)
def test_a_refusal_is_not_repeated(fake, counter, status, error_type, reason, blocked, allowed):
    results = Results()
    fake.answer(status, anthropic_error(error_type, "no: claude-nope"))
    counter.request("doc", "anthropic", "claude-nope", text="one", on_result=results)
    failed = results.next()
    assert (failed.tokens, failed.reason, failed.detail, failed.pending) == (
        None,
        reason,
        "no: claude-nope",
        False,
    )
    model, text = blocked
    assert counter.request("doc", "anthropic", model, text=text).reason == reason
    model, text = allowed
    counter.request("doc", "anthropic", model, text=text, on_result=results)
    assert results.next().exact
    assert len(fake.requests) == 2


def test_429_waits_for_retry_after_then_sends_the_newest_once(fake, counter):
    results = Results()
    fake.answer(
        429,
        anthropic_error("rate_limit_error", "slow down"),
        headers={"retry-after": "1"},
    )
    start = time.monotonic()
    counter.request("doc", "anthropic", "claude-sonnet-4-5", text="v1", version=1, on_result=results)
    limited = results.next()
    assert (limited.tokens, limited.reason, limited.pending) == (None, "429 rate limited", True)
    for version in range(2, 6):  # typing on while rate limited: nothing goes out
        status = counter.request(
            "doc", "anthropic", "claude-sonnet-4-5", text=f"v{version} x", version=version, on_result=results
        )
        assert status.reason == "429 rate limited"
        time.sleep(0.1)
    assert len(fake.requests) == 1
    result = results.until(lambda r: r.exact)
    assert time.monotonic() - start >= 0.95
    assert (result.version, result.tokens) == (5, 7 + 2)
    time.sleep(0.2)
    assert len(fake.requests) == 2


def test_gemini_429_honours_the_retry_info_delay(fake, counter):
    results = Results()
    retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}
    fake.answer(429, gemini_error(429, "RESOURCE_EXHAUSTED", "quota", retry))
    start = time.monotonic()
    counter.request("doc", "gemini", "gemini-2.5-flash", text="one two", on_result=results)
    assert results.next().reason == "429 rate limited"
    result = results.until(lambda r: r.exact)
    assert time.monotonic() - start >= 0.95
    assert result.tokens == 3 + 2 and len(fake.requests) == 2


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (500, anthropic_error("api_error", "boom"), "500 server error"),
        (529, anthropic_error("overloaded_error", "busy"), "529 overloaded"),
        (200, b"{not json", "malformed answer"),
        (200, {"tokens": 3}, "malformed answer"),
        (502, b"<html>bad gateway</html>", "502 server error"),
    ],
)
def test_server_trouble_keeps_the_estimate_and_backs_off(fake, counter, status, body, reason):
    results = Results()
    fake.answer(status, body)
    counter.request("doc", "anthropic", "claude-sonnet-4-5", text="one two", on_result=results)
    failed = results.next()
    assert (failed.tokens, failed.reason, failed.pending) == (None, reason, True)
    again = counter.request("doc", "anthropic", "claude-sonnet-4-5", text="one two three")
    assert (again.reason, again.pending) == (reason, True)
    time.sleep(0.3)
    assert len(fake.requests) == 1  # backing off (5 s): no retry storm


def test_a_slow_server_times_out_and_the_caller_never_waits(fake):
    counter = make_counter(fake, timeout=0.3)
    try:
        results = Results()
        fake.answer(200, {"input_tokens": 1}, delay=1.5)
        counter.request("doc", "anthropic", "claude-sonnet-4-5", text="one", on_result=results)
        time.sleep(0.1)  # the request is under way now
        start = time.perf_counter()
        status = counter.request("doc2", "anthropic", "claude-sonnet-4-5", text="two")
        assert time.perf_counter() - start < 0.05
        assert status.pending
        failed = results.next()
        assert (failed.tokens, failed.reason) == (None, "timeout")
    finally:
        counter.close()


def test_connection_refused_is_offline():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    keys = ApiKeys(environ={})
    keys.set("anthropic", KEY)
    counter = RemoteCounter(
        keys, base_urls={"anthropic": f"http://127.0.0.1:{port}"}, environ={}, debounce=0.0
    )
    try:
        results = Results()
        counter.request("doc", "anthropic", "claude-sonnet-4-5", text="one", on_result=results)
        failed = results.next()
        assert (failed.tokens, failed.reason, failed.detail) == (None, "offline", "connection refused")
    finally:
        counter.close()


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_is_not_followed_with_the_key(fake, counter, status):
    other = FakeProvider()
    try:
        results = Results()
        fake.answer(status, b"", headers={"location": other.url + "/v1/messages/count_tokens"})
        counter.request("doc", "anthropic", "claude-sonnet-4-5", text="one", on_result=results)
        failed = results.next()
        assert (failed.tokens, failed.reason) == (None, f"HTTP {status}")
        time.sleep(0.2)
        assert other.requests == []
    finally:
        other.close()


def test_the_key_never_appears_in_reasons_logs_or_reprs(fake, counter, caplog):
    caplog.set_level(logging.DEBUG)
    results = Results()
    # a proxy that echoes what it got, key included
    fake.answer(
        401, {"type": "error", "error": {"type": "authentication_error", "message": f"bad key {KEY}"}}
    )
    counter.request("doc", "anthropic", "claude-sonnet-4-5", text="one", on_result=results)
    failed = results.next()
    fake.answer(500, gemini_error(500, "INTERNAL", f"echo {GKEY}"))
    counter.request("doc", "gemini", "gemini-2.5-flash", text="one", on_result=results)
    failed_g = results.next()
    counter.set_keys({"gemini": None, "anthropic": "sk-ant-another-SECRET"})

    def broken(result):
        raise RuntimeError(f"callback saw {KEY}")

    counter.request("doc2", "anthropic", "claude-sonnet-4-5", text="two", on_result=broken)
    time.sleep(0.3)
    texts = [
        failed.reason,
        failed.detail,
        failed_g.reason,
        failed_g.detail,
        repr(counter),
        repr(counter.keys),
        repr(failed),
        repr(failed_g),
        caplog.text,
    ]
    assert failed.detail == "bad key ***" and failed_g.detail == "echo ***"
    for text in texts:
        assert KEY not in text and GKEY not in text and "sk-ant-another-SECRET" not in text
    assert "callback failed" in caplog.text  # the broken callback was reported, masked


def test_bad_input_never_raises(counter, fake):
    assert counter.request("d", "openai", "gpt-5", text="x").reason == "unknown provider"
    assert counter.request("d", "anthropic", "claude-sonnet-4-5", text="   \n").reason == "empty"
    assert counter.request("d", "anthropic", "claude-sonnet-4-5", messages=[]).reason == "empty"
    weird = [{"role": None, "content": {"odd": 1}}, {"content": "no role"}]
    results = Results()
    counter.request("d", "anthropic", "claude-sonnet-4-5", messages=weird, on_result=results)
    assert results.next().exact
    assert fake.requests[-1]["body"]["messages"][1] == {"role": "user", "content": "no role"}


# -- per-message counts and keys from the environment -------------------------------------------


def test_per_message_counts_each_message_alone_and_only_the_changed_ones(fake, counter):
    results = Results()
    counter.request(
        "chat", "anthropic", "claude-sonnet-4-5", messages=CHAT, per_message=True, on_result=results
    )
    done = results.until(lambda r: not r.pending)
    assert done.tokens == 7 + 3 + 4 + 4 + 5
    assert done.messages == (7 + 3, 7 + 4, 7 + 4, 7 + 5)  # each alone: the framing every time
    assert len(fake.requests) == 1 + 4
    assert fake.requests[0]["body"]["system"] == "You are terse."  # the whole prompt goes first
    edited = [*CHAT[:3], {"role": "user", "content": "Count them"}]
    counter.request(
        "chat", "anthropic", "claude-sonnet-4-5", messages=edited, per_message=True, on_result=results
    )
    done = results.until(lambda r: not r.pending)
    assert done.messages == (7 + 3, 7 + 4, 7 + 4, 7 + 2)
    assert len(fake.requests) == 5 + 2  # the new whole prompt and the one changed message
    with_empty = [*edited, {"role": "assistant", "content": ""}]
    counter.request(
        "chat", "anthropic", "claude-sonnet-4-5", messages=with_empty, per_message=True, on_result=results
    )
    done = results.until(lambda r: not r.pending)
    assert done.messages == (7 + 3, 7 + 4, 7 + 4, 7 + 2, None)
    assert len(fake.requests) == 7 + 1  # the whole prompt only: an empty message is not counted alone


def test_too_many_messages_for_the_cap_gets_only_the_total(fake):
    counter = make_counter(fake, max_requests=4)
    try:
        results = Results()
        many = [{"role": "user", "content": f"message {i}"} for i in range(5)]
        counter.request(
            "chat", "anthropic", "claude-sonnet-4-5", messages=many, per_message=True, on_result=results
        )
        done = results.until(lambda r: not r.pending)
        assert done.exact and done.messages == (None,) * 5
        assert len(fake.requests) == 1
    finally:
        counter.close()


def test_keys_and_base_url_from_the_environment(fake):
    environ = {
        "ANTHROPIC_API_KEY": KEY,
        "ANTHROPIC_BASE_URL": fake.url,
        "GOOGLE_API_KEY": GKEY,
        "GOOGLE_GEMINI_BASE_URL": fake.url,
    }
    counter = RemoteCounter(environ=environ, debounce=0.0)
    try:
        assert counter.keys.source("anthropic") == "environment" and counter.has_key("gemini")
        results = Results()
        counter.request("a", "anthropic", "claude-sonnet-4-5", text="one", on_result=results)
        counter.request("g", "gemini", "gemini-2.5-flash", text="one", on_result=results)
        assert results.next().exact and results.next().exact
        assert {
            r["headers"].get("x-api-key") or r["headers"].get("x-goog-api-key") for r in fake.requests
        } == {KEY, GKEY}
        counter.set_keys({"anthropic": "sk-client"})  # the client's key comes first
        assert counter.keys.source("anthropic") == "client"
        counter.set_keys({"anthropic": None})  # cleared: the environment's again
        assert counter.keys.get("anthropic") == KEY
    finally:
        counter.close()


def test_retry_after_parsing():
    assert count_api.retry_after_seconds("12") == 12.0
    assert count_api.retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert count_api.retry_after_seconds("soon") is None and count_api.retry_after_seconds(None) is None


def test_forgetting_a_document_drops_its_pending_requests(fake):
    counter = make_counter(fake, debounce=0.3)
    try:
        results = Results()
        counter.request("file:///a", "anthropic", "claude-sonnet-4-5", text="one", on_result=results)
        counter.request(("file:///a", 2), "anthropic", "claude-sonnet-4-5", text="two", on_result=results)
        counter.request("file:///b", "anthropic", "claude-sonnet-4-5", text="three", on_result=results)
        counter.forget("file:///a")
        assert results.next().key == "file:///b"
        time.sleep(0.5)
        assert results.empty() and [r["body"]["messages"][0]["content"] for r in fake.requests] == ["three"]
    finally:
        counter.close()
