// Bars drawn from the summary endpoint, green at or above zero and red below: the daily PnL (on a
// time scale) and the trade-return histogram (on a numeric scale). One component, two configurations.
import {
  createChart,
  createOptionsChart,
  type DeepPartial,
  HistogramSeries,
  type HistogramSeriesPartialOptions,
  type IChartApiBase,
  type ISeriesApi,
  type Time,
} from "lightweight-charts";
import { useEffect, useMemo, useRef } from "react";

import { useJson } from "../data";
import { useRefreshTick } from "../live";
import { type Palette, readPalette, useTheme } from "../theme";
import { type Bar, dailyPnlBars, histogramBars } from "../transforms";
import type { SummaryResponse } from "../types";
import { baseOptions, type ChartProps, Frame, loadState } from "./frame";
import { useChart } from "./useChart";

interface BarsApi<H> {
  api: IChartApiBase<H>;
  bars: ISeriesApi<"Histogram", H>;
  remove(): void;
}

export interface BarsConfig<H> {
  title: string;
  emptyText: string;
  chart: (el: HTMLDivElement, p: Palette) => IChartApiBase<H>;
  options: (p: Palette) => DeepPartial<object>;
  series: HistogramSeriesPartialOptions;
  bars: (summary: SummaryResponse) => (Bar & { time: H })[];
}

function SummaryBars<H>({ src, refresh, name, config }: ChartProps & { config: BarsConfig<H> }) {
  const tick = useRefreshTick(refresh);
  const { data, error } = useJson<SummaryResponse>(src, tick);
  const box = useRef<HTMLDivElement>(null);
  const chart = useChart<BarsApi<H>>(
    box,
    (el, p) => {
      const api = config.chart(el, p);
      const bars = api.addSeries(HistogramSeries, { priceLineVisible: false, ...config.series });
      return { api, bars, remove: () => api.remove() };
    },
    (c, p) => c.api.applyOptions(config.options(p)),
  );
  const bars = useMemo(() => (data ? config.bars(data) : null), [data, config]);
  const theme = useTheme();

  useEffect(() => {
    if (!chart.current || !bars) return;
    const p = readPalette();
    chart.current.bars.setData(bars.map((b) => ({ time: b.time, value: b.value, color: b.positive ? p.pos : p.neg })));
    chart.current.api.timeScale().fitContent();
  }, [chart, bars, theme]);

  return (
    <Frame
      name={name}
      title={config.title}
      state={loadState(bars !== null, bars?.length ?? 0, error)}
      count={bars?.length ?? 0}
      error={error}
      emptyText={config.emptyText}
      screenshot={() => chart.current?.api.takeScreenshot() ?? null}
    >
      <div ref={box} className="island-canvas" role="img" aria-label={`${config.title} chart`} />
    </Frame>
  );
}

const dailyOptions = (p: Palette) => ({ ...baseOptions(p), timeScale: { borderColor: p.border, timeVisible: false } });

const DAILY: BarsConfig<Time> = {
  title: "Daily PnL",
  emptyText: "No closed trade in this selection.",
  chart: (el, p) => createChart(el, dailyOptions(p)),
  options: dailyOptions,
  series: { title: "net PnL" },
  bars: (summary) => dailyPnlBars(summary.pnl_by_day),
};

// The horizontal scale is the trade return in percent (each bin's midpoint); the vertical one counts.
const histogramOptions = (p: Palette) => ({
  ...baseOptions(p),
  timeScale: { borderColor: p.border },
  localization: { precision: 2, timeFormatter: (n: number) => `${n.toFixed(2)} %` },
});

const RETURNS: BarsConfig<number> = {
  title: "Trade returns (%)",
  emptyText: "No closed trade in this selection.",
  chart: (el, p) => createOptionsChart(el, histogramOptions(p)),
  options: histogramOptions,
  series: { title: "trades", priceFormat: { type: "price", precision: 0, minMove: 1 } },
  bars: (summary) => histogramBars(summary.histogram),
};

export function DailyPnlChart(props: ChartProps) {
  return <SummaryBars {...props} config={DAILY} />;
}

export function ReturnsHistogram(props: ChartProps) {
  return <SummaryBars {...props} config={RETURNS} />;
}
