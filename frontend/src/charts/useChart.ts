// Owns one lightweight-charts instance for the life of a component: built once on mount (with the
// palette of the moment), re-coloured when the theme changes, removed on unmount.
import { type RefObject, useEffect, useRef } from "react";

import { type Palette, readPalette, useTheme } from "../theme";

export interface Removable {
  remove(): void;
}

export function useChart<T extends Removable>(
  box: RefObject<HTMLDivElement | null>,
  build: (el: HTMLDivElement, palette: Palette) => T,
  recolour: (chart: T, palette: Palette) => void,
): RefObject<T | null> {
  const chart = useRef<T | null>(null);
  const theme = useTheme();
  useEffect(() => {
    if (!box.current) return;
    chart.current = build(box.current, readPalette());
    return () => {
      chart.current?.remove();
      chart.current = null;
    };
    // Built once per mount; data and colours are applied by the effects below and in the chart.
  }, []);
  useEffect(() => {
    if (chart.current) recolour(chart.current, readPalette());
  }, [theme]);
  return chart;
}
