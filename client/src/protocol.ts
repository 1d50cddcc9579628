// The custom part of the TokenPrism protocol, as the server speaks it (see docs/protocol.md).
// Only shapes and method names live here; no tokenizing happens in the client.
import type { Range } from "vscode-languageclient";

export const Methods = {
  documentStats: "tokenprism/documentStats",
  count: "tokenprism/count",
  tokens: "tokenprism/tokens",
  models: "tokenprism/models",
  renderChat: "tokenprism/renderChat",
  compare: "tokenprism/compare",
  setApiKeys: "tokenprism/setApiKeys",
  apiKeyStatus: "tokenprism/apiKeyStatus",
} as const;

export interface TextDocumentRef {
  uri: string;
}

/** Server -> client after each version of a document is tokenized. */
export interface DocumentStats {
  uri: string;
  version: number;
  model: string;
  tokens: number;
  characters: number;
}

export interface CountParams {
  textDocument: TextDocumentRef;
  ranges: Range[];
  model?: string;
}
export interface CountResult {
  version: number;
  model: string;
  counts: number[];
  total: number;
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
}
export interface TokensResult {
  version: number;
  model: string;
  tokens: TokenInfo[];
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
}

export interface ModelsResult {
  models: ModelEntry[];
  searchPaths?: string[];
  current?: string;
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
  messages: { role: string; tokens: number; range?: Range }[];
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
