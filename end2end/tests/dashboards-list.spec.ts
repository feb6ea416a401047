import { readFileSync } from "node:fs";
import { expect, Page, test } from "@playwright/test";
import { Livedash, open, reload, watchErrors } from "./support/livedash";

let app: Livedash;

test.beforeEach(async () => {
  app = await Livedash.start();
});

test.afterEach(async ({}, testInfo) => {
  await app.dispose(testInfo);
});

function rows(page: Page) {
  return page.locator("table.dashboards tbody tr");
}

function row(page: Page, title: string) {
  const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  return rows(page).filter({ has: page.locator("td.title", { hasText: exact }) });
}

async function create(page: Page, title: string) {
  await page.getByTestId("new-dashboard-title").fill(title);
  await page.getByRole("button", { name: "Create" }).click();
  // A new dashboard opens in the editor.
  await expect(page.getByTestId("dashboard-title-input")).toHaveValue(title);
  await open(page, app.url("/dashboards"));
  await expect(row(page, title)).toHaveCount(1);
}

test("dashboards are created, searched, duplicated, exported, imported and deleted", async ({ page }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  let dialogs = 0;
  page.on("dialog", async (dialog) => {
    dialogs += 1;
    await dialog.dismiss();
  });
  await open(page, app.url("/dashboards"));
  await expect(page.getByText("No dashboards yet")).toBeVisible();
  // The list is a lazily loaded page: the server names its WASM chunk for the browser to preload.
  await expect(page.locator('link[rel="preload"][href*="split___dashboards_route_view_"]')).toHaveCount(1);

  // A title with markup is shown as text.
  const markup = "<img src=x onerror=alert(1)>";
  await create(page, markup);
  await expect(row(page, markup).locator("td.title")).toHaveText(markup);
  await expect(page.locator("table.dashboards img")).toHaveCount(0);

  await create(page, "Ops overview");
  await create(page, "Checkout funnel");
  await expect(rows(page)).toHaveCount(3);

  // Search filters by title, ignoring case.
  await page.getByTestId("dashboard-search").fill("OPS");
  await expect(rows(page)).toHaveCount(1);
  await expect(rows(page).locator("td.title")).toHaveText("Ops overview");
  await page.getByTestId("dashboard-search").fill("");
  await expect(rows(page)).toHaveCount(3);

  // Duplicate.
  await row(page, "Ops overview").getByRole("button", { name: "Duplicate" }).click();
  await expect(row(page, "Copy of Ops overview")).toHaveCount(1);

  // Export downloads the dashboard as JSON.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    row(page, "Ops overview").getByRole("link", { name: "Export" }).click(),
  ]);
  expect(download.suggestedFilename()).toBe("ops-overview.json");
  const exported = JSON.parse(readFileSync(await download.path(), "utf8"));
  expect(exported.title).toBe("Ops overview");
  expect(exported.version).toBe(1);

  // Import it back under another title: a new dashboard.
  exported.title = "Imported board";
  await page.getByTestId("import-dashboard").setInputFiles({
    name: "board.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify(exported)),
  });
  await expect(row(page, "Imported board")).toHaveCount(1);
  // A file that is not a dashboard is refused with a reason.
  await page.getByTestId("import-dashboard").setInputFiles({
    name: "notes.json",
    mimeType: "application/json",
    buffer: Buffer.from('{"widgets": []}'),
  });
  await expect(page.getByTestId("dashboard-error")).toContainText("notes.json is not a livedash dashboard");
  await expect(rows(page)).toHaveCount(5);

  // Delete asks first; cancel keeps it.
  const copy = row(page, "Copy of Ops overview");
  await copy.getByRole("button", { name: "Delete" }).click();
  await expect(copy).toContainText("and its history?");
  await copy.getByRole("button", { name: "Cancel" }).click();
  await expect(rows(page)).toHaveCount(5);
  await copy.getByRole("button", { name: "Delete" }).click();
  await copy.getByRole("button", { name: "Delete for good" }).click();
  await expect(row(page, "Copy of Ops overview")).toHaveCount(0);
  await expect(rows(page)).toHaveCount(4);

  // The list is stored: a reload (rendered on the server) shows the same.
  await reload(page);
  await expect(rows(page)).toHaveCount(4);
  await expect(row(page, markup).locator("td.title")).toHaveText(markup);
  expect(dialogs).toBe(0);
  expect(errors).toEqual([]);
});
