import { expect, Page, test } from "@playwright/test";
import { Livedash, open, reload, watchErrors } from "./support/livedash";

let app: Livedash;

test.beforeEach(async () => {
  app = await Livedash.start();
});

test.afterEach(async ({}, testInfo) => {
  await app.dispose(testInfo);
});

function row(page: Page, series: string) {
  return page.locator(`tr[data-series='${series}']`);
}

test("a posted value appears without a reload, and the page reconnects after a restart", async ({ page }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  await open(page, app.url());
  const status = page.getByTestId("live-status");
  await expect(status).toHaveText("Live");
  // A marker that a reload would wipe out.
  await page.evaluate(() => ((window as any).__sameDocument = true));

  const series = 'e2e_temperature{room="lab"}';
  expect((await app.ingest([{ name: "e2e_temperature", labels: { room: "lab" }, value: 42.5 }])).status).toBe(200);
  await expect(row(page, series).locator(".value")).toHaveText("42.5");

  // Restart the server: the socket is closed with a reason, the client says so and retries.
  await app.stop();
  await expect(status).toContainText("Reconnecting");
  await expect(status).toContainText("server shutting down");
  await app.launch();
  await expect(status).toHaveText("Live", { timeout: 20_000 });

  expect((await app.ingest([{ name: "e2e_temperature", labels: { room: "lab" }, value: 43.75 }])).status).toBe(200);
  // Shown with three significant digits; the exact value is the cell's title.
  await expect(row(page, series).locator(".value")).toHaveText("43.8");
  await expect(row(page, series).locator(".value")).toHaveAttribute("title", "43.75");
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  expect(errors).toEqual([]);
});

test("a reload shows the stored values, rendered on the server", async ({ page, request }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  const ts = Date.now() - 60_000;
  const written = await app.ingest([
    { name: "disk_free_bytes", labels: { host: "b", mount: "/" }, value: 1234567, ts },
    { name: "e2e_up", value: 1 },
  ]);
  expect(written).toEqual({ status: 200, body: { accepted: 2 } });

  const html = await (await request.get(app.url(), { headers: app.authHeaders() })).text();
  expect(html).toContain("disk_free_bytes");
  expect(html).toContain("1.23 M");
  expect(html).toContain('data-value="1234567"');

  await open(page, app.url());
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  const disk = row(page, 'disk_free_bytes{host="b",mount="/"}');
  await expect(disk.locator(".value")).toHaveText("1.23 M");
  await expect(disk).toContainText("host=b");
  await expect(disk.locator(".time")).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
  await reload(page);
  await expect(disk.locator(".value")).toHaveText("1.23 M");
  await expect(row(page, "e2e_up").locator(".value")).toHaveText("1");
  expect(errors).toEqual([]);
});

test("an empty instance explains how to send the first point", async ({ page }) => {
  await app.signIn(page.context());
  await open(page, app.url());
  await expect(page.getByText("No series yet")).toBeVisible();
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  await app.ingest({ name: "first_point", value: 7 });
  await expect(row(page, "first_point").locator(".value")).toHaveText("7");
  await expect(page.getByText("No series yet")).toHaveCount(0);
});
