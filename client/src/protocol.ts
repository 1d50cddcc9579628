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

/** One entry of `tokenprism/models`; the server may add fields, the client only reads these. */
export interface ModelEntry {
  name: string;
  description?: string;
  /** How the model would load: "tiktoken", "gguf", "tokenizer.json", "directory", "hub"… */
  kind?: string;
  /** The file, directory or hub id it would load from. */
  source?: string;
  loaded?: boolean;
  available?: boolean;
  error?: string;
}

export interface RenderChatParams {
  textDocument: TextDocumentRef;
  model?: string;
}
export interface RenderChatResult {
  model: string;
  rendered: string;
  tokens: number;
  estimate: boolean;
  messages: { role: string; tokens: number }[];
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
  loadMs: number;
  encodeMs: number;
}
export interface CompareResult {
  results: CompareRow[];
}
