// Measures the dashboard in Chromium (`make bench-browser`); results go to docs/benchmarks.md.
// 1. A 20-widget dashboard over 24 h of data: time from navigation start until every widget has
//    drawn its data (five cold loads, median).
// 2. Main-thread time per second while 20 widgets update 10 times a second (Chrome's own
//    TaskDuration counter over 10 s, five runs).
import { test } from "@playwright/test";
import { Livedash } from "../tests/support/livedash";
import { ingest, serverFn } from "./demo";
import { WIDGETS, liveDashboard as dashboard, openLive, startWriter } from "./live-load";

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

test("20 widgets: time to draw 24 h, and main-thread time while live", async ({ browser }) => {
  const app = await Livedash.start();
  try {
    const now = Date.now();
    const history: unknown[] = [];
    for (let ts = now - 86_400_000; ts <= now; ts += 60_000) {
      for (let i = 0; i < WIDGETS; i++) {
        history.push({ name: "day_metric", labels: { n: String(i) }, value: 50 + 30 * Math.sin(ts / 3_600_000 + i), ts });
      }
    }
    await ingest(app, history);
    const day = await serverFn(app, "create_dashboard", { dashboard: dashboard("Day", 86_400_000, "day_metric", null), summary: "bench" });

    const loads: number[] = [];
    for (let run = 0; run < 5; run++) {
      const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
      await app.signIn(context);
      const page = await context.newPage();
      await page.goto(app.url(`/d/${day.id}`), { waitUntil: "commit" });
      const drawn = await page.waitForFunction((count) => {
        const charts = [...document.querySelectorAll('[data-testid="widget-chart"]')];
        const done = charts.length === count && charts.every((chart) =>
          Number(chart.getAttribute("data-points")) >= 100 && chart.querySelector('svg polyline[stroke^="#"]'));
        return done ? performance.now() : null;
      }, WIDGETS, { timeout: 30_000, polling: "raf" });
      loads.push(Math.round(await drawn.jsonValue() as number));
      await context.close();
    }

    const live = await serverFn(app, "create_dashboard", { dashboard: dashboard("Live", 300_000, "live_metric", 1_000), summary: "bench" });
    const perSecond: number[] = [];
    const updates: number[] = [];
    for (let run = 0; run < 5; run++) {
      const { context, page } = await openLive(browser, app, live.id);
      const stopWriter = startWriter(app, "live_metric");
      try {
        await page.waitForTimeout(2_000);
        const cdp = await context.newCDPSession(page);
        await cdp.send("Performance.enable");
        const taskSeconds = async () => {
          const { metrics } = await cdp.send("Performance.getMetrics");
          return metrics.find((metric: { name: string }) => metric.name === "TaskDuration")!.value as number;
        };
        // The newest bucket each chart has drawn: it must move on while measuring.
        const newest = () => page.evaluate(() => [...document.querySelectorAll('[data-testid="widget-chart"]')]
          .map((chart) => Number(chart.getAttribute("data-points"))).reduce((a, b) => a + b, 0));
        const pointsBefore = await newest();
        const before = await taskSeconds();
        const started = Date.now();
        await page.waitForTimeout(10_000);
        const after = await taskSeconds();
        const seconds = (Date.now() - started) / 1000;
        perSecond.push(Math.round(((after - before) * 1000) / seconds));
        updates.push(Math.round(((await newest()) - pointsBefore) / seconds));
      } finally {
        stopWriter();
      }
      await context.close();
    }
    console.log(`20 widgets over 24 h, navigation to all drawn (ms): ${loads.join(", ")}; median ${median(loads)}`);
    console.log(`20 widgets updating 10/s, main-thread ms per second: ${perSecond.join(", ")}; median ${median(perSecond)}`);
    console.log(`  (new buckets drawn per second, all charts: ${updates.join(", ")})`);
  } finally {
    await app.dispose();
  }
});
