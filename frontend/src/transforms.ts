// Pure data transforms: the server's JSON in, what a chart draws out. Money stays a decimal string
// until here; `chartNumber` is the one place it becomes a float, and only for drawing (the figures a
// trader reads are the server-rendered tables). No DOM, no chart library: Vitest covers all of it.
import type {
  Bin,
  ChartLine,
  ChartMarker,
  Dec,
  EquityResponse,
  GroupChartResponse,
  HeatCell,
  PeriodPnl,
} from "./types";

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** A decimal string as a chart coordinate; anything else is a bug on the server, said loudly. */
export function chartNumber(value: Dec): number {
  if (typeof value !== "string" || !DECIMAL.test(value)) {
    throw new Error(`not a decimal string: ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** An ISO datetime as whole epoch seconds (the chart's time unit). */
export function epochSeconds(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not a datetime: ${JSON.stringify(iso)}`);
  return Math.floor(ms / 1000);
}

export interface TimeValue {
  time: number;
  value: number;
}

/** Oldest first, one value per second: lightweight-charts refuses equal or falling times. Two
 * closes in the same second keep the later one (the curve after both). */
export function ascendingUnique<T extends { time: number }>(rows: readonly T[]): T[] {
  const sorted = rows.map((row, i) => ({ row, i })).sort((a, b) => a.row.time - b.row.time || a.i - b.i);
  const out: T[] = [];
  for (const { row } of sorted) {
    if (out.length && out[out.length - 1].time === row.time) out[out.length - 1] = row;
    else out.push(row);
  }
  return out;
}

export interface EquitySeries {
  realised: TimeValue[];
  total: TimeValue[];
  drawdown: TimeValue[]; // at or below 0: the fall from the running peak
  drawdownUnit: "%" | "USD";
}

/** The equity curve (realised and total PnL) and the drawdown pane below it. Drawdown is in percent
 * of the peak when the server could compute it for every point, else in USD. */
export function equitySeries(body: EquityResponse): EquitySeries {
  const rows = ascendingUnique(body.points.map((p) => ({ time: epochSeconds(p.at), p })));
  const inPercent = rows.length > 0 && rows.every(({ p }) => p.drawdown_percent !== null);
  return {
    realised: rows.map(({ time, p }) => ({ time, value: chartNumber(p.realised) })),
    total: rows.map(({ time, p }) => ({ time, value: chartNumber(p.total) })),
    drawdown: rows.map(({ time, p }) => {
      const fall = Math.abs(chartNumber(inPercent ? (p.drawdown_percent as Dec) : p.drawdown_usd));
      return { time, value: fall === 0 ? 0 : -fall }; // no "-0.00" on the axis at a peak
    }),
    drawdownUnit: inPercent ? "%" : "USD",
  };
}

export interface Bar {
  value: number;
  positive: boolean;
}

/** Daily net PnL as bars, oldest first; the time is the UTC day ("YYYY-MM-DD"). */
export function dailyPnlBars(days: readonly PeriodPnl[]): (Bar & { time: string })[] {
  return [...days]
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))
    .map((d) => {
      const value = chartNumber(d.net_pnl);
      return { time: d.start, value, positive: value >= 0 };
    });
}

/** The server's return bins as bars on a numeric axis: each bar at its bin's midpoint (percent),
 * its height the number of trades. Bins are the server's; the island never re-bins. */
export function histogramBars(bins: readonly Bin[]): (Bar & { time: number; lower: number; upper: number })[] {
  return bins
    .map((b) => {
      const lower = chartNumber(b.lower);
      const upper = chartNumber(b.upper);
      return { time: (lower + upper) / 2, value: b.count, positive: upper > 0, lower, upper };
    })
    .sort((a, b) => a.time - b.time);
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, M: 2592000 };

/** A timeframe's length in seconds ("15m" → 900), for ordering columns; unknown spellings last. */
export function timeframeSeconds(timeframe: string): number {
  const match = /^(\d+)([smhdwM])$/.exec(timeframe);
  return match ? Number(match[1]) * UNIT_SECONDS[match[2]] : Number.MAX_SAFE_INTEGER;
}

export interface HeatGrid {
  symbols: string[];
  timeframes: string[];
  cell: (symbol: string, timeframe: string) => HeatCell | undefined;
  /** -1 … 1: the cell's PnL over the largest |PnL| of the grid (0 for an empty grid). */
  intensity: (cell: HeatCell) => number;
}

/** The pair × timeframe heatmap: rows by symbol, columns by timeframe length. */
export function heatGrid(cells: readonly HeatCell[]): HeatGrid {
  const byKey = new Map(cells.map((c) => [`${c.symbol}\u0000${c.timeframe}`, c]));
  const symbols = [...new Set(cells.map((c) => c.symbol))].sort();
  const timeframes = [...new Set(cells.map((c) => c.timeframe))].sort(
    (a, b) => timeframeSeconds(a) - timeframeSeconds(b) || a.localeCompare(b),
  );
  const largest = Math.max(0, ...cells.map((c) => Math.abs(chartNumber(c.net_pnl))));
  return {
    symbols,
    timeframes,
    cell: (symbol, timeframe) => byKey.get(`${symbol}\u0000${timeframe}`),
    intensity: (cell) => (largest === 0 ? 0 : chartNumber(cell.net_pnl) / largest),
  };
}

/** Decimal places of the market's tick ("0.01" → 2), for the price axis. */
export function tickDecimals(tick: Dec): number {
  chartNumber(tick);
  const dot = tick.indexOf(".");
  return dot < 0 ? 0 : tick.length - dot - 1;
}

export interface Candle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

export interface PriceLine {
  title: string;
  price: number;
  kind: ChartLine["kind"];
}

export interface PriceMarker {
  time: number;
  price: number;
  kind: ChartMarker["kind"];
  text: string;
}

export interface GroupSeries {
  kind: "points" | "candles";
  points: TimeValue[];
  candles: Candle[];
  lines: PriceLine[];
  markers: PriceMarker[];
  decimals: number;
  minMove: number;
}

/** A marker sits on a bar the series has: the last one at or before its time (the first bar if it is
 * older than every bar), else lightweight-charts would drop or misplace it. */
export function snapToBars(time: number, barTimes: readonly number[]): number {
  if (!barTimes.length) return time;
  let lo = 0;
  let hi = barTimes.length - 1;
  if (time <= barTimes[0]) return barTimes[0];
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (barTimes[mid] <= time) lo = mid;
    else hi = mid - 1;
  }
  return barTimes[lo];
}

/** The group's price chart: its prices (line) or candles, the legs / TP / average / stop as horizontal
 * lines, and entries, fills, TPs and exits as markers on the bars. */
export function groupSeries(body: GroupChartResponse): GroupSeries {
  const points = ascendingUnique(body.points.map((p) => ({ time: p.time, value: chartNumber(p.price) })));
  const candles = ascendingUnique(
    body.candles.map((c) => ({
      time: c.time,
      open: chartNumber(c.open),
      high: chartNumber(c.high),
      low: chartNumber(c.low),
      close: chartNumber(c.close),
    })),
  );
  const barTimes = (body.kind === "candles" ? candles : points).map((b) => b.time);
  const markers = body.markers
    .map((m) => ({ time: snapToBars(m.time, barTimes), price: chartNumber(m.price), kind: m.kind, text: m.text }))
    .sort((a, b) => a.time - b.time);
  const decimals = tickDecimals(body.tick);
  return {
    kind: body.kind,
    points,
    candles,
    lines: body.lines.map((l) => ({ title: l.label, price: chartNumber(l.price), kind: l.kind })),
    markers,
    decimals,
    minMove: chartNumber(body.tick) || 10 ** -decimals,
  };
}

/** A decimal string as the console shows USD ("+$1,234.57", "-$4.00", "$0.00"), rounded half-even
 * to the cent on the digits themselves: the figure shown is never a float's approximation. */
export function signedUsd(value: Dec): string {
  chartNumber(value);
  const negative = value.startsWith("-");
  const [whole, fraction = ""] = value.replace("-", "").split(".");
  const digits = BigInt(whole + fraction.padEnd(2, "0").slice(0, 2));
  const rest = fraction.slice(2);
  const half = rest === "" ? -1 : rest[0] > "5" || (rest[0] === "5" && /[1-9]/.test(rest.slice(1))) ? 1 : rest[0] === "5" ? 0 : -1;
  const cents = half === 1 || (half === 0 && digits % 2n === 1n) ? digits + 1n : digits;
  const text = cents.toString().padStart(3, "0");
  const dollars = text.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const sign = cents === 0n ? "" : negative ? "-" : "+";
  return `${sign}$${dollars}.${text.slice(-2)}`;
}

/** The prices the group chart must show whatever the price did: every line (legs, TP, average,
 * stop) and marker. The price scale is widened to them; null when there are none. */
export function priceBounds(data: Pick<GroupSeries, "lines" | "markers">): { min: number; max: number } | null {
  const prices = [...data.lines.map((l) => l.price), ...data.markers.map((m) => m.price)];
  return prices.length ? { min: Math.min(...prices), max: Math.max(...prices) } : null;
}

/** A chart's own price range widened to `bounds` (lightweight-charts' autoscale info shape). */
export function widenRange(
  own: { minValue: number; maxValue: number } | null,
  bounds: { min: number; max: number } | null,
): { minValue: number; maxValue: number } | null {
  if (!bounds) return own;
  if (!own) return { minValue: bounds.min, maxValue: bounds.max };
  return { minValue: Math.min(own.minValue, bounds.min), maxValue: Math.max(own.maxValue, bounds.max) };
}
