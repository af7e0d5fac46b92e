// The console's theme: <html data-theme="dark|light"> and its CSS variables (static/css/console.css).
// Charts take their colours from those variables, so they follow the console's palette, and redraw
// when the theme toggle changes the attribute.
import { useSyncExternalStore } from "react";

export interface Palette {
  panel: string;
  text: string;
  muted: string;
  border: string;
  accent: string;
  info: string;
  pos: string;
  neg: string;
  warn: string;
}

const FALLBACK: Palette = {
  panel: "#121820",
  text: "#e3e9f0",
  muted: "#8a97a8",
  border: "#263140",
  accent: "#4c8dff",
  info: "#5aa9ff",
  pos: "#22c38e",
  neg: "#ff5b6e",
  warn: "#f0b429",
};

export function currentTheme(): string {
  return document.documentElement.dataset.theme || "dark";
}

/** The palette of the theme now in force, read from the console's CSS variables. */
export function readPalette(): Palette {
  const style = getComputedStyle(document.documentElement);
  const pick = (name: keyof Palette) => style.getPropertyValue(`--${name}`).trim() || FALLBACK[name];
  return {
    panel: pick("panel"),
    text: pick("text"),
    muted: pick("muted"),
    border: pick("border"),
    accent: pick("accent"),
    info: pick("info"),
    pos: pick("pos"),
    neg: pick("neg"),
    warn: pick("warn"),
  };
}

function subscribe(changed: () => void): () => void {
  const observer = new MutationObserver(changed);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  return () => observer.disconnect();
}

/** The theme name; the component re-renders when it changes. */
export function useTheme(): string {
  return useSyncExternalStore(subscribe, currentTheme);
}

/** A colour with an alpha, from "#rrggbb" (what the console's variables are); other forms unchanged. */
export function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  if (!hex) return color;
  const n = parseInt(hex[1], 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
