// A group's market: the prices the engine received (paper) or cached candles (live venues), with
// the DCA legs, take-profit, average entry and stop as horizontal lines and the entries, fills, TPs
// and exit as markers.
import {
  type AutoscaleInfo,
  CandlestickSeries,
  createChart,
  createSeriesMarkers,
  type IChartApi,
  type IPriceLine,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  LineSeries,
  LineStyle,
  type SeriesMarker,
  type Time,
  type UTCTimestamp,
} from "lightweight-charts";
import { useEffect, useMemo, useRef } from "react";

import { useJson } from "../data";
import { useRefreshTick } from "../live";
import { type Palette, readPalette, useTheme } from "../theme";
import {
  type GroupSeries,
  groupSeries,
  priceBounds,
  type PriceLine,
  type PriceMarker,
  widenRange,
} from "../transforms";
import type { GroupChartResponse } from "../types";
import { baseOptions, type ChartProps, Frame, loadState } from "./frame";
import { useChart } from "./useChart";

interface Drawn {
  kind: GroupSeries["kind"];
  series: ISeriesApi<"Line"> | ISeriesApi<"Candlestick">;
  markers: ISeriesMarkersPluginApi<Time>;
  lines: IPriceLine[];
}

interface GroupChartApi {
  api: IChartApi;
  drawn: Drawn | null;
  bounds: { min: number; max: number } | null; // the lines' and markers' prices, always in view
  remove(): void;
}

function lineColour(kind: PriceLine["kind"], p: Palette): string {
  return { leg: p.info, tp: p.pos, avg: p.warn, stop: p.neg }[kind];
}

function marker(m: PriceMarker, p: Palette): SeriesMarker<Time> {
  const look = {
    entry: { shape: "arrowUp", color: p.accent, position: "atPriceBottom" },
    fill: { shape: "circle", color: p.info, position: "atPriceMiddle" },
    tp: { shape: "square", color: p.pos, position: "atPriceMiddle" },
    exit: { shape: "arrowDown", color: p.neg, position: "atPriceTop" },
  }[m.kind] as Pick<SeriesMarker<Time>, "shape" | "color"> & { position: "atPriceTop" | "atPriceBottom" | "atPriceMiddle" };
  return { time: m.time as UTCTimestamp, price: m.price, text: m.text, ...look };
}

/** The price series for this kind of data, made anew if the kind changed (points ↔ candles). */
function seriesFor(chart: GroupChartApi, data: GroupSeries, p: Palette): Drawn {
  if (chart.drawn && chart.drawn.kind === data.kind) return chart.drawn;
  if (chart.drawn) chart.api.removeSeries(chart.drawn.series);
  const priceFormat = { type: "price" as const, precision: data.decimals, minMove: data.minMove };
  // The legs below and the take-profit above are what a trader opens this chart for: keep them in view.
  const autoscaleInfoProvider = (own: () => AutoscaleInfo | null): AutoscaleInfo | null => {
    const base = own();
    const range = widenRange(base?.priceRange ?? null, chart.bounds);
    return range ? { priceRange: range, margins: base?.margins } : null;
  };
  const series =
    data.kind === "candles"
      ? chart.api.addSeries(CandlestickSeries, {
          priceFormat,
          autoscaleInfoProvider,
          upColor: p.pos,
          downColor: p.neg,
          wickUpColor: p.pos,
          wickDownColor: p.neg,
          borderVisible: false,
        })
      : chart.api.addSeries(LineSeries, { priceFormat, autoscaleInfoProvider, color: p.text, lineWidth: 2 });
  chart.drawn = { kind: data.kind, series, markers: createSeriesMarkers(series, []), lines: [] };
  return chart.drawn;
}

function draw(chart: GroupChartApi, data: GroupSeries, p: Palette): void {
  chart.bounds = priceBounds(data);
  const drawn = seriesFor(chart, data, p);
  if (data.kind === "candles") {
    (drawn.series as ISeriesApi<"Candlestick">).setData(data.candles.map((c) => ({ ...c, time: c.time as UTCTimestamp })));
  } else {
    (drawn.series as ISeriesApi<"Line">).setData(data.points.map((pt) => ({ time: pt.time as UTCTimestamp, value: pt.value })));
  }
  drawn.lines.forEach((line) => drawn.series.removePriceLine(line));
  drawn.lines = data.lines.map((line) =>
    drawn.series.createPriceLine({
      price: line.price,
      title: line.title,
      color: lineColour(line.kind, p),
      lineWidth: 1,
      lineStyle: line.kind === "leg" ? LineStyle.Dashed : LineStyle.Solid,
      axisLabelVisible: true,
    }),
  );
  drawn.markers.setMarkers(data.markers.map((m) => marker(m, p)));
}

function build(el: HTMLDivElement, p: Palette): GroupChartApi {
  const api = createChart(el, baseOptions(p));
  return { api, drawn: null, bounds: null, remove: () => api.remove() };
}

function recolour(chart: GroupChartApi, p: Palette): void {
  chart.api.applyOptions(baseOptions(p));
  if (chart.drawn?.kind === "points") chart.drawn.series.applyOptions({ color: p.text });
  if (chart.drawn?.kind === "candles") {
    chart.drawn.series.applyOptions({ upColor: p.pos, downColor: p.neg, wickUpColor: p.pos, wickDownColor: p.neg });
  }
}

export function GroupChart({ src, refresh, name }: ChartProps) {
  const tick = useRefreshTick(refresh);
  const { data, error } = useJson<GroupChartResponse>(src, tick);
  const box = useRef<HTMLDivElement>(null);
  const chart = useChart(box, build, recolour);
  const series = useMemo(() => (data ? groupSeries(data) : null), [data]);
  const theme = useTheme();
  const count = series ? (series.kind === "candles" ? series.candles.length : series.points.length) : 0;
  const first = useRef(true);

  useEffect(() => {
    if (!chart.current || !series) return;
    draw(chart.current, series, readPalette());
    if (first.current) chart.current.api.timeScale().fitContent();
    first.current = false; // later re-reads keep the trader's zoom and scroll
  }, [chart, series, theme]);

  const p = readPalette();
  return (
    <Frame
      name={name}
      title={data ? `${data.symbol} price` : "Price"}
      state={loadState(series !== null, count, error)}
      count={count}
      error={error}
      emptyText="No price received for this market yet."
      legend={[
        { label: "DCA legs", color: p.info },
        { label: "Take profit", color: p.pos },
        { label: "Average entry", color: p.warn },
        { label: "Stop", color: p.neg },
      ]}
      screenshot={() => chart.current?.api.takeScreenshot() ?? null}
    >
      <div ref={box} className="island-canvas island-tall" role="img" aria-label={`${data?.symbol ?? "Price"} chart`} />
    </Frame>
  );
}
