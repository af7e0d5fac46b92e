import { describe, expect, it } from "vitest";

import { pngName } from "./png";
import { withAlpha } from "./theme";

describe("chart helpers", () => {
  it("test_png_download_is_named_after_the_chart_and_the_utc_day", () => {
    expect(pngName("equity", new Date("2026-12-06T23:59:59Z"))).toBe("equity-2026-12-06.png");
    expect(pngName("daily-pnl", new Date("2026-12-07T00:00:00+01:00"))).toBe("daily-pnl-2026-12-06.png");
  });

  it("test_theme_colours_take_an_alpha_for_fills", () => {
    expect(withAlpha("#ff5b6e", 0.35)).toBe("rgba(255, 91, 110, 0.35)");
    expect(withAlpha("rgb(1, 2, 3)", 0.5)).toBe("rgb(1, 2, 3)"); // not a hex colour: unchanged
  });
});
