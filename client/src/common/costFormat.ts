// How counts, costs and context-window shares are written: the server's costing.py wording, ported.
// The server sends numbers; the client writes them exactly as the CLI and the hints do (a client
// test compares these with costing.py itself), so `≈1,234 · $0.0031 · 0.6 % of 200k` reads the same
// everywhere.

export const ESTIMATE_MARK = "≈";

/** `1,234`, or for an estimate `≈1,234`. */
export function formatCount(n: number, exact = true): string {
  return `${exact ? "" : ESTIMATE_MARK}${n.toLocaleString("en-US")}`;
}

/** Dollars with the digits that matter: `$0.0031`, `$0.05`, `$12.40`; `$0` for nothing, `—` unknown. */
export function formatCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) {
    return "—";
  }
  if (usd === 0) {
    return "$0";
  }
  if (usd >= 1) {
    return `$${Number(fixed(usd, 2)).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  }
  if (usd >= 0.01) {
    return usd < 0.1 ? `$${fixed(usd, 3).replace(/0+$/, "").replace(/\.$/, "")}` : `$${fixed(usd, 2)}`;
  }
  // two significant digits for fractions of a cent
  const exponent = Number(usd.toExponential(1).split("e")[1]);
  return `$${fixed(usd, Math.max(0, -exponent + 1))}`;
}

/** `200k`, `1M`, `1.05M`, `8,192`: a context window as people name it. */
export function formatWindowSize(tokens: number): string {
  if (tokens >= 1_000_000) {
    if (tokens % 2 ** 20 === 0) {
      return `${tokens / 2 ** 20}M`; // 1,048,576 is what Gemini calls "1M"
    }
    return `${fixed(tokens / 1_000_000, 2).replace(/0+$/, "").replace(/\.$/, "")}M`;
  }
  if (tokens >= 10_000) {
    return tokens % 1000 === 0 || tokens % 1024 !== 0 ? `${fixed(tokens / 1000, 0)}k` : `${Math.floor(tokens / 1024)}k`;
  }
  return tokens.toLocaleString("en-US");
}

/** `0.6 % of 200k`; `<0.1 %` for a sliver; empty without a window. */
export function formatWindowShare(share: number | null | undefined, window: number | null | undefined): string {
  if (share === null || share === undefined || !window) {
    return "";
  }
  const percent = share * 100;
  const shown = percent > 0 && percent < 0.1 ? "<0.1" : fixed(percent, percent < 10 ? 1 : 0);
  return `${shown} % of ${formatWindowSize(window)}`;
}

/** A price per million tokens as price lists (and `tokenprism models`) write it: `$3`, `$1.25`, `$0.075`. */
export function formatPrice(perMillion: number | null | undefined): string {
  if (perMillion === null || perMillion === undefined || !Number.isFinite(perMillion)) {
    return "—";
  }
  return `$${perMillion ? fixed(perMillion, 4).replace(/0+$/, "").replace(/\.$/, "") : "0"}`;
}

/**
 * `x` with `digits` decimals, rounded like Python's format: to the nearest, an exact tie to the
 * even digit (JavaScript's toFixed takes the larger one; `$0.125` must read `$0.12` in both).
 */
export function fixed(x: number, digits: number): string {
  const rounded = x.toFixed(digits);
  if (x < 0 || x >= 1e21) {
    return rounded;
  }
  const full = x.toFixed(100); // exact for every double above ~3.6e-15
  const dot = full.indexOf(".");
  if (!/^50*$/.test(full.slice(dot + 1 + digits))) {
    return rounded;
  }
  const truncated = digits === 0 ? full.slice(0, dot) : full.slice(0, dot + 1 + digits);
  return Number(truncated[truncated.length - 1]) % 2 === 0 ? truncated : rounded;
}
