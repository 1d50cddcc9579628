// TokenPrism: Select tokenizer — built-ins, aliases, what the server finds, recently used, the
// API models of the server's catalog by provider (exactness and price), a Hugging Face id or a
// file; then writes the setting at the scope the user picks.
import * as vscode from "vscode";
import { formatPrice, formatWindowSize } from "../common/costFormat";
import { DEFAULT_MODEL, modelFor, SECTION } from "../common/settings";
import { ApiModelEntry, Methods, ModelEntry, ModelsResult } from "../protocol";
import { Feature, FeatureContext, reportError } from "./feature";

const RECENT_KEY = "tokenprism.recentModels";
// How long the picker waits for the server's list before showing the built-in one.
const SERVER_WAIT_MS = 1500;
const MAX_RECENT = 6;

const BUILT_INS: [string, string][] = [
  ["o200k_base", "OpenAI GPT-4o, GPT-4.1, GPT-5, o1, o3 (tiktoken)"],
  ["cl100k_base", "OpenAI GPT-4, GPT-3.5 (tiktoken)"],
];
const ALIASES: [string, string][] = [
  ["llama3", "Llama 3.1 Instruct"],
  ["phi3", "Phi-3 mini"],
  ["qwen2", "Qwen2 Instruct"],
  ["starcoder2", "StarCoder2 (code)"],
  ["gpt2", "GPT-2"],
];

type Action = "huggingface" | "browse";
interface ModelItem extends vscode.QuickPickItem {
  model?: string;
  action?: Action;
}

/** The server's entries that carry a usable spec; anything malformed is dropped. */
export function parseModels(result: unknown): ModelEntry[] {
  const list = (result as { models?: unknown } | undefined)?.models;
  if (!Array.isArray(list)) {
    return [];
  }
  return list.filter((e): e is ModelEntry => !!e && typeof e === "object" && typeof (e as ModelEntry).spec === "string" && !!(e as ModelEntry).spec);
}

/** The catalog's API models (`apiModels`, absent from older servers); malformed entries dropped. */
export function parseApiModels(result: unknown): ApiModelEntry[] {
  const list = (result as { apiModels?: unknown } | undefined)?.apiModels;
  if (!Array.isArray(list)) {
    return [];
  }
  return list.filter((e): e is ApiModelEntry =>
    !!e && typeof e === "object" && typeof e.spec === "string" && !!e.spec && typeof e.provider === "string" && !!e.provider);
}

interface Found {
  local: ModelEntry[];
  api: ApiModelEntry[];
  /** Where the API models' prices come from ("genai-prices 0.2.3 (bundled data)"). */
  pricesSource?: string;
}

async function serverModels(ctx: FeatureContext): Promise<Found> {
  try {
    const result = await ctx.session.request<ModelsResult>(Methods.models, {});
    const pricesSource = typeof result?.pricesSource === "string" ? result.pricesSource : undefined;
    return { local: parseModels(result), api: parseApiModels(result), pricesSource };
  } catch (err) {
    ctx.log.warn(`listing models: ${err instanceof Error ? err.message : err}`);
    return { local: [], api: [] };
  }
}

const PROVIDER_TITLES: Record<string, string> = {
  openai: "OpenAI",
  anthropic: "Anthropic",
  google: "Google",
  mistral: "Mistral",
  deepseek: "DeepSeek",
  qwen: "Qwen",
  meta: "Meta",
  custom: "Your models (tokenprism.prices)",
};

export function providerTitle(provider: string): string {
  return PROVIDER_TITLES[provider] ?? provider.charAt(0).toUpperCase() + provider.slice(1);
}

const EXACTNESS_LABELS: Record<string, string> = { exact: "exact", "exact-api": "exact (API)", estimate: "≈ estimate" };

/** `exact · $1.25 / $10.00 per M · 400k window`: what an API model's pick-list row says. */
export function apiModelDescription(m: ApiModelEntry): string {
  const parts = [EXACTNESS_LABELS[m.exactness] ?? m.exactness];
  if (typeof m.inputPrice === "number" || typeof m.outputPrice === "number") {
    parts.push(`${formatPrice(m.inputPrice)} / ${formatPrice(m.outputPrice)} per M in / out`);
  }
  if (m.contextWindow) {
    parts.push(`${formatWindowSize(m.contextWindow)} window`);
  }
  if (m.deprecated) {
    parts.push("deprecated");
  }
  return parts.join(" · ");
}

/** The second line: what counts for it (the basis of an estimate). */
export function apiModelDetail(m: ApiModelEntry): string {
  return m.exactness === "estimate" && m.basis ? `estimate: ${m.basis}` : `counted with ${m.tokenizer}`;
}

/** API models by provider, in the server's order (providers sorted, models by name). */
export function groupByProvider(models: ApiModelEntry[]): [string, ApiModelEntry[]][] {
  const groups = new Map<string, ApiModelEntry[]>();
  for (const m of models) {
    groups.set(m.provider, [...(groups.get(m.provider) ?? []), m]);
  }
  return [...groups.entries()];
}

const GROUP_TITLES: Record<string, string> = {
  builtin: "Built-in",
  alias: "Aliases",
  "huggingface-cache": "In the Hugging Face cache",
  gguf: "GGUF files in the search paths",
};

/** How an entry would load, for the item's detail line. */
function howItLoads(m: ModelEntry): string | undefined {
  if (m.problem) {
    return `$(error) ${m.problem}`;
  }
  const where = m.loadAs && m.target ? `${m.loadAs}: ${m.target}` : m.loadAs ?? undefined;
  const parts = [where ? `loads from ${where}` : undefined, m.loaded ? "loaded" : undefined, m.note].filter(Boolean);
  return parts.length ? parts.join(" · ") : undefined;
}

export function buildItems(current: string, recent: string[], found: Found): ModelItem[] {
  const items: ModelItem[] = [];
  const seen = new Set<string>();
  const byName = new Map(found.local.map((m) => [m.spec, m]));
  const apiByName = new Map(found.api.map((m) => [m.spec, m]));
  const add = (model: string, description?: string) => {
    if (!seen.has(model)) {
      seen.add(model);
      const m = byName.get(model);
      const api = apiByName.get(model);
      items.push({
        label: model === current ? `$(check) ${model}` : model,
        model,
        description: description ?? m?.description ?? (api && apiModelDescription(api)),
        detail: m ? howItLoads(m) : api && apiModelDetail(api),
      });
    }
  };
  const section = (title: string, entries: [string, string | undefined][]) => {
    const fresh = entries.filter(([m]) => !seen.has(m));
    if (fresh.length) {
      items.push({ label: title, kind: vscode.QuickPickItemKind.Separator });
      fresh.forEach(([m, d]) => add(m, d));
    }
  };
  section("Recently used", recent.map((m) => [m, undefined]));
  const fromServer = (group: string): [string, string | undefined][] =>
    found.local.filter((m) => m.group === group).map((m) => [m.spec, m.description]);
  // Before the server answers (or when it cannot), the built-ins and aliases still show.
  section(GROUP_TITLES.builtin, [...BUILT_INS.map(([m, d]): [string, string] => [m, byName.get(m)?.description ?? d]), ...fromServer("builtin")]);
  section(GROUP_TITLES.alias, [...ALIASES.map(([m, d]): [string, string] => [m, byName.get(m)?.description ?? d]), ...fromServer("alias")]);
  section(GROUP_TITLES["huggingface-cache"], fromServer("huggingface-cache"));
  section(GROUP_TITLES.gguf, fromServer("gguf"));
  section("Other models found", found.local.filter((m) => !(m.group && m.group in GROUP_TITLES)).map((m) => [m.spec, m.description]));
  for (const [provider, models] of groupByProvider(found.api)) {
    section(`${providerTitle(provider)} — API models`, models.map((m) => [m.spec, apiModelDescription(m)]));
  }
  items.push({ label: "Other", kind: vscode.QuickPickItemKind.Separator });
  items.push({ label: "$(globe) Enter a Hugging Face id…", action: "huggingface", description: "e.g. Qwen/Qwen2.5-7B-Instruct@main" });
  items.push({ label: "$(folder-opened) Browse for tokenizer.json or GGUF…", action: "browse" });
  return items;
}

async function pickModel(ctx: FeatureContext, current: string): Promise<string | undefined> {
  const recent = ctx.extension.globalState.get<string[]>(RECENT_KEY, []);
  const picker = vscode.window.createQuickPick<ModelItem>();
  picker.title = "TokenPrism: Select tokenizer or model";
  picker.placeholder = `Current: ${current} · type a tokenizer or an API model name (gpt-5, claude-sonnet-4-5…)`;
  picker.matchOnDescription = true;
  picker.busy = true;
  const accepted = new Promise<ModelItem | undefined>((resolve) => {
    picker.onDidAccept(() => resolve(picker.selectedItems[0]));
    picker.onDidHide(() => resolve(undefined));
  });
  picker.show();
  // One list in the usual case: VS Code matches the row the user accepts to an item by its
  // position, so replacing the items while they pick could make Enter take another model (seen
  // in the e2e test: phi3 highlighted, gpt-4.1 picked). So wait briefly for the server's list;
  // after that show the built-ins and aliases, and swap in the full list only while untouched.
  const answer = serverModels(ctx);
  const early = await Promise.race([answer, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), SERVER_WAIT_MS))]);
  const show = (found: Found) => {
    picker.items = buildItems(current, recent, found);
    if (found.api.length && found.pricesSource) {
      picker.title = `TokenPrism: Select tokenizer or model · prices: ${found.pricesSource}`;
    }
  };
  if (early) {
    show(early);
    picker.busy = false;
  } else {
    show({ local: [], api: [] });
    void answer.then((found) => {
      const first = picker.items.find((i) => i.kind !== vscode.QuickPickItemKind.Separator);
      if ((found.local.length || found.api.length) && !picker.value && picker.activeItems[0] === first) {
        show(found);
      }
      picker.busy = false;
    });
  }
  const chosen = await accepted;
  picker.dispose();
  if (!chosen) {
    return undefined;
  }
  if (chosen.action === "huggingface") {
    return vscode.window.showInputBox({
      title: "TokenPrism: Hugging Face model id",
      prompt: "owner/name, optionally @revision (the tokenizer files are downloaded once and cached)",
      placeHolder: "Qwen/Qwen2.5-7B-Instruct@main",
      validateInput: (v) => (/^(hf:)?[\w.-]+\/[\w.-]+(@[\w./-]+)?$/.test(v.trim()) ? undefined : "expected owner/name or owner/name@revision"),
    }).then((v) => v?.trim());
  }
  if (chosen.action === "browse") {
    const files = await vscode.window.showOpenDialog({
      title: "TokenPrism: tokenizer file",
      canSelectMany: false,
      filters: { "Tokenizers": ["json", "gguf"], "All files": ["*"] },
    });
    return files?.[0]?.fsPath;
  }
  return chosen.model;
}

interface ScopeItem extends vscode.QuickPickItem {
  target: vscode.ConfigurationTarget;
  perLanguage: boolean;
}

async function pickScope(languageId: string | undefined): Promise<ScopeItem | undefined> {
  const items: ScopeItem[] = [{ label: "All files — User settings", target: vscode.ConfigurationTarget.Global, perLanguage: false }];
  // an untrusted workspace ignores its own model settings: offer only the user's
  const hasWorkspace = !!vscode.workspace.workspaceFolders?.length && vscode.workspace.isTrusted;
  if (hasWorkspace) {
    items.push({ label: "All files — this workspace", target: vscode.ConfigurationTarget.Workspace, perLanguage: false });
  }
  if (languageId) {
    items.push({ label: `Only ${languageId} files — User settings`, target: vscode.ConfigurationTarget.Global, perLanguage: true });
    if (hasWorkspace) {
      items.push({ label: `Only ${languageId} files — this workspace`, target: vscode.ConfigurationTarget.Workspace, perLanguage: true });
    }
  }
  return vscode.window.showQuickPick(items, { title: "TokenPrism: use this tokenizer for…" });
}

async function selectModel(ctx: FeatureContext): Promise<void> {
  const document = vscode.window.activeTextEditor?.document;
  const current = document ? modelFor(document) : DEFAULT_MODEL;
  const model = await pickModel(ctx, current);
  if (!model) {
    return;
  }
  const scope = await pickScope(document?.languageId);
  if (!scope) {
    return;
  }
  const cfg = vscode.workspace.getConfiguration(SECTION, document?.uri);
  try {
    if (scope.perLanguage && document) {
      const key = "modelByLanguage";
      const inspected = cfg.inspect<Record<string, string>>(key);
      const existing = (scope.target === vscode.ConfigurationTarget.Global ? inspected?.globalValue : inspected?.workspaceValue) ?? {};
      await cfg.update(key, { ...existing, [document.languageId]: model }, scope.target);
    } else {
      await cfg.update("model", model, scope.target);
    }
  } catch (err) {
    reportError(ctx, "could not save the setting", err);
    return;
  }
  const recent = [model, ...ctx.extension.globalState.get<string[]>(RECENT_KEY, []).filter((m) => m !== model)];
  await ctx.extension.globalState.update(RECENT_KEY, recent.slice(0, MAX_RECENT));
}

export const modelPickerFeature: Feature = {
  name: "model picker",
  register: (ctx) => [vscode.commands.registerCommand("tokenprism.selectModel", () => selectModel(ctx))],
};
