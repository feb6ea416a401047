// A new user's first session, in a real browser: livedash starts with no configuration, so it
// prints a one-time sign-in link; the user opens it, visits every page reachable from the
// navigation and uses every control of the Access, Dashboards, Explore and Analytics pages once
// (a token made and revoked, a sign-in link made and its browser signed out, a dashboard made,
// renamed, searched, exported, imported, duplicated, shared and deleted, a metric picked through
// Explore's autocomplete and added to a dashboard, a funnel built to ten steps and back, an
// experiment with four variants).
//
// On every page, once it is hydrated, a guard checks what the user sees: no text that looks like
// source code (`move |`, `::`, `=>`, as a view macro prints when it takes code for text), every
// visible button, input, select and text area has an accessible name (as Chromium computes it),
// and no console errors.
import { readFileSync } from "node:fs";
import { expect, Locator, Page, test } from "@playwright/test";
import { hydrated, Livedash, open, reload, watchErrors } from "./support/livedash";

let app: Livedash;

// A control that never becomes usable fails its step, not the whole walk's time.
test.use({ actionTimeout: 15_000 });

test.afterEach(async ({}, testInfo) => {
  await app?.dispose(testInfo);
});

/** What source code looks like when it leaks into a page as text. */
const SOURCE_TEXT = ["move |", "::", "=>"];

/** Controls named by their placeholder alone (a name, but one that disappears as the user
 * types), by page; reported as an annotation, not a failure. */
const placeholderOnly: string[] = [];

/** What the guard found, page by page; the test fails at its end if anything was found, so one
 * run reports every page. */
const guardFindings: string[] = [];

/** The guard of every page: no source text, every visible control named. A page with a problem
 * is saved as a screenshot next to the test's other output, its path in the finding. */
async function guard(page: Page, where: string): Promise<void> {
  const problems: string[] = [];

  const text = await page.evaluate(() => document.body.innerText);
  for (const pattern of SOURCE_TEXT) {
    for (let at = text.indexOf(pattern); at >= 0; at = text.indexOf(pattern, at + pattern.length)) {
      const around = text.slice(Math.max(0, at - 80), at + 80).replace(/\s+/g, " ");
      problems.push(`shows ${JSON.stringify(pattern)} in the text: …${around}…`);
    }
  }

  const controls = page.locator("button, input, select, textarea").filter({ visible: true });
  const count = await controls.count();
  for (let index = 0; index < count; index++) {
    const control = controls.nth(index);
    try {
      await expect(control).toHaveAccessibleName(/\S/, { timeout: 1_000 });
    } catch {
      const html = await control.evaluate((element) => element.outerHTML.slice(0, 300)).catch(() => "(gone)");
      problems.push(`a control without an accessible name: ${html}`);
    }
  }
  const unlabelled = await controls.evaluateAll((elements) =>
    elements
      .filter((element) => element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement)
      .filter((element) => {
        const field = element as HTMLInputElement | HTMLTextAreaElement;
        return !["button", "submit", "reset", "checkbox", "radio", "file", "hidden"].includes(field.type)
          && !(field.labels?.length) && !field.getAttribute("aria-label")
          && !field.getAttribute("aria-labelledby") && !field.getAttribute("title")
          && !!field.getAttribute("placeholder");
      })
      .map((element) => element.outerHTML.slice(0, 200)));
  for (const html of unlabelled) {
    if (!placeholderOnly.some((note) => note.endsWith(html))) placeholderOnly.push(`${where}: ${html}`);
  }

  if (problems.length > 0) {
    const shot = test.info().outputPath(`guard-${where.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    guardFindings.push(`On ${where} (${page.url()}):\n- ${problems.join("\n- ")}\n  Screenshot: ${shot}`);
  }
}

/** Follows a link of the top bar's navigation, as a user does. */
async function navigate(page: Page, name: string): Promise<void> {
  await page.getByRole("navigation").getByRole("link", { name, exact: true }).click();
}

/** The table row of a dashboard in the list, by exact title. */
function dashboardRow(page: Page, title: string): Locator {
  const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  return page.locator("table.dashboards tbody tr").filter({ has: page.locator("td.title", { hasText: exact }) });
}

test("a new user signs in with the printed link, visits every page and uses every control", async ({ page, browser }) => {
  test.setTimeout(300_000);
  // No admin token configured: livedash prints a one-time sign-in link.
  app = await Livedash.start([], { LIVEDASH_ADMIN_TOKEN: "" });
  const printed = /sign in as admin: open (http:\/\/\S+\/login\/link\?code=[0-9a-f]+)/;
  await expect.poll(() => printed.exec(app.output())?.[1], { message: "the printed sign-in link" }).toBeTruthy();
  const link = printed.exec(app.output())![1];
  const errors = watchErrors(page);
  // The Analytics page asks before deleting a definition.
  const dialogs: string[] = [];
  page.on("dialog", async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.accept();
  });

  // ---- The sign-in page: where a browser without a session lands.
  await open(page, app.url("/"));
  await expect(page).toHaveURL(/\/login\?next=/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await expect(page.getByTestId("login-token")).toBeVisible();
  await guard(page, "the sign-in page");

  // ---- The printed link signs the browser in as admin, on the Values page.
  await open(page, link);
  await expect(page).toHaveURL(app.url("/"));
  await expect(page.getByTestId("role")).toHaveText("admin");
  await expect(page.getByRole("heading", { name: "Live values" })).toBeVisible();
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  await expect(page.getByText("No series yet")).toBeVisible();
  await guard(page, "Values, empty");

  // ---- Access: an ingest token for the services, a viewer token made and revoked, a sign-in
  // link for someone else whose browser is then signed out.
  await page.getByTestId("access-link").click();
  await expect(page).toHaveURL(/\/access$/);
  await expect(page.getByRole("heading", { name: "Access", exact: true })).toBeVisible();
  await expect(page.getByText("No tokens yet.")).toBeVisible();
  const sessions = page.getByTestId("sessions");
  await expect(sessions.locator("tbody tr")).toHaveCount(1);
  await expect(sessions.locator("tbody tr")).toContainText("this browser");
  await guard(page, "Access, first visit");

  await page.getByTestId("token-label").fill("shop services");
  await page.getByTestId("token-role").selectOption("ingest");
  await expect(page.getByTestId("token-scope")).toHaveValue("both");
  await page.getByTestId("token-scope").selectOption("metrics");
  await page.getByTestId("token-scope").selectOption("both");
  await page.getByTestId("create-token").click();
  const ingestToken = await page.getByTestId("new-token").inputValue();
  expect(ingestToken).toMatch(/^ldt_[0-9a-f]{32}$/);
  const tokens = page.getByTestId("tokens");
  await expect(tokens.locator("tr", { hasText: "shop services" }).getByTestId("token-scope-cell")).toHaveText("metrics and events");
  // The label field is emptied for the next token.
  await expect(page.getByTestId("token-label")).toHaveValue("");

  await page.getByTestId("token-label").fill("nightly report");
  await page.getByTestId("token-role").selectOption("viewer");
  await expect(page.getByTestId("token-scope")).toHaveCount(0);
  await page.getByTestId("create-token").click();
  await expect(page.getByTestId("new-token")).not.toHaveValue(ingestToken);
  const viewerToken = await page.getByTestId("new-token").inputValue();
  expect(viewerToken).toMatch(/^ldt_[0-9a-f]{32}$/);
  const reportRow = tokens.locator("tr", { hasText: "nightly report" });
  await expect(reportRow).toContainText("viewer");
  await guard(page, "Access, two tokens listed");
  await reportRow.getByTestId("revoke-token").click();
  await expect(reportRow).toHaveCount(0);
  await expect(tokens.locator("tbody tr")).toHaveCount(1);
  await expect(page.getByTestId("access-error")).toHaveCount(0);
  const refused = await fetch(app.url("/api/v1/series"), { headers: { authorization: `Token ${viewerToken}` } });
  expect(refused.status).toBe(401);

  await page.getByTestId("login-link-label").fill("Ada");
  await page.getByTestId("login-link-role").selectOption("admin");
  await page.getByTestId("login-link-role").selectOption("viewer");
  await page.getByTestId("create-login-link").click();
  const invite = await page.getByTestId("new-login-link").inputValue();
  expect(invite).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/login\/link\?code=[0-9a-f]+$/);
  await guard(page, "Access, sign-in link made");
  const adaContext = await browser.newContext();
  const ada = await adaContext.newPage();
  await open(ada, invite);
  await expect(ada.getByTestId("role")).toHaveText("viewer");
  await reload(page);
  await expect(sessions.locator("tbody tr")).toHaveCount(2);
  const adaRow = sessions.locator("tbody tr", { hasText: "Ada" });
  await expect(adaRow).not.toContainText("this browser");
  await expect(sessions.locator("tbody tr", { hasText: "this browser" })).toHaveCount(1);
  await guard(page, "Access, two browsers signed in");
  await adaRow.getByTestId("revoke-session").click();
  await expect(adaRow).toHaveCount(0);
  await expect(sessions.locator("tbody tr")).toHaveCount(1);
  await adaContext.close();

  // ---- The services send metrics and events with the ingest token made above.
  const now = Math.floor(Date.now() / 1000) * 1000;
  const points = [];
  for (let i = 120; i >= 0; i -= 2) {
    for (const route of ["/", "/cart", "/checkout"]) {
      points.push({ name: "shop_latency_ms", labels: { route }, value: 40 + ((i * 7) % 30) + route.length, ts: now - i * 1000 });
    }
    points.push({ name: "shop_queue_depth", value: (i * 3) % 17, ts: now - i * 1000 });
  }
  const sentPoints = await fetch(app.url("/api/v1/ingest"), {
    method: "POST",
    headers: { authorization: `Token ${ingestToken}`, "content-type": "application/json" },
    body: JSON.stringify(points),
  });
  expect(sentPoints.status, await sentPoints.clone().text()).toBe(200);
  const events = [];
  for (let user = 0; user < 12; user++) {
    const user_id = `user-${user}`;
    events.push({ event: "page_view", user_id, properties: { path: "/pricing" } });
    if (user % 2 === 0) events.push({ event: "signup_started", user_id, properties: { plan: "pro" } });
    if (user % 4 === 0) events.push({ event: "signup_completed", user_id });
  }
  const sentEvents = await fetch(app.url("/api/v1/events"), {
    method: "POST",
    headers: { authorization: `Token ${ingestToken}`, "content-type": "application/json" },
    body: JSON.stringify(events),
  });
  expect(sentEvents.status, await sentEvents.clone().text()).toBe(200);

  // ---- Values: every series, live.
  await navigate(page, "Values");
  await expect(page.getByRole("heading", { name: "Live values" })).toBeVisible();
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  for (const series of ['shop_latency_ms{route="/"}', 'shop_latency_ms{route="/cart"}', 'shop_latency_ms{route="/checkout"}', "shop_queue_depth"]) {
    await expect(page.locator(`tr[data-series='${series}']`)).toBeVisible();
  }
  await guard(page, "Values, with series");

  // ---- Dashboards: none yet; one is made and opens in the editor.
  await navigate(page, "Dashboards");
  await expect(page.getByRole("heading", { name: "Dashboards" })).toBeVisible();
  await expect(page.getByText("No dashboards yet")).toBeVisible();
  await guard(page, "Dashboards, empty");
  await page.getByTestId("new-dashboard-title").fill("Shop draft");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await expect(page.getByTestId("editor")).toHaveAttribute("data-ready", "true");
  await expect(page.getByTestId("dashboard-title-input")).toHaveValue("Shop draft");
  const dashboardId = /\/d\/([0-9a-f]+)\/edit/.exec(page.url())![1];
  await guard(page, "the editor, empty dashboard");
  // Renamed in the editor and saved.
  await page.getByTestId("dashboard-title-input").fill("Shop");
  await expect(page.getByTestId("save-state")).toHaveText("Unsaved changes");
  await page.getByTestId("save-summary").fill("Named it");
  await page.getByTestId("save").click();
  await expect(page.getByTestId("save-state")).toHaveText("All changes saved");
  await page.getByTestId("done").click();
  await expect(page).toHaveURL(app.url(`/d/${dashboardId}`));
  await expect(page.getByTestId("dashboard-view")).toHaveAttribute("data-ready", "true");
  await expect(page.getByTestId("dashboard-title")).toHaveText("Shop");
  await guard(page, "a dashboard, no widgets");

  // The list: search, export, import, duplicate, and delete (cancelled once, then for good).
  await navigate(page, "Dashboards");
  await expect(dashboardRow(page, "Shop")).toHaveCount(1);
  await expect(dashboardRow(page, "Shop").locator("td.num").last()).toHaveText("2");
  await guard(page, "Dashboards, one listed");
  const rows = page.locator("table.dashboards tbody tr");
  await page.getByTestId("dashboard-search").fill("SHO");
  await expect(rows).toHaveCount(1);
  await page.getByTestId("dashboard-search").fill("nothing like it");
  await expect(rows).toHaveCount(0);
  await page.getByTestId("dashboard-search").fill("");
  await expect(rows).toHaveCount(1);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    dashboardRow(page, "Shop").getByRole("link", { name: "Export" }).click(),
  ]);
  const exported = JSON.parse(readFileSync(await download.path(), "utf8"));
  expect(exported.title).toBe("Shop");
  exported.title = "Shop (imported)";
  await page.getByTestId("import-dashboard").setInputFiles({
    name: "shop.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(exported)),
  });
  await expect(page.getByRole("status")).toContainText("Imported “Shop (imported)”");
  await expect(dashboardRow(page, "Shop (imported)")).toHaveCount(1);
  await dashboardRow(page, "Shop").getByRole("button", { name: "Duplicate" }).click();
  await expect(dashboardRow(page, "Copy of Shop")).toHaveCount(1);
  await expect(rows).toHaveCount(3);
  await guard(page, "Dashboards, three listed");
  for (const title of ["Copy of Shop", "Shop (imported)"]) {
    const row = dashboardRow(page, title);
    await row.getByRole("button", { name: "Delete" }).click();
    await expect(row.getByRole("group", { name: "Confirm deletion" })).toContainText("and its history?");
    await guard(page, "Dashboards, confirming a deletion");
    await row.getByRole("button", { name: "Cancel" }).click();
    await expect(row.getByRole("button", { name: "Delete for good" })).toHaveCount(0);
    await row.getByRole("button", { name: "Delete" }).click();
    await row.getByRole("button", { name: "Delete for good" }).click();
    await expect(dashboardRow(page, title)).toHaveCount(0);
  }
  await expect(rows).toHaveCount(1);

  // ---- Explore: a metric picked through the autocomplete, charted, added to the dashboard.
  await navigate(page, "Explore");
  await expect(page.getByRole("heading", { name: "Explore" })).toBeVisible();
  await guard(page, "Explore, empty");
  const selector = page.getByTestId("selector");
  // An example fills the selector box.
  const example = page.getByTestId("explore-example").first();
  const exampleText = (await example.innerText()).trim();
  await example.click();
  await expect(selector).toHaveValue(exampleText);
  await selector.fill("");
  await selector.pressSequentially("shop_l");
  const suggestion = page.getByTestId("metric-suggestion");
  await expect(suggestion).toHaveText(["shop_latency_ms"]);
  await guard(page, "Explore, suggestions open");
  await suggestion.click();
  await expect(selector).toHaveValue("shop_latency_ms");
  await page.getByRole("combobox", { name: "Aggregation", exact: true }).selectOption("max");
  await page.getByRole("combobox", { name: "Step", exact: true }).selectOption("5s");
  await page.getByRole("combobox", { name: "Window", exact: true }).selectOption("5m");
  await page.getByRole("button", { name: "Show", exact: true }).click();
  await expect(page).toHaveURL(/\/explore\?q=shop_latency_ms&fn=max&step=5s&window=5m/);
  await hydrated(page);
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  const chart = page.getByTestId("chart");
  await expect.poll(async () => Number(await chart.getAttribute("data-points"))).toBeGreaterThan(10);
  await expect(page.getByTestId("query-error")).toHaveCount(0);
  await expect(page.getByRole("combobox", { name: "Aggregation", exact: true })).toHaveValue("max");
  await guard(page, "Explore, a chart");
  await expect(page.getByTestId("add-to-dashboard-choice")).toHaveValue(dashboardId);
  await page.getByTestId("add-to-dashboard-choice").selectOption({ label: "Shop" });
  await page.getByTestId("add-to-dashboard").click();
  await expect(page.getByTestId("added-to-dashboard")).toContainText("Added to Shop");
  await guard(page, "Explore, added to a dashboard");

  // ---- The dashboard with its chart, in the editor (a widget's settings open), and in view.
  await page.getByTestId("added-to-dashboard").getByRole("link").click();
  await expect(page.getByTestId("editor")).toHaveAttribute("data-ready", "true");
  const widget = page.locator('[data-testid="widget"][data-kind="Line"]');
  await expect(widget.getByTestId("widget-title")).toHaveText("shop_latency_ms");
  await widget.getByTestId("widget-head").click();
  await expect(page.getByTestId("side-panel")).toBeVisible();
  await guard(page, "the editor, a widget's settings");
  await page.getByTestId("done").click();
  await expect(page.getByTestId("dashboard-view")).toHaveAttribute("data-ready", "true");
  const plotted = page.getByTestId("widget-chart");
  await expect.poll(async () => Number(await plotted.getAttribute("data-points"))).toBeGreaterThan(10);
  await guard(page, "a dashboard with a chart");
  await page.getByTestId("range-picker").selectOption("5m");
  await expect(page).toHaveURL(/range=5m/);
  await page.getByTestId("kiosk").click();
  await expect(page.getByTestId("dashboard-view")).toHaveClass(/kiosk/);
  await expect(page.getByRole("navigation")).toBeHidden();
  await guard(page, "a dashboard in kiosk mode");
  await page.getByTestId("kiosk").click();
  await expect(page.getByTestId("dashboard-view")).not.toHaveClass(/kiosk/);

  // A share link, opened by someone without an account, then revoked.
  await page.getByTestId("open-share").click();
  await expect(page.getByTestId("share-panel")).toBeVisible();
  await page.getByTestId("share-label").fill("wall screen");
  await page.getByTestId("share-expiry").selectOption({ label: "Expires: 7 days" });
  await page.getByTestId("create-share").click();
  const shareAddress = await page.getByTestId("share-url").inputValue();
  expect(shareAddress).toMatch(/\/s\/[0-9a-f]{32}$/);
  await expect(page.getByTestId("share-link")).toHaveCount(1);
  await guard(page, "a dashboard, share panel");
  const strangerContext = await browser.newContext();
  const stranger = await strangerContext.newPage();
  const strangerErrors = watchErrors(stranger);
  await open(stranger, shareAddress);
  await expect(stranger.getByTestId("dashboard-view")).toHaveAttribute("data-ready", "true");
  await expect(stranger.getByTestId("dashboard-title")).toHaveText("Shop");
  await expect(stranger.getByTestId("live-status")).toHaveText("Live");
  await guard(stranger, "a share link");
  await page.getByTestId("revoke-share").click();
  await expect(page.getByTestId("share-link")).toHaveCount(0);
  await expect(stranger.getByTestId("access-ended")).toContainText("revoked");
  await strangerContext.close();
  expect(strangerErrors.filter((error) => !/401|404|Unauthorized|Not Found/.test(error))).toEqual([]);

  // ---- Analytics: a funnel built to ten steps and back to two, created and deleted; an
  // experiment with four variants, created and deleted.
  await navigate(page, "Analytics");
  const analytics = page.getByTestId("analytics-page");
  await expect(analytics).toHaveAttribute("data-ready", "true");
  await expect(page.getByTestId("funnel-list").locator("li")).toHaveCount(0);
  await guard(page, "Analytics, nothing defined");

  const funnel = page.getByTestId("new-funnel");
  const addStep = funnel.getByTestId("funnel-add-step");
  const removeStep = funnel.getByRole("button", { name: "Remove last step" });
  const stepEvents = funnel.getByTestId("funnel-step-event");
  const stepFilters = funnel.getByTestId("funnel-step-filter");
  await funnel.getByTestId("funnel-name").fill("Pricing to sign-up");
  await expect(stepEvents).toHaveCount(2);
  await expect(removeStep).toBeDisabled();
  for (let steps = 3; steps <= 10; steps++) {
    await expect(addStep).toHaveText("Add step");
    await expect(addStep).toBeEnabled();
    await addStep.click();
    await expect(stepEvents).toHaveCount(steps);
  }
  await expect(addStep).toBeDisabled();
  await expect(removeStep).toBeEnabled();
  const stepNames = ["page_view", "signup_started", "signup_completed", "plan_chosen", "card_added",
    "trial_started", "invite_sent", "project_created", "first_chart", "upgraded"];
  for (let index = 0; index < 10; index++) await stepEvents.nth(index).fill(stepNames[index]);
  await stepFilters.nth(0).fill("path=/pricing");
  await stepFilters.nth(1).fill("plan=pro");
  await guard(page, "Analytics, a funnel of ten steps");
  for (let steps = 9; steps >= 2; steps--) {
    await removeStep.click();
    await expect(stepEvents).toHaveCount(steps);
  }
  await expect(removeStep).toBeDisabled();
  await expect(addStep).toBeEnabled();
  await expect(stepEvents.nth(0)).toHaveValue("page_view");
  await expect(stepEvents.nth(1)).toHaveValue("signup_started");
  await expect(stepFilters.nth(0)).toHaveValue("path=/pricing");
  await expect(stepFilters.nth(1)).toHaveValue("plan=pro");
  await funnel.getByTestId("funnel-window").selectOption({ label: "30 minutes" });
  await expect(funnel.getByTestId("funnel-window")).toHaveValue("1800000");
  const backfill = funnel.getByRole("checkbox", { name: /raw event log/ });
  await expect(backfill).toBeChecked();
  await backfill.uncheck();
  await expect(backfill).not.toBeChecked();
  await backfill.check();
  await funnel.getByTestId("funnel-create").click();
  const funnels = page.getByTestId("funnel-list").locator("li");
  await expect(funnels).toHaveCount(1);
  await expect(funnels).toContainText("Pricing to sign-up");
  await expect(funnels).toContainText("page_view → signup_started");
  await expect(page.getByTestId("analytics-problem")).toHaveCount(0);

  const experiment = page.getByTestId("new-experiment");
  const variantNames = experiment.getByPlaceholder("variant name");
  const weights = experiment.getByRole("spinbutton", { name: "weight" });
  const addVariant = experiment.getByRole("button", { name: "Add variant" });
  const removeVariant = experiment.getByRole("button", { name: "Remove last variant" });
  await experiment.getByTestId("experiment-id").fill("pricing-page");
  await experiment.getByTestId("experiment-name").fill("Pricing page layout");
  await experiment.getByTestId("experiment-goal").fill("signup_completed");
  await expect(variantNames).toHaveCount(2);
  await expect(removeVariant).toBeDisabled();
  for (let variants = 3; variants <= 5; variants++) {
    await addVariant.click();
    await expect(variantNames).toHaveCount(variants);
  }
  await guard(page, "Analytics, an experiment of five variants");
  await removeVariant.click();
  await expect(variantNames).toHaveCount(4);
  await variantNames.nth(1).fill("annual-first");
  await variantNames.nth(2).fill("monthly-first");
  await variantNames.nth(3).fill("no-prices");
  for (const [index, weight] of ["40", "20", "20", "20"].entries()) await weights.nth(index).fill(weight);
  await experiment.getByTestId("experiment-create").click();
  const experiments = page.getByTestId("experiment-list").locator("li");
  await expect(experiments).toHaveCount(1);
  await expect(experiments).toContainText("Pricing page layout");
  await expect(experiments).toContainText("control (40), annual-first (20), monthly-first (20), no-prices (20)");
  await expect(experiments).toContainText("goal signup_completed");
  await expect(page.getByTestId("analytics-problem")).toHaveCount(0);
  await guard(page, "Analytics, a funnel and an experiment defined");
  // The experiment assigns variants as soon as it exists.
  const assigned = await fetch(app.url("/api/v1/experiments/pricing-page/assign?user_id=user-1"), {
    headers: { authorization: `Token ${ingestToken}` },
  });
  expect(assigned.status, await assigned.clone().text()).toBe(200);

  await funnels.getByRole("button", { name: "Delete" }).click();
  await expect(funnels).toHaveCount(0);
  await experiments.getByRole("button", { name: "Delete" }).click();
  await expect(experiments).toHaveCount(0);
  expect(dialogs).toEqual([
    "Delete the funnel “Pricing to sign-up” and its counts?",
    "Delete the experiment “Pricing page layout” and its counts?",
  ]);
  await guard(page, "Analytics, after deleting");

  if (placeholderOnly.length > 0) {
    test.info().annotations.push({ type: "named by placeholder only", description: placeholderOnly.join("\n") });
    console.log(`Controls named by their placeholder only:\n${placeholderOnly.join("\n")}`);
  }
  expect.soft(guardFindings.join("\n\n"), "what the guard found on the pages").toBe("");
  expect(errors).toEqual([]);
});
