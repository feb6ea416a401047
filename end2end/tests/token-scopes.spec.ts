// Ingest token scopes on the Access page: an admin makes an events-only token (the one for web
// pages) through the page's controls, sees its scope in the list, and the token sends events but
// cannot write metrics. Set SCREENSHOT_DIR to also save the page, light and dark, desktop and
// phone.
import { expect, test } from "@playwright/test";
import { Livedash, open, watchErrors } from "./support/livedash";

let app: Livedash;

test.afterEach(async ({}, testInfo) => {
  await app?.dispose(testInfo);
});

test("an events-only token for a web page is made on the Access page and can only send events", async ({ browser }) => {
  app = await Livedash.start();
  const context = await browser.newContext();
  await app.signIn(context);
  const page = await context.newPage();
  const errors = watchErrors(page);
  await open(page, app.url("/access"));

  // The page says which token belongs in a web page.
  await expect(page.getByTestId("web-page-token-note")).toContainText("events only");
  // The scope is offered for ingest tokens only.
  await page.getByTestId("token-role").selectOption("viewer");
  await expect(page.getByTestId("token-scope")).toHaveCount(0);
  await page.getByTestId("token-role").selectOption("ingest");
  await expect(page.getByTestId("token-scope")).toHaveValue("both");

  await page.getByTestId("token-label").fill("Marketing site");
  await page.getByTestId("token-scope").selectOption("events");
  await page.getByTestId("create-token").click();
  const token = await page.getByTestId("new-token").inputValue();
  expect(token).toMatch(/^ldt_[0-9a-f]{32}$/);
  const row = page.getByTestId("tokens").locator("tr", { hasText: "Marketing site" });
  await expect(row.getByTestId("token-scope-cell")).toHaveText("events only");

  // A services token that writes both, listed as such.
  await page.getByTestId("token-label").fill("Services");
  await page.getByTestId("token-scope").selectOption("both");
  await page.getByTestId("create-token").click();
  await expect(
    page.getByTestId("tokens").locator("tr", { hasText: "Services" }).getByTestId("token-scope-cell"),
  ).toHaveText("metrics and events");

  // The events-only token: events yes, metrics no (403 naming its scope).
  const sent = await fetch(app.url(`/api/v1/events?token=${token}`), {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: JSON.stringify([{ event: "page_view", user_id: "u1", properties: { path: "/" } }]),
  });
  expect(sent.status).toBe(200);
  const written = await fetch(app.url("/api/v1/ingest"), {
    method: "POST",
    headers: { authorization: `Token ${token}`, "content-type": "application/json" },
    body: JSON.stringify([{ name: "from_a_web_page", value: 1 }]),
  });
  expect(written.status).toBe(403);
  expect((await written.json()).error).toContain("scope is events");

  const shots = process.env.SCREENSHOT_DIR;
  if (shots) {
    for (const theme of ["light", "dark"] as const) {
      for (const [device, viewport] of [["desktop", { width: 1440, height: 1000 }], ["phone", { width: 390, height: 844 }]] as const) {
        const shotContext = await browser.newContext({ colorScheme: theme, viewport, deviceScaleFactor: device === "phone" ? 2 : 1 });
        await app.signIn(shotContext);
        const shot = await shotContext.newPage();
        await open(shot, app.url("/access"));
        await shot.getByTestId("token-role").selectOption("ingest");
        await shot.getByTestId("token-scope").selectOption("events");
        await expect(shot.getByTestId("tokens")).toContainText("events only");
        await shot.screenshot({ path: `${shots}/access-${theme}-${device}.png`, fullPage: true });
        await shotContext.close();
      }
    }
  }
  expect(errors).toEqual([]);
  await context.close();
});
