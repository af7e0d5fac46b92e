// The JSON the island reads: the server's shapes (trading/api/analytics_schemas.py and the group
// chart route). Money, prices and ratios arrive as decimal strings and stay strings until the last
// step before a chart draws them (transforms.ts).

export type Dec = string;

export interface EquityPoint {
  at: string; // ISO datetime, UTC
  realised: Dec;
  total: Dec;
  drawdown_usd: Dec;
  drawdown_percent: Dec | null;
}

export interface EquityResponse {
  source: "snapshots" | "trades";
  capital_base: Dec;
  count: number;
  points: EquityPoint[];
}

export interface PeriodPnl {
  start: string; // YYYY-MM-DD
  net_pnl: Dec;
  trades: number;
}

export interface Bin {
  lower: Dec; // trade return, percent
  upper: Dec;
  count: number;
}

export interface HeatCell {
  symbol: string;
  timeframe: string;
  net_pnl: Dec;
  trades: number;
}

export interface SummaryResponse {
  pnl_by_day: PeriodPnl[];
  histogram: Bin[];
  heatmap: HeatCell[];
}

export interface ChartLine {
  label: string;
  price: Dec;
  kind: "leg" | "tp" | "avg" | "stop";
}

export interface ChartMarker {
  time: number; // epoch seconds
  price: Dec;
  kind: "entry" | "fill" | "tp" | "exit";
  text: string;
}

export interface GroupChartResponse {
  symbol: string;
  tick: Dec;
  kind: "points" | "candles";
  points: { time: number; price: Dec }[];
  candles: { time: number; open: Dec; high: Dec; low: Dec; close: Dec }[];
  lines: ChartLine[];
  markers: ChartMarker[];
}
