// The live load of the browser measurements (`make bench-browser`, `make trace-browser`): a
// dashboard of 20 line charts, one series each, and a writer that gives every series a point
// every 100 ms.
import { Browser, BrowserContext, expect, Page } from "@playwright/test";
import { Livedash } from "../tests/support/livedash";

export const WIDGETS = 20;

/** A dashboard of `WIDGETS` line charts of `metric{n="0"}` … over the last `rangeMs`. */
export function liveDashboard(title: string, rangeMs: number, metric: string, stepMs: number | null) {
  return {
    title,
    range: { type: "last", ms: rangeMs },
    widgets: Array.from({ length: WIDGETS }, (_, i) => ({
      id: `w${i}`,
      kind: "line",
      title: `Series ${i}`,
      layout: { x: (i % 3) * 4, y: Math.floor(i / 3) * 6, w: 4, h: 6 },
      query: { selector: `${metric}{n="${i}"}`, aggregation: { fn: "avg" }, step_ms: stepMs, group_by: null },
    })),
  };
}

/** Writes a point to each of the dashboard's series every 100 ms (one batch); returns the stop. */
export function startWriter(app: Livedash, metric: string): () => void {
  let tick = 0;
  const writer = setInterval(() => {
    tick += 1;
    const ts = Date.now();
    const batch = Array.from({ length: WIDGETS }, (_, i) => ({ name: metric, labels: { n: String(i) }, value: (tick * 7 + i) % 100, ts }));
    void app.ingest(batch).catch(() => {});
  }, 100);
  return () => clearInterval(writer);
}

/** Opens dashboard `id` in a fresh, signed-in context of 1440 × 1000, once it is live. */
export async function openLive(browser: Browser, app: Livedash, id: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  await app.signIn(context);
  const page = await context.newPage();
  await page.goto(app.url(`/d/${id}`));
  await expect(page.getByTestId("dashboard-view")).toHaveAttribute("data-ready", "true");
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  return { context, page };
}
