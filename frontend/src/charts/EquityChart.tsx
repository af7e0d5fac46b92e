// The equity curve (realised and total PnL) with the drawdown in a pane underneath.
import {
  AreaSeries,
  createChart,
  type IChartApi,
  type ISeriesApi,
  LineSeries,
  type UTCTimestamp,
} from "lightweight-charts";
import { useEffect, useMemo, useRef } from "react";

import { useJson } from "../data";
import { useRefreshTick } from "../live";
import { type Palette, readPalette, useTheme, withAlpha } from "../theme";
import { equitySeries } from "../transforms";
import type { EquityResponse } from "../types";
import { baseOptions, type ChartProps, Frame, loadState } from "./frame";
import { useChart } from "./useChart";

interface EquityChartApi {
  api: IChartApi;
  total: ISeriesApi<"Line">;
  realised: ISeriesApi<"Line">;
  drawdown: ISeriesApi<"Area">;
  remove(): void;
}

function colours(chart: EquityChartApi, p: Palette): void {
  chart.api.applyOptions(baseOptions(p));
  chart.total.applyOptions({ color: p.accent });
  chart.realised.applyOptions({ color: p.pos });
  chart.drawdown.applyOptions({ lineColor: p.neg, topColor: withAlpha(p.neg, 0.05), bottomColor: withAlpha(p.neg, 0.35) });
}

function build(el: HTMLDivElement, p: Palette): EquityChartApi {
  const api = createChart(el, baseOptions(p));
  const total = api.addSeries(LineSeries, { lineWidth: 2, title: "total", priceLineVisible: false });
  const realised = api.addSeries(LineSeries, { lineWidth: 2, title: "realised", priceLineVisible: false });
  const drawdown = api.addSeries(AreaSeries, { lineWidth: 1, title: "drawdown", priceLineVisible: false }, 1);
  api.panes()[1]?.setStretchFactor(0.35);
  const chart = { api, total, realised, drawdown, remove: () => api.remove() };
  colours(chart, p);
  return chart;
}

export function EquityChart({ src, refresh, name }: ChartProps) {
  const tick = useRefreshTick(refresh);
  const { data, error } = useJson<EquityResponse>(src, tick);
  const box = useRef<HTMLDivElement>(null);
  const chart = useChart(box, build, colours);
  const series = useMemo(() => (data ? equitySeries(data) : null), [data]);
  const theme = useTheme();
  const p = useMemo(() => readPalette(), [theme]);

  useEffect(() => {
    if (!chart.current || !series) return;
    const asTime = (rows: { time: number; value: number }[]) =>
      rows.map((r) => ({ time: r.time as UTCTimestamp, value: r.value }));
    chart.current.total.setData(asTime(series.total));
    chart.current.realised.setData(asTime(series.realised));
    chart.current.drawdown.setData(asTime(series.drawdown));
    chart.current.drawdown.applyOptions({ title: `drawdown ${series.drawdownUnit}` });
    chart.current.api.timeScale().fitContent();
  }, [chart, series]);

  return (
    <Frame
      name={name}
      title="Equity"
      state={loadState(series !== null, series?.total.length ?? 0, error)}
      count={series?.total.length ?? 0}
      error={error}
      emptyText="No equity yet: it starts with the first snapshot or closed trade."
      legend={[
        { label: "Total (realised + unrealised)", color: p.accent },
        { label: "Realised", color: p.pos },
        { label: `Drawdown (${series?.drawdownUnit ?? "%"})`, color: p.neg },
      ]}
      screenshot={() => chart.current?.api.takeScreenshot() ?? null}
    >
      <div ref={box} className="island-canvas island-tall" role="img" aria-label="Equity curve and drawdown chart" />
    </Frame>
  );
}
