// TokenPrism: Select tokenizer — recently used, then the server's `tokenprism/models` answer in
// its sections and words (built-ins, aliases, what it finds on disk, the API models of its catalog
// by provider), a Hugging Face id or a file; then writes the setting at the scope the user picks.
// The client keeps no list of models and no wording of its own.
import * as vscode from "vscode";
import { modelFor, SECTION } from "../common/settings";
import { ApiModelEntry, Methods, ModelEntry, ModelGroup, ModelsResult } from "../protocol";
import { Feature, FeatureContext, reportError } from "./feature";

const RECENT_KEY = "tokenprism.recentModels";
// How long the picker waits for the server's list before showing what it has without it.
const SERVER_WAIT_MS = 1500;
const MAX_RECENT = 6;

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

/** The picker's sections in the server's order; malformed ones dropped. */
export function parseGroups(result: unknown): ModelGroup[] {
  const list = (result as { groups?: unknown } | undefined)?.groups;
  if (!Array.isArray(list)) {
    return [];
  }
  return list.filter((g): g is ModelGroup => !!g && typeof g === "object" && typeof g.id === "string" && typeof g.title === "string");
}

export interface Found {
  local: ModelEntry[];
  api: ApiModelEntry[];
  groups: ModelGroup[];
  /** Where the API models' prices come from ("genai-prices 0.2.3 (bundled data)"). */
  pricesSource?: string;
  /** The model the server uses when the settings name none. */
  current?: string;
}

export function parseFound(result: unknown): Found {
  const r = result as ModelsResult | undefined;
  return {
    local: parseModels(result),
    api: parseApiModels(result),
    groups: parseGroups(result),
    pricesSource: typeof r?.pricesSource === "string" ? r.pricesSource : undefined,
    current: typeof r?.current === "string" ? r.current : undefined,
  };
}

async function serverModels(ctx: FeatureContext): Promise<Found> {
  try {
    return parseFound(await ctx.session.request<ModelsResult>(Methods.models, {}));
  } catch (err) {
    ctx.log.warn(`listing models: ${err instanceof Error ? err.message : err}`);
    return { local: [], api: [], groups: [] };
  }
}

interface Row {
  spec: string;
  group?: string;
  description?: string | null;
  detail?: string | null;
  problem?: string;
}

export function buildItems(current: string | undefined, recent: string[], found: Found): ModelItem[] {
  const items: ModelItem[] = [];
  const seen = new Set<string>();
  const rows: Row[] = [...found.local, ...found.api];
  // a spec both local and in the catalog (gpt-4o) is shown as the tokenizer it loads
  const bySpec = new Map([...rows].reverse().map((r) => [r.spec, r]));
  const add = (spec: string) => {
    const row = bySpec.get(spec);
    seen.add(spec);
    items.push({
      label: spec === current ? `$(check) ${spec}` : spec,
      model: spec,
      description: row?.description ?? undefined,
      detail: row?.problem ? `$(error) ${row.problem}` : row?.detail ?? undefined,
    });
  };
  const section = (title: string, specs: string[]) => {
    const fresh = specs.filter((m) => !seen.has(m));
    if (fresh.length) {
      items.push({ label: title, kind: vscode.QuickPickItemKind.Separator });
      fresh.forEach(add);
    }
  };
  section("Recently used", recent);
  for (const group of found.groups) {
    section(group.title, rows.filter((r) => r.group === group.id).map((r) => r.spec));
  }
  items.push({ label: "Other", kind: vscode.QuickPickItemKind.Separator });
  items.push({ label: "$(globe) Enter a Hugging Face id…", action: "huggingface", description: "e.g. Qwen/Qwen2.5-7B-Instruct@main" });
  items.push({ label: "$(folder-opened) Browse for tokenizer.json or GGUF…", action: "browse" });
  return items;
}

async function pickModel(ctx: FeatureContext, chosen: string | undefined): Promise<string | undefined> {
  const recent = ctx.extension.globalState.get<string[]>(RECENT_KEY, []);
  const picker = vscode.window.createQuickPick<ModelItem>();
  picker.title = "TokenPrism: Select tokenizer or model";
  const placeholder = (current: string | undefined) =>
    `${current ? `Current: ${current} · ` : ""}type a tokenizer or an API model name (gpt-5, claude-sonnet-4-5…)`;
  picker.placeholder = placeholder(chosen);
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
  // after that show the recent models, and swap in the full list only while untouched.
  const answer = serverModels(ctx);
  const early = await Promise.race([answer, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), SERVER_WAIT_MS))]);
  const show = (found: Found) => {
    const current = chosen ?? found.current;  // no model set: the server's default
    picker.placeholder = placeholder(current);
    picker.items = buildItems(current, recent, found);
    if (found.api.length && found.pricesSource) {
      picker.title = `TokenPrism: Select tokenizer or model · prices: ${found.pricesSource}`;
    }
  };
  if (early) {
    show(early);
    picker.busy = false;
  } else {
    show({ local: [], api: [], groups: [] });
    void answer.then((found) => {
      const first = picker.items.find((i) => i.kind !== vscode.QuickPickItemKind.Separator);
      const active = picker.activeItems[0];
      // untouched: nothing typed and the first row highlighted, or a filter that found no model yet
      // (the early list holds only the recent models: a name typed at once waits for the server's)
      const untouched = picker.value ? !active?.model : active === first;
      if ((found.local.length || found.api.length) && untouched) {
        show(found);
      }
      picker.busy = false;
    });
  }
  const picked = await accepted;
  picker.dispose();
  if (!picked) {
    return undefined;
  }
  if (picked.action === "huggingface") {
    return vscode.window.showInputBox({
      title: "TokenPrism: Hugging Face model id",
      prompt: "owner/name, optionally @revision (the tokenizer files are downloaded once and cached)",
      placeHolder: "Qwen/Qwen2.5-7B-Instruct@main",
      validateInput: (v) => (/^(hf:)?[\w.-]+\/[\w.-]+(@[\w./-]+)?$/.test(v.trim()) ? undefined : "expected owner/name or owner/name@revision"),
    }).then((v) => v?.trim());
  }
  if (picked.action === "browse") {
    const files = await vscode.window.showOpenDialog({
      title: "TokenPrism: tokenizer file",
      canSelectMany: false,
      filters: { "Tokenizers": ["json", "gguf"], "All files": ["*"] },
    });
    return files?.[0]?.fsPath;
  }
  return picked.model;
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
  const current = document ? modelFor(document) : undefined;
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
