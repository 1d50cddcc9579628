"""The model catalog: API names -> tokenizer and exactness, prices and windows checked against
genai-prices' own API, tiktoken's own model table, mistral-common's model table, user overrides,
and windows read from GGUF files."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tokenprism.tokenization import pricing
from tokenprism.tokenization.model_catalog import (
    CLAUDE_CALIBRATION,
    Exactness,
    list_models,
    parse_overrides,
    resolve_model,
)
from tokenprism.tokenization.spec import OPENAI_MODELS, openai_encoding

E, X = Exactness.EXACT, Exactness.ESTIMATE
# name -> (maker, tokenizer spec, exactness)
EXPECTED = {
    "gpt-5": ("openai", "o200k_base", E),
    "gpt-4.1-mini": ("openai", "o200k_base", E),
    "gpt-4o": ("openai", "o200k_base", E),
    "gpt-4o-2024-08-06": ("openai", "o200k_base", E),
    "o3": ("openai", "o200k_base", E),
    "gpt-4": ("openai", "cl100k_base", E),
    "gpt-3.5-turbo": ("openai", "cl100k_base", E),
    "claude-sonnet-4-5": ("anthropic", "o200k_base", X),
    "claude-opus-4-1": ("anthropic", "o200k_base", X),
    "claude-3-5-haiku": ("anthropic", "o200k_base", X),
    "claude-3-5-haiku-latest": ("anthropic", "o200k_base", X),
    "gemini-2.5-pro": ("google", "o200k_base", X),
    "gemini-2.5-flash": ("google", "o200k_base", X),
    "mistral-large-latest": ("mistral", "mistral-tekken", X),
    "open-mistral-nemo": ("mistral", "mistral-tekken", E),
    "deepseek-chat": ("deepseek", "deepseek-v3", E),
    "deepseek-reasoner": ("deepseek", "deepseek-v3", E),
    "qwen3-235b-a22b": ("qwen", "qwen3", E),
    "qwen3-32b": ("qwen", "qwen3", E),
    "qwen3-max": ("qwen", "qwen3", X),
    "qwen3-coder-plus": ("qwen", "qwen3", X),
    "llama-3.3-70b-versatile": ("meta", "llama3", E),
    "llama-3.1-8b-instant": ("meta", "llama3", E),
    "meta-llama/llama-3.3-70b-instruct": ("meta", "llama3", E),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_names_resolve_to_their_tokenizer_and_exactness(name):
    maker, tokenizer, exactness = EXPECTED[name]
    info = resolve_model(name)
    assert info is not None, name
    assert (info.provider, info.tokenizer, info.exactness) == (maker, tokenizer, exactness)
    assert info.exact == (exactness is E)
    if exactness is X:
        assert info.basis and tokenizer in info.basis
    else:
        assert info.basis is None and info.calibration is None


def test_claude_estimates_carry_the_documented_calibration():
    info = resolve_model("claude-sonnet-4-5")
    assert info.calibration == CLAUDE_CALIBRATION and str(CLAUDE_CALIBRATION) in info.basis
    assert info.count(1000) == 1200
    assert resolve_model("gemini-2.5-pro").calibration is None  # uncalibrated, and says so
    assert "uncalibrated" in resolve_model("gemini-2.5-pro").basis


def test_openai_names_agree_with_tiktoken():
    from tiktoken.model import encoding_name_for_model  # the table only; loads no encoding

    names = [n for n in OPENAI_MODELS if not n.endswith("_base")] + [
        "gpt-4o-2024-08-06", "gpt-4.1-mini-2025-04-14", "o3-2025-04-16", "gpt-5-chat-latest", "gpt-4-0613",
        "gpt-3.5-turbo-0125", "chatgpt-4o-latest",
    ]
    for name in names:
        assert openai_encoding(name) == encoding_name_for_model(name), name
        assert resolve_model(name).tokenizer == encoding_name_for_model(name), name


def test_mistral_names_agree_with_mistral_common():
    mistral = pytest.importorskip("mistral_common.tokens.tokenizers.mistral")
    import warnings

    for name in mistral.MODEL_NAME_TO_TOKENIZER_CLS:
        info = resolve_model(name)
        assert info is not None and info.provider == "mistral", name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = mistral.MistralTokenizer.from_model(name)
        inner = reference.instruct_tokenizer.tokenizer
        is_tekken = type(inner).__name__ == "Tekkenizer"
        version = reference.instruct_tokenizer.tokenizer.version.value
        if is_tekken:
            assert info.tokenizer == "mistral-tekken" and info.exact, name
        elif version in ("v3", "v7") and info.exact:
            assert info.tokenizer == f"mistral-{version}", name
        else:  # v1 / v2 vocabularies are not shipped as specs: an estimate that says so
            assert not info.exact, name


def _reference(name: str, provider: str | None = None):
    from genai_prices import data_snapshot

    return data_snapshot.get_snapshot().find_provider_model(name, None, provider, None)


@pytest.mark.parametrize("name", ["gpt-5", "gpt-4o", "claude-sonnet-4-5", "claude-opus-4-1",
                                  "gemini-2.5-flash", "deepseek-chat", "mistral-large-latest"])
def test_prices_and_windows_come_from_genai_prices(name):
    from genai_prices import Usage, calc_price

    info = resolve_model(name)
    provider, model = _reference(name)
    assert info.price_model == f"{provider.id}:{model.id}"
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    reference = calc_price(usage, name, provider_id=provider.id)
    assert info.cost(1_000_000) == pytest.approx(float(reference.input_price))
    output = info.cost(1_000_000, "output", input_tokens=1_000_000)
    assert output == pytest.approx(float(reference.output_price))
    if model.context_window:
        assert info.context_window == model.context_window
    assert info.price_source == pricing.data_info().describe() and "genai-prices" in info.price_source


def test_tiered_prices_follow_genai_prices_at_the_threshold():
    from genai_prices import Usage, calc_price

    info = resolve_model("claude-sonnet-4-5")
    assert info.prices.input_tiers, "claude-sonnet-4-5 has a >200k tier in genai-prices"
    start = info.prices.input_tiers[0].start
    for tokens in (start - 1, start, start + 1, 3 * start):
        reference = calc_price(Usage(input_tokens=tokens, output_tokens=1000), "claude-sonnet-4-5",
                               provider_id="anthropic")
        assert info.cost(tokens) == pytest.approx(float(reference.input_price)), tokens
        assert info.cost(1000, "output", input_tokens=tokens) == pytest.approx(float(reference.output_price))


def test_window_falls_back_to_the_same_model_at_openrouter():
    _, model = _reference("gemini-2.5-pro")
    _, routed = _reference("google/gemini-2.5-pro", "openrouter")
    info = resolve_model("gemini-2.5-pro")
    expected = model.context_window or routed.context_window
    assert expected and info.context_window == expected


def test_open_models_are_priced_at_a_host():
    info = resolve_model("llama-3.3-70b-versatile")
    provider, model = _reference("llama-3.3-70b-versatile", "groq")
    price = model.get_prices(datetime.now(timezone.utc))
    assert info.price_model == f"groq:{model.id}" and info.input_price == float(price.input_mtok)
    qwen = resolve_model("qwen3-235b-a22b")
    assert qwen.price_model and qwen.input_price is not None


def test_provider_prefix():
    plain, prefixed = resolve_model("claude-sonnet-4-5"), resolve_model("anthropic:claude-sonnet-4-5")
    assert prefixed == plain
    hosted = resolve_model("openrouter:anthropic/claude-sonnet-4.5")
    assert hosted is not None and hosted.price_model.startswith("openrouter:")
    assert hosted.tokenizer == "o200k_base" and hosted.calibration == CLAUDE_CALIBRATION
    assert resolve_model("nosuchprovider:gpt-5") is None
    assert resolve_model("no-such-model-xyz") is None
    assert resolve_model("") is None


def test_overrides_add_and_change_models():
    raw = {
        "my-model": {"input": 1.0, "output": 2.0, "contextWindow": 128000, "tokenizer": "llama3"},
        "gpt-5": {"input": 0.5, "maxOutput": 1000},
        "claude-sonnet-4-5": {"calibration": 1.5},
        "training-model": {"training": 25, "tokenizer": "o200k_base", "exact": False},
    }
    overrides, errors = parse_overrides(raw)
    assert errors == []
    mine = resolve_model("my-model", overrides)
    assert (mine.input_price, mine.output_price, mine.context_window) == (1.0, 2.0, 128000)
    assert mine.tokenizer == "llama3"
    assert mine.exact and mine.price_source == "user override"
    gpt5, catalog = resolve_model("gpt-5", raw), resolve_model("gpt-5")
    assert gpt5.input_price == 0.5 and gpt5.output_price == catalog.output_price and gpt5.max_output == 1000
    assert gpt5.context_window == catalog.context_window and gpt5.exact
    claude = resolve_model("claude-sonnet-4-5", overrides)
    assert claude.calibration == 1.5 and not claude.exact and claude.count(100) == 150
    trained = resolve_model("training-model", overrides)
    assert trained.training_price == 25 and trained.cost(1_000_000, "training") == 25 and not trained.exact
    listed = [m.name for models in list_models(overrides).values() for m in models]
    assert "my-model" in listed and "training-model" in listed


@pytest.mark.parametrize("entry, fragment", [
    ({"input": "abc"}, "input must be a price"),
    ({"input": -1}, "input must be a price"),
    ({"output": float("nan")}, "output must be a price"),
    ({"contextWindow": 0}, "contextWindow must be a whole number"),
    ({"contextWindow": 1.5}, "contextWindow must be a whole number"),
    ({"tokenizer": ""}, "tokenizer must be a non-empty string"),
    ({"exact": "yes"}, "exact must be true or false"),
    ({"inptu": 1.0}, "unknown key 'inptu'"),
    ("cheap", "expected an object"),
])
def test_bad_overrides_are_reported_in_one_line(entry, fragment):
    good, errors = parse_overrides({"bad": entry, "fine": {"input": 1.0}})
    assert list(good) == ["fine"]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert errors[0].startswith("tokenprism.prices['bad']: ") and fragment in errors[0]
    assert resolve_model("bad", {"bad": entry}) is None  # skipped, not half-applied


def test_list_models_groups_the_makers_models():
    grouped = list_models()
    assert {"openai", "anthropic", "google", "mistral", "deepseek", "qwen", "meta"} <= set(grouped)
    names = {m.name for models in grouped.values() for m in models}
    assert {"gpt-5", "claude-sonnet-4-5", "gemini-2.5-pro", "deepseek-chat"} <= names
    for provider, models in grouped.items():
        assert all(m.provider == provider for m in models)
        assert [m.name for m in models] == sorted(m.name for m in models)


def test_every_listed_maker_model_keeps_the_prices_it_was_listed_for():
    """Listed because genai-prices prices it at its maker: the entry shown must carry those prices
    (a bare-name lookup can land on another provider's unpriced entry, e.g. chatgpt-4o-latest)."""
    from genai_prices import data_snapshot

    listed = {m.name: m for models in list_models().values() for m in models}
    snapshot = data_snapshot.get_snapshot()
    for provider in snapshot.providers:
        if provider.id not in ("openai", "anthropic", "mistral", "deepseek"):
            continue
        for model in provider.models:
            prices = model.prices  # a list when prices depend on conditions: not listed then
            if getattr(prices, "input_mtok", None) is None or getattr(prices, "output_mtok", None) is None:
                continue
            shown = listed.get(model.id.lower())
            assert shown is not None and shown.input_price is not None, (provider.id, model.id)


@pytest.mark.parametrize("name", ["codestral", "magistral-small"])
def test_a_bare_name_finds_its_price_at_its_maker(name):
    """genai-prices' matcher misses these ids without a provider; the family's maker lists them."""
    from genai_prices import data_snapshot

    mistral = next(p for p in data_snapshot.get_snapshot().providers if p.id == "mistral")
    reference = next(m for m in mistral.models if m.id == name)
    info = resolve_model(name)
    assert info is not None and info.price_model == f"mistral:{name}"
    assert info.input_price == pytest.approx(float(reference.prices.input_mtok))


def test_cost_and_window_share():
    assert pricing.cost(2_000, pricing.Prices(input=3.0)) == pytest.approx(0.006)
    assert pricing.cost(2_000, pricing.Prices(input=3.0), "output") is None
    assert pricing.cost(2_000, None) is None
    with pytest.raises(ValueError):
        pricing.cost(1, pricing.Prices(), "bogus")
    assert pricing.window_share(50_000, 200_000) == 0.25 and pricing.window_share(5, None) is None


def test_updated_data_is_used_and_a_damaged_file_is_ignored(tmp_path, monkeypatch):
    """update_prices from a file:// URL (no network) holding data in genai-prices' update format:
    the fetched data wins for every lookup until the kept file is damaged."""
    monkeypatch.setenv("TOKENPRISM_CACHE_DIR", str(tmp_path / "cache"))
    pricing.reset()
    try:
        bundled = resolve_model("gpt-5")
        raw = [{
            "id": "openai", "name": "OpenAI", "api_pattern": "https://api\\.openai\\.com",
            "model_match": {"starts_with": "gpt-"},
            "models": [{"id": "gpt-5", "match": {"equals": "gpt-5"}, "context_window": 12345,
                        "prices": {"input_mtok": 123, "output_mtok": 456}}],
        }]
        source = tmp_path / "data.json"
        source.write_text(json.dumps(raw))
        result = pricing.update_prices(source.as_uri())
        assert (result.providers, result.models) == (1, 1)
        updated = resolve_model("gpt-5")
        assert (updated.input_price, updated.output_price, updated.context_window) == (123, 456, 12345)
        assert updated.input_price != bundled.input_price and "fetched" in updated.price_source
        assert updated.tokenizer == "o200k_base" and updated.exact

        bad = tmp_path / "bad.json"
        bad.write_text('{"not": "a list"}')
        with pytest.raises(ValueError, match="not genai-prices data"):
            pricing.update_prices(bad.as_uri())
        with pytest.raises(OSError):
            pricing.update_prices((tmp_path / "missing.json").as_uri())
        assert resolve_model("gpt-5").input_price == 123  # a failed update changes nothing

        (tmp_path / "cache" / "prices" / "genai-prices.json").write_text("[{]")
        pricing.reset()
        assert resolve_model("gpt-5").input_price == bundled.input_price  # damaged: the bundled data
        assert pricing.data_info().fetched_at is None
    finally:
        pricing.reset()


# -- windows of local models, from the tokenizer's own files ------------------------------------


@pytest.mark.parametrize("length", [8192, 131072, None])
def test_gguf_context_length_is_the_tokenizer_window(tmp_path, length):
    from test_gguf import gguf_bytes, reference_metadata, tiny_tokenizer_kvs
    from tokenprism.tokenization.gguf import load_gguf

    kvs = tiny_tokenizer_kvs()  # architecture gpt2
    if length is not None:
        # another architecture's key is ignored
        kvs += [("gpt2.context_length", 4, length), ("llama.context_length", 4, 7)]
    path = tmp_path / f"tiny-{length}.gguf"
    path.write_bytes(gguf_bytes(kvs))
    expected = reference_metadata(path)[0].get("gpt2.context_length")
    assert load_gguf(path, "tiny").context_window == expected
    assert load_gguf(path, "tiny").context_window == expected  # again, from the on-disk cache


@pytest.mark.parametrize("value, expected", [(4096, 4096), (int(1e30), None), (None, None), (0, None)])
def test_hf_model_max_length_is_the_window_when_sane(tmp_path, tokenizer, value, expected):
    from tokenprism.tokenization import load_tokenizer

    source = tokenizer("gpt2")
    folder = tmp_path / "exported"
    folder.mkdir()
    source.backend.save(str(folder / "tokenizer.json"))
    config = {} if value is None else {"model_max_length": value}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    loaded = load_tokenizer(str(folder))
    assert loaded.context_window == expected
