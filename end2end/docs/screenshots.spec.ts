// Makes the screenshots in docs/screenshots/ (the README shows them): a dashboard in view mode
// and in the editor, light and dark, desktop and phone width. Run with `make screenshots`.
import { expect, test } from "@playwright/test";
import { resolve } from "node:path";
import { Livedash, open } from "../tests/support/livedash";
import { ingest, serverFn, shopDashboard, shopTraffic } from "./demo";

const out = resolve(__dirname, "../../docs/screenshots");

test("screenshots", async ({ browser }) => {
  const app = await Livedash.start();
  try {
    const now = Date.now();
    await ingest(app, shopTraffic(now, 3_600_000, 15_000));
    const created = await serverFn(app, "create_dashboard", { dashboard: shopDashboard(), summary: "Created" });
    // New points keep arriving while the pictures are taken, as they would.
    let last = now;
    const feed = setInterval(() => {
      const ts = Date.now();
      void ingest(app, shopTraffic(ts, ts - last - 1, 1_000)).catch(() => {});
      last = ts;
    }, 1000);
    try {
      for (const theme of ["light", "dark"] as const) {
        for (const [device, viewport] of [["desktop", { width: 1440, height: 1000 }], ["phone", { width: 390, height: 844 }]] as const) {
          const context = await browser.newContext({ colorScheme: theme, viewport, deviceScaleFactor: device === "phone" ? 2 : 1 });
          await app.signIn(context);
          const page = await context.newPage();
          await open(page, app.url(`/d/${created.id}`));
          await expect(page.getByTestId("dashboard-view")).toHaveAttribute("data-ready", "true");
          await expect(page.getByTestId("live-status")).toHaveText("Live");
          await expect(page.getByTestId("stat-value").first()).not.toHaveText("–");
          await page.waitForTimeout(1500);
          await page.screenshot({ path: `${out}/view-${theme}-${device}.png`, fullPage: device === "desktop" });

          await open(page, app.url(`/d/${created.id}/edit`));
          await expect(page.getByTestId("editor")).toHaveAttribute("data-ready", "true");
          await page.locator('[data-widget="latency"]').getByTestId("widget-head").click();
          await expect(page.getByTestId("side-panel")).toBeVisible();
          await page.waitForTimeout(1500);
          await page.screenshot({ path: `${out}/editor-${theme}-${device}.png`, fullPage: device === "desktop" });
          await context.close();
        }
      }
    } finally {
      clearInterval(feed);
    }
  } finally {
    await app.dispose();
  }
});
