// Web analytics in Chromium: a static site on another origin with the snippet; a visitor from a
// campaign link reads three pages, and the site's Web analytics dashboard shows one visit with
// its source, pages, duration and device, live; a click on a source filters every web widget;
// a person's timeline shows their events.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect, Locator, Page, test } from "@playwright/test";
import { Livedash, open, watchErrors } from "./support/livedash";

let app: Livedash;
const DESKTOP_CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
const PAGES: Record<string, string> = {
  "/": "Home",
  "/pricing": "Pricing",
  "/signup": "Sign up",
};

test.afterEach(async ({}, testInfo) => {
  await app.dispose(testInfo);
});

/** The shop: three pages linking to each other, each with the snippet (`data-site`). */
async function startShop(ingestToken: string): Promise<{ origin: string; close: () => void }> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://shop").pathname;
    const title = PAGES[path];
    if (!title) {
      response.writeHead(404).end();
      return;
    }
    const links = Object.entries(PAGES)
      .map(([href, name]) => `<a href="${href}">${name}</a>`)
      .join(" ");
    response.writeHead(200, { "content-type": "text/html" });
    response.end(`<!doctype html><title>${title}</title><nav>${links}</nav><h1>${title}</h1>` +
      `<script defer src="${app.url("/track.js")}" data-token="${ingestToken}" data-site="shop.test"></script>`);
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => server.close(),
  };
}

function ranking(page: Page, name: string): Locator {
  return page.locator(`[data-testid="web-ranking"][data-ranking="${name}"]`);
}

/** The rows of a ranking as "value count" lines. */
async function rows(page: Page, name: string): Promise<string[]> {
  const table = ranking(page, name);
  if ((await table.count()) === 0) return [];
  return table.locator("tbody tr").evaluateAll((trs) =>
    trs.map((tr) => `${tr.querySelector("[data-testid=web-row]")?.getAttribute("data-value")} ` +
      `${tr.querySelector("[data-testid=web-row-count]")?.textContent}`));
}

test("a visit from a campaign shows on the site's Web analytics dashboard, live, and filters by source", async ({ page, browser }) => {
  app = await Livedash.start();
  await app.signIn(page.context());
  const errors = watchErrors(page);
  const ingestToken = await app.createToken("ingest", "shop website");
  const shop = await startShop(ingestToken);

  // Before any page view: the page says how to add a site.
  await open(page, app.url("/analytics"));
  await expect(page.getByTestId("no-sites")).toBeVisible();

  // A visitor on a desktop follows a newsletter's link to the home page.
  const visitor = await (await browser.newContext({ userAgent: DESKTOP_CHROME })).newPage();
  await visitor.goto(`${shop.origin}/?utm_source=newsletter&utm_medium=email&utm_campaign=launch`);
  await expect.poll(() => visitor.evaluate(() => localStorage.getItem("livedash:uid"))).toMatch(/^[0-9a-f]{32}$/);
  const uid = (await visitor.evaluate(() => localStorage.getItem("livedash:uid")))!;

  // The site is listed; its dashboard is made on first use, from ordinary widgets.
  await expect.poll(async () => {
    await open(page, app.url("/analytics"));
    return page.getByTestId("open-site").count();
  }, { timeout: 15_000 }).toBe(1);
  await expect(page.getByTestId("open-site")).toHaveText("shop.test");
  await page.getByTestId("open-site").click();
  await expect(page).toHaveURL(/\/d\/[0-9a-f]{16}$/);
  await expect(page.getByTestId("dashboard-title")).toHaveText("Web analytics: shop.test");
  const dashboardUrl = page.url();

  const stat = (name: string) => page.getByTestId(`web-${name}`);
  await expect(stat("visits")).toHaveText("1", { timeout: 15_000 });
  await expect(stat("pageviews")).toHaveText("1");
  await expect(stat("visitors")).toHaveText("1");
  await expect(stat("bounce-rate")).toHaveText("100.0%");
  await expect(stat("current")).toHaveText("1");
  await expect.poll(() => rows(page, "channel")).toEqual(["email 1"]);
  expect(await rows(page, "utm_campaign")).toEqual(["launch 1"]);
  expect(await rows(page, "device")).toEqual(["desktop 1"]);
  expect(await rows(page, "browser")).toEqual(["Chrome 1"]);
  expect(await rows(page, "entry")).toEqual(["/ 1"]);

  // The visitor reads two more pages, by the site's links; the open dashboard follows without
  // a reload.
  await page.evaluate(() => ((window as any).__notReloaded = true));
  await visitor.waitForTimeout(1_100);
  await visitor.getByRole("link", { name: "Pricing" }).click();
  await expect(visitor).toHaveTitle("Pricing");
  await visitor.waitForTimeout(1_100);
  await visitor.getByRole("link", { name: "Sign up" }).click();
  await expect(visitor).toHaveTitle("Sign up");
  await expect(stat("pageviews")).toHaveText("3", { timeout: 15_000 });
  await expect(stat("visits")).toHaveText("1");
  await expect(stat("bounce-rate")).toHaveText("0.0%");
  await expect(stat("views-per-visit")).toHaveText("3.0");
  await expect(stat("visit-duration")).not.toHaveText("0 s");
  await expect(stat("visit-duration")).toHaveText(/^\d+(\.\d+)? s$/);
  await expect.poll(() => rows(page, "page")).toEqual(["/ 1", "/pricing 1", "/signup 1"]);
  await expect.poll(() => rows(page, "exit")).toEqual(["/signup 1"]);
  expect(await rows(page, "entry")).toEqual(["/ 1"]);
  expect(await rows(page, "channel")).toEqual(["email 1"]);
  expect(await page.evaluate(() => (window as any).__notReloaded)).toBe(true);
  await expect(stat("bounce-rate").locator("..")).toHaveAttribute("title", /single page view/);

  // A second visitor, on a phone, from a search engine, reads one page.
  const phone = await (await browser.newContext({ userAgent: IPHONE })).newPage();
  await phone.goto(`${shop.origin}/pricing`, { referer: "https://www.google.com/" });
  await expect(stat("visits")).toHaveText("2", { timeout: 15_000 });
  await expect.poll(() => rows(page, "channel")).toEqual(["email 1", "organic_search 1"]);
  await expect(ranking(page, "channel").getByTestId("web-row").nth(1)).toHaveText("Organic search");
  expect(await rows(page, "device")).toEqual(["desktop 1", "mobile 1"]);

  // A click on a source filters every web widget, and the address keeps the filter.
  await ranking(page, "channel").getByTestId("web-row").filter({ hasText: "Email" }).click();
  await expect(page).toHaveURL(/filter=channel%3Demail/);
  await expect(page.getByTestId("web-filter")).toHaveText(/Channels: Email/);
  await expect(stat("visits")).toHaveText("1");
  await expect(stat("pageviews")).toHaveText("3");
  await expect(stat("visitors")).toHaveText("1");
  await expect.poll(() => rows(page, "device")).toEqual(["desktop 1"]);
  expect(await rows(page, "channel")).toEqual(["email 1"]);
  expect(await rows(page, "page")).toEqual(["/ 1", "/pricing 1", "/signup 1"]);
  expect(await rows(page, "browser")).toEqual(["Chrome 1"]);
  await expect(ranking(page, "channel").locator("tr.active")).toHaveCount(1);
  await page.screenshot({ path: test.info().outputPath("web-filtered.png"), fullPage: true });
  // Another filter, by a page, narrows further; then both go.
  await ranking(page, "device").getByTestId("web-row").filter({ hasText: "desktop" }).click();
  await expect(page.getByTestId("web-filter")).toHaveCount(2);
  await expect(stat("visits")).toHaveText("1");
  await page.getByTestId("web-filter").filter({ hasText: "Channels" }).click();
  await expect(page.getByTestId("web-filter")).toHaveCount(1);
  await expect(stat("visits")).toHaveText("1");
  await page.getByTestId("web-filters-clear").click();
  await expect(page.getByTestId("web-filters")).toHaveCount(0);
  await expect(stat("visits")).toHaveText("2");
  await page.screenshot({ path: test.info().outputPath("web-dashboard.png"), fullPage: true });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: test.info().outputPath("web-dashboard-dark.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: test.info().outputPath("web-dashboard-phone-dark.png"), fullPage: true });
  await page.emulateMedia({ colorScheme: "light" });
  await page.screenshot({ path: test.info().outputPath("web-dashboard-phone.png"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });

  // It is an ordinary dashboard: the editor adds another web ranking, of the site's systems.
  await page.getByTestId("edit").click();
  await expect(page.getByTestId("editor")).toHaveAttribute("data-ready", "true");
  await page.getByTestId("palette-web_ranking").click();
  await page.getByTestId("source-site").fill("shop.test");
  await page.getByTestId("source-ranking").selectOption("os");
  const added = page.locator('[data-testid="widget"][data-kind="WebRanking"]').last();
  await expect.poll(() => added.getByTestId("web-row").evaluateAll((found) =>
    found.map((row) => row.getAttribute("data-value")))).toEqual(["Windows", "iOS"]);
  await page.getByTestId("save").click();
  await expect(page.getByTestId("editor-message")).toHaveText("Saved as version 2.");

  // Opening the site again finds the same dashboard.
  await open(page, app.url("/analytics"));
  await page.getByTestId("open-site").click();
  await expect(page).toHaveURL(dashboardUrl);

  // The feed links each user to their timeline: the first visitor's three page views, newest
  // first, with the campaign.
  const feedUser = page.getByTestId("feed-user").filter({ hasText: uid }).first();
  await expect(feedUser).toBeVisible({ timeout: 15_000 });
  await feedUser.click();
  await expect(page.getByTestId("person-id")).toHaveText(uid);
  const timeline = page.getByTestId("timeline-event");
  await expect(timeline).toHaveCount(3);
  await expect(timeline.locator(".timeline-page")).toHaveText(["/signup", "/pricing", "/"]);
  await expect(page.getByTestId("person-visits")).toHaveText("1");
  await expect(page.getByTestId("person-source")).toContainText("utm_campaign: launch");
  await page.screenshot({ path: test.info().outputPath("person.png"), fullPage: true });
  await page.getByTestId("person-back").click();
  await expect(page.getByTestId("web-sites-section")).toBeVisible();
  await expect(page.getByTestId("analytics-page")).toBeVisible();

  // The same person found by their id on the Analytics page; an unknown id is named.
  await open(page, app.url("/analytics"));
  await page.getByTestId("person-search").fill("nobody-at-all");
  await page.getByTestId("person-find").click();
  await expect(page.getByTestId("person-error")).toContainText("nobody-at-all");
  await open(page, app.url("/analytics"));
  await page.getByTestId("person-search").fill(uid);
  await page.getByTestId("person-find").click();
  await expect(page.getByTestId("timeline-event")).toHaveCount(3);

  await visitor.context().close();
  await phone.context().close();
  shop.close();
  // The unknown person's 404, and nothing else.
  expect(errors.filter((error) => !error.includes("404"))).toEqual([]);
});
