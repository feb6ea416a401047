import { expect, test } from "@playwright/test";
import { hydrated, Livedash, open, reload, watchErrors } from "./support/livedash";

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

test("a dashboard chart's live updates change its drawing in place, from the server's first paint on", async ({ page }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  const now = Math.floor(Date.now() / 1000) * 1000;
  const history = [];
  for (let i = 30; i > 0; i--) history.push({ name: "inplace_gauge", value: 10 + (i % 5), ts: now - i * 1000 });
  expect((await app.ingest(history)).status).toBe(200);
  const { id } = await app.callFn("create_dashboard", {
    dashboard: {
      title: "In place",
      range: { type: "last", ms: 300_000 },
      widgets: [{ id: "w", kind: "line", title: "Gauge", layout: { x: 0, y: 0, w: 6, h: 6 },
        query: { selector: "inplace_gauge", aggregation: { fn: "avg" }, step_ms: 1000, group_by: null } }],
    },
    summary: "test",
  });

  await open(page, app.url(`/d/${id}`));
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  const chart = page.getByTestId("widget-chart");
  await expect(chart).toHaveAttribute("data-points", "30");
  // The server's elements, marked: the browser takes them over and updates keep them.
  await chart.evaluate((figure) => figure.querySelectorAll("svg, svg *").forEach((element) => ((element as any).__first = true)));
  const newest = chart.locator(".chart-series").nth(1).locator("polyline");
  await expect(newest).toHaveCount(1);
  const before = await newest.getAttribute("points");

  expect((await app.ingest([{ name: "inplace_gauge", value: 99, ts: Math.max(Date.now(), now + 1000) }])).status).toBe(200);
  await expect(chart).toHaveAttribute("data-points", "31");
  await expect(newest).not.toHaveAttribute("points", before!);
  expect(await newest.evaluate((line) => (line as any).__first === true)).toBe(true);
  expect(await chart.evaluate((figure) => [...figure.querySelectorAll("svg")].every((svg) => (svg as any).__first === true))).toBe(true);
  expect(errors).toEqual([]);
});

test("explore invites a first query, suggests metric names and charts a __name__ pattern", async ({ page }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  const ts = Date.now() - 2000;
  expect((await app.ingest([
    { name: "explore_http_requests", value: 1, labels: { route: "/api" }, ts },
    { name: "explore_http_errors", value: 2, labels: { route: "/api" }, ts },
  ])).status).toBe(200);

  // Before a query: what to type, and no connection status (it would never resolve).
  await open(page, app.url("/explore"));
  await expect(page.getByTestId("explore-empty")).toContainText("Type a metric name");
  await expect(page.getByTestId("live-status")).toHaveCount(0);

  // The selector box suggests names for what is typed before the braces; a pick keeps them.
  const selector = page.getByTestId("selector");
  await selector.fill('explore_http_r{route="/api"}');
  const suggestions = page.getByRole("listbox", { name: "Metric names" });
  await expect(suggestions.getByRole("option")).toHaveText(["explore_http_requests"]);
  await page.getByTestId("metric-suggestion").click();
  await expect(selector).toHaveValue('explore_http_requests{route="/api"}');
  await page.getByRole("button", { name: "Show", exact: true }).click();
  await expect(page).toHaveURL(/\/explore\?q=explore_http_requests/);
  await hydrated(page);
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  await expect(page.getByTestId("chart")).toHaveAttribute("data-lines", "1");

  // A Prometheus-style name matcher charts every metric it matches.
  const pattern = encodeURIComponent('{__name__=~"explore_http_.*"}');
  await open(page, app.url(`/explore?q=${pattern}&fn=avg&step=1s&window=5m`));
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  await expect(page.getByTestId("chart")).toHaveAttribute("data-lines", "2");
  await expect(page.getByTestId("query-error")).toHaveCount(0);
  await open(page, app.url(`/explore?q=${encodeURIComponent('{route="/api"}')}`));
  await expect(page.getByTestId("query-error")).toContainText("__name__ matcher");
  await expect(page.getByTestId("live-status")).toHaveCount(0);
  expect(errors).toEqual([]);
});
