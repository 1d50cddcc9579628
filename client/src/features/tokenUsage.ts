// The "TokenPrism: Token usage" view in the Explorer and the token badges on files: both show what
// the server's tokenprism/workspaceTokens counts, filling in batch by batch as it walks.
import * as vscode from "vscode";
import { Entry, shareText, SortOrder, tokenBadge, WorkspaceTokens } from "../common/workspaceTokens";
import { SECTION } from "../common/settings";
import { Methods, WorkspaceTokensChanged, WorkspaceTokensPartial, WorkspaceTokensResult } from "../protocol";
import { debounce, Feature, FeatureContext } from "./feature";
import { formatCount } from "../common/costFormat";

export const VIEW_ID = "tokenprism.tokenUsage";
const SORT_CONTEXT = "tokenprism.tokenUsage.sort";
const REDRAW_MS = 250; // partial results arrive per batch: the view redraws at most this often
const CHANGED_DEBOUNCE_MS = 300;

type Node =
  | { kind: "root"; root: string }
  | { kind: "entry"; entry: Entry }
  | { kind: "skipped"; root: string }
  | { kind: "skippedFile"; root: string; path: string; reason: string };

function badgesEnabled(): boolean {
  return vscode.workspace.getConfiguration(SECTION).get<boolean>("explorer.badges", true) !== false;
}

function uriOf(root: string, path: string): vscode.Uri {
  const base = vscode.Uri.parse(root);
  return path ? vscode.Uri.joinPath(base, ...path.split("/")) : base;
}

class TokenUsage implements vscode.TreeDataProvider<Node>, vscode.FileDecorationProvider, vscode.Disposable {
  private readonly data = new WorkspaceTokens();
  private order: SortOrder = "tokens";
  private readonly treeChanged = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.treeChanged.event;
  private readonly decorationsChanged = new vscode.EventEmitter<vscode.Uri[] | undefined>();
  readonly onDidChangeFileDecorations = this.decorationsChanged.event;
  /** file URI -> its count, for the badges */
  private readonly byUri = new Map<string, number>();
  private readonly view: vscode.TreeView<Node>;
  private walk: vscode.CancellationTokenSource | undefined;
  private stale = true;
  private pendingDecorations: vscode.Uri[] = [];
  private readonly redraw = debounce(() => this.flush(), REDRAW_MS);
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly ctx: FeatureContext) {
    this.view = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: this, showCollapseAll: true });
    void vscode.commands.executeCommand("setContext", SORT_CONTEXT, this.order);
    const recount = debounce(() => void this.refreshIfWanted(), CHANGED_DEBOUNCE_MS);
    this.subscriptions = [
      this.view,
      vscode.window.registerFileDecorationProvider(this),
      ctx.session.onNotification<WorkspaceTokensChanged>(Methods.workspaceTokensChanged, () => {
        this.stale = true;
        recount();
      }),
      ctx.session.onDidChangeState((state) => {
        if (state === "running") {
          this.stale = true;
          void this.refreshIfWanted();
        }
      }),
      this.view.onDidChangeVisibility(() => void this.refreshIfWanted()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => {
        this.stale = true;
        void this.refreshIfWanted();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`${SECTION}.explorer.badges`)) {
          this.decorationsChanged.fire(undefined);
          void this.refreshIfWanted();
        }
      }),
      vscode.commands.registerCommand("tokenprism.tokenUsage.refresh", () => this.refresh()),
      vscode.commands.registerCommand("tokenprism.tokenUsage.sortByName", () => this.sortBy("name")),
      vscode.commands.registerCommand("tokenprism.tokenUsage.sortByTokens", () => this.sortBy("tokens")),
    ];
  }

  private sortBy(order: SortOrder): void {
    this.order = order;
    void vscode.commands.executeCommand("setContext", SORT_CONTEXT, order);
    this.treeChanged.fire(undefined);
  }

  /** Counts are wanted while the view is open or badges are on; otherwise they wait until they are. */
  private async refreshIfWanted(): Promise<void> {
    if (this.stale && (this.view.visible || badgesEnabled()) && this.ctx.session.state === "running") {
      await this.refresh();
    }
  }

  async refresh(): Promise<void> {
    if (!vscode.workspace.workspaceFolders?.length) {
      this.view.message = "Open a folder to see its token usage.";
      return;
    }
    this.walk?.cancel(); // the server stops the walk it was doing
    const walk = (this.walk = new vscode.CancellationTokenSource());
    this.stale = false;
    const onPartial = (partial: WorkspaceTokensPartial) => {
      if (this.walk !== walk) {
        return;
      }
      for (const file of this.data.applyPartial(partial)) {
        this.setBadge(uriOf(partial.root, file.path), file.tokens);
      }
      this.redraw();
    };
    try {
      await vscode.window.withProgress({ location: { viewId: VIEW_ID } }, async () => {
        const result = await this.ctx.session.requestWithPartials<WorkspaceTokensResult, WorkspaceTokensPartial>(
          Methods.workspaceTokens,
          {},
          onPartial,
          walk.token,
        );
        if (this.walk !== walk) {
          return;
        }
        for (const gone of this.data.applyResult(result)) {
          this.setBadge(uriOf(gone.root, gone.path), undefined);
        }
        for (const root of result.roots) {
          for (const file of root.files) {
            this.setBadge(uriOf(root.uri, file.path), file.tokens);
          }
        }
        if (!result.complete) {
          this.stale = true; // stopped (by the user, or a newer walk): a later refresh finishes it
        }
      });
    } catch (err) {
      if (this.walk === walk && !walk.token.isCancellationRequested) {
        this.stale = true;
        this.ctx.log.warn(`workspace token counts: ${err instanceof Error ? err.message : err}`);
        this.view.message = `Could not count the workspace: ${(err instanceof Error ? err.message : String(err)).split("\n")[0]}`;
        return;
      }
    } finally {
      if (this.walk === walk) {
        this.walk = undefined;
        walk.dispose();
      }
    }
    this.flush();
  }

  private setBadge(uri: vscode.Uri, tokens: number | undefined): void {
    const key = uri.toString();
    if (this.byUri.get(key) === tokens) {
      return;
    }
    if (tokens === undefined) {
      this.byUri.delete(key);
    } else {
      this.byUri.set(key, tokens);
    }
    this.pendingDecorations.push(uri);
  }

  private flush(): void {
    this.redraw.cancel();
    const total = this.data.total();
    const walking = [...this.data.progress.values()];
    // while a walk fills the tree: its running total; then the server's summary (with the cost when priced)
    this.view.description = this.data.isEmpty
      ? undefined
      : walking.length || !this.data.summary
        ? `${formatCount(total.tokens)} tokens · ${this.data.model || "counting"}`
        : this.data.summary;
    this.view.message = walking.length
      ? `Counting… ${formatCount(walking.reduce((n, p) => n + p.done, 0))} of ${formatCount(walking.reduce((n, p) => n + p.planned, 0))} files`
      : undefined;
    this.treeChanged.fire(undefined);
    if (this.pendingDecorations.length) {
      const uris = this.pendingDecorations;
      this.pendingDecorations = [];
      this.decorationsChanged.fire(uris);
    }
  }

  // -- the tree ----------------------------------------------------------------------------------

  getChildren(node?: Node): Node[] {
    if (!node) {
      const roots = this.data.rootUris;
      return roots.length === 1 ? this.entriesOf(roots[0], "") : roots.map((root) => ({ kind: "root", root }));
    }
    if (node.kind === "root") {
      return this.entriesOf(node.root, "");
    }
    if (node.kind === "entry" && node.entry.kind === "folder") {
      return this.entriesOf(node.entry.root, node.entry.path);
    }
    if (node.kind === "skipped") {
      return this.data.skipped(node.root).map((s) => ({ kind: "skippedFile", root: node.root, path: s.path, reason: s.reason }));
    }
    return [];
  }

  private entriesOf(root: string, folder: string): Node[] {
    const nodes: Node[] = this.data.children(root, folder, this.order).map((entry) => ({ kind: "entry", entry }));
    if (folder === "" && this.data.skipped(root).length) {
      nodes.push({ kind: "skipped", root });
    }
    return nodes;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    const total = this.data.total().tokens;
    if (node.kind === "root") {
      const t = this.data.rootTotal(node.root);
      const item = new vscode.TreeItem(this.data.rootName(node.root), vscode.TreeItemCollapsibleState.Expanded);
      item.description = `${formatCount(t.tokens)} · ${shareText(t.tokens, total)}`;
      item.resourceUri = uriOf(node.root, "");
      item.iconPath = vscode.ThemeIcon.Folder;
      item.tooltip = `${formatCount(t.tokens)} tokens in ${formatCount(t.files)} files`;
      return item;
    }
    if (node.kind === "skipped") {
      const n = this.data.skipped(node.root).length;
      const item = new vscode.TreeItem(`Skipped (${n})`, vscode.TreeItemCollapsibleState.Collapsed);
      item.iconPath = new vscode.ThemeIcon("circle-slash");
      item.tooltip = "Files that are not counted (binary, not UTF-8, too large, unreadable)";
      return item;
    }
    if (node.kind === "skippedFile") {
      const item = new vscode.TreeItem(node.path, vscode.TreeItemCollapsibleState.None);
      item.description = node.reason;
      item.resourceUri = uriOf(node.root, node.path);
      item.tooltip = `${node.path}: ${node.reason}`;
      return item;
    }
    const { entry } = node;
    const uri = uriOf(entry.root, entry.path);
    const share = shareText(entry.tokens, total);
    const item = new vscode.TreeItem(
      entry.name,
      entry.kind === "folder" ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `${entry.root}#${entry.path}`; // keeps expansion across redraws
    item.resourceUri = uri;
    item.description = `${formatCount(entry.tokens)} · ${share}`;
    if (entry.kind === "folder") {
      item.iconPath = vscode.ThemeIcon.Folder;
      item.tooltip = `${entry.path}/: ${formatCount(entry.tokens)} tokens in ${formatCount(entry.files)} files (${share} of the total)`;
    } else {
      item.iconPath = vscode.ThemeIcon.File;
      item.tooltip = `${entry.path}: ${formatCount(entry.tokens)} tokens (${share} of the total)`;
      item.command = { command: "vscode.open", title: "Open", arguments: [uri] };
    }
    item.contextValue = entry.kind;
    return item;
  }

  // -- the badges ------------------------------------------------------------------------------

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (!badgesEnabled()) {
      return undefined;
    }
    const tokens = this.byUri.get(uri.toString());
    if (tokens === undefined) {
      return undefined;
    }
    return new vscode.FileDecoration(tokenBadge(tokens), `${formatCount(tokens)} tokens (${this.data.model})`);
  }

  dispose(): void {
    this.walk?.cancel();
    this.redraw.cancel();
    this.subscriptions.forEach((d) => d.dispose());
    this.treeChanged.dispose();
    this.decorationsChanged.dispose();
  }
}

export const tokenUsageFeature: Feature = {
  name: "token usage view",
  register: (ctx) => [new TokenUsage(ctx)],
};
