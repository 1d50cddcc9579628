// What the server counted for the workspace, kept as it arrives (partial results, then the whole
// answer) and shaped for the tree view and the Explorer badges. No counting here: every number is
// the server's; this only files them by folder.
import type { FileTotal, FolderTotal, SkippedFile, WorkspaceRoot, WorkspaceTokensPartial, WorkspaceTokensResult } from "../protocol";

export type SortOrder = "tokens" | "name";

export interface Entry {
  root: string;
  path: string;
  name: string;
  kind: "folder" | "file";
  tokens: number;
  /** Files under a folder (1 for a file). */
  files: number;
}

class RootState {
  readonly folders = new Map<string, FolderTotal>();
  readonly files = new Map<string, FileTotal>();
  skipped: SkippedFile[] = [];
  /** child paths of each folder path */
  readonly children = new Map<string, Set<string>>();

  constructor(
    readonly uri: string,
    public name: string,
  ) {}

  get total(): FolderTotal {
    return this.folders.get("") ?? { path: "", tokens: 0, files: 0 };
  }

  add(folders: FolderTotal[], files: FileTotal[]): void {
    for (const folder of folders) {
      this.folders.set(folder.path, folder);
      this.link(folder.path);
    }
    for (const file of files) {
      this.files.set(file.path, file);
      this.link(file.path);
    }
  }

  private link(path: string): void {
    while (path !== "") {
      const parent = parentOf(path);
      let set = this.children.get(parent);
      if (!set) {
        set = new Set();
        this.children.set(parent, set);
      }
      if (set.has(path)) {
        return; // its ancestors are linked already
      }
      set.add(path);
      path = parent;
    }
  }
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export class WorkspaceTokens {
  private roots = new Map<string, RootState>();
  model = "";
  /** The server's wording of the last whole answer's total: `≈1,234 tokens · $0.04 · gpt-5`. */
  summary = "";
  /** files done / planned of the walk in progress, by root */
  readonly progress = new Map<string, { done: number; planned: number }>();

  get rootUris(): string[] {
    return [...this.roots.keys()];
  }

  rootName(uri: string): string {
    return this.roots.get(uri)?.name ?? uri;
  }

  get isEmpty(): boolean {
    return this.roots.size === 0;
  }

  /** One batch of a walk: new or changed files and their folders' new subtotals. Returns the files it touched. */
  applyPartial(partial: WorkspaceTokensPartial): FileTotal[] {
    let root = this.roots.get(partial.root);
    if (!root) {
      root = new RootState(partial.root, baseName(partial.root.replace(/\/+$/, "")));
      this.roots.set(partial.root, root);
    }
    root.add(partial.folders, partial.files);
    if (partial.skipped.length) {
      const known = new Set(root.skipped.map((s) => s.path));
      root.skipped.push(...partial.skipped.filter((s) => !known.has(s.path)));
    }
    this.progress.set(partial.root, { done: partial.done, planned: partial.planned });
    return partial.files;
  }

  /** The whole answer replaces what partial results built (files deleted since go away).
   *  Returns the files that are no longer there. */
  applyResult(result: WorkspaceTokensResult): { root: string; path: string }[] {
    const gone: { root: string; path: string }[] = [];
    const next = new Map<string, RootState>();
    for (const r of result.roots) {
      next.set(r.uri, fromRoot(r));
    }
    for (const [uri, old] of this.roots) {
      const kept = next.get(uri);
      if (!kept && !result.complete) {
        next.set(uri, old); // a stopped walk did not get to this root: keep what it had
        continue;
      }
      for (const path of old.files.keys()) {
        if (!kept?.files.has(path)) {
          gone.push({ root: uri, path });
        }
      }
    }
    this.roots = next;
    this.model = result.model;
    const t = result.total;
    this.summary = [`${t.countText ?? t.tokens.toLocaleString("en-US")} tokens`, t.costText, result.spec || result.model]
      .filter(Boolean)
      .join(" · ");
    this.progress.clear();
    return gone;
  }

  clear(): void {
    this.roots.clear();
    this.progress.clear();
  }

  total(): { tokens: number; files: number } {
    let tokens = 0;
    let files = 0;
    for (const root of this.roots.values()) {
      tokens += root.total.tokens;
      files += root.total.files;
    }
    return { tokens, files };
  }

  /** A folder's entries ("" is the root), largest first or by name (folders first). */
  children(rootUri: string, folder: string, order: SortOrder): Entry[] {
    const root = this.roots.get(rootUri);
    if (!root) {
      return [];
    }
    const entries: Entry[] = [];
    for (const path of root.children.get(folder) ?? []) {
      const asFolder = root.folders.get(path);
      const asFile = root.files.get(path);
      if (asFolder && root.children.has(path)) {
        entries.push({ root: rootUri, path, name: baseName(path), kind: "folder", tokens: asFolder.tokens, files: asFolder.files });
      } else if (asFile) {
        entries.push({ root: rootUri, path, name: baseName(path), kind: "file", tokens: asFile.tokens, files: 1 });
      }
    }
    return sortEntries(entries, order);
  }

  rootTotal(rootUri: string): FolderTotal {
    return this.roots.get(rootUri)?.total ?? { path: "", tokens: 0, files: 0 };
  }

  skipped(rootUri: string): SkippedFile[] {
    return this.roots.get(rootUri)?.skipped ?? [];
  }

  file(rootUri: string, path: string): FileTotal | undefined {
    return this.roots.get(rootUri)?.files.get(path);
  }
}

function fromRoot(r: WorkspaceRoot): RootState {
  const root = new RootState(r.uri, r.name);
  root.add(r.folders, r.files);
  root.skipped = [...r.skipped];
  return root;
}

export function sortEntries(entries: Entry[], order: SortOrder): Entry[] {
  const byName = (a: Entry, b: Entry) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  if (order === "name") {
    return entries.sort((a, b) => (a.kind === b.kind ? byName(a, b) : a.kind === "folder" ? -1 : 1));
  }
  return entries.sort((a, b) => b.tokens - a.tokens || byName(a, b));
}

/**
 * A count in the two characters an Explorer badge allows: `·` under a thousand, `1k`–`9k` for
 * thousands, `k+` for tens and hundreds of thousands, `1M`–`9M`, then `M+`. The tooltip has the
 * exact count.
 */
export function tokenBadge(tokens: number): string {
  if (!(tokens >= 1000)) {
    return "·";
  }
  if (tokens < 10_000) {
    return `${Math.floor(tokens / 1000)}k`;
  }
  if (tokens < 1_000_000) {
    return "k+";
  }
  if (tokens < 10_000_000) {
    return `${Math.floor(tokens / 1_000_000)}M`;
  }
  return "M+";
}

/** A share of a total as a short percentage: `42%`, `4.2%`, `<0.1%`. */
export function shareText(part: number, total: number): string {
  if (total <= 0) {
    return "";
  }
  const share = (100 * part) / total;
  if (part > 0 && share < 0.1) {
    return "<0.1%";
  }
  return share >= 10 ? `${Math.round(share)}%` : `${share.toFixed(1)}%`;
}
