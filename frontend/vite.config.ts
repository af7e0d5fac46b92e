// One bundle with fixed names (static/analytics/island.js + island.css): Django templates name it
// with {% static %}, and .ci/run rebuilds it and fails if the committed bytes differ, so the build
// must not depend on the absolute path or the time (no hashes, no source maps, no banner).
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [react()],
  base: "/static/analytics/",
  build: {
    outDir: "../static/analytics",
    emptyOutDir: true,
    sourcemap: false,
    cssCodeSplit: false,
    reportCompressedSize: false,
    rolldownOptions: {
      input: "src/main.tsx",
      output: {
        format: "es",
        entryFileNames: "island.js",
        assetFileNames: "island[extname]",
        codeSplitting: false,
      },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
