// What the status bar item says, from the server's documentStats: plain functions (no VS Code) so
// the client tests can check the layout. The numbers and their meaning are the server's; this
// only chooses which parts to show and how to lay them out.
import { formatCost, formatCount, formatPrice, formatWindowShare } from "../common/costFormat";
import type { StatusPart } from "../common/settings";
import type { ApiCountState, DocumentStats } from "../protocol";
import { escapeMarkdown } from "./feature";

/** A selection's count as the server answered it (`tokenprism/count`). */
export interface SelectionCount {
  count: number;
  exact: boolean;
  cost?: number | null;
}

export interface StatusInput {
  stats: DocumentStats;
  /** `tokenprism.statusBar.show`. */
  show: readonly StatusPart[];
  selection?: SelectionCount;
  /** The editor has a newer version than the stats: the count is about to change. */
  stale?: boolean;
}

/** The number to show and whether it is exact; an older server sends only `tokens`. */
export function shownCount(stats: DocumentStats): { count: number; exact: boolean } {
  return {
    count: typeof stats.count === "number" ? stats.count : stats.tokens,
    exact: stats.exact !== false,
  };
}

/**
 * `1,234 tokens · $0.0031 · 0.6 % of 200k · claude-sonnet-4-5` (`≈` before an estimate); with a
 * selection `12 / 1,234 tokens · …`. Parts without a value (no price, no window) are left out;
 * a selection always shows its count, and the token count shows when nothing else would.
 */
export function statusBarText({ stats, show, selection, stale }: StatusInput): string {
  const { count, exact } = shownCount(stats);
  const total = `${stale ? "~" : ""}${formatCount(count, exact)}`;
  const parts: string[] = [];
  if (show.includes("tokens") || selection) {
    parts.push(selection ? `${formatCount(selection.count, selection.exact)} / ${total} tokens` : `${total} tokens`);
  }
  if (show.includes("cost") && typeof stats.cost === "number") {
    parts.push(formatCost(stats.cost));
  }
  const window = show.includes("window") ? formatWindowShare(stats.windowShare, stats.contextWindow) : "";
  if (window) {
    parts.push(window);
  }
  if (parts.length === 0) {
    parts.push(`${total} tokens`);
  }
  return [...parts, stats.model].join(" · ");
}

/** The item's tooltip, as Markdown: counts, exactness, prices, window, API state, selection, budget. */
export function statusBarTooltip({ stats, selection }: StatusInput): string {
  const { count, exact } = shownCount(stats);
  const perToken = count > 0 ? (stats.characters / count).toFixed(2) : "–";
  const lines = [
    `**TokenPrism** · \`${stats.model}\`${stats.tokenizer && stats.tokenizer !== stats.model ? ` (counted with \`${stats.tokenizer}\`)` : ""}`,
    `${formatCount(count, exact)} tokens · ${formatCount(stats.characters)} characters · ${perToken} characters per token`,
    exactnessLine(stats),
  ];
  const api = apiLine(stats.api);
  if (api) {
    lines.push(api);
  }
  const price = stats.price;
  if (price && (typeof price.input === "number" || typeof price.output === "number")) {
    const cached = typeof price.cachedInput === "number" ? ` · cached input ${formatPrice(price.cachedInput)}` : "";
    lines.push(`Price per million tokens: input ${formatPrice(price.input)} · output ${formatPrice(price.output)}${cached}`);
    if (typeof stats.cost === "number") {
      lines.push(`Cost as input: ${formatCost(stats.cost)}`);
    }
    if (price.source) {
      lines.push(`Prices: ${escapeMarkdown(price.source)}`);
    }
  }
  if (stats.contextWindow) {
    const share = formatWindowShare(stats.windowShare, stats.contextWindow);
    lines.push(`Context window: ${formatCount(stats.contextWindow)} tokens${share ? ` (this document: ${share})` : ""}`);
  }
  if (selection) {
    const cost = typeof selection.cost === "number" ? ` · ${formatCost(selection.cost)}` : "";
    lines.push(`Selection: ${formatCount(selection.count, selection.exact)} tokens${cost}`);
  }
  const budget = stats.budget;
  if (budget && budget.limit > 0) {
    const percent = Math.round((100 * count) / budget.limit);
    const verdict = budget.over ? ` — **over budget by ${formatCount(budget.overBy)}**` : "";
    const spec = budget.spec && budget.spec !== String(budget.limit) ? ` (budget ${escapeMarkdown(budget.spec)})` : "";
    lines.push(`Budget: ${formatCount(count, exact)} / ${formatCount(budget.limit)} (${percent}%)${verdict}${spec}`);
  }
  lines.push("Click to choose another tokenizer or model.");
  return lines.join("\n\n");
}

function exactnessLine(stats: DocumentStats): string {
  switch (stats.exactness) {
    case "exact-api":
      return "Exact (API): counted by the provider's count-tokens endpoint";
    case "estimate": {
      const tokenizer = stats.count !== undefined && stats.count !== stats.tokens ? ` (${formatCount(stats.tokens)} tokens before calibration)` : "";
      return `Estimate: ${escapeMarkdown(stats.basis || "another tokenizer counts")}${tokenizer}`;
    }
    default:
      return "Exact: the model's own tokenizer counts";
  }
}

/** The provider API's state for Claude and Gemini; nothing for other models. */
export function apiLine(api: ApiCountState | null | undefined): string | undefined {
  if (!api) {
    return undefined;
  }
  const reason = api.reason ? `: ${escapeMarkdown(api.reason)}` : "";
  switch (api.state) {
    case "exact":
      return "API: the provider's exact count";
    case "pending":
      return "API: counting… (the estimate shows until the provider answers)";
    case "no-key":
      return api.reason ? `API: ${escapeMarkdown(api.reason)}; showing the estimate` : "API: no key, so an estimate. *TokenPrism: Set API key…* gives exact counts";
    case "error":
      return `API: error${reason || ": no answer"}; showing the estimate`;
    default:
      return `API: off${reason}`;
  }
}

