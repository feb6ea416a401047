import { expect, test } from "@playwright/test";
import { Livedash, open, reload, watchErrors } from "./support/livedash";

let app: Livedash;

test.beforeEach(async () => {
  app = await Livedash.start();
});

test.afterEach(async ({}, testInfo) => {
  await app.dispose(testInfo);
});

test("a live chart keeps its points across a server restart and goes on", async ({ page }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  // One point per second-wide bucket, in the recent past, so all fall in the 5-minute window.
  const base = Math.floor((Date.now() - 90_000) / 1000) * 1000;
  const write = async (from: number, to: number) => {
    const batch = [];
    for (let i = from; i < to; i++) batch.push({ name: "chart_gauge", value: 10 + (i % 7), ts: base + i * 1000 });
    expect((await app.ingest(batch)).status).toBe(200);
  };
  await write(0, 10);

  await open(page, app.url("/explore?q=chart_gauge&fn=avg&step=1s&window=5m"));
  const chart = page.getByTestId("chart");
  const status = page.getByTestId("live-status");
  await expect(status).toHaveText("Live");
  await expect(chart).toHaveAttribute("data-points", "10");
  await expect(chart).toHaveAttribute("data-lines", "1");
  const drawn = chart.locator('svg polyline[stroke^="#"]');
  expect(await drawn.count()).toBeGreaterThan(0);
  await page.evaluate(() => ((window as any).__sameDocument = true));

  // New points arrive as deltas, without a reload.
  await write(10, 20);
  await expect(chart).toHaveAttribute("data-points", "20");

  // The server goes away: the chart keeps every point while the client reconnects.
  await app.stop();
  await expect(status).toContainText("Reconnecting");
  await expect(chart).toHaveAttribute("data-points", "20");
  expect(await drawn.count()).toBeGreaterThan(0);

  // It comes back, the client resumes from its cursor, and the chart goes on.
  await app.launch();
  await write(20, 30);
  await expect(status).toHaveText("Live", { timeout: 20_000 });
  await expect(chart).toHaveAttribute("data-points", "30");
  await write(30, 35);
  await expect(chart).toHaveAttribute("data-points", "35");
  await expect(chart).toHaveAttribute("data-lines", "1");
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  expect(errors).toEqual([]);
});

test("a bad selector or step is explained on the page", async ({ page }) => {
  await app.signIn(page.context());
  await open(page, app.url("/explore?q=cpu%7Bhost%3D&fn=avg&step=10s&window=15m"));
  await expect(page.getByTestId("query-error")).toContainText("selector");
  await open(page, app.url("/explore?q=cpu&fn=avg&step=1s&window=24h"));
  await expect(page.getByTestId("query-error")).toContainText("buckets");
  await open(page, app.url("/explore?q=cpu&fn=rate&step=10s&window=15m"));
  await app.ingest([{ name: "cpu", value: 1 }]);
  await reload(page);
  await expect(page.getByTestId("query-error")).toContainText("rate does not apply");
});
