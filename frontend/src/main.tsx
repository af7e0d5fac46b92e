// The chart island. The console is server-rendered; any element
//   <div data-chart="equity" data-src="/api/v1/analytics/equity?…" data-refresh-on="analytics:changed"
//        data-topics="groups" data-poll-sec="60">
// gets a React chart that reads its JSON from data-src with the session cookie. Loaded once by
// base.html (CSP: a same-origin module, no inline script), it watches the document: htmx page swaps
// and filter changes add, remove or re-point mounts, and the island follows.
import { type ComponentType, StrictMode } from "react";
import { createRoot, type Root } from "react-dom/client";

import { EquityChart } from "./charts/EquityChart";
import type { ChartProps } from "./charts/frame";
import { GroupChart } from "./charts/GroupChart";
import { Heatmap } from "./charts/Heatmap";
import { DailyPnlChart, ReturnsHistogram } from "./charts/SummaryBars";
import "./island.css";
import { watchVersions } from "./live";

const CHARTS: Record<string, ComponentType<ChartProps>> = {
  equity: EquityChart,
  "daily-pnl": DailyPnlChart,
  returns: ReturnsHistogram,
  heatmap: Heatmap,
  group: GroupChart,
};

const roots = new Map<HTMLElement, Root>();

function render(el: HTMLElement, root: Root): void {
  const kind = el.dataset.chart || "";
  const Chart = CHARTS[kind];
  const words = (value: string | undefined) => (value || "").split(/\s+/).filter(Boolean);
  const props: ChartProps = {
    src: el.dataset.src || "",
    refresh: {
      topics: words(el.dataset.topics),
      events: words(el.dataset.refreshOn),
      pollSeconds: Number(el.dataset.pollSec) || 0,
    },
    name: kind,
  };
  // A new source (the filters changed) is a new chart: it fits its content afresh.
  root.render(
    <StrictMode>
      <Chart key={props.src} {...props} />
    </StrictMode>,
  );
}

/** Mount every chart not mounted yet; unmount the ones htmx took off the page. */
function scan(): void {
  for (const [el, root] of roots) {
    if (!el.isConnected) {
      root.unmount();
      roots.delete(el);
    }
  }
  document.querySelectorAll<HTMLElement>("[data-chart]").forEach((el) => {
    if (roots.has(el) || !CHARTS[el.dataset.chart || ""] || !el.dataset.src) return;
    const root = createRoot(el);
    roots.set(el, root);
    render(el, root);
  });
}

let scanQueued = false;
function queueScan(): void {
  if (scanQueued) return;
  scanQueued = true;
  queueMicrotask(() => {
    scanQueued = false;
    scan();
  });
}

function start(): void {
  scan();
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "attributes") {
        const el = record.target as HTMLElement;
        const root = roots.get(el);
        if (root) render(el, root);
      } else if (record.addedNodes.length || record.removedNodes.length) {
        queueScan();
      }
    }
  }).observe(document.documentElement, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["data-src", "data-topics", "data-refresh-on", "data-poll-sec"],
  });
  watchVersions();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
