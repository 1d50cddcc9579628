// The few `vscode` values the pure helpers touch when imported outside VS Code.
class Position { constructor(line, character) { this.line = line; this.character = character; } }
class Range { constructor(a, b, c, d) { this.start = new Position(a, b); this.end = new Position(c, d); } }
module.exports = {
  Position,
  Range,
  QuickPickItemKind: { Separator: -1 },
  ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
  // tests replace getConfiguration and isTrusted to play a workspace's settings
  workspace: { isTrusted: true, getConfiguration: () => ({ get: (_k, d) => d, inspect: () => undefined }) },
};
