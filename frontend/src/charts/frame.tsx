// What every chart shares: a frame with its title, legend, state and PNG button, the chart's base
// options in the console's palette, and the hook that owns a lightweight-charts instance.
import { ColorType, type DeepPartial, type TimeChartOptions } from "lightweight-charts";
import { type ReactNode, useState } from "react";

import type { RefreshOn } from "../live";
import { downloadCanvas, pngName } from "../png";
import type { Palette } from "../theme";

export interface ChartProps {
  src: string;
  refresh: RefreshOn;
  name: string; // the download's file name stem and the frame's test id
}

export interface LegendItem {
  label: string;
  color: string;
}

/** The look shared by every chart, in the theme's colours. The TradingView logo is off: it injects a
 * <style> element, which the console's CSP refuses; the page credits TradingView in words instead. */
export function baseOptions(p: Palette): DeepPartial<TimeChartOptions> {
  return {
    autoSize: true,
    layout: {
      attributionLogo: false,
      background: { type: ColorType.Solid, color: p.panel },
      textColor: p.muted,
      fontSize: 11,
      panes: { separatorColor: p.border, separatorHoverColor: p.border },
    },
    grid: { vertLines: { color: p.border }, horzLines: { color: p.border } },
    rightPriceScale: { borderColor: p.border },
    timeScale: { borderColor: p.border, timeVisible: true, secondsVisible: false },
    crosshair: { vertLine: { labelBackgroundColor: p.accent }, horzLine: { labelBackgroundColor: p.accent } },
  };
}

export type LoadState = "loading" | "ready" | "empty" | "error";

export function loadState(hasData: boolean, count: number, error: string | null): LoadState {
  if (!hasData) return error ? "error" : "loading";
  return count > 0 ? "ready" : "empty";
}

interface FrameProps {
  name: string;
  title: string;
  state: LoadState;
  count: number;
  error: string | null;
  legend?: LegendItem[];
  emptyText?: string;
  /** The chart as one canvas, for the PNG button; absent for charts that are not canvases. */
  screenshot?: () => HTMLCanvasElement | null;
  children: ReactNode;
}

export function Frame(props: FrameProps) {
  const [exportError, setExportError] = useState<string | null>(null);
  const exportPng = () => {
    const canvas = props.screenshot?.();
    if (!canvas) return;
    downloadCanvas(canvas, pngName(props.name)).then(
      () => setExportError(null),
      (err: Error) => setExportError(err.message),
    );
  };
  return (
    <div className="island-frame" data-state={props.state} data-count={props.count} data-testid={`chart-${props.name}`}>
      <div className="island-head">
        <h2>{props.title}</h2>
        {props.legend && (
          <span className="island-legend">
            {props.legend.map((item) => (
              <span key={item.label} className="island-key">
                <span className="island-swatch" style={{ backgroundColor: item.color }} />
                {item.label}
              </span>
            ))}
          </span>
        )}
        <span className="island-spacer" />
        {props.screenshot && (
          <button
            type="button"
            className="btn ghost small"
            data-testid={`png-${props.name}`}
            disabled={props.state !== "ready"}
            onClick={exportPng}
            title="Download this chart as a PNG image"
          >
            PNG
          </button>
        )}
      </div>
      {props.error && <p className="island-note neg">Could not load the data: {props.error}</p>}
      {exportError && <p className="island-note neg">{exportError}</p>}
      {props.state === "empty" && <p className="island-note muted">{props.emptyText ?? "No data for these filters."}</p>}
      {props.children}
    </div>
  );
}
