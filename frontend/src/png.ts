// PNG export: the chart draws itself onto one canvas (lightweight-charts' takeScreenshot), which the
// browser encodes and hands over as a download. No server round trip, no data: URL (CSP).

export function downloadCanvas(canvas: HTMLCanvasElement, filename: string): Promise<void> {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => {
      if (!blob) {
        reject(new Error("the chart could not be encoded as PNG"));
        return;
      }
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = filename;
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
      resolve();
    }, "image/png");
  });
}

/** "equity-2026-12-06.png": the chart's name and today's UTC date. */
export function pngName(chart: string, now: Date = new Date()): string {
  return `${chart}-${now.toISOString().slice(0, 10)}.png`;
}
