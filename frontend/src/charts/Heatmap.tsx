// Net PnL by pair × timeframe as a colour-scaled grid (plain React: lightweight-charts draws no
// heatmaps, and a second chart library for one table is not worth its weight). The figures are the
// server's decimal strings rounded to the cent as strings; only the colour scale uses floats.
import { useMemo } from "react";

import { useJson } from "../data";
import { useRefreshTick } from "../live";
import { readPalette, useTheme, withAlpha } from "../theme";
import { heatGrid, signedUsd } from "../transforms";
import type { SummaryResponse } from "../types";
import { type ChartProps, Frame, loadState } from "./frame";

export function Heatmap({ src, refresh, name }: ChartProps) {
  const tick = useRefreshTick(refresh);
  const { data, error } = useJson<SummaryResponse>(src, tick);
  const grid = useMemo(() => (data ? heatGrid(data.heatmap) : null), [data]);
  const theme = useTheme();
  const p = useMemo(() => readPalette(), [theme]);
  const count = data?.heatmap.length ?? 0;

  return (
    <Frame name={name} title="PnL by pair × timeframe" state={loadState(grid !== null, count, error)} count={count} error={error}>
      {grid && count > 0 && (
        <div className="table-wrap" tabIndex={0}>
          <table className="grid compact island-heatmap">
            <thead>
              <tr>
                <th scope="col">Pair</th>
                {grid.timeframes.map((tf) => (
                  <th key={tf} scope="col" className="num">
                    {tf}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {grid.symbols.map((symbol) => (
                <tr key={symbol}>
                  <th scope="row">{symbol}</th>
                  {grid.timeframes.map((tf) => {
                    const cell = grid.cell(symbol, tf);
                    if (!cell) return <td key={tf} className="num muted">·</td>;
                    const k = grid.intensity(cell);
                    const background = withAlpha(k < 0 ? p.neg : p.pos, 0.08 + 0.37 * Math.abs(k));
                    return (
                      <td key={tf} className="num mono" style={{ backgroundColor: background }} title={`${cell.net_pnl} USDT over ${cell.trades} trades`}>
                        {signedUsd(cell.net_pnl)}
                        <span className="tiny"> · {cell.trades}</span>
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Frame>
  );
}
