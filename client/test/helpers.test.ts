// Unit tests of the client's plain helpers (no VS Code needed): node --test after an esbuild bundle.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCommand } from "../src/common/settings";
import { API_PROVIDERS, checkKey, keySource, secretName, storedKeys } from "../src/features/apiKeys";
import { compareHtml } from "../src/features/compare";
import { escapeHtml, visibleText } from "../src/features/feature";
import { parseModels } from "../src/features/modelPicker";
import { nextInlayHintMode } from "../src/features/toggles";

test("server.command: arrays as given, strings split on spaces with quotes grouping", () => {
  assert.deepEqual(parseCommand(["/v/bin/python", "-m", "tokenprism", "serve", ""]), ["/v/bin/python", "-m", "tokenprism", "serve"]);
  assert.deepEqual(parseCommand(`"/My Envs/py" -m tokenprism serve`), ["/My Envs/py", "-m", "tokenprism", "serve"]);
  assert.deepEqual(parseCommand("  "), []);
  assert.deepEqual(parseCommand(42), []);
  assert.deepEqual(parseCommand([1, "python3"]), ["python3"]);
});

test("inlay hint modes cycle counts -> boundaries -> off -> counts, unknown restarts", () => {
  assert.equal(nextInlayHintMode("counts"), "boundaries");
  assert.equal(nextInlayHintMode("boundaries"), "off");
  assert.equal(nextInlayHintMode("off"), "counts");
  assert.equal(nextInlayHintMode("bogus"), "counts");
});

test("tokenprism/models: entries without a spec are dropped, the rest kept in order", () => {
  const models = parseModels({ models: [{ spec: "o200k_base", group: "builtin" }, { group: "alias" }, null, "x", { spec: "" }, { spec: "llama3" }] });
  assert.deepEqual(models.map((m) => m.spec), ["o200k_base", "llama3"]);
  assert.deepEqual(parseModels(undefined), []);
  assert.deepEqual(parseModels({ models: "nope" }), []);
});

test("compare view escapes model names and errors and marks the fewest tokens", () => {
  const html = compareHtml("t", [
    { model: "<img src=x>", ok: true, tokens: 10, characters: 40, charsPerToken: 4, bytesPerToken: 4, loadMs: 1, encodeMs: 1 },
    { model: "b", ok: true, tokens: 20, characters: 40, charsPerToken: 2, bytesPerToken: 2, loadMs: 1, encodeMs: 1 },
    { model: "c", ok: false, error: "no <GGUF>", tokens: 0, characters: 0, charsPerToken: 0, bytesPerToken: 0, loadMs: 0, encodeMs: 0 },
  ], "n0nce");
  assert.ok(!html.includes("<img src=x>") && html.includes("&lt;img src=x&gt;"));
  assert.ok(html.includes("no &lt;GGUF&gt;"));
  assert.match(html, /<div class="row best"><span class="label">&lt;img/);
  assert.match(html, /width:50\.0%/); // b's bar: 20 of the longest 20 is 100%, 10 is 50%
  assert.match(html, /script-src 'nonce-n0nce'/);
});

test("visible whitespace and HTML escaping", () => {
  assert.equal(visibleText(" a\tb\r\n"), "·a→b␍↵");
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
});

test("API keys: read from secret storage by provider, checked, their source named", async () => {
  const secrets = new Map([[secretName("gemini"), "AIza-x"], ["tokenprism.other", "no"]]);
  assert.deepEqual(await storedKeys({ get: async (k: string) => secrets.get(k) }), { gemini: "AIza-x" });
  assert.deepEqual(await storedKeys({ get: async () => undefined }), {});
  assert.equal(checkKey("  sk-ant-123  "), undefined);
  assert.ok(checkKey("   "));
  assert.ok(checkKey("sk ant"));
  const [anthropic, gemini] = API_PROVIDERS;
  assert.equal(keySource(true, { anthropic: "environment" }, anthropic), "key stored in VS Code");
  assert.match(keySource(false, { anthropic: "environment" }, anthropic), /ANTHROPIC_API_KEY/);
  assert.match(keySource(false, { gemini: "environment" }, gemini), /GEMINI_API_KEY \/ GOOGLE_API_KEY/);
  assert.equal(keySource(false, undefined, gemini), "no key: estimates only");
});
