import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// Not tests: scripts that make the README's screenshots (`make screenshots`) and measure the
// dashboard in Chromium (`make bench-browser`). Each starts its own livedash like the tests.
export default defineConfig({
  ...base,
  testDir: "./docs",
  timeout: 600_000,
  reporter: "line",
});
