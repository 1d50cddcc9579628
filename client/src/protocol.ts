// The custom part of the TokenPrism protocol, as the server speaks it (see docs/protocol.md).
// Only shapes and method names live here; no tokenizing happens in the client.
import type { Range } from "vscode-languageclient";

export const Methods = {
  documentStats: "tokenprism/documentStats",
  notebookStats: "tokenprism/notebookStats",
  count: "tokenprism/count",
  tokens: "tokenprism/tokens",
  tokenRanges: "tokenprism/tokenRanges",
  models: "tokenprism/models",
  renderChat: "tokenprism/renderChat",
  compare: "tokenprism/compare",
  setApiKeys: "tokenprism/setApiKeys",
  apiKeyStatus: "tokenprism/apiKeyStatus",
  workspaceTokens: "tokenprism/workspaceTokens",
  workspaceTokensChanged: "tokenprism/workspaceTokensChanged",
} as const;

export interface TextDocumentRef {
  uri: string;
}

/** "exact": the model's own tokenizer ran; "exact-api": the provider's count-tokens endpoint answered. */
export type Exactness = "exact" | "exact-api" | "estimate";

/** USD per million tokens, and where the figures come from ("genai-prices 0.2.3 (bundled data)"). */
export interface Price {
  input: number | null;
  output: number | null;
  cachedInput?: number | null;
  currency?: string;
  per?: number;
  source?: string | null;
}

/** For models whose provider has a count-tokens API (Claude, Gemini): where the exact count stands. */
export interface ApiCountState {
  state: "exact" | "pending" | "no-key" | "error" | "off";
  reason?: string;
}

/** `tokenprism.budget` as the server judged it: the limit in tokens, the setting as written. */
export interface BudgetState {
  limit: number;
  spec: string;
  over: boolean;
  overBy: number;
}

/** What a count means for the model a user calls (server's costing.py); absent from older servers. */
export interface CountFacts {
  /** The number to show: calibrated for an estimate, the provider's when its API answered. */
  count?: number;
  exact?: boolean;
  exactness?: Exactness;
  /** For estimates: what counted and how. */
  basis?: string | null;
  /** USD for `count` input tokens. */
  cost?: number | null;
  price?: Price | null;
  contextWindow?: number | null;
  windowShare?: number | null;
}

/** Server -> client after each version of a document is tokenized. */
export interface DocumentStats extends CountFacts {
  uri: string;
  version: number;
  /** The API model name when one was chosen, else the tokenizer's name. */
  model: string;
  /** The tokenizer that counts (e.g. o200k_base for claude-sonnet-4-5). */
  tokenizer?: string;
  /** What the tokenizer that runs here counted. */
  tokens: number;
  characters: number;
  api?: ApiCountState | null;
  budget?: BudgetState | null;
}

/** documentStats for a version the server does not tokenize: why, and no counts. */
export interface SkippedStats {
  uri: string;
  version: number;
  model: string;
  /** "not tokenized: the document looks binary (…)", "… more than tokenprism.maxDocumentCharacters …" */
  skipped: string;
}

export type NotebookCells = "all" | "code" | "markdown";

/** Server -> client after a notebook's cells are tokenized or its cells change: the sum of the
 *  cells the `notebook.cells` setting chooses (each cell tokenized on its own). */
export interface NotebookStats {
  uri: string;
  version: number;
  cells: NotebookCells;
  tokens: number;
  characters: number;
  cellCount: number;
  /** Counted cells whose newest text is not tokenized yet: the total is about to change. */
  pending: number;
  model: string;
  code: { cells: number; tokens: number };
  markdown: { cells: number; tokens: number };
  /** A budget in tokens judged on the notebook's total (null without one, or for another kind). */
  budget?: BudgetState | null;
}

export interface CountParams {
  textDocument: TextDocumentRef;
  ranges: Range[];
  model?: string;
}
export interface CountResult {
  version: number;
  model: string;
  /** The numbers to show (calibrated for estimates). */
  counts: number[];
  total: number;
  exact?: boolean;
  basis?: string | null;
  costs?: (number | null)[];
  totalCost?: number | null;
}

export interface TokensParams {
  textDocument: TextDocumentRef;
  range?: Range;
  model?: string;
}
export interface TokenInfo {
  id: number;
  range: Range;
  special: boolean;
  /** The token's own bytes from the tokenizer, lowercase hex without separators ("f0a0"). */
  bytes: string;
}
export interface TokensResult {
  version: number;
  model: string;
  tokens: TokenInfo[];
}

export interface TokenRangesParams {
  textDocument: TextDocumentRef;
  range: Range;
  model?: string;
}
/** Kinds of a token range: a band (0 or 1, alternating segment by segment) or a special token (2);
 *  plus SPLIT_CHARACTER when the range is one character whose bytes lie in more than one token. */
export const TokenRangeKind = { band0: 0, band1: 1, special: 2, splitCharacter: 4 } as const;
export interface TokenRangesResult {
  version: number;
  model: string;
  /** [line, startCharacter, endCharacter, kind], each within one line, line breaks left out. */
  ranges: [number, number, number, number][];
  /** The range held more tokens than one answer carries: the ranges stop early. */
  truncated: boolean;
}

/** One entry of `tokenprism/models` ({models: [...], searchPaths, current}); see docs/protocol.md. */
export interface ModelEntry {
  spec: string;
  /** "builtin", "alias", "huggingface-cache", "gguf" */
  group?: string;
  description?: string;
  /** How it would load: "tiktoken", "gguf", "tokenizer.json", "directory", "hub"; null when it cannot. */
  loadAs?: string | null;
  /** The file, directory or hub id it would load from. */
  target?: string | null;
  loaded?: boolean;
  /** Why it cannot load, when it cannot. */
  problem?: string;
  note?: string;
  /** The picker row's second line in the server's words (how it loads, or why it cannot). */
  detail?: string | null;
}

/** An API model name of the catalog (`tokenprism/models` `apiModels`), prices per million tokens. */
export interface ApiModelEntry {
  spec: string;
  provider: string;
  tokenizer: string;
  exactness: Exactness;
  basis?: string | null;
  inputPrice?: number | null;
  outputPrice?: number | null;
  contextWindow?: number | null;
  deprecated?: boolean;
  /** "api:<provider>": the section of `groups` it belongs to. */
  group?: string;
  /** The picker row's text in the server's words: `exact · $1.25 / $10 per M in / out · 400k window`. */
  description?: string;
  detail?: string;
}

/** A section of the model picker, in the server's order: `id` is an entry's `group`. */
export interface ModelGroup {
  id: string;
  title: string;
}

export interface ModelsResult {
  models: ModelEntry[];
  searchPaths?: string[];
  current?: string;
  apiModels?: ApiModelEntry[];
  pricesSource?: string;
  groups?: ModelGroup[];
}

/** What the server says once, in initialize's result (`capabilities.experimental.tokenprism`). */
export interface ServerFacts {
  /** Its settings' defaults, keyed as the `tokenprism` section names them ("inlayHints.mode"). */
  defaults: Record<string, unknown>;
  /** How it makes whitespace visible: character -> glyph (" " -> "␣"). */
  visibleWhitespace: Record<string, string>;
}

export interface RenderChatParams {
  textDocument: TextDocumentRef;
  model?: string;
  /** JSONL or an array of conversations: the conversation at this position (default: the first). */
  position?: { line: number; character: number };
}
export interface RenderChatResult {
  model: string;
  rendered: string;
  tokens: number;
  estimate: boolean;
  messages: { role: string; tokens: number; range?: Range; count?: number; cost?: number | null }[];
  // What the prompt means for the model (absent from older servers): `count` is the number to show.
  count?: number;
  exact?: boolean;
  basis?: string | null;
  cost?: number | null;
  /** [start, end) UTF-16 offsets of special tokens in `rendered`. */
  specialRanges?: [number, number][];
  replyTokens?: number;
  templateSource?: string;
  format?: string;
  /** The source document version this answers for. */
  version?: number;
  /** Why the document could not be rendered (then `rendered` is empty). */
  error?: string;
}

export interface CompareParams {
  textDocument: TextDocumentRef;
  range?: Range;
  models: string[];
}
export interface CompareRow {
  model: string;
  ok: boolean;
  error?: string;
  tokens: number;
  characters: number;
  charsPerToken: number;
  bytesPerToken: number;
  renderedTokens?: number;
  renderedEstimate?: boolean;
  renderedError?: string;
  loadMs: number;
  encodeMs: number;
  // What the count means for the model (absent from older servers): `count` is the number to show.
  count?: number;
  exact?: boolean;
  basis?: string | null;
  cost?: number | null;
  contextWindow?: number | null;
  windowShare?: number | null;
}
export interface CompareResult {
  version?: number;
  characters?: number;
  /** The chat format the document was read as, when it was also counted rendered. */
  chatFormat?: string | null;
  results: CompareRow[];
}

/** tokenprism/apiKeyStatus: where the server's key of each provider comes from (never the key). */
export type ApiKeyStatus = Partial<Record<"anthropic" | "gemini", "client" | "environment" | null>>;

/** tokenprism/workspaceTokens: every file of the workspace folders counted, with folder subtotals. */
export interface WorkspaceTokensParams {
  /** Folder URIs to count (default: the workspace folders). */
  folders?: string[];
  partialResultToken?: string | number;
  workDoneToken?: string | number;
}
export interface FileTotal {
  /** Relative to its root, with "/". */
  path: string;
  tokens: number;
  characters: number;
  bytes: number;
}
export interface FolderTotal {
  /** Relative to its root, with "/"; "" is the root itself. */
  path: string;
  tokens: number;
  files: number;
}
export interface SkippedFile {
  path: string;
  reason: string;
}
export interface WorkspaceRoot {
  uri: string;
  name: string;
  complete: boolean;
  total: { tokens: number; files: number };
  folders: FolderTotal[];
  files: FileTotal[];
  skipped: SkippedFile[];
}
export interface WorkspaceTokensResult {
  /** The tokenizer's name, and the model as the settings name it (an API model name has prices). */
  model: string;
  spec?: string;
  specialTokens: string;
  complete: boolean;
  roots: WorkspaceRoot[];
  /** The whole workspace as one prompt: its count (calibrated for an estimate), cost and window share,
   *  with the server's wording of count and cost (`≈1,234`, `$0.04`; costText null without a price). */
  total: {
    tokens: number;
    files: number;
    skipped: number;
    count?: number;
    exact?: boolean;
    cost?: number | null;
    windowShare?: number | null;
    countText?: string;
    costText?: string | null;
  };
}
/** A partial result ($/progress on partialResultToken): what one batch added to a root. */
export interface WorkspaceTokensPartial {
  root: string;
  files: FileTotal[];
  skipped: SkippedFile[];
  /** The new subtotals of the folders the batch changed. */
  folders: FolderTotal[];
  done: number;
  planned: number;
}
/** Server -> client: files under a counted folder changed (or the model did): ask again. */
export interface WorkspaceTokensChanged {
  reason: "files" | "model";
  uris: string[];
}
