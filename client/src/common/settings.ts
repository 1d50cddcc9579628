// Typed, defaulted view of the `tokenprism` settings section.
import * as vscode from "vscode";
import type { NotebookCells } from "../protocol";

export const SECTION = "tokenprism";

export type InlayHintMode = "counts" | "boundaries" | "off";
export const INLAY_HINT_MODES: readonly InlayHintMode[] = ["counts", "boundaries", "off"];

/** Token colours: none, the theme's colours (semantic tokens), or pastel backgrounds (decorations). */
export type ColorMode = "off" | "foreground" | "background";
export const COLOR_MODES: readonly ColorMode[] = ["off", "foreground", "background"];

/** `colorize` as set: a mode, or true / false from when it was a boolean (foreground / off). */
export function colorMode(value: unknown): ColorMode {
  if (value === true) {
    return "foreground";
  }
  return (COLOR_MODES as readonly unknown[]).includes(value) ? (value as ColorMode) : "off";
}

/** The parts of the status bar item (`statusBar.show`), in the item's order. */
export type StatusPart = "tokens" | "cost" | "window";
export const STATUS_PARTS: readonly StatusPart[] = ["tokens", "cost", "window"];

// Defaults are the server's: a setting left unset (or unusable) is sent as undefined, and the
// server applies its own default (package.json's defaults equal them: a server test checks).
export interface TokenPrismSettings {
  model?: string;
  modelByLanguage: Record<string, string>;
  inlayHints: { mode: InlayHintMode };
  colorize: ColorMode;
  specialTokens: "special" | "text";
  /** Tokens (a number), a share of the context window ("80%") or an input cost ("$0.05"); 0: off. */
  budget: number | string;
  /** User prices and windows by model name; the server validates the entries. */
  prices: Record<string, unknown>;
  statusBar: { show: StatusPart[] };
  gguf: { searchPaths: string[] };
  compareModels?: string[];
  chatTemplate: string;
  // The server reads this under the dotted name: in VS Code a setting cannot be both a string
  // (`chatTemplate`) and the parent of another, so the VS Code key is allowChatTemplateOutsideWorkspace.
  "chatTemplate.allowOutsideWorkspace": boolean;
  server: { command: string[] };
  maxDocumentCharacters?: number;
  notebook: { cells: NotebookCells };
}

export const NOTEBOOK_CELLS: readonly NotebookCells[] = ["all", "code", "markdown"];

/**
 * The settings that name a file, a model or a program (see the trust table in docs/vscode.md).
 * In an untrusted workspace only the user's own values count for them; the list is package.json's
 * `capabilities.untrustedWorkspaces.restrictedConfigurations` without the `tokenprism.` prefix.
 */
export const RESTRICTED_SETTINGS: readonly string[] = [
  "model",
  "modelByLanguage",
  "compareModels",
  "prices",
  "gguf.searchPaths",
  "chatTemplate",
  "allowChatTemplateOutsideWorkspace",
  "server.command",
];

/**
 * Settings for a document or folder. In an untrusted workspace a restricted setting is read from
 * the user's settings only: VS Code does that too, but the client does not rely on it.
 */
export function readSettings(scope?: vscode.ConfigurationScope): TokenPrismSettings {
  const cfg = trustedConfiguration(vscode.workspace.getConfiguration(SECTION, scope), vscode.workspace.isTrusted);
  const mode = cfg.get<string>("inlayHints.mode", "counts");
  return {
    model: nonEmpty(cfg.get<string>("model")),
    modelByLanguage: stringRecord(cfg.get("modelByLanguage")),
    inlayHints: { mode: (INLAY_HINT_MODES as readonly string[]).includes(mode) ? (mode as InlayHintMode) : "counts" },
    colorize: colorMode(cfg.get<unknown>("colorize", "off")),
    specialTokens: cfg.get<string>("specialTokens") === "text" ? "text" : "special",
    budget: parseBudget(cfg.get("budget")),
    prices: objectOr(cfg.get("prices")),
    statusBar: { show: parseShowParts(cfg.get("statusBar.show")) },
    gguf: { searchPaths: stringArray(cfg.get("gguf.searchPaths")) },
    compareModels: nonEmptyArray(stringArray(cfg.get("compareModels"))),
    chatTemplate: stringOr(cfg.get("chatTemplate"), ""),
    "chatTemplate.allowOutsideWorkspace": cfg.get<boolean>("allowChatTemplateOutsideWorkspace", false) === true,
    server: { command: parseCommand(cfg.get("server.command")) },
    maxDocumentCharacters: wholeNumber(cfg.get("maxDocumentCharacters")),
    notebook: { cells: oneOf(cfg.get<string>("notebook.cells"), NOTEBOOK_CELLS, "all") },
  };
}

type Reader = Pick<vscode.WorkspaceConfiguration, "get" | "inspect">;

/**
 * `cfg` as seen from a workspace that is `trusted` or not: untrusted, a restricted setting's
 * value is the user's (language-specific first) or the default, never the workspace's or folder's.
 */
export function trustedConfiguration(cfg: Reader, trusted: boolean): Pick<vscode.WorkspaceConfiguration, "get"> {
  if (trusted) {
    return cfg;
  }
  return {
    get<T>(key: string, fallback?: T): T | undefined {
      if (!RESTRICTED_SETTINGS.includes(key)) {
        return cfg.get<T>(key, fallback as T);
      }
      const info = cfg.inspect<T>(key);
      return info?.globalLanguageValue ?? info?.globalValue ?? info?.defaultValue ?? fallback;
    },
  } as Pick<vscode.WorkspaceConfiguration, "get">;
}

/**
 * The answer to the server's `workspace/configuration` request: our own reading (trust applied)
 * for the `tokenprism` section, the editor's for anything else.
 */
export function configurationResult(
  items: readonly { section?: string; scopeUri?: string }[],
  editorResult: unknown[],
  read: (scopeUri?: string) => TokenPrismSettings,
): unknown[] {
  return items.map((item, i) => (item.section === SECTION ? read(item.scopeUri) : editorResult[i]));
}

/** The model a document is tokenized with: its language's entry in modelByLanguage, else `model`
 *  (undefined: the server's default). */
export function modelFor(document: vscode.TextDocument): string | undefined {
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
 * sets it, else the user settings (always the user settings for a restricted one when the
 * workspace is not trusted).
 */
export function effectiveTarget(key: string, scope?: vscode.ConfigurationScope): vscode.ConfigurationTarget {
  if (!vscode.workspace.isTrusted && RESTRICTED_SETTINGS.includes(key)) {
    return vscode.ConfigurationTarget.Global; // a workspace value would be ignored
  }
  const info = vscode.workspace.getConfiguration(SECTION, scope).inspect(key);
  if (info?.workspaceFolderValue !== undefined) {
    return vscode.ConfigurationTarget.WorkspaceFolder;
  }
  if (info?.workspaceValue !== undefined) {
    return vscode.ConfigurationTarget.Workspace;
  }
  return vscode.ConfigurationTarget.Global;
}

/**
 * `budget` as the server takes it: a whole number of tokens, or the string as written ("80%",
 * "$0.05", "8000") for the server to read and, if it cannot, to say why; 0 when unset.
 */
export function parseBudget(value: unknown): number | string {
  if (typeof value === "number") {
    return Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
  }
  return typeof value === "string" && value.trim() ? value.trim() : 0;
}

/** `statusBar.show` as the known parts, in the item's order; all three when it is not a list. */
export function parseShowParts(value: unknown): StatusPart[] {
  if (!Array.isArray(value)) {
    return [...STATUS_PARTS];
  }
  return STATUS_PARTS.filter((part) => value.includes(part));
}

function objectOr(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function nonEmpty(value: string | undefined | null): string | undefined {
  const trimmed = typeof value === "string" ? value.trim() : "";
  return trimmed.length > 0 ? trimmed : undefined;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return (allowed as readonly unknown[]).includes(value) ? (value as T) : fallback;
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === "string" ? value : fallback;
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string" && v.length > 0) : [];
}

function nonEmptyArray<T>(values: T[]): T[] | undefined {
  return values.length ? values : undefined;
}

function wholeNumber(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
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
