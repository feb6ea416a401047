// Access control in a real browser: the one-time sign-in link printed at first start, the
// Access page (tokens, sign-in links, signed-in browsers), a viewer without edit controls, a
// revoked browser told at once, injection attempts staying inert, and LIVEDASH_AUTH=off.
import { expect, test } from "@playwright/test";
import { Livedash, open, reload, watchErrors } from "./support/livedash";

let app: Livedash;

test.afterEach(async ({}, testInfo) => {
  await app?.dispose(testInfo);
});

const INJECTION = `<img src=x onerror="window.__injected=1">`;

test("first start prints a one-time sign-in link; an admin invites a viewer and revokes them", async ({ page, browser }) => {
  // No admin token configured: livedash prints a one-time sign-in link, as Jupyter does.
  app = await Livedash.start([], { LIVEDASH_ADMIN_TOKEN: "" });
  const errors = watchErrors(page);
  await expect.poll(() => /open (http:\/\/\S+\/login\/link\?code=[0-9a-f]{32})/.exec(app.output())?.[1]).toBeTruthy();
  const link = /open (http:\/\/\S+\/login\/link\?code=[0-9a-f]{32})/.exec(app.output())![1];

  // Nobody else gets in: a fresh browser is sent to sign in.
  await open(page, app.url("/dashboards"));
  await expect(page).toHaveURL(/\/login\?next=\/dashboards$/);
  await expect(page.getByTestId("login-token")).toBeVisible();

  // One click on the printed link signs the newcomer in as admin.
  await open(page, link);
  await expect(page.getByTestId("role")).toHaveText("admin");
  // The link works once.
  const late = await browser.newContext();
  const latePage = await late.newPage();
  await open(latePage, link);
  await expect(latePage.getByTestId("login-error")).toContainText("already used");
  await late.close();

  // A dashboard, and an ingest token whose label tries to inject markup.
  await open(page, app.url("/dashboards"));
  await page.getByTestId("new-dashboard-title").fill("Team board");
  await page.getByRole("button", { name: "Create" }).click();
  await expect(page.getByTestId("editor")).toHaveAttribute("data-ready", "true");
  await page.getByTestId("access-link").click();
  await expect(page).toHaveURL(/\/access$/);
  await page.getByTestId("token-label").fill(INJECTION);
  await page.getByTestId("token-role").selectOption("ingest");
  await page.getByTestId("create-token").click();
  const token = await page.getByTestId("new-token").inputValue();
  expect(token).toMatch(/^ldt_[0-9a-f]{32}$/);
  await expect(page.getByTestId("tokens")).toContainText(INJECTION);
  // The token writes metrics, and only that.
  const written = await fetch(app.url("/api/v1/ingest"), {
    method: "POST",
    headers: { authorization: `Token ${token}`, "content-type": "application/json" },
    body: JSON.stringify([{ name: "acl_e2e", value: 1 }]),
  });
  expect(written.status).toBe(200);
  const read = await fetch(app.url("/api/v1/series"), { headers: { authorization: `Token ${token}` } });
  expect(read.status).toBe(403);

  // A one-time sign-in link for a viewer, opened in another browser.
  await page.getByTestId("login-link-label").fill(`Ada ${INJECTION}`);
  await page.getByTestId("login-link-role").selectOption("viewer");
  await page.getByTestId("create-login-link").click();
  const invite = await page.getByTestId("new-login-link").inputValue();
  const viewerContext = await browser.newContext();
  const viewer = await viewerContext.newPage();
  const viewerErrors = watchErrors(viewer);
  await open(viewer, invite);
  await expect(viewer.getByTestId("role")).toHaveText("viewer");
  await open(viewer, app.url("/dashboards"));
  await expect(viewer.getByTestId("dashboard-link")).toHaveText("Team board");
  // A viewer reads but has no edit controls, and the server refuses edits anyway.
  await expect(viewer.getByTestId("new-dashboard-title")).toHaveCount(0);
  await expect(viewer.getByRole("button", { name: "Delete" })).toHaveCount(0);
  await viewer.getByTestId("dashboard-link").click();
  await expect(viewer.getByTestId("dashboard-view")).toHaveAttribute("data-ready", "true");
  await expect(viewer.getByTestId("edit")).toHaveCount(0);
  await expect(viewer.getByTestId("open-share")).toHaveCount(0);
  await expect(viewer.getByTestId("access-link")).toHaveCount(0);

  // The admin sees the viewer's browser in the list (the label shown as text) and signs it out.
  await reload(page);
  const sessions = page.getByTestId("sessions");
  await expect(sessions).toContainText(`Ada ${INJECTION}`);
  await sessions.locator("tr", { hasText: "Ada" }).getByTestId("revoke-session").click();
  await expect(sessions.locator("tr", { hasText: "Ada" })).toHaveCount(0);
  // The viewer's open dashboard is told at once: its live socket was closed with the reason.
  await expect(viewer.getByTestId("access-ended")).toContainText("revoked", { timeout: 5_000 });
  await reload(viewer);
  await expect(viewer).toHaveURL(/\/login/);

  expect(await page.evaluate(() => (window as any).__injected)).toBeUndefined();
  expect(await viewer.evaluate(() => (window as any).__injected)).toBeUndefined();
  expect(errors).toEqual([]);
  expect(viewerErrors.filter((error) => !/401|Unauthorized/.test(error))).toEqual([]);
  await viewerContext.close();
});

test("with LIVEDASH_AUTH=off every page warns that access control is off", async ({ page }) => {
  app = await Livedash.start([], { LIVEDASH_AUTH: "off" });
  const errors = watchErrors(page);
  await open(page, app.url("/dashboards"));
  await expect(page.getByTestId("auth-off-banner")).toContainText("LIVEDASH_AUTH=off");
  await expect(page.getByTestId("new-dashboard-title")).toBeVisible();
  expect(errors).toEqual([]);
});
