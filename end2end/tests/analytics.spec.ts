// Product analytics in Chromium: the demo's funnel, experiment and percentile widgets show live
// numbers; a funnel defined on the Analytics page counts page views sent by the tracking snippet
// from another site.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect, Locator, test } from "@playwright/test";
import { Livedash, open, watchErrors } from "./support/livedash";

let app: Livedash;
const DESKTOP_CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

test.afterEach(async ({}, testInfo) => {
  await app.dispose(testInfo);
});

async function numberOf(locator: Locator, attribute: string): Promise<number> {
  return Number((await locator.getAttribute(attribute)) ?? "0");
}

test("with --demo, the funnel, experiment and percentile widgets show live numbers", async ({ page }) => {
  app = await Livedash.start(["--demo"]);
  await app.signIn(page.context());
  const errors = watchErrors(page);
  await open(page, app.url("/dashboards"));
  await page.getByRole("link", { name: "Product analytics (demo)" }).click();
  await expect(page.getByTestId("dashboard-title")).toHaveText("Product analytics (demo)");

  // The funnel: people start it, and more do as time passes.
  const funnel = page.locator('[data-testid="widget"][data-kind="Funnel"]');
  const firstStep = funnel.getByTestId("funnel-step").first();
  await expect(funnel.getByTestId("funnel-step")).toHaveCount(3);
  await expect.poll(() => numberOf(firstStep, "data-users"), { timeout: 20_000 }).toBeGreaterThan(0);
  const started = await numberOf(firstStep, "data-users");
  await expect.poll(() => numberOf(firstStep, "data-users"), { timeout: 20_000 }).toBeGreaterThan(started);
  await expect(firstStep).toContainText("/pricing");

  // The experiment: both variants have exposed users, with rates and intervals.
  const experiment = page.locator('[data-testid="widget"][data-kind="Experiment"]');
  const rows = experiment.getByTestId("experiment-row");
  await expect(rows).toHaveCount(2);
  for (const row of await rows.all()) {
    await expect.poll(() => numberOf(row, "data-users"), { timeout: 20_000 }).toBeGreaterThan(0);
  }
  await expect(rows.first()).toHaveAttribute("data-verdict", "control");
  await expect(experiment).toContainText("always-valid");

  // Response-time percentiles: four lines, full over the hour shown (one point per step of
  // 15 s or so on each line), since the demo writes the last 24 hours before it goes live
  // (while it writes them, the points arrive live).
  const percentiles = page.locator('[data-testid="widget"][data-kind="Percentiles"]');
  const chart = percentiles.getByTestId("widget-chart");
  await expect(chart).toHaveAttribute("data-lines", "4", { timeout: 60_000 });
  await expect.poll(() => numberOf(chart, "data-points"), { timeout: 60_000 }).toBeGreaterThan(4 * 100);
  await expect(percentiles.locator(".legend")).toContainText("p99");

  // Their spread over values, as a heatmap merged from the buckets' sketches.
  const heatmap = page.getByTestId("heatmap");
  await expect.poll(() => numberOf(heatmap, "data-observations"), { timeout: 20_000 }).toBeGreaterThan(0);

  // Averages by service with a band from each step's fastest to its slowest request.
  const band = page.locator('[data-testid="widget"][data-kind="Line"]', { hasText: "min/max band" });
  await expect.poll(() => band.locator(".chart-series polygon").count(), { timeout: 20_000 }).toBeGreaterThan(0);

  // Unique visitors and top pages, from the same events.
  const visitors = page.getByTestId("uniques-value");
  await expect.poll(() => numberOf(visitors, "data-users"), { timeout: 20_000 }).toBeGreaterThan(0);
  await expect(page.getByTestId("top-values")).toContainText("/");
  await expect(page.getByTestId("event-feed").locator(".feed-item").first()).toBeVisible();
  await page.screenshot({ path: test.info().outputPath("demo.png"), fullPage: true });
  expect(errors).toEqual([]);
});

test("a funnel defined on the Analytics page counts page views from the tracking snippet", async ({ page }) => {
  app = await Livedash.start();
  await app.signIn(page.context());
  const errors = watchErrors(page);
  await open(page, app.url("/analytics"));
  await expect(page.getByTestId("analytics-page")).toHaveAttribute("data-ready", "true");
  const form = page.getByTestId("new-funnel");
  await form.getByTestId("funnel-name").fill("Pricing to sign-up");
  const events = form.getByTestId("funnel-step-event");
  await events.nth(0).fill("page_view");
  await form.getByTestId("funnel-step-filter").nth(0).fill("path=/pricing");
  await events.nth(1).fill("page_view");
  await form.getByTestId("funnel-step-filter").nth(1).fill("path=/signup");
  await form.getByTestId("funnel-window").selectOption({ label: "30 minutes" });
  await form.getByTestId("funnel-create").click();
  await expect(page.getByTestId("funnel-list")).toContainText("Pricing to sign-up");

  // A funnel widget on a new dashboard, its funnel picked in the side panel.
  await open(page, app.url("/dashboards"));
  await page.getByTestId("new-dashboard-title").fill("Growth");
  await page.getByRole("button", { name: "Create" }).click();
  await expect(page.getByTestId("editor")).toHaveAttribute("data-ready", "true");
  await page.getByTestId("palette-funnel").click();
  await page.getByTestId("source-funnel").selectOption({ label: "Pricing to sign-up" });
  const widget = page.locator('[data-testid="widget"][data-kind="Funnel"]');
  await expect(widget.getByTestId("funnel-step")).toHaveCount(2);

  // Another site (another origin, served here) includes the snippet with an ingest token from
  // the Access page; its visitor reads the pricing page, then signs up.
  const ingestToken = await app.createToken("ingest", "shop website");
  const site = createServer((_, response) => {
    response.writeHead(200, { "content-type": "text/html" });
    response.end(`<!doctype html><title>Shop</title><script src="${app.url("/track.js")}" data-token="${ingestToken}"></script>`);
  });
  await new Promise<void>((listening) => site.listen(0, "127.0.0.1", listening));
  const shop = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  // A person's browser: headless Chromium says so in its user agent, and livedash counts
  // such visits as a bot's.
  const visitor = await (await page.context().browser()!.newContext({ userAgent: DESKTOP_CHROME })).newPage();
  await visitor.goto(`${shop}/pricing`);
  const uid = await visitor.evaluate(() => localStorage.getItem("livedash:uid"));
  expect(uid).toMatch(/^[0-9a-f]{32}$/);
  await visitor.goto(`${shop}/signup`);
  expect(await visitor.evaluate(() => localStorage.getItem("livedash:uid"))).toBe(uid);

  const steps = widget.getByTestId("funnel-step");
  await expect.poll(() => numberOf(steps.nth(0), "data-users"), { timeout: 15_000 }).toBe(1);
  await expect.poll(() => numberOf(steps.nth(1), "data-users"), { timeout: 15_000 }).toBe(1);
  await expect(steps.nth(1)).toContainText("100.0% of the step before");
  await visitor.context().close();
  site.close();
  expect(errors).toEqual([]);
});

test("the snippet's cookieless mode keeps nothing in the browser and still counts one visitor", async ({ browser }) => {
  app = await Livedash.start();
  const ingestToken = await app.createToken("ingest", "private website");
  const site = createServer((_, response) => {
    response.writeHead(200, { "content-type": "text/html" });
    response.end(`<!doctype html><title>Private</title><script src="${app.url("/track.js")}" data-token="${ingestToken}" data-site="private.test" data-cookieless></script>`);
  });
  await new Promise<void>((listening) => site.listen(0, "127.0.0.1", listening));
  const origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  const visitor = await (await browser.newContext({ userAgent: DESKTOP_CHROME })).newPage();
  const sent: string[] = [];
  visitor.on("request", (request) => {
    if (request.url().includes("/api/v1/events")) sent.push(request.postData() ?? "");
  });
  await visitor.goto(`${origin}/`);
  await visitor.goto(`${origin}/about`);
  await expect.poll(() => sent.length).toBe(2);
  expect(sent.every((body) => !body.includes("user_id"))).toBe(true);
  expect(await visitor.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie])).toEqual([0, 0, ""]);

  // livedash gave both page views the same visitor id of the day.
  const pageViews = async () => {
    const answer = await app.callFn("analytics", { query: { Latest: { event: "page_view", limit: 10 } } });
    return (answer.Latest.events as { user_id: string; properties: Record<string, string> }[])
      .filter((event) => event.properties.site === "private.test");
  };
  await expect.poll(async () => (await pageViews()).length, { timeout: 15_000 }).toBe(2);
  const ids = new Set((await pageViews()).map((event) => event.user_id));
  expect(ids.size).toBe(1);
  expect([...ids][0]).toMatch(/^anon-[0-9a-f]{16}$/);
  await visitor.context().close();
  site.close();
});

test("markup in funnel, experiment, event and property text stays inert", async ({ page }) => {
  app = await Livedash.start();
  await app.signIn(page.context());
  const errors = watchErrors(page);
  const markup = `<img src=x onerror="window.__injected=1"><script>window.__injected=2</script>`;
  let dialogs = 0;
  page.on("dialog", async (dialog) => {
    dialogs += 1;
    await dialog.dismiss();
  });
  const definitions = await app.callFn("change_analytics", {
    change: { CreateFunnel: { funnel: { name: markup, steps: [
      { event: "page_view", filter: ["path", markup] }, { event: markup }], window_ms: 1_800_000 }, backfill: false } },
  });
  const funnelId = definitions.funnels[0].id;
  await app.callFn("change_analytics", {
    change: { CreateExperiment: { experiment: { id: "xss", name: markup,
      variants: [{ name: markup, weight: 1 }, { name: "plain", weight: 1 }], goal_event: markup } } },
  });
  const sent = await fetch(app.url("/api/v1/events"), {
    method: "POST",
    headers: { "content-type": "application/json", ...app.authHeaders() },
    body: JSON.stringify([
      { event: "page_view", user_id: markup, properties: { path: markup, [markup]: markup } },
      { event: markup, user_id: markup },
    ]),
  });
  expect(sent.status).toBe(200);
  const widget = (id: string, kind: string, x: number, source: object) =>
    ({ id, kind, title: markup, layout: { x, y: 0, w: 3, h: 6 }, source });
  const dashboard = await app.callFn("create_dashboard", {
    dashboard: { title: markup, widgets: [
      widget("f", "funnel", 0, { id: funnelId }),
      widget("e", "experiment", 3, { id: "xss" }),
      widget("t", "top_values", 6, { event: "page_view", property: "path" }),
      widget("n", "event_feed", 9, {}),
    ] },
    summary: markup,
  });

  await open(page, app.url("/analytics"));
  await expect(page.getByTestId("analytics-page")).toHaveAttribute("data-ready", "true");
  await expect(page.getByTestId("funnel-list")).toContainText(markup);
  await expect(page.getByTestId("experiment-list")).toContainText(markup);
  await expect(page.locator("main img, main script")).toHaveCount(0);

  await open(page, app.url(`/d/${dashboard.id}`));
  await expect(page.locator("[data-ready=true]")).toHaveCount(1);
  await expect(page.getByTestId("top-values")).toContainText(markup);
  await expect(page.getByTestId("event-feed")).toContainText(markup);
  await expect(page.locator('[data-testid="widget"][data-kind="Experiment"]')).toContainText(markup);
  await expect(page.locator('[data-testid="widget"][data-kind="Funnel"]')).toContainText(markup);
  await expect(page.locator("main img, main script")).toHaveCount(0);
  expect(await page.evaluate(() => (window as any).__injected)).toBeUndefined();
  expect(dialogs).toBe(0);
  expect(errors).toEqual([]);
});
