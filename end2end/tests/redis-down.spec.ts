// Redis goes away under an open page: the page says so in a banner, writes are refused with
// 503 and Retry-After, and everything comes back by itself when Redis does.
import { expect, test } from "@playwright/test";
import { Livedash, open, watchErrors } from "./support/livedash";
import { RedisServer } from "./support/redis";

let redis: RedisServer;
let app: Livedash;

test.beforeEach(async () => {
  redis = await RedisServer.start();
  app = await Livedash.start([], { REDIS_URL: redis.url() });
});

test.afterEach(async ({}, testInfo) => {
  await app.dispose(testInfo);
  await redis.dispose();
});

test("a banner shows while Redis is down, and the page recovers by itself", async ({ page }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  await open(page, app.url());
  const status = page.getByTestId("live-status");
  await expect(status).toHaveText("Live");
  const banner = page.getByTestId("storage-banner");
  await expect(banner).toHaveCount(0);
  expect((await app.ingest([{ name: "e2e_redis_down", value: 1 }])).status).toBe(200);
  const value = page.locator("tr[data-series='e2e_redis_down'] .value");
  await expect(value).toHaveText("1");

  await redis.kill();
  await expect(banner).toBeVisible({ timeout: 15_000 });
  await expect(banner).toContainText("Storage unavailable");
  await expect(banner).toContainText("cannot reach Redis");
  await expect(status).toContainText("Delayed");
  // Writes are refused, never acknowledged while nothing can store them.
  const refused = await fetch(app.url("/api/v1/ingest"), {
    method: "POST",
    headers: { "content-type": "application/json", ...app.authHeaders() },
    body: JSON.stringify([{ name: "e2e_redis_down", value: 2 }]),
  });
  expect(refused.status).toBe(503);
  expect(refused.headers.get("retry-after")).toBe("1");
  expect((await refused.json()).error).toContain("storage unavailable");
  // What the page showed stays.
  await expect(value).toHaveText("1");

  await redis.startAgain();
  await expect(banner).toHaveCount(0, { timeout: 20_000 });
  await expect(status).toHaveText("Live");
  expect((await app.ingest([{ name: "e2e_redis_down", value: 3 }])).status).toBe(200);
  await expect(value).toHaveText("3");
  expect(errors).toEqual([]);
});
