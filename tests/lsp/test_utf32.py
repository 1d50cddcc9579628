"""A client that offers only UTF-32 positions gets them: columns count code points."""

from __future__ import annotations

import pytest_lsp
from lsp_helpers import SERVER, open_document, plain, reference_position, request, wait_stats
from lsprotocol import types
from pytest_lsp import LanguageClient

from tokenprism.tokenization import load_tokenizer


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    lsp_client.stats = []
    lsp_client.feature("tokenprism/documentStats")(lambda params: lsp_client.stats.append(plain(params)))
    capabilities = pytest_lsp.client_capabilities("neovim")
    capabilities.general.position_encodings = [types.PositionEncodingKind.Utf32]
    result = await lsp_client.initialize_session(types.InitializeParams(capabilities=capabilities))
    lsp_client.position_encoding = result.capabilities.position_encoding
    yield
    await lsp_client.shutdown_session()


async def test_utf32_columns(client):
    assert client.position_encoding == "utf-32"
    text = "😀 한국어 x\r\n👍🏽 y\n"
    uri = "file:///utf32.txt"
    open_document(client, uri, text)
    await wait_stats(client, uri, 1)
    result = await request(client, "tokenprism/tokens", {"textDocument": {"uri": uri}})
    tokenizer = load_tokenizer("o200k_base")
    assert [t["id"] for t in result["tokens"]] == tokenizer.encode(text).ids.tolist()
    ends = [t["range"]["end"] for t in result["tokens"]]
    assert ends[-1] == reference_position(text, len(text), "utf-32") == {"line": 2, "character": 0}
    assert {"line": 0, "character": len("😀 한국어 x")} in ends  # 8 code points, not 9 UTF-16 units
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri),
                          position=types.Position(line=1, character=1))
    )
    assert "🏽" in hover.contents.value
