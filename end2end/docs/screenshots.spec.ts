// Makes the screenshots in docs/screenshots/ (the README and docs show them): every page, light
// and dark, desktop (1440×900, whole page) and phone (390×844 at 2×) width. A demo shop
// dashboard is fed live while they are taken. Run with `make screenshots`.
//
// docs/screenshots/<page>-<light|dark>-<desktop|phone>.png, for <page>:
//   view       a dashboard, live            editor     the editor, a widget's settings open
//   dashboards the dashboard list           values     every series and its value, live
//   explore    a query charted live         analytics  a funnel and an experiment defined
//   access     tokens and browsers listed   signin     the sign-in page
//   alerts     rules firing, one normal, their history and a contact point
//   share      a dashboard through a share link (no account)
// and analytics-demo-light-desktop.png: the demo's product analytics dashboard a minute after
// start.
import { Browser, BrowserContext, expect, Page, test } from "@playwright/test";
import { resolve } from "node:path";
import { Livedash, open } from "../tests/support/livedash";
import { ingest, serverFn, shopDashboard, shopTraffic } from "./demo";

const docs = resolve(__dirname, "../../docs");
const out = resolve(docs, "screenshots");

const devices = [
  ["desktop", { width: 1440, height: 900 }, 1],
  ["phone", { width: 390, height: 844 }, 2],
] as const;
const themes = ["light", "dark"] as const;

/** Lets the live data draw, then saves the page (the whole page on a desktop). */
async function shoot(page: Page, path: string, fullPage: boolean): Promise<void> {
  await page.waitForTimeout(1500);
  await page.screenshot({ path, fullPage });
}

/** Sends analytics events (page views, sign-ups, experiment goals) as a website would. */
async function sendEvents(app: Livedash, now: number): Promise<void> {
  const events = [];
  for (let user = 0; user < 300; user++) {
    const user_id = `visitor-${user}`;
    const ts = now - ((user * 7919) % 3_000_000);
    events.push({ event: "page_view", user_id, ts, properties: { path: "/pricing" } });
    if (user % 3 !== 0) events.push({ event: "signup_started", user_id, ts: ts + 20_000, properties: { plan: user % 2 ? "pro" : "team" } });
    if (user % 5 < 2) events.push({ event: "signup_completed", user_id, ts: ts + 60_000 });
  }
  const response = await fetch(app.url("/api/v1/events"), {
    method: "POST",
    headers: { "content-type": "application/json", ...app.authHeaders() },
    body: JSON.stringify(events),
  });
  if (response.status !== 200) throw new Error(`events: ${response.status} ${await response.text()}`);
}

/** The funnel, the experiment, the tokens and the share link the pages list. */
async function definitions(app: Livedash, dashboardId: string): Promise<string> {
  await serverFn(app, "change_analytics", {
    change: { CreateFunnel: { funnel: { name: "Pricing to sign-up", window_ms: 1_800_000, steps: [
      { event: "page_view", filter: ["path", "/pricing"] }, { event: "signup_started" }, { event: "signup_completed" }] },
    backfill: true } },
  });
  await serverFn(app, "change_analytics", {
    change: { CreateExperiment: { experiment: { id: "pricing-layout", name: "Pricing page layout",
      goal_event: "signup_completed", variants: [
        { name: "control", weight: 40 }, { name: "annual-first", weight: 20 },
        { name: "monthly-first", weight: 20 }, { name: "no-prices", weight: 20 }] } } },
  });
  await serverFn(app, "create_token", { role: "ingest", label: "shop services", scope: "both" });
  await serverFn(app, "create_token", { role: "ingest", label: "marketing site (track.js)", scope: "events" });
  await serverFn(app, "create_token", { role: "viewer", label: "nightly report" });
  await serverFn(app, "alerts", { call: { SaveContact: { contact: { name: "on-call", kind: "slack", url: "https://hooks.example/on-call", mute: "Mon-Fri 22:00-07:00; Sat-Sun 00:00-24:00" }, create: true } } });
  const rule = (name: string, selector: string, raise: number, groupBy: string[]) => ({ SaveRule: {
    id: "", name, source: { kind: "metric", selector, aggregation: { fn: "avg" }, window_ms: 300_000, group_by: groupBy },
    condition: { op: "above", critical: { raise } }, summary: "{{ $labels.route }} at {{ $value }} ms",
    contact_points: ["on-call"], dashboard: dashboardId } });
  await serverFn(app, "alerts", { call: rule("Checkout slow", 'http_latency_ms{route="/checkout"}', 1, []) });
  await serverFn(app, "alerts", { call: rule("Latency by route", "http_latency_ms", 100_000, ["route"]) });
  // On the latency chart's own query: the chart draws its level and marks when it fired.
  await serverFn(app, "alerts", { call: rule("Shop latency over 60 ms", "http_latency_ms", 60, []) });
  const share = await serverFn(app, "create_share_link", { id: dashboardId, label: "wall screen", expires_in_ms: 7 * 86_400_000 });
  return share.token;
}

/** A new browser context of `theme` and size, signed in as the admin unless `anonymous`. */
async function context(
  browser: Browser, app: Livedash, theme: "light" | "dark",
  viewport: { width: number; height: number }, deviceScaleFactor: number, anonymous = false,
): Promise<BrowserContext> {
  const made = await browser.newContext({ colorScheme: theme, viewport, deviceScaleFactor });
  if (!anonymous) await app.signIn(made);
  return made;
}

/** The Values page, live, with its rows. */
async function values(page: Page, app: Livedash): Promise<void> {
  await open(page, app.url("/"));
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  await expect(page.locator("tr[data-series]").first()).toBeVisible();
}

/** Explore, charting a query live. */
async function explore(page: Page, app: Livedash): Promise<void> {
  await open(page, app.url("/explore?q=http_latency_ms&fn=avg&step=30s&window=15m"));
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  await expect.poll(async () => Number(await page.getByTestId("chart").getAttribute("data-points"))).toBeGreaterThan(10);
}

test("screenshots", async ({ browser }) => {
  const app = await Livedash.start();
  try {
    const now = Date.now();
    await ingest(app, shopTraffic(now, 3_600_000, 15_000));
    await sendEvents(app, now);
    const created = await serverFn(app, "create_dashboard", { dashboard: shopDashboard(), summary: "Created" });
    await serverFn(app, "create_dashboard", { dashboard: { title: "Checkout", description: "", widgets: [] }, summary: "Created" });
    const shareToken = await definitions(app, created.id);
    // New points keep arriving while the pictures are taken, as they would.
    let last = now;
    const feed = setInterval(() => {
      const ts = Date.now();
      void ingest(app, shopTraffic(ts, ts - last - 1, 1_000)).catch(() => {});
      last = ts;
    }, 1000);
    try {
      for (const theme of themes) {
        for (const [device, viewport, scale] of devices) {
          const full = device === "desktop";
          const name = (page: string) => `${out}/${page}-${theme}-${device}.png`;
          const signedIn = await context(browser, app, theme, viewport, scale);
          const page = await signedIn.newPage();

          // A dashboard, live (the README's first picture).
          await open(page, app.url(`/d/${created.id}`));
          await expect(page.getByTestId("dashboard-view")).toHaveAttribute("data-ready", "true");
          await expect(page.getByTestId("live-status")).toHaveText("Live");
          await expect(page.getByTestId("stat-value").first()).not.toHaveText("–");
          await expect(page.locator(".alert-marks line.alert-level")).toHaveCount(1);
          await shoot(page, name("view"), full);

          // The editor, a chart's settings open.
          await open(page, app.url(`/d/${created.id}/edit`));
          await expect(page.getByTestId("editor")).toHaveAttribute("data-ready", "true");
          await page.locator('[data-widget="latency"]').getByTestId("widget-head").click();
          await expect(page.getByTestId("side-panel")).toBeVisible();
          await shoot(page, name("editor"), full);

          // The dashboard list.
          await open(page, app.url("/dashboards"));
          await expect(page.getByTestId("dashboard-link")).toHaveCount(2);
          await shoot(page, name("dashboards"), full);

          await values(page, app);
          await shoot(page, name("values"), full);

          await explore(page, app);
          await shoot(page, name("explore"), full);

          // Analytics, with a funnel and an experiment defined.
          await open(page, app.url("/analytics"));
          await expect(page.getByTestId("analytics-page")).toHaveAttribute("data-ready", "true");
          await expect(page.getByTestId("funnel-list").locator("li")).toHaveCount(1);
          await expect(page.getByTestId("experiment-list").locator("li")).toHaveCount(1);
          await shoot(page, name("analytics"), full);

          // Access, with tokens and signed-in browsers listed.
          await open(page, app.url("/access"));
          await expect(page.getByTestId("tokens")).toContainText("nightly report");
          await expect(page.getByTestId("sessions")).toBeVisible();
          await shoot(page, name("access"), full);

          // Alerts: two rules firing, one normal per route, the history.
          await open(page, app.url("/alerts"));
          await expect(page.getByTestId("alert-instance")).toHaveCount(2);
          await expect(page.getByTestId("alert-rule")).toHaveCount(3);
          await shoot(page, name("alerts"), full);
          await signedIn.close();

          // Without an account: the sign-in page, and a dashboard through a share link.
          const anonymous = await context(browser, app, theme, viewport, scale, true);
          const stranger = await anonymous.newPage();
          await open(stranger, app.url("/login"));
          await expect(stranger.getByTestId("login-token")).toBeVisible();
          await shoot(stranger, name("signin"), false);
          await open(stranger, app.url(`/s/${shareToken}`));
          await expect(stranger.getByTestId("dashboard-view")).toHaveAttribute("data-ready", "true");
          await expect(stranger.getByTestId("live-status")).toHaveText("Live");
          await expect(stranger.getByTestId("stat-value").first()).not.toHaveText("–");
          await shoot(stranger, name("share"), full);
          await anonymous.close();
        }
      }
    } finally {
      clearInterval(feed);
    }
  } finally {
    await app.dispose();
  }

  // The demo's product analytics dashboard, a minute after start.
  const demo = await Livedash.start(["--demo"]);
  try {
    const started = Date.now();
    const made = await context(browser, demo, "light", { width: 1280, height: 900 }, 1);
    const page = await made.newPage();
    await open(page, demo.url("/dashboards"));
    await page.getByRole("link", { name: "Product analytics (demo)" }).click();
    await expect(page.getByTestId("dashboard-view")).toHaveAttribute("data-ready", "true");
    await expect(page.getByTestId("live-status")).toHaveText("Live");
    await page.waitForTimeout(Math.max(0, 60_000 - (Date.now() - started)));
    await shoot(page, `${out}/analytics-demo-light-desktop.png`, true);
    await made.close();
  } finally {
    await demo.dispose();
  }
});
