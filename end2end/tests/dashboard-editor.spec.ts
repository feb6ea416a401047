import { expect, Locator, Page, test } from "@playwright/test";
import { Livedash, open, reload, watchErrors } from "./support/livedash";

let app: Livedash;

test.beforeEach(async () => {
  app = await Livedash.start();
});

test.afterEach(async ({}, testInfo) => {
  await app.dispose(testInfo);
});

/** Writes one point a second of `name` for the last `seconds` seconds, with `labels`. */
async function writeRecent(name: string, seconds: number, labels: Record<string, string> = {}) {
  const now = Math.floor(Date.now() / 1000) * 1000;
  const batch = [];
  for (let i = seconds; i > 0; i--) batch.push({ name, labels, value: 10 + (i % 5), ts: now - i * 1000 });
  expect((await app.ingest(batch)).status).toBe(200);
}

/** Writes one point now. */
async function writeNow(name: string, value: number, labels: Record<string, string> = {}) {
  expect((await app.ingest([{ name, labels, value }])).status).toBe(200);
}

/** Calls a server function as the browser does. */
async function serverFn(name: string, body: unknown): Promise<any> {
  const response = await fetch(app.url(`/api/fn/${name}`), {
    method: "POST",
    headers: { "content-type": "application/json", ...app.authHeaders() },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return response.json();
}

function layoutOf(widget: Locator) {
  return widget.evaluate((element) => ["x", "y", "w", "h"].map((key) => Number(element.getAttribute(`data-${key}`))));
}

/** Drags from the centre of `handle` by `(dx, dy)` pixels with real mouse events. */
async function drag(page: Page, handle: Locator, dx: number, dy: number) {
  const box = (await handle.boundingBox())!;
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let step = 1; step <= 8; step++) await page.mouse.move(x + (dx * step) / 8, y + (dy * step) / 8);
  await page.mouse.up();
}

async function gridCell(page: Page): Promise<{ column: number; row: number }> {
  const width = (await page.getByTestId("grid").boundingBox())!.width;
  return { column: (width + 8) / 12, row: 44 };
}

test("a dashboard is built in the editor, saved, undone and redone, and restored", async ({ page, browser }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  await writeRecent("editor_latency_ms", 30, { host: "a" });
  await writeRecent("editor_errors", 5);

  // Create: the new dashboard opens in the editor.
  await open(page, app.url("/dashboards"));
  await page.getByTestId("new-dashboard-title").fill("Checkout health");
  await page.getByRole("button", { name: "Create" }).click();
  const editor = page.getByTestId("editor");
  await expect(editor).toHaveAttribute("data-ready", "true");
  await expect(page.getByTestId("dashboard-title-input")).toHaveValue("Checkout health");
  const dashboardId = /\/d\/([0-9a-f]+)\/edit/.exec(page.url())![1];

  // Add a line chart from the palette: it is selected, its settings open.
  await page.getByTestId("palette-line").click();
  const chart = page.locator('[data-testid="widget"][data-kind="Line"]');
  await expect(chart).toHaveCount(1);
  expect(await layoutOf(chart)).toEqual([0, 0, 6, 8]);
  await expect(page.getByTestId("side-panel")).toBeVisible();

  // Its metric is picked through the autocomplete, which offers names from the catalog.
  const picker = page.getByTestId("metric-picker");
  await picker.fill("editor_l");
  const suggestion = page.getByTestId("metric-suggestion");
  await expect(suggestion).toHaveText(["editor_latency_ms"]);
  await suggestion.click();
  await expect(picker).toHaveValue("editor_latency_ms");
  await page.getByTestId("widget-step").selectOption("1s");

  // Live data arrives: the stored points first, then new ones as they are written.
  const plotted = chart.getByTestId("widget-chart");
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  await expect.poll(async () => Number(await plotted.getAttribute("data-points"))).toBeGreaterThanOrEqual(25);
  const before = Number(await plotted.getAttribute("data-points"));
  await new Promise((wake) => setTimeout(wake, 1100));
  await writeNow("editor_latency_ms", 99, { host: "a" });
  await expect.poll(async () => Number(await plotted.getAttribute("data-points"))).toBeGreaterThan(before);
  expect(await plotted.locator('svg polyline[stroke^="#"]').count()).toBeGreaterThan(0);

  // A second widget, dragged from the palette onto the grid's right half.
  const grid = page.getByTestId("grid");
  const gridBox = (await grid.boundingBox())!;
  await page.getByTestId("palette-stat").dragTo(grid, { targetPosition: { x: gridBox.width * 0.75, y: 10 } });
  const stat = page.locator('[data-testid="widget"][data-kind="Stat"]');
  await expect(stat).toHaveCount(1);
  expect((await layoutOf(stat))[0]).toBeGreaterThanOrEqual(6);
  // Saving refuses a widget without a metric, and says which.
  await page.getByTestId("save").click();
  await expect(page.getByTestId("editor-error")).toContainText("widgets[1].query.selector");
  await picker.fill("editor_e");
  await expect(suggestion).toHaveText(["editor_errors"]);
  await picker.press("ArrowDown");
  await picker.press("Enter");
  await expect(picker).toHaveValue("editor_errors");
  await expect(stat.getByTestId("stat-value")).not.toHaveText("–");

  // Move the chart with a real mouse drag by its header: three columns right, onto the stat,
  // which makes room (it is pushed below), and the layout stays without overlaps.
  const cell = await gridCell(page);
  await drag(page, chart.getByTestId("widget-head"), cell.column * 3, 0);
  await expect.poll(() => layoutOf(chart)).toEqual([3, 0, 6, 8]);
  const [, statY] = await layoutOf(stat);
  expect(statY).toBeGreaterThanOrEqual(8);

  // Resize it by its corner: two columns wider, three rows taller.
  await drag(page, chart.getByTestId("resize-handle"), cell.column * 2, cell.row * 3);
  await expect.poll(() => layoutOf(chart)).toEqual([3, 0, 8, 11]);

  // Save, reload: it is as saved.
  await page.getByTestId("save-summary").fill("Latency chart");
  await page.getByTestId("save").click();
  await expect(page.getByTestId("editor-message")).toHaveText("Saved as version 2.");
  await expect(page.getByTestId("save-state")).toHaveText("All changes saved");
  await reload(page);
  await expect(editor).toHaveAttribute("data-ready", "true");
  await expect.poll(() => layoutOf(chart)).toEqual([3, 0, 8, 11]);
  await expect(chart.getByTestId("widget-title")).toHaveText("Line chart");

  // Undo and redo, by keyboard and by button.
  await chart.getByTestId("widget-head").click();
  await page.getByTestId("widget-title-input").fill("Checkout latency");
  await expect(chart.getByTestId("widget-title")).toHaveText("Checkout latency");
  await expect(page.getByTestId("save-state")).toHaveText("Unsaved changes");
  await chart.focus();
  await page.keyboard.press("Control+z");
  await expect(chart.getByTestId("widget-title")).toHaveText("Line chart");
  await expect(page.getByTestId("save-state")).toHaveText("All changes saved");
  await page.keyboard.press("Control+Shift+z");
  await expect(chart.getByTestId("widget-title")).toHaveText("Checkout latency");
  await page.getByTestId("undo").click();
  await expect(chart.getByTestId("widget-title")).toHaveText("Line chart");
  await page.getByTestId("redo").click();
  await expect(chart.getByTestId("widget-title")).toHaveText("Checkout latency");
  // Keyboard moves: a focused widget moves a column left with an arrow key.
  await chart.focus();
  await page.keyboard.press("ArrowLeft");
  await expect.poll(() => layoutOf(chart)).toEqual([2, 0, 8, 11]);
  await page.getByTestId("save").click();
  await expect(page.getByTestId("editor-message")).toHaveText("Saved as version 3.");

  // Restore an earlier version: preview version 2, then restore it as version 4.
  await page.getByTestId("open-history").click();
  const versions = page.getByTestId("version");
  await expect(versions).toHaveCount(3);
  await expect(versions.first()).toHaveAttribute("data-version", "3");
  await expect(versions.nth(1)).toContainText("Latency chart");
  await versions.nth(1).getByTestId("preview-version").click();
  await expect(page.getByTestId("preview-banner")).toContainText("Previewing version 2");
  await expect(chart.getByTestId("widget-title")).toHaveText("Line chart");
  await page.getByTestId("restore-version").click();
  await expect(page.getByTestId("editor-message")).toHaveText("Restored version 2 as version 4.");
  await expect(page.getByTestId("preview-banner")).toHaveCount(0);
  await expect(chart.getByTestId("widget-title")).toHaveText("Line chart");
  await expect.poll(() => layoutOf(chart)).toEqual([3, 0, 8, 11]);

  // A conflicting save from a second browser context is detected, and the user chooses.
  const other = await browser.newContext();
  await app.signIn(other);
  const otherPage = await other.newPage();
  await open(otherPage, app.url(`/d/${dashboardId}/edit`));
  await expect(otherPage.getByTestId("editor")).toHaveAttribute("data-ready", "true");
  await otherPage.getByTestId("dashboard-title-input").fill("Checkout health (theirs)");
  await otherPage.getByTestId("save").click();
  await expect(otherPage.getByTestId("editor-message")).toHaveText("Saved as version 5.");
  await other.close();

  await page.getByTestId("dashboard-title-input").fill("Checkout health (mine)");
  await page.getByTestId("save").click();
  const conflict = page.getByTestId("conflict");
  await expect(conflict).toContainText("Version 5 was saved");
  await expect(conflict).toContainText("started from version 4");
  // Overwrite keeps mine as version 6.
  await page.getByTestId("conflict-overwrite").click();
  await expect(page.getByTestId("editor-message")).toHaveText("Saved as version 6.");
  await expect(conflict).toHaveCount(0);
  const saved = await serverFn("dashboard", { id: dashboardId, version: null });
  expect(saved.title).toBe("Checkout health (mine)");
  expect(saved.widgets.map((w: any) => w.layout)).toContainEqual({ x: 3, y: 0, w: 8, h: 11 });
  expect(errors).toEqual([]);
});

test("unsaved edits survive a crash and leaving asks first", async ({ page }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  const created = await serverFn("create_dashboard", { dashboard: { title: "Drafts" }, summary: "Created" });
  await open(page, app.url(`/d/${created.id}/edit`));
  await expect(page.getByTestId("editor")).toHaveAttribute("data-ready", "true");
  await page.getByTestId("palette-text").click();
  await expect(page.getByTestId("widget")).toHaveCount(1);

  // Following a link asks first; staying keeps the edits.
  const asked: string[] = [];
  page.once("dialog", async (dialog) => {
    asked.push(dialog.message());
    await dialog.dismiss();
  });
  await page.getByRole("link", { name: "Dashboards" }).click();
  expect(asked).toEqual(["Leave without saving your changes?"]);
  await expect(page.getByTestId("editor")).toBeVisible();

  // A crash (the tab closes without saving): the edits are offered back.
  const context = page.context();
  await page.close({ runBeforeUnload: false });
  const again = await context.newPage();
  await open(again, app.url(`/d/${created.id}/edit`));
  await expect(again.getByTestId("editor")).toHaveAttribute("data-ready", "true");
  await expect(again.getByTestId("widget")).toHaveCount(0);
  await expect(again.getByTestId("draft-offer")).toContainText("Unsaved edits from");
  await again.getByTestId("restore-draft").click();
  await expect(again.getByTestId("widget")).toHaveCount(1);
  await expect(again.getByTestId("save-state")).toHaveText("Unsaved changes");
  await again.getByTestId("save").click();
  await expect(again.getByTestId("editor-message")).toHaveText("Saved as version 2.");
  expect(errors).toEqual([]);
});

test("a share link shows the dashboard live without edit controls, until it is revoked", async ({ page, browser }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  await writeRecent("shared_requests", 20, { route: "/pay" });
  const dashboard = {
    title: "Payments",
    widgets: [
      {
        id: "w1",
        kind: "line",
        title: "Requests",
        layout: { x: 0, y: 0, w: 6, h: 8 },
        query: { selector: "shared_requests", aggregation: { fn: "sum" }, step_ms: 1000 },
      },
      {
        id: "w2",
        kind: "stat",
        title: "Now",
        layout: { x: 6, y: 0, w: 3, h: 4 },
        query: { selector: "shared_requests", aggregation: { fn: "sum" }, step_ms: 1000 },
      },
    ],
  };
  const created = await serverFn("create_dashboard", { dashboard, summary: "Created" });

  await open(page, app.url(`/d/${created.id}?range=5m`));
  await expect(page.getByTestId("dashboard-view")).toHaveAttribute("data-ready", "true");
  await page.getByTestId("open-share").click();
  await page.getByTestId("share-label").fill("for the wall screen");
  await page.getByTestId("create-share").click();
  const address = await page.getByTestId("share-url").inputValue();
  expect(address).toMatch(/\/s\/[0-9a-f]{32}$/);
  await expect(page.getByTestId("share-link")).toHaveCount(1);

  // A stranger (fresh context, no session) sees it live, read-only.
  const stranger = await browser.newContext();
  const viewer = await stranger.newPage();
  const viewerErrors = watchErrors(viewer);
  await open(viewer, address);
  await expect(viewer.getByTestId("dashboard-title")).toHaveText("Payments");
  await expect(viewer.getByTestId("dashboard-view")).toHaveAttribute("data-ready", "true");
  await expect(viewer.getByTestId("edit")).toHaveCount(0);
  await expect(viewer.getByTestId("open-share")).toHaveCount(0);
  await expect(viewer.getByTestId("palette")).toHaveCount(0);
  await expect(viewer.getByTestId("live-status")).toHaveText("Live");
  const plotted = viewer.getByTestId("widget-chart");
  await expect.poll(async () => Number(await plotted.getAttribute("data-points"))).toBeGreaterThanOrEqual(15);
  const before = Number(await plotted.getAttribute("data-points"));
  await new Promise((wake) => setTimeout(wake, 1100));
  await writeNow("shared_requests", 7, { route: "/pay" });
  await expect.poll(async () => Number(await plotted.getAttribute("data-points"))).toBeGreaterThan(before);
  await expect(viewer.getByTestId("stat-value")).not.toHaveText("–");

  // Revoked: the open viewer is told at once, and the link no longer opens.
  await page.getByTestId("revoke-share").click();
  await expect(page.getByTestId("share-link")).toHaveCount(0);
  await expect(viewer.getByTestId("access-ended")).toContainText("revoked", { timeout: 3000 });
  await expect(viewer.getByTestId("live-status")).toContainText("Ended");
  await reload(viewer);
  await expect(viewer.getByTestId("share-ended")).toContainText("revoked or has expired");
  await stranger.close();
  expect(errors).toEqual([]);
  expect(viewerErrors.filter((e) => !/404|Not Found/.test(e))).toEqual([]);
});

test("user text in titles and notes is shown as text, never as HTML", async ({ page }) => {
  await app.signIn(page.context());
  const markup = "<img src=x onerror=alert(1)>";
  let dialogs = 0;
  page.on("dialog", async (dialog) => {
    dialogs += 1;
    await dialog.dismiss();
  });
  const created = await serverFn("create_dashboard", {
    dashboard: {
      title: markup,
      description: markup,
      widgets: [
        { id: "t", kind: "text", title: markup, layout: { x: 0, y: 0, w: 4, h: 4 }, text: `# ${markup}\n\n**${markup}** and <script>alert(2)</script>` },
        { id: "c", kind: "line", title: markup, layout: { x: 4, y: 0, w: 6, h: 6 },
          query: { selector: "xss_metric", aggregation: { fn: "avg" } }, display: { unit: markup } },
      ],
    },
    summary: markup,
  });
  await app.ingest([{ name: "xss_metric", labels: { host: markup }, value: 1 }]);
  for (const path of [`/d/${created.id}`, `/d/${created.id}/edit`]) {
    await open(page, app.url(path));
    await expect(page.locator("[data-ready=true]")).toHaveCount(1);
    await expect(page.getByTestId("widget-title").first()).toHaveText(markup);
    await expect(page.getByTestId("widget-note")).toContainText(markup);
    await expect(page.getByTestId("widget-note")).toContainText("<script>alert(2)</script>");
    await expect(page.locator("main img, main script")).toHaveCount(0);
  }
  await expect(page.getByTestId("dashboard-title-input")).toHaveValue(markup);
  // The version summary in the history, and a share link's label in the share panel.
  await page.getByTestId("open-history").click();
  await expect(page.getByTestId("version").first()).toContainText(markup);
  await serverFn("create_share_link", { id: created.id, label: markup, expires_in_ms: null });
  await open(page, app.url(`/d/${created.id}`));
  await expect(page.getByTestId("dashboard-view")).toHaveAttribute("data-ready", "true");
  await page.getByTestId("open-share").click();
  await expect(page.getByTestId("share-link")).toContainText(markup);
  await expect(page.locator("main img, main script")).toHaveCount(0);
  expect(dialogs).toBe(0);
});

test("a series charted in the explorer is added to a dashboard", async ({ page }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  await writeRecent("explored_latency", 10, { route: "/pay" });
  const created = await serverFn("create_dashboard", { dashboard: { title: "Found things" }, summary: "Created" });
  await open(page, app.url("/explore?q=explored_latency&fn=max&step=1s&window=5m"));
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  await expect(page.getByTestId("add-to-dashboard-choice")).toHaveValue(created.id);
  await page.getByTestId("add-to-dashboard").click();
  await expect(page.getByTestId("added-to-dashboard")).toContainText("Added to Found things");
  await page.getByTestId("added-to-dashboard").getByRole("link").click();
  const chart = page.locator('[data-testid="widget"][data-kind="Line"]');
  await expect(chart.getByTestId("widget-title")).toHaveText("explored_latency");
  await expect.poll(async () => Number(await chart.getByTestId("widget-chart").getAttribute("data-points"))).toBeGreaterThan(5);
  const saved = await serverFn("dashboard", { id: created.id, version: null });
  expect(saved.version).toBe(2);
  expect(saved.widgets[0].query).toEqual({ selector: "explored_latency", aggregation: { fn: "max" }, step_ms: 1000, group_by: null });
  expect(errors).toEqual([]);
});

test("the time range, a custom span and kiosk mode are in the address, so a link reproduces the view", async ({ page }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  await writeRecent("ranged_latency", 10);
  const created = await serverFn("create_dashboard", {
    dashboard: {
      title: "Ranges",
      widgets: [{ id: "l", kind: "line", title: "Latency", layout: { x: 0, y: 0, w: 6, h: 6 },
        query: { selector: "ranged_latency", aggregation: { fn: "avg" } } }],
    },
    summary: "Created",
  });
  await open(page, app.url(`/d/${created.id}`));
  const picker = page.getByTestId("range-picker");
  await picker.selectOption("6h");
  await expect(page).toHaveURL(/[?&]range=6h$/);

  // A custom span, read as UTC; its form is loaded when first asked for.
  await picker.selectOption("custom");
  await page.getByLabel("From (UTC)").fill("2026-11-20T08:00");
  await page.getByLabel("To (UTC)").fill("2026-11-20T09:30");
  await page.getByRole("button", { name: "Apply" }).click();
  const [from, to] = [Date.UTC(2026, 10, 20, 8, 0), Date.UTC(2026, 10, 20, 9, 30)];
  await expect(page).toHaveURL(new RegExp(`[?&]from=${from}&to=${to}$`));
  await expect(page.getByLabel("From (UTC)")).toHaveCount(0);

  // The address alone brings the same view back.
  await reload(page);
  await expect(picker).toHaveValue("custom");
  await page.getByTestId("kiosk").click();
  await expect(page).toHaveURL(new RegExp(`[?&]from=${from}&to=${to}&kiosk=1$`));
  await expect(page.getByTestId("dashboard-view")).toHaveClass(/kiosk/);
  await reload(page);
  await expect(page.getByTestId("dashboard-view")).toHaveClass(/kiosk/);
  await expect(picker).toHaveValue("custom");
  expect(errors).toEqual([]);
});
