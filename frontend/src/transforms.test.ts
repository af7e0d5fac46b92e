import { describe, expect, it } from "vitest";

import equity from "./__fixtures__/equity.json";
import groupCandles from "./__fixtures__/group-candles.json";
import groupChart from "./__fixtures__/group-chart.json";
import summary from "./__fixtures__/summary.json";
import {
  ascendingUnique,
  chartNumber,
  dailyPnlBars,
  epochSeconds,
  equitySeries,
  groupSeries,
  heatGrid,
  histogramBars,
  priceBounds,
  signedUsd,
  snapToBars,
  tickDecimals,
  timeframeSeconds,
  widenRange,
} from "./transforms";
import type { EquityResponse, GroupChartResponse, SummaryResponse } from "./types";

const T0 = 1709294400; // 2024-03-01T12:00:00Z

describe("decimal strings become numbers only at the chart's edge", () => {
  it("test_chart_number_reads_plain_decimal_strings", () => {
    expect(chartNumber("64000.5")).toBe(64000.5);
    expect(chartNumber("-0.000001")).toBe(-0.000001);
    expect(chartNumber("0")).toBe(0);
  });

  it.each([[""], ["1e5"], ["NaN"], ["12,5"], [" 1"], ["Infinity"]])(
    "test_chart_number_refuses_anything_but_a_decimal_string (%j)",
    (raw) => {
      expect(() => chartNumber(raw)).toThrow(/not a decimal string/);
    },
  );

  it("test_chart_number_refuses_a_float_the_server_should_not_send", () => {
    expect(() => chartNumber(12.5 as unknown as string)).toThrow(/not a decimal string/);
  });

  it("test_epoch_seconds_of_an_iso_datetime_is_utc", () => {
    expect(epochSeconds("2024-03-01T12:00:00Z")).toBe(T0);
    expect(epochSeconds("2024-03-01T13:00:00+01:00")).toBe(T0);
    expect(() => epochSeconds("yesterday")).toThrow(/not a datetime/);
  });
});

describe("money shown in the heatmap", () => {
  it.each([
    ["0.53383795", "+$0.53"],
    ["0.798201", "+$0.80"],
    ["-4", "-$4.00"],
    ["0", "$0.00"],
    ["-0.004", "$0.00"],
    ["1234567.891", "+$1,234,567.89"],
    ["0.125", "+$0.12"], // half to even
    ["0.135", "+$0.14"],
    ["0.1250001", "+$0.13"],
    ["-2.675", "-$2.68"],
  ])("test_signed_usd_rounds_the_decimal_string_half_even_to_the_cent (%s)", (raw, shown) => {
    expect(signedUsd(raw)).toBe(shown);
  });
});

describe("series a chart accepts", () => {
  it("test_equal_times_keep_the_later_row_and_times_ascend", () => {
    const rows = [
      { time: 3, value: 30 },
      { time: 1, value: 10 },
      { time: 3, value: 31 },
      { time: 2, value: 20 },
    ];
    expect(ascendingUnique(rows)).toEqual([
      { time: 1, value: 10 },
      { time: 2, value: 20 },
      { time: 3, value: 31 },
    ]);
  });

  it("test_equity_curve_has_realised_total_and_drawdown_below_zero", () => {
    const series = equitySeries(equity as EquityResponse);
    expect(series.realised.map((p) => p.value)).toEqual([0, 0, -40.5, 20]);
    expect(series.total.map((p) => p.value)).toEqual([0, 100, -50, 25]);
    expect(series.total.map((p) => p.time)).toEqual([T0, T0 + 60, T0 + 120, T0 + 180]);
    expect(series.drawdownUnit).toBe("%");
    expect(series.drawdown.map((p) => p.value)).toEqual([0, 0, -1.485148514851, -0.742574257426]);
    expect(series.drawdown.every((p) => p.value <= 0)).toBe(true);
  });

  it("test_drawdown_falls_back_to_usd_when_a_percent_is_missing", () => {
    const body = structuredClone(equity) as EquityResponse;
    body.points[0].drawdown_percent = null;
    const series = equitySeries(body);
    expect(series.drawdownUnit).toBe("USD");
    expect(series.drawdown.map((p) => p.value)).toEqual([0, 0, -150, -75]);
  });

  it("test_an_empty_equity_curve_is_empty_series", () => {
    const series = equitySeries({ source: "trades", capital_base: "0", count: 0, points: [] });
    expect(series.total).toEqual([]);
    expect(series.drawdown).toEqual([]);
  });

  it("test_daily_pnl_bars_are_oldest_first_and_signed", () => {
    const bars = dailyPnlBars((summary as SummaryResponse).pnl_by_day);
    expect(bars).toEqual([
      { time: "2024-03-01", value: 10, positive: true },
      { time: "2024-03-02", value: -1, positive: false },
      { time: "2024-03-03", value: 1, positive: true },
    ]);
  });

  it("test_histogram_bars_are_the_server_bins_at_their_midpoints", () => {
    const bars = histogramBars((summary as SummaryResponse).histogram);
    const expected = [
      [-2.8, 2],
      [-0.6, 1],
      [1.6, 1],
      [6.4, 1],
    ];
    expect(bars).toHaveLength(expected.length);
    bars.forEach((bar, i) => {
      expect(bar.time).toBeCloseTo(expected[i][0], 12);
      expect(bar.value).toBe(expected[i][1]);
    });
    expect(bars.map((b) => b.positive)).toEqual([false, true, true, true]);
    expect(bars.reduce((n, b) => n + b.value, 0)).toBe(5); // every trade counted once, no re-binning
  });
});

describe("pair × timeframe heatmap", () => {
  it("test_timeframes_order_by_length_not_by_spelling", () => {
    expect(["1d", "15m", "1h", "4h", "1m"].sort((a, b) => timeframeSeconds(a) - timeframeSeconds(b))).toEqual([
      "1m",
      "15m",
      "1h",
      "4h",
      "1d",
    ]);
    expect(timeframeSeconds("weird")).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("test_heat_grid_rows_columns_and_intensity_relative_to_the_largest_cell", () => {
    const grid = heatGrid((summary as SummaryResponse).heatmap);
    expect(grid.symbols).toEqual(["BTC/USDT", "ETH/USDT", "SOL/USDT"]);
    expect(grid.timeframes).toEqual(["15m", "1h", "1d"]);
    expect(grid.cell("ETH/USDT", "15m")).toBeUndefined();
    const btc15 = grid.cell("BTC/USDT", "15m")!;
    expect(grid.intensity(btc15)).toBe(1);
    expect(grid.intensity(grid.cell("ETH/USDT", "1h")!)).toBeCloseTo(-4 / 9);
    expect(grid.intensity(grid.cell("SOL/USDT", "1d")!)).toBe(0);
  });

  it("test_an_all_zero_heat_grid_has_no_intensity", () => {
    const grid = heatGrid([{ symbol: "A/B", timeframe: "1h", net_pnl: "0", trades: 1 }]);
    expect(grid.intensity(grid.cell("A/B", "1h")!)).toBe(0);
  });
});

describe("group price chart", () => {
  it("test_tick_decimals_set_the_price_axis_precision", () => {
    expect(tickDecimals("0.01")).toBe(2);
    expect(tickDecimals("1")).toBe(0);
    expect(tickDecimals("0.00001")).toBe(5);
  });

  it("test_markers_snap_to_the_last_bar_at_or_before_them", () => {
    const bars = [10, 20, 30];
    expect(snapToBars(5, bars)).toBe(10);
    expect(snapToBars(20, bars)).toBe(20);
    expect(snapToBars(29, bars)).toBe(20);
    expect(snapToBars(99, bars)).toBe(30);
    expect(snapToBars(7, [])).toBe(7);
  });

  it("test_group_points_lines_and_markers_from_the_server_shape", () => {
    const series = groupSeries(groupChart as GroupChartResponse);
    expect(series.kind).toBe("points");
    expect(series.points.map((p) => p.time)).toEqual([T0, T0 + 60, T0 + 120, T0 + 180]);
    expect(series.points[1].value).toBe(63400.25); // two prices in one second: the later one
    expect(series.lines).toEqual([
      { title: "DCA 1", price: 63000, kind: "leg" },
      { title: "DCA 2", price: 62000, kind: "leg" },
      { title: "TP", price: 64300.1, kind: "tp" },
      { title: "Average", price: 62800.33, kind: "avg" },
      { title: "Stop", price: 60000, kind: "stop" },
    ]);
    expect(series.markers.map((m) => [m.time, m.kind])).toEqual([
      [T0, "entry"],
      [T0, "fill"], // older than the first price: on the first bar
      [T0 + 120, "fill"],
      [T0 + 180, "tp"],
    ]);
    expect(series.minMove).toBe(0.01);
    expect(series.decimals).toBe(2);
  });

  it("test_group_candles_ascend_and_markers_snap_to_candles", () => {
    const series = groupSeries(groupCandles as GroupChartResponse);
    expect(series.kind).toBe("candles");
    expect(series.candles.map((c) => [c.time, c.open, c.high, c.low, c.close])).toEqual([
      [T0, 3480, 3505, 3470, 3500],
      [T0 + 3600, 3500, 3520.5, 3490.1, 3510],
    ]);
    expect(series.markers).toEqual([{ time: T0 + 3600, price: 3495, kind: "exit", text: "exit" }]);
    expect(series.decimals).toBe(1);
  });

  it("test_the_price_scale_shows_every_leg_target_and_marker_not_just_the_prices", () => {
    const series = groupSeries(groupChart as GroupChartResponse);
    const bounds = priceBounds(series);
    expect(bounds).toEqual({ min: 60000, max: 64300.1 }); // the stop and the TP, outside the prices
    expect(widenRange({ minValue: 62000.01, maxValue: 64100 }, bounds)).toEqual({ minValue: 60000, maxValue: 64300.1 });
    expect(widenRange(null, bounds)).toEqual({ minValue: 60000, maxValue: 64300.1 });
    expect(widenRange({ minValue: 1, maxValue: 2 }, null)).toEqual({ minValue: 1, maxValue: 2 });
    expect(priceBounds({ lines: [], markers: [] })).toBeNull();
  });
});
