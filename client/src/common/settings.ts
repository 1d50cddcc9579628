// Typed, defaulted view of the `tokenprism` settings section.
import * as vscode from "vscode";

export const SECTION = "tokenprism";

export type InlayHintMode = "counts" | "boundaries" | "off";
export const INLAY_HINT_MODES: readonly InlayHintMode[] = ["counts", "boundaries", "off"];

export interface TokenPrismSettings {
  model: string;
  modelByLanguage: Record<string, string>;
  inlayHints: { mode: InlayHintMode };
  colorize: boolean;
  specialTokens: "special" | "text";
  budget: number;
  gguf: { searchPaths: string[] };
  compareModels: string[];
  chatTemplate: string;
  server: { command: string[] };
  maxDocumentCharacters: number;
}

export const DEFAULT_MODEL = "o200k_base";
export const DEFAULT_COMPARE_MODELS = ["o200k_base", "llama3", "phi3", "qwen2", "starcoder2"];

/** Settings for a document or folder (VS Code already drops restricted values in untrusted workspaces). */
export function readSettings(scope?: vscode.ConfigurationScope): TokenPrismSettings {
  const cfg = vscode.workspace.getConfiguration(SECTION, scope);
  const mode = cfg.get<string>("inlayHints.mode", "counts");
  const budget = cfg.get<number>("budget", 0);
  return {
    model: nonEmpty(cfg.get<string>("model")) ?? DEFAULT_MODEL,
    modelByLanguage: stringRecord(cfg.get("modelByLanguage")),
    inlayHints: { mode: (INLAY_HINT_MODES as readonly string[]).includes(mode) ? (mode as InlayHintMode) : "counts" },
    colorize: cfg.get<boolean>("colorize", false) === true,
    specialTokens: cfg.get<string>("specialTokens") === "text" ? "text" : "special",
    budget: Number.isFinite(budget) && budget > 0 ? Math.floor(budget) : 0,
    gguf: { searchPaths: stringArray(cfg.get("gguf.searchPaths")) },
    compareModels: stringArray(cfg.get("compareModels"), DEFAULT_COMPARE_MODELS),
    chatTemplate: cfg.get<string>("chatTemplate", "") ?? "",
    server: { command: parseCommand(cfg.get("server.command")) },
    maxDocumentCharacters: Math.max(0, Math.floor(cfg.get<number>("maxDocumentCharacters", 20_000_000) || 0)),
  };
}

/** The model a document is tokenized with: its language's entry in modelByLanguage, else `model`. */
export function modelFor(document: vscode.TextDocument): string {
  const settings = readSettings(document);
  return nonEmpty(settings.modelByLanguage[document.languageId]) ?? settings.model;
}

/** `server.command` as argv: an array as is, a string split on spaces (quotes group words). */
export function parseCommand(value: unknown): string[] {
  if (Array.isArray(value)) {
    return value.filter((part): part is string => typeof part === "string" && part.length > 0);
  }
  if (typeof value !== "string") {
    return [];
  }
  const words: string[] = [];
  for (const match of value.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) {
    words.push(match[1] ?? match[2] ?? match[3]);
  }
  return words;
}

/**
 * Where to write a setting so the change takes effect: the most specific scope that already
 * sets it, else the user settings.
 */
export function effectiveTarget(key: string, scope?: vscode.ConfigurationScope): vscode.ConfigurationTarget {
  const info = vscode.workspace.getConfiguration(SECTION, scope).inspect(key);
  if (info?.workspaceFolderValue !== undefined) {
    return vscode.ConfigurationTarget.WorkspaceFolder;
  }
  if (info?.workspaceValue !== undefined) {
    return vscode.ConfigurationTarget.Workspace;
  }
  return vscode.ConfigurationTarget.Global;
}

function nonEmpty(value: string | undefined | null): string | undefined {
  const trimmed = typeof value === "string" ? value.trim() : "";
  return trimmed.length > 0 ? trimmed : undefined;
}

function stringArray(value: unknown, fallback: string[] = []): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string" && v.length > 0) : fallback;
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, v] of Object.entries(value)) {
      if (typeof v === "string" && v.trim()) {
        out[key] = v.trim();
      }
    }
  }
  return out;
}
