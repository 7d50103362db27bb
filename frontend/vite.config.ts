import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The build lands inside the Python package so the wheel ships it and FastAPI serves it at /ui.
export default defineConfig({
  base: "/ui/",
  plugins: [react()],
  build: {
    outDir: "../src/tidings/ui_dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
  server: { proxy: { "/api": "http://127.0.0.1:8000", "/ui/catalog.json": "http://127.0.0.1:8000" } },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
