"""Between LSP types and the server's plain offsets, plus parameter checking for custom methods."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from .document import Snapshot
from .settings import to_plain

REQUEST_FAILED = -32803  # LSP ErrorCodes.RequestFailed
UINTEGER_MAX = 2**31 - 1  # LSP's uinteger: what a line or a character may be


class RequestFailed(JsonRpcException):
    """The request was valid but cannot be answered (closed document, binary content, bad model)."""

    CODE = REQUEST_FAILED


def position(snapshot: Snapshot, offset: int) -> types.Position:
    line, column = snapshot.position_at(offset)
    return types.Position(line=line, character=column)


def lsp_range(snapshot: Snapshot, start: int, end: int) -> types.Range:
    return types.Range(start=position(snapshot, start), end=position(snapshot, end))


def offset(snapshot: Snapshot, pos: types.Position) -> int:
    return snapshot.offset_at(pos.line, pos.character)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def text_changes(raw: Any, what: str) -> list[tuple]:
    """Content changes as sent (JSON), each ``((line, col), (line, col), text)`` or
    ``(None, None, text)`` for the whole text; JsonRpcInvalidParams (naming ``what``) if
    they are not shaped like TextDocumentContentChangeEvents."""
    try:
        changes = []
        for change in raw:
            text, rng = change["text"], change.get("range")
            if rng is None:
                changes.append((None, None, text))
            else:
                start, end = rng["start"], rng["end"]
                changes.append(((start["line"], start["character"]), (end["line"], end["character"]), text))
    except (KeyError, TypeError, AttributeError) as exc:
        raise JsonRpcInvalidParams(f"{what} params are malformed: {exc!r}") from None
    ok = all(
        isinstance(text, str) and (start is None or all(is_int(n) for n in (*start, *end)))
        for start, end, text in changes
    )
    if not ok:
        raise JsonRpcInvalidParams(f"{what} params are malformed: wrong types")
    return changes


# -- custom-method parameters -------------------------------------------------------------------


def params_dict(params: Any) -> dict:
    plain = to_plain(params)
    if plain is None:
        return {}
    if not isinstance(plain, dict):
        raise JsonRpcInvalidParams(f"expected an object as params, got {type(plain).__name__}")
    return plain


def text_document_uri(params: dict) -> str:
    doc = params.get("textDocument")
    uri = doc.get("uri") if isinstance(doc, dict) else None
    if not isinstance(uri, str) or not uri:
        raise JsonRpcInvalidParams("missing textDocument.uri")
    return uri


def parse_position(value: Any, where: str) -> types.Position:
    if not isinstance(value, dict):
        raise JsonRpcInvalidParams(f"{where} must be a position {{line, character}}")
    line, character = value.get("line"), value.get("character")
    for name, v in (("line", line), ("character", character)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= UINTEGER_MAX:
            raise JsonRpcInvalidParams(f"{where}.{name} must be a whole number in [0, 2**31), got {v!r}")
    return types.Position(line=line, character=character)


def parse_range(value: Any, where: str) -> types.Range:
    if not isinstance(value, dict):
        raise JsonRpcInvalidParams(f"{where} must be a range {{start, end}}")
    return types.Range(
        start=parse_position(value.get("start"), f"{where}.start"),
        end=parse_position(value.get("end"), f"{where}.end"),
    )


def optional_model(params: dict) -> str | None:
    model = params.get("model")
    if model is None:
        return None
    if not isinstance(model, str) or not model.strip():
        raise JsonRpcInvalidParams(f"model must be a model name, got {model!r}")
    return model.strip()


def offsets_of(snapshot: Snapshot, rng: types.Range) -> tuple[int, int]:
    a, b = offset(snapshot, rng.start), offset(snapshot, rng.end)
    return (a, b) if a <= b else (b, a)


async def requested_view(session, params: dict):
    """The token view a custom request names: ``textDocument.uri`` and optional ``model``."""
    from ..tokenization import TokenizerLoadError
    from .token_view import DocumentError

    uri = text_document_uri(params)
    model = optional_model(params)
    try:
        return await session.view_with_model(uri, model)
    except (DocumentError, TokenizerLoadError) as exc:
        raise RequestFailed(str(exc)) from None
