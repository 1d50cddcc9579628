// Unit tests of the client's plain helpers (no VS Code needed): node --test after an esbuild bundle.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { colorMode, configurationResult, effectiveTarget, parseCommand, readSettings, RESTRICTED_SETTINGS } from "../src/common/settings";
import { API_PROVIDERS, checkKey, keySource, secretName, storedKeys } from "../src/features/apiKeys";
import { compareHtml } from "../src/features/compare";
import { escapeHtml, visibleText } from "../src/features/feature";
import { parseModels } from "../src/features/modelPicker";
import { nextColorMode, nextInlayHintMode } from "../src/features/toggles";
import { bucketRanges, covers, spansToRequest } from "../src/features/tokenBands";
import { shareText, tokenBadge, WorkspaceTokens } from "../src/common/workspaceTokens";

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

test("colorize: the three modes, the old booleans, anything else off; the cycle visits all three", () => {
  assert.equal(colorMode(true), "foreground");
  assert.equal(colorMode(false), "off");
  assert.equal(colorMode("background"), "background");
  assert.equal(colorMode("rainbow"), "off");
  assert.equal(colorMode(undefined), "off");
  assert.deepEqual([nextColorMode("off"), nextColorMode("foreground"), nextColorMode("background")], ["foreground", "background", "off"]);
});

test("background colours: visible lines widened by a margin, clamped, merged; coverage", () => {
  assert.deepEqual(spansToRequest([[10, 50]], 20, 1000), [[0, 70]]);
  assert.deepEqual(spansToRequest([[990, 999]], 20, 1000), [[970, 999]]);
  // folded: two visible pieces far apart stay two requests, near ones become one
  assert.deepEqual(spansToRequest([[500, 520], [0, 10]], 20, 100_000), [[0, 30], [480, 540]]);
  assert.deepEqual(spansToRequest([[0, 10], [40, 50]], 20, 100), [[0, 70]]);
  assert.ok(covers([[0, 70]], [[30, 60]]));
  assert.ok(!covers([[0, 70]], [[60, 80]]));
  assert.ok(!covers([[0, 30], [480, 540]], [[0, 10], [490, 541]]));
});

test("background colours: each server range goes to its band or special colour, split characters also outlined", () => {
  const buckets = bucketRanges([[0, 0, 1, 0], [0, 1, 2, 1], [0, 2, 4, 4], [0, 4, 17, 2], [1, 0, 2, 5]]);
  assert.deepEqual(buckets.band0, [[0, 0, 1], [0, 2, 4]]);
  assert.deepEqual(buckets.band1, [[0, 1, 2], [1, 0, 2]]);
  assert.deepEqual(buckets.special, [[0, 4, 17]]);
  assert.deepEqual(buckets.split, [[0, 2, 4], [1, 0, 2]]);
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

test("visible whitespace by the server's glyph table, and HTML escaping", () => {
  assert.equal(visibleText(" a\tb\r\n", { " ": "␣", "\t": "⇥", "\r": "␍", "\n": "↵" }), "␣a⇥b␍↵");
  assert.equal(visibleText(" a\n"), " a\n"); // no table (an older server): the text as it is
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
});

// -- workspace trust ------------------------------------------------------------------------------

// Settings reviewed as harmless from an untrusted workspace: none names a file, a model or a program.
const UNRESTRICTED = ["inlayHints.mode", "colorize", "explorer.badges", "specialTokens", "budget", "statusBar.show", "maxDocumentCharacters", "notebook.cells", "trace.server"];

function manifest(): any {
  // the bundle runs from client/out/test/
  return JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../../package.json"), "utf8"));
}

test("every setting that names a file, a model or a program is restricted, in package.json and the client alike", () => {
  const pkg = manifest();
  const keys = Object.keys(pkg.contributes.configuration.properties).map((k) => k.replace(/^tokenprism\./, ""));
  const restricted = (pkg.capabilities.untrustedWorkspaces.restrictedConfigurations as string[]).map((k) => k.replace(/^tokenprism\./, ""));
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, "limited");
  assert.deepEqual([...restricted].sort(), [...RESTRICTED_SETTINGS].sort());
  for (const key of restricted) {
    assert.ok(keys.includes(key), `restricted ${key} is not a contributed setting`);
  }
  // a new setting must be reviewed: restricted, or listed above as harmless
  assert.deepEqual(keys.filter((k) => !restricted.includes(k)).sort(), [...UNRESTRICTED].sort());
  // VS Code keeps settings in one tree: a setting that has a value cannot also be a parent
  for (const key of keys) {
    assert.ok(!keys.some((other) => other.startsWith(key + ".")), `${key} is the parent of another setting`);
  }
});

interface Values {
  defaultValue?: unknown;
  globalValue?: unknown;
  workspaceValue?: unknown;
}

/** A configuration whose get() does NOT drop workspace values (an editor that ignores trust). */
function playSettings(values: Record<string, Values>, trusted: boolean): () => void {
  const workspace = vscode.workspace as any;
  const saved = { getConfiguration: workspace.getConfiguration, isTrusted: workspace.isTrusted };
  workspace.isTrusted = trusted;
  workspace.getConfiguration = () => ({
    get: (key: string, fallback?: unknown) => {
      const v = values[key];
      return v?.workspaceValue ?? v?.globalValue ?? v?.defaultValue ?? fallback;
    },
    inspect: (key: string) => (values[key] ? { key, ...values[key] } : undefined),
  });
  return () => Object.assign(workspace, saved);
}

const HOSTILE_WORKSPACE: Record<string, Values> = {
  model: { defaultValue: "o200k_base", globalValue: "cl100k_base", workspaceValue: "./evil.gguf" },
  modelByLanguage: { defaultValue: {}, workspaceValue: { python: "/tmp/fifo" } },
  compareModels: { defaultValue: ["o200k_base", "llama3"], workspaceValue: ["./evil/tokenizer.json"] },
  "gguf.searchPaths": { defaultValue: [], globalValue: ["/models"], workspaceValue: ["./fifos"] },
  chatTemplate: { defaultValue: "", workspaceValue: "/etc/passwd" },
  allowChatTemplateOutsideWorkspace: { defaultValue: false, workspaceValue: true },
  "server.command": { defaultValue: [], workspaceValue: ["./pwn.sh"] },
  budget: { defaultValue: 0, workspaceValue: 500 },
  colorize: { defaultValue: false, workspaceValue: true },
};

test("untrusted: restricted settings come from the user's settings only, the others from the workspace", () => {
  const restore = playSettings(HOSTILE_WORKSPACE, false);
  try {
    const s = readSettings();
    assert.equal(s.model, "cl100k_base");
    assert.deepEqual(s.modelByLanguage, {});
    assert.deepEqual(s.compareModels, ["o200k_base", "llama3"]);
    assert.deepEqual(s.gguf.searchPaths, ["/models"]);
    assert.equal(s.chatTemplate, "");
    assert.equal(s["chatTemplate.allowOutsideWorkspace"], false);
    assert.deepEqual(s.server.command, []);
    assert.equal(s.budget, 500);
    assert.equal(s.colorize, "foreground"); // the old boolean, still understood
    // a choice made from the UI goes where it counts: the user's settings
    assert.equal(effectiveTarget("model"), vscode.ConfigurationTarget.Global);
    assert.equal(effectiveTarget("budget"), vscode.ConfigurationTarget.Workspace);
  } finally {
    restore();
  }
});

test("trusted: the workspace's values apply", () => {
  const restore = playSettings(HOSTILE_WORKSPACE, true);
  try {
    const s = readSettings();
    assert.equal(s.model, "./evil.gguf");
    assert.deepEqual(s.compareModels, ["./evil/tokenizer.json"]);
    assert.equal(s.chatTemplate, "/etc/passwd");
    assert.equal(s["chatTemplate.allowOutsideWorkspace"], true);
    assert.deepEqual(s.server.command, ["./pwn.sh"]);
    assert.equal(effectiveTarget("model"), vscode.ConfigurationTarget.Workspace);
  } finally {
    restore();
  }
});

test("workspace/configuration: the tokenprism section is the client's reading, other sections the editor's", () => {
  const asked: (string | undefined)[] = [];
  const read = (uri?: string) => {
    asked.push(uri);
    return { model: "cl100k_base" } as any;
  };
  const result = configurationResult(
    [{ section: "tokenprism", scopeUri: "file:///w/a.py" }, { section: "editor" }, { section: "tokenprism" }],
    [{ model: "./evil.gguf" }, { tabSize: 4 }, { model: "./evil.gguf" }],
    read,
  );
  assert.deepEqual(result, [{ model: "cl100k_base" }, { tabSize: 4 }, { model: "cl100k_base" }]);
  assert.deepEqual(asked, ["file:///w/a.py", undefined]);
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

test("the view's summary is the server's wording, with the cost when the model has a price", () => {
  const data = new WorkspaceTokens();
  data.applyResult({ model: "o200k_base", spec: "claude-sonnet-4-5", specialTokens: "special", complete: true, roots: [],
    total: { tokens: 100, files: 1, skipped: 0, count: 120, exact: false, cost: 0.00036, countText: "≈120", costText: "$0.00036" } });
  assert.equal(data.summary, "≈120 tokens · $0.00036 · claude-sonnet-4-5");
});

test("explorer badges fit two characters; shares are short", () => {
  const cases: [number, string][] = [[0, "·"], [999, "·"], [1000, "1k"], [9999, "9k"], [10_000, "k+"], [999_999, "k+"], [1_000_000, "1M"], [9_999_999, "9M"], [12_000_000, "M+"]];
  for (const [n, badge] of cases) {
    assert.equal(tokenBadge(n), badge, `${n}`);
    assert.ok([...tokenBadge(n)].length <= 2);
  }
  assert.equal(shareText(1, 2), "50%");
  assert.equal(shareText(42, 1000), "4.2%");
  assert.equal(shareText(1, 100_000), "<0.1%");
  assert.equal(shareText(0, 0), "");
});

test("workspace token tree: partial results file entries under their folders, the final answer replaces them", () => {
  const data = new WorkspaceTokens();
  const root = "file:///ws";
  data.applyPartial({ root, files: [{ path: "src/a.py", tokens: 30, characters: 90, bytes: 90 }, { path: "b.md", tokens: 50, characters: 1, bytes: 1 }],
    skipped: [{ path: "x.bin", reason: "binary file" }], folders: [{ path: "", tokens: 80, files: 2 }, { path: "src", tokens: 30, files: 1 }], done: 2, planned: 3 });
  assert.deepEqual(data.children(root, "", "tokens").map((e) => [e.name, e.kind, e.tokens]), [["b.md", "file", 50], ["src", "folder", 30]]);
  assert.deepEqual(data.children(root, "", "name").map((e) => e.name), ["src", "b.md"]);
  assert.deepEqual(data.children(root, "src", "tokens").map((e) => e.path), ["src/a.py"]);
  assert.deepEqual(data.progress.get(root), { done: 2, planned: 3 });
  const gone = data.applyResult({ model: "o200k_base", specialTokens: "special", complete: true, total: { tokens: 30, files: 1, skipped: 0 },
    roots: [{ uri: root, name: "ws", complete: true, total: { tokens: 30, files: 1 }, folders: [{ path: "", tokens: 30, files: 1 }, { path: "src", tokens: 30, files: 1 }],
      files: [{ path: "src/a.py", tokens: 30, characters: 90, bytes: 90 }], skipped: [] }] });
  assert.deepEqual(gone, [{ root, path: "b.md" }]);
  assert.deepEqual(data.children(root, "", "tokens").map((e) => e.name), ["src"]);
  assert.deepEqual(data.total(), { tokens: 30, files: 1 });
  assert.equal(data.summary, "30 tokens · o200k_base");
  assert.equal(data.progress.size, 0);
});

test("notebook.cells: all, code or markdown; anything else counts every cell", () => {
  const cases: [unknown, string][] = [["code", "code"], ["markdown", "markdown"], ["raw", "all"], [3, "all"]];
  for (const [value, want] of cases) {
    const restore = playSettings({ "notebook.cells": { defaultValue: "all", workspaceValue: value } }, true);
    try {
      assert.equal(readSettings().notebook.cells, want);
    } finally {
      restore();
    }
  }
});
