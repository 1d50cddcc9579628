// The client's cost, window and exactness layout (status bar, model picker, compare view) — no VS
// Code needed. The wording's reference is the server's own costing.py, run with the project's
// Python: the client must write the server's numbers exactly as the CLI and the hints do.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { fixed, formatCost, formatCount, formatPrice, formatWindowShare, formatWindowSize } from "../src/common/costFormat";
import { parseBudget, parseShowParts, readSettings } from "../src/common/settings";
import { compareHtml } from "../src/features/compare";
import { buildItems, parseApiModels, parseFound } from "../src/features/modelPicker";
import { renderedStatusText, renderedTooltip } from "../src/features/renderedPrompt";
import { escapeHtml } from "../src/features/feature";
import { spacedHex, tokenText, tokensTableHtml } from "../src/features/tokenTable";
import { apiLine, statusBarText, statusBarTooltip } from "../src/features/statusBarLayout";
import type { ApiModelEntry, CompareRow, DocumentStats, ModelEntry, ModelsResult, RenderChatResult } from "../src/protocol";
import * as vscode from "vscode";

const REPO = path.resolve(__dirname, "../../.."); // the bundle runs from client/out/test/
const PYTHON = process.env.TOKENPRISM_PYTHON || path.join(REPO, ".venv", "bin", "python");

/** Runs `code` with the worktree's server package; its stdin is `input` as JSON, its stdout JSON. */
function python(code: string, input: unknown): unknown {
  const run = spawnSync(PYTHON, ["-c", code], {
    input: JSON.stringify(input),
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, PYTHONPATH: path.join(REPO, "server") },
  });
  if (run.status !== 0) {
    throw new Error(`python failed: ${run.error ?? run.stderr}`);
  }
  return JSON.parse(run.stdout);
}
const noPython = fs.existsSync(PYTHON) ? false : `no project Python at ${PYTHON} (set TOKENPRISM_PYTHON)`;

/** A deterministic spread of values over many magnitudes (a small LCG: the same every run). */
function spread(n: number, lo: number, hi: number): number[] {
  let seed = 12345;
  return Array.from({ length: n }, () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return lo * (hi / lo) ** (seed / 2 ** 31);
  });
}

const WINDOWS = [2048, 4096, 8192, 10240, 12500, 16384, 32000, 32768, 128000, 131072, 163840, 200000, 400000, 1000000,
  1048576, 1050000, 1125000, 2000000, 2097152];

test("costs, windows, shares and counts are written as costing.py writes them", { skip: noPython }, () => {
  // exact ties (0.125, 2.5…) where JavaScript's toFixed and Python's format differ, real token × price costs, and a spread
  const ties = [0.125, 0.375, 0.0625, 2.125, 2.375, 1.005, 0.015, 0.045, 12.5, 0.5, 0.25, 0.75];
  const realistic = [1, 7, 45, 1234, 1481, 9999, 200_000, 1_000_000].flatMap((t) => [0.075, 0.15, 1.25, 3, 15, 75].map((p) => (t * p) / 1e6));
  const costs = [0, ...ties, ...realistic, ...spread(300, 1e-9, 5e4)];
  const windows = [...WINDOWS, ...spread(100, 1000, 5e6).map(Math.round)];
  const shares = windows.flatMap((w) => [1, 45, 1234, 99_999, w / 2, w, 3 * w].map((c): [number, number] => [c / w, w]));
  const counts = [0, 1, 999, 1000, 1234, 1_234_567, 98_765_432].flatMap((n): [number, boolean][] => [[n, true], [n, false]]);
  const want = python(
    `import json, sys
from tokenprism.tokenization.costing import format_cost, format_count, format_window_share, format_window_size
d = json.load(sys.stdin)
print(json.dumps({
    "costs": [format_cost(c) for c in d["costs"]],
    "windows": [format_window_size(w) for w in d["windows"]],
    "shares": [format_window_share(s, w) for s, w in d["shares"]],
    "counts": [format_count(n, e) for n, e in d["counts"]],
}))`,
    { costs, windows, shares, counts },
  ) as Record<string, string[]>;
  const got = {
    costs: costs.map(formatCost),
    windows: windows.map(formatWindowSize),
    shares: shares.map(([s, w]) => formatWindowShare(s, w)),
    counts: counts.map(([n, e]) => formatCount(n, e)),
  };
  for (const key of Object.keys(want)) {
    const inputs = { costs, windows, shares, counts }[key as keyof typeof got];
    const bad = want[key].map((w, i) => [inputs[i], got[key as keyof typeof got][i], w]).filter(([, g, w]) => g !== w);
    assert.deepEqual(bad, [], `${key}: [input, client, costing.py]`);
  }
});

test("fixed() rounds an exact tie to the even digit, like Python; everything else to the nearest", () => {
  assert.equal(fixed(0.125, 2), "0.12");
  assert.equal(fixed(0.375, 2), "0.38");
  assert.equal(fixed(2.5, 0), "2");
  assert.equal(fixed(3.5, 0), "4");
  assert.equal(fixed(0.1 + 0.2, 1), "0.3");
  assert.equal(fixed(1.005, 2), "1.00"); // 1.005 is 1.00499999… as a double
  assert.equal(formatCost(null), "—");
  assert.equal(formatPrice(3), "$3");
  assert.equal(formatPrice(0), "$0");
  assert.equal(formatPrice(0.0125), "$0.0125");
  assert.equal(formatPrice(0.1), "$0.1");
  assert.equal(formatPrice(1.25), "$1.25");
  assert.equal(formatPrice(0.075), "$0.075");
  assert.equal(formatWindowShare(0.5, null), "");
});

// -- the status bar -----------------------------------------------------------------------------

/** documentStats for `model` as the server builds them: CountFacts.to_json() of the real catalog. */
function serverStats(model: string, tokens: number, characters = 5000): DocumentStats {
  const facts = python(
    `import json, sys
from tokenprism.tokenization.costing import facts_for
d = json.load(sys.stdin)
print(json.dumps(facts_for(d["model"], d["tokens"]).to_json()))`,
    { model, tokens },
  ) as Partial<DocumentStats>;
  return { uri: "file:///w/a.md", version: 1, model, tokens, characters, ...facts };
}

/** The status text the contract asks for, written by costing.py itself. */
function expectedStatus(model: string, tokens: number): string {
  return python(
    `import json, sys
from tokenprism.tokenization.costing import facts_for, format_cost, format_count, format_window_share
d = json.load(sys.stdin)
f = facts_for(d["model"], d["tokens"])
parts = [format_count(f.count, f.exact) + " tokens"]
if f.cost is not None:
    parts.append(format_cost(f.cost))
if f.window_share is not None:
    parts.append(format_window_share(f.window_share, f.context_window))
print(json.dumps(" · ".join(parts + [d["model"]])))`,
    { model, tokens },
  ) as string;
}

const ALL = ["tokens", "cost", "window"] as const;

test("status bar: count, cost and window share of the catalog's models, ≈ for an estimate", { skip: noPython }, () => {
  for (const model of ["gpt-5", "claude-sonnet-4-5", "gemini-2.5-pro", "o200k_base"]) {
    const stats = serverStats(model, 1234);
    assert.equal(statusBarText({ stats, show: ALL }), expectedStatus(model, 1234), model);
  }
  const claude = serverStats("claude-sonnet-4-5", 1234);
  assert.match(statusBarText({ stats: claude, show: ALL }), /^≈1,481 tokens · \$0\.0044 · 0\.7 % of 200k · claude-sonnet-4-5$/);
  assert.doesNotMatch(statusBarText({ stats: serverStats("gpt-5", 1234), show: ALL }), /≈/);
});

test("status bar: parts switch off, a selection shows `selected / total`, an older server still shows tokens", { skip: noPython }, () => {
  const claude = serverStats("claude-sonnet-4-5", 1234);
  const cost = formatCost(claude.cost);
  assert.equal(statusBarText({ stats: claude, show: ["cost"] }), `${cost} · claude-sonnet-4-5`);
  assert.equal(statusBarText({ stats: claude, show: ["tokens", "window"] }), "≈1,481 tokens · 0.7 % of 200k · claude-sonnet-4-5");
  // nothing left to show (a tokenizer has no price): the count rather than an empty item
  const plain = serverStats("o200k_base", 1234);
  assert.equal(statusBarText({ stats: plain, show: ["cost"] }), "1,234 tokens · o200k_base");
  assert.equal(statusBarText({ stats: claude, show: [], selection: { count: 12, exact: false } }), "≈12 / ≈1,481 tokens · claude-sonnet-4-5");
  assert.equal(statusBarText({ stats: plain, show: ALL, selection: { count: 12, exact: true }, stale: true }), "12 / ~1,234 tokens · o200k_base");
  const old: DocumentStats = { uri: "file:///w/a.md", version: 3, model: "o200k_base", tokens: 45, characters: 180 };
  assert.equal(statusBarText({ stats: old, show: ALL }), "45 tokens · o200k_base");
});

test("status bar tooltip: input vs output price, exactness and basis, the data's source, API state, budget", { skip: noPython }, () => {
  const claude = serverStats("claude-sonnet-4-5", 1234);
  const tip = statusBarTooltip({ stats: { ...claude, tokenizer: "o200k_base", api: { state: "no-key" } }, show: ALL });
  assert.match(tip, /^\*\*TokenPrism\*\* · `claude-sonnet-4-5` \(counted with `o200k_base`\)$/m);
  assert.match(tip, new RegExp(`input ${escapeRe(formatPrice(claude.price!.input))} · output ${escapeRe(formatPrice(claude.price!.output))}`));
  assert.match(tip, /Estimate: o200k\\_base × 1\.2 calibration/); // the server's basis, Markdown-escaped
  assert.match(tip, /1,234 tokens before calibration/);
  assert.ok(tip.includes(claude.price!.source!), tip);
  assert.match(tip, /API: no key/);
  assert.match(tip, /Context window: 200,000 tokens \(this document: 0\.7 % of 200k\)/);
  const gpt = statusBarTooltip({ stats: serverStats("gpt-5", 1234), show: ALL });
  assert.match(gpt, /Exact: the model's own tokenizer/);
  assert.doesNotMatch(gpt, /API:/);
  const api = statusBarTooltip({ stats: { ...claude, count: 1300, exact: true, exactness: "exact-api", basis: null, api: { state: "exact" } }, show: ALL });
  assert.match(api, /Exact \(API\)/);
  assert.match(api, /^1,300 tokens/m);
  // the budget is the server's verdict, shown with the setting as written
  const over = statusBarTooltip({ stats: { ...serverStats("o200k_base", 45), budget: { limit: 40, spec: "40", over: true, overBy: 5 } }, show: ALL });
  assert.match(over, /Budget: 45 \/ 40 \(113%\) — \*\*over budget by 5\*\*$/m);
  const money = statusBarTooltip({ stats: { ...claude, budget: { limit: 16666, spec: "$0.05", over: false, overBy: 0 } }, show: ALL });
  assert.match(money, /Budget: ≈1,481 \/ 16,666 \(9%\) \(budget \$0\.05\)/);
});

test("API states name themselves; an error gives its reason", () => {
  assert.equal(apiLine(null), undefined);
  assert.match(apiLine({ state: "pending" })!, /counting/);
  assert.match(apiLine({ state: "error", reason: "HTTP 429: rate limited" })!, /error: HTTP 429: rate limited; showing the estimate/);
  assert.match(apiLine({ state: "no-key" })!, /Set API key/);
  assert.equal(apiLine({ state: "no-key", reason: "no Anthropic API key (ANTHROPIC_API_KEY)" }), "API: no Anthropic API key (ANTHROPIC\\_API\\_KEY); showing the estimate");
  assert.match(apiLine({ state: "off", reason: "offline" })!, /off: offline/);
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// -- settings -----------------------------------------------------------------------------------

test("budget: tokens as a whole number, a share or money as written; statusBar.show: known parts in order", () => {
  assert.equal(parseBudget(8000.7), 8000);
  assert.equal(parseBudget(-5), 0);
  assert.equal(parseBudget(" 80% "), "80%");
  assert.equal(parseBudget("$0.05"), "$0.05");
  assert.equal(parseBudget(""), 0);
  assert.equal(parseBudget(null), 0);
  assert.deepEqual(parseShowParts(undefined), ["tokens", "cost", "window"]);
  assert.deepEqual(parseShowParts(["window", "bogus", "tokens"]), ["tokens", "window"]);
  assert.deepEqual(parseShowParts([]), []);
  const workspace = vscode.workspace as any;
  const saved = workspace.getConfiguration;
  const values: Record<string, unknown> = { budget: "$0.05", prices: { "my-model": { input: 1, output: 2 } }, "statusBar.show": ["cost"] };
  workspace.getConfiguration = () => ({ get: (k: string, d?: unknown) => values[k] ?? d, inspect: () => undefined });
  try {
    const s = readSettings();
    assert.equal(s.budget, "$0.05");
    // unset settings stay unset: the server applies its own defaults (package.json's equal them)
    assert.equal(s.model, undefined);
    assert.equal(s.compareModels, undefined);
    assert.equal(s.maxDocumentCharacters, undefined);
    assert.ok(!("model" in JSON.parse(JSON.stringify(s))));
    assert.deepEqual(s.prices, { "my-model": { input: 1, output: 2 } });
    assert.deepEqual(s.statusBar.show, ["cost"]);
  } finally {
    workspace.getConfiguration = saved;
  }
});

test("package.json: the prices schema has the server's keys; budget takes a number or a string", { skip: noPython }, () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8"));
  const props = pkg.contributes.configuration.properties;
  const schemaKeys = Object.keys(props["tokenprism.prices"].additionalProperties.properties).sort();
  const serverKeys = python(
    `import json
from tokenprism.tokenization import model_catalog as m
print(json.dumps(sorted(list(m._PRICE_KEYS) + list(m._INT_KEYS) + list(m._OTHER_KEYS))))`,
    null,
  );
  assert.deepEqual(schemaKeys, serverKeys);
  assert.deepEqual(props["tokenprism.budget"].type, ["number", "string"]);
  const pattern = new RegExp(props["tokenprism.budget"].pattern);
  for (const ok of ["8000", "80%", "12.5 %", "$0.05", "$ 3"]) {
    assert.ok(pattern.test(ok), ok);
  }
  for (const bad of ["80%%", "lots", "$", "-5"]) {
    assert.ok(!pattern.test(bad), bad);
  }
  assert.deepEqual(props["tokenprism.statusBar.show"].default, ["tokens", "cost", "window"]);
});

// -- model picker -------------------------------------------------------------------------------

test("model picker: the server's tokenprism/models answer, in its sections and words", { skip: noPython }, () => {
  // the real answer (no GGUF folders; one user model), as the server's feature builds it
  const answer = python(
    `import json
from tokenprism.lsp.features.models import catalog
from tokenprism.tokenization.model_catalog import parse_overrides
prices, _ = parse_overrides({"acme-chat-1": {"input": 1.0, "output": 2.0, "contextWindow": 4096, "provider": "acme"}})
result = catalog((), prices)
result["current"] = "o200k_base"
print(json.dumps(result))`,
    null,
  ) as ModelsResult;
  const found = parseFound(answer);
  assert.ok(found.local.length > 0 && found.api.length > 0 && found.groups.length > 0);
  const items = buildItems(undefined, ["claude-sonnet-4-5"], found);
  const separators = items.filter((i) => i.kind === vscode.QuickPickItemKind.Separator).map((i) => i.label);
  // recent first, then every section the server named that has a model left, then the actions
  const sections = answer.groups!.filter((g) => [...answer.models, ...answer.apiModels!].some((m) => m.group === g.id && m.spec !== "claude-sonnet-4-5"));
  assert.deepEqual(separators, ["Recently used", ...sections.map((g) => g.title), "Other"]);
  assert.ok(separators.includes("Built-in") && separators.includes("Acme — API models"));
  // each model once, with the server's description and detail
  const models = items.filter((i) => i.model).map((i) => i.model!);
  assert.equal(models.length, new Set(models).size);
  const local = new Set(answer.models.map((m) => m.spec));  // gpt-4o: a tokenizer and an API model
  const entries = [...answer.models, ...answer.apiModels!.filter((m) => !local.has(m.spec))];
  for (const entry of entries as (ModelEntry & ApiModelEntry)[]) {
    const item = items.find((i) => i.model === entry.spec)!;
    assert.ok(item, entry.spec);
    assert.equal(item.description, entry.description ?? undefined);
    assert.equal(item.detail, entry.problem ? `$(error) ${entry.problem}` : entry.detail ?? undefined);
  }
  // no model set: the server's current one is ticked
  assert.equal(buildItems(found.current, [], found).find((i) => i.model === "o200k_base")!.label, "$(check) o200k_base");
  // before the server answers: only the recent models and the actions, nothing of the client's own
  const early = buildItems(undefined, ["phi3"], parseFound(undefined));
  assert.deepEqual(early.filter((i) => i.model).map((i) => i.model), ["phi3"]);
  assert.equal(early.find((i) => i.model === "phi3")!.description, undefined);
});

test("model picker: malformed entries of an answer are dropped", () => {
  const api: ApiModelEntry = { spec: "gpt-5", provider: "openai", tokenizer: "o200k_base", exactness: "exact" };
  const parsed = parseApiModels({ apiModels: [api, { spec: "x" }, { provider: "openai" }, null, "gpt-5"] });
  assert.deepEqual(parsed.map((m) => m.spec), ["gpt-5"]);
  assert.deepEqual(parseApiModels({ models: [] }), []);
  assert.deepEqual(parseFound({ groups: [{ id: "builtin", title: "Built-in" }, { id: 3 }, null] }).groups, [{ id: "builtin", title: "Built-in" }]);
});

// -- token table --------------------------------------------------------------------------------

test("token table: each token's own bytes and text from the server, a split character too", { skip: noPython }, () => {
  // a fake tokenprism/tokens answer for `a 𠜎 b` under o200k_base (the character is split across
  // tokens), its bytes from tiktoken, the reference text from Python's decoder as the hover writes it
  const ref = python(
    `import json
from tokenprism.lsp.facts import server_facts
from tokenprism.tokenization import load_tokenizer, visible_whitespace
tok = load_tokenizer("o200k_base")
ids = tok.encode("a \\U0002070e b").ids.tolist()
raw = [tok.token_bytes(i) for i in ids]
print(json.dumps({"ids": ids, "bytes": [b.hex() for b in raw], "glyphs": server_facts()["visibleWhitespace"],
                  "text": [visible_whitespace(b.decode("utf-8", "backslashreplace")) for b in raw]}))`,
    null,
  ) as { ids: number[]; bytes: string[]; glyphs: Record<string, string>; text: string[] };
  assert.ok(ref.text.some((t) => t.includes("\\x")), "the character is split across tokens");
  const zero = { line: 0, character: 0 };
  const tokens = ref.ids.map((id, i) => ({ id, range: { start: zero, end: zero }, special: false, bytes: ref.bytes[i] }));
  const html = tokensTableHtml("t", tokens, ref.glyphs);
  const rows = [...html.matchAll(/<td>\d+<\/td><td>(\d+)<\/td><td class="text">(.*?)<\/td><td class="bytes">(.*?)<\/td>/g)];
  assert.equal(rows.length, ref.ids.length);
  rows.forEach((row, i) => {
    assert.equal(row[1], String(ref.ids[i]));
    assert.equal(row[2], escapeHtml(ref.text[i]));
    assert.equal(row[3].replace(/ /g, ""), ref.bytes[i]);
  });
  assert.equal(spacedHex("f0a09c8e"), "f0 a0 9c 8e");
  assert.equal(tokenText("f0a0"), "\\xf0\\xa0");
  assert.equal(tokenText("61c3a9"), "aé");
});

// -- compare view -------------------------------------------------------------------------------

function row(model: string, tokens: number, extra: Partial<CompareRow> = {}): CompareRow {
  return { model, ok: true, tokens, characters: 400, charsPerToken: 400 / tokens, bytesPerToken: 400 / tokens, loadMs: 1, encodeMs: 1, ...extra };
}

test("compare view: cost and window columns for priced models, ≈ and the basis for estimates", () => {
  const html = compareHtml("t", [
    row("o200k_base", 100, { count: 100, exact: true, cost: null, contextWindow: null, windowShare: null }),
    row("claude-sonnet-4-5", 100, { count: 120, exact: false, basis: "o200k_base × 1.2 <calibration>", cost: 0.00036, contextWindow: 200000, windowShare: 0.0006 }),
    row("gpt-5", 90, { count: 90, exact: true, cost: 0.000113, contextWindow: 400000, windowShare: 0.000225 }),
  ], "n0nce");
  assert.match(html, /<th>cost \(input\)<\/th><th>window<\/th>/);
  const cells = (model: string) => [...html.matchAll(new RegExp(`<td class="model">${model}</td>(.*?)</tr>`, "g"))][0][1];
  assert.match(cells("claude-sonnet-4-5"), /title="estimate: o200k_base × 1\.2 &lt;calibration&gt;">≈120<\/td><td class="num cost">\$0\.00036<\/td><td class="num window">&lt;0\.1 % of 200k<\/td>/);
  assert.match(cells("gpt-5"), />90<\/td><td class="num cost">\$0\.00011<\/td><td class="num window">&lt;0\.1 % of 400k<\/td>/);
  assert.match(cells("o200k_base"), /<td class="num cost">–<\/td><td class="num window">–<\/td>/);
  assert.match(html, /<div class="row best"><span class="label">gpt-5/); // the fewest model tokens, after calibration
  // tokenizers only: no empty columns
  const plain = compareHtml("t", [row("o200k_base", 100), row("llama3", 110)], "n");
  assert.doesNotMatch(plain, /cost \(input\)|<th>window/);
});

// -- rendered prompt ----------------------------------------------------------------------------

test("rendered prompt: the count to show with ≈ and its cost; per role tokens and cost; the basis", () => {
  const claude: RenderChatResult = {
    model: "claude-sonnet-4-5", rendered: "", tokens: 83, estimate: true, count: 100, exact: false, cost: 0.0003,
    basis: "o200k_base × 1.2 calibration", replyTokens: 3,
    messages: [{ role: "system", tokens: 17, count: 21, cost: 0.000063 }, { role: "user", tokens: 18, count: 22, cost: 0.000066 }],
  };
  assert.equal(renderedStatusText(claude), `≈100 prompt tokens · ${formatCost(0.0003)} · claude-sonnet-4-5`);
  const tip = renderedTooltip(claude);
  assert.match(tip, /\| role \| tokens \| cost \|/);
  assert.match(tip, /\| system \| ≈21 \| \$0\.000063 \|/);
  assert.match(tip, /An estimate: o200k\\_base × 1\.2 calibration/);
  // a local model: no price, no cost column; an older server: tokens and `estimate` only
  const local: RenderChatResult = { model: "qwen2", rendered: "", tokens: 87, estimate: false, messages: [{ role: "user", tokens: 19 }] };
  assert.equal(renderedStatusText(local), "87 prompt tokens · qwen2");
  assert.doesNotMatch(renderedTooltip(local), /cost/);
});
