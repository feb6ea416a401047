import { expect, test } from "@playwright/test";
import { ChildProcess, spawn } from "node:child_process";
import { createServer, IncomingMessage, Server } from "node:http";
import { AddressInfo, createServer as createTcpServer } from "node:net";
import { join } from "node:path";
import { hydrated, Livedash, open, watchErrors } from "./support/livedash";

let app: Livedash;

/** A real SMTP server (aiosmtpd, from the test tools' Python environment) that prints each
 * message it receives as a JSON line; email contact points send to it. */
const smtp: { process: ChildProcess | null; port: number; messages: any[] } = { process: null, port: 0, messages: [] };

test.beforeAll(async () => {
  smtp.port = await new Promise<number>((found) => {
    const probe = createTcpServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => found(port));
    });
  });
  const root = join(__dirname, "..", "..");
  const child = spawn(join(root, "target/clients-venv/bin/python"),
    [join(root, "server/tests/support/smtp_sink.py"), String(smtp.port)], { stdio: ["ignore", "pipe", "inherit"] });
  smtp.process = child;
  let buffered = "";
  await new Promise<void>((ready, failed) => {
    child.once("error", failed);
    child.stdout!.on("data", (chunk) => {
      buffered += chunk;
      let end;
      while ((end = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        if (line === "ready") ready();
        else smtp.messages.push(JSON.parse(line));
      }
    });
  });
});

test.afterAll(() => {
  smtp.process?.kill();
});

test.beforeEach(async () => {
  app = await Livedash.start([], { LIVEDASH_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, LIVEDASH_SMTP_FROM: "alerts@example.com" });
});

test.afterEach(async ({}, testInfo) => {
  await app.dispose(testInfo);
});

/** A webhook receiver on a free port: every request's JSON body, in order. */
async function receiver(): Promise<{ url: string; bodies: any[]; server: Server }> {
  const bodies: any[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    let text = "";
    request.on("data", (chunk) => (text += chunk));
    request.on("end", () => {
      bodies.push(JSON.parse(text));
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, bodies, server };
}

test("alert on a chart: preview, save, fire live on the widget and the Alerts page, silence, history", async ({ page }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  const hook = await receiver();
  // Forty minutes of one host's temperature, with a spike from 20 to 15 minutes ago.
  const now = Math.floor(Date.now() / 1000) * 1000;
  const history = [];
  for (let minute = 40; minute >= 1; minute--) {
    const hot = minute <= 20 && minute > 15;
    history.push({ name: "room_temp", labels: { host: "lab-1" }, value: hot ? 95 : 50, ts: now - minute * 60_000 });
  }
  expect((await app.ingest(history)).status).toBe(200);
  const { id } = await app.callFn("create_dashboard", {
    dashboard: {
      title: "Lab",
      range: { type: "last", ms: 3_600_000 },
      widgets: [{ id: "w", kind: "line", title: "Temperature", layout: { x: 0, y: 0, w: 6, h: 6 },
        query: { selector: "room_temp", aggregation: { fn: "last" }, step_ms: 60_000, group_by: ["host"] } }],
    },
    summary: "test",
  });

  // A contact point, made and tested on the Alerts page.
  await open(page, app.url("/alerts"));
  await expect(page.getByTestId("no-alerts")).toBeVisible();
  await page.getByTestId("contact-name").fill("lab-hook");
  await page.getByTestId("contact-kind").selectOption("webhook");
  await page.getByTestId("contact-url").fill(hook.url);
  await page.getByTestId("add-contact").click();
  await expect(page.getByTestId("contact-secret")).toContainText("whsec_");
  await expect(page.getByTestId("contact-point")).toHaveCount(1);
  await page.getByTestId("test-contact").click();
  await expect(page.getByTestId("test-result")).toHaveText("delivered (200)");
  expect(hook.bodies[0].alerts[0].labels.alertname).toBe("livedash test notification");

  // "Alert on this" on the chart: the editor, prefilled from its query.
  await open(page, app.url(`/d/${id}`));
  await page.getByTestId("alert-on-this").click();
  await expect(page).toHaveURL(/\/alerts\?new=1&selector=room_temp&fn=last&by=host/);
  await hydrated(page);
  const editor = page.getByTestId("rule-editor");
  await expect(editor).toBeVisible();
  await expect(page.getByTestId("rule-selector")).toHaveValue("room_temp");
  await expect(page.getByTestId("rule-aggregation")).toHaveValue("last");
  await expect(page.getByTestId("rule-group-by")).toHaveValue("host");
  await page.getByTestId("rule-name").fill("Lab too hot");
  await page.getByTestId("rule-window").fill("2m");
  await page.getByTestId("rule-critical").fill("90");
  await page.getByTestId("rule-critical-clear").fill("80");
  await page.getByTestId("rule-summary").fill("{{ $labels.host }} at {{ $value }}°");
  await page.getByTestId("rule-contact").check();

  // The preview: the spike would have fired once and resolved once.
  await page.getByTestId("preview-rule").click();
  const preview = page.getByTestId("rule-preview");
  await expect(preview).toBeVisible();
  await expect(page.getByTestId("preview-instance")).toHaveCount(1);
  await expect(page.getByTestId("preview-instance")).toHaveAttribute("data-notifications", "2");
  await expect(page.getByTestId("preview-summary")).toContainText("2 notifications");
  await expect(page.getByTestId("preview-transitions")).toContainText("firing");
  await page.getByTestId("save-rule").click();
  await expect(editor).toHaveCount(0);
  const rule = page.getByTestId("alert-rule");
  await expect(rule).toHaveCount(1);
  await expect(rule.getByTestId("state")).toHaveAttribute("data-state", "normal");

  // Points that break it: the dashboard's widget turns firing without a reload.
  await open(page, app.url(`/d/${id}`));
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await expect(page.getByTestId("alert-badge")).toHaveCount(0);
  expect((await app.ingest([{ name: "room_temp", labels: { host: "lab-1" }, value: 97, ts: Date.now() }])).status).toBe(200);
  await expect(page.getByTestId("alert-badge")).toHaveAttribute("data-state", "firing");
  await expect(page.getByTestId("alert-badge")).toHaveAttribute("title", "Lab too hot");
  // The chart draws the rule's level inside its plot, and marks the alert's change of state.
  const level = page.locator(".alert-marks line.alert-level");
  await expect(level).toHaveCount(1);
  await expect(level).toHaveClass("alert-level critical");
  await expect(page.locator(".alert-marks text.alert-level")).toHaveText("critical 90");
  // Between the highest value drawn (97) and the usual 50: inside the plot, not on its edges.
  const plot = (await page.getByTestId("widget-chart").locator(".chart-plot").boundingBox())!;
  const y = Number(await level.getAttribute("y1"));
  expect(y).toBeGreaterThan(15);
  expect(y).toBeLessThan(plot.height / 2);
  const change = page.locator(".alert-marks line.alert-change");
  await expect(change).toHaveCount(1);
  await expect(change).toHaveClass("alert-change firing");
  await expect.poll(() => hook.bodies.length).toBe(2);
  expect(hook.bodies[1].status).toBe("firing");
  expect(hook.bodies[1].alerts[0].annotations.summary).toBe("lab-1 at 97°");

  // The Alerts page, reached from the menu (no reload), shows it firing and follows it live.
  await page.getByRole("link", { name: "Alerts", exact: true }).click();
  await expect(page).toHaveURL(/\/alerts$/);
  const firing = page.getByTestId("alert-instance");
  await expect(firing).toHaveCount(1);
  await expect(firing.getByTestId("state")).toHaveAttribute("data-state", "firing");
  await expect(rule.getByTestId("state")).toHaveAttribute("data-state", "firing");
  expect((await app.ingest([{ name: "room_temp", labels: { host: "lab-1" }, value: 60, ts: Date.now() }])).status).toBe(200);
  await expect(page.getByTestId("no-alerts")).toBeVisible();
  expect((await app.ingest([{ name: "room_temp", labels: { host: "lab-1" }, value: 99, ts: Date.now() }])).status).toBe(200);
  await expect(firing.getByTestId("state")).toHaveAttribute("data-state", "firing");
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

  // Silenced from the page: marked, listed, and ended again.
  await firing.getByTestId("silence-alert").click();
  await expect(firing.getByTestId("silenced")).toBeVisible();
  const silence = page.getByTestId("silence");
  await expect(silence).toHaveCount(1);
  await expect(silence).toContainText('host="lab-1"');
  await silence.getByTestId("expire-silence").click();
  await expect(silence).toHaveCount(0);

  // The history: every transition, newest first.
  const entries = page.getByTestId("history-entry");
  await expect(entries).toHaveCount(3);
  await expect(entries.nth(0)).toHaveAttribute("data-to", "firing");
  await expect(entries.nth(1)).toHaveAttribute("data-to", "normal");
  await expect(entries.nth(2)).toHaveAttribute("data-to", "firing");
  await expect(page.getByTestId("no-dead-letters")).toBeVisible();

  // Edit opens the editor with the rule; cancel closes it; delete removes the rule.
  await rule.getByTestId("edit-rule").click();
  await expect(page.getByTestId("rule-name")).toHaveValue("Lab too hot");
  await expect(page.getByTestId("rule-critical-clear")).toHaveValue("80");
  await page.getByTestId("cancel-rule").click();
  await expect(page.getByTestId("rule-editor")).toHaveCount(0);
  await rule.getByTestId("delete-rule").click();
  await expect(rule).toHaveCount(0);
  await page.getByTestId("delete-contact").click();
  await expect(page.getByTestId("contact-point")).toHaveCount(0);
  hook.server.close();
  expect(errors).toEqual([]);
});

test("the rule editor: every field reaches the rule, and bad input is named", async ({ page }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  expect((await app.ingest([{ name: "queue_depth", labels: { queue: "mail" }, value: 3, ts: Date.now() - 5_000 }])).status).toBe(200);
  await app.callFn("alerts", { call: { SaveContact: { contact: { name: "ops", kind: "slack", url: "https://hooks.example/x" }, create: true } } });
  await open(page, app.url("/alerts"));
  await page.getByTestId("new-rule").click();
  await page.getByTestId("rule-name").fill("Queue backlog");
  await page.getByTestId("rule-selector").fill('queue_depth{queue="mail"}');
  await page.getByTestId("rule-aggregation").selectOption("max");
  await page.getByTestId("rule-window").fill("10m");
  await page.getByTestId("rule-group-by").fill("queue");
  await page.getByTestId("rule-change").check();
  await page.getByTestId("rule-op").selectOption("below");
  await page.getByTestId("rule-critical").fill("not a number");
  await page.getByTestId("save-rule").click();
  await expect(page.getByTestId("rule-error")).toContainText("critical level");
  await page.getByTestId("rule-critical").fill("-50");
  await page.getByTestId("rule-critical-clear").fill("-40");
  await page.getByTestId("rule-warning").fill("-20");
  await page.getByTestId("rule-warning-clear").fill("-10");
  await page.getByTestId("rule-pending").fill("1m");
  await page.getByTestId("rule-keep").fill("2m");
  await page.getByTestId("rule-no-data").selectOption("alert");
  await page.getByTestId("rule-on-error").selectOption("normal");
  await page.getByTestId("rule-labels").fill("team=mail, tier=1");
  await page.getByTestId("rule-summary").fill("{{ $labels.queue }} drained by {{ $value }}");
  await page.getByTestId("rule-contact").check();
  // The other conditions show their own fields.
  await page.getByTestId("rule-op").selectOption("outside");
  await page.getByTestId("rule-low").fill("1");
  await page.getByTestId("rule-high").fill("100");
  await page.getByTestId("rule-op").selectOption("absent");
  await page.getByTestId("rule-absent").fill("15m");
  await page.getByTestId("rule-op").selectOption("below");
  await expect(page.getByTestId("rule-critical")).toHaveValue("-50");
  await page.getByTestId("preview-rule").click();
  await expect(page.getByTestId("rule-preview")).toBeVisible();
  await page.getByTestId("save-rule").click();
  await expect(page.getByTestId("rule-editor")).toHaveCount(0);

  const overview = await app.callFn("alerts", { call: "Overview" });
  const saved = overview.Overview.rules[0].rule;
  expect(saved.name).toBe("Queue backlog");
  expect(saved.source).toEqual({ kind: "metric", selector: 'queue_depth{queue="mail"}', aggregation: { fn: "max" },
    window_ms: 600_000, group_by: ["queue"], measure: "change" });
  expect(saved.condition).toEqual({ op: "below", critical: { raise: -50, clear: -40 }, warning: { raise: -20, clear: -10 } });
  expect([saved.pending_ms, saved.keep_firing_ms, saved.no_data, saved.error]).toEqual([60_000, 120_000, "alert", "normal"]);
  expect(saved.labels).toEqual({ team: "mail", tier: "1" });
  expect(saved.contact_points).toEqual(["ops"]);

  // The server names what it refuses: a warning beyond the critical level.
  await page.getByTestId("edit-rule").click();
  await page.getByTestId("rule-warning").fill("-80");
  await page.getByTestId("save-rule").click();
  await expect(page.getByTestId("rule-error")).toContainText("condition.warning.raise");
  await page.getByTestId("cancel-rule").click();
  expect(errors.filter((error) => !error.includes("400"))).toEqual([]);
});

test("an email contact point: added on the page, a test email sent to a real SMTP server, deleted", async ({ page }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  await open(page, app.url("/alerts"));
  await page.getByTestId("contact-name").fill("on-call mail");
  await page.getByTestId("contact-kind").selectOption("email");
  await expect(page.getByTestId("contact-url")).toHaveAttribute("placeholder", "ops@example.com, …");
  // An address that is not one is named, and nothing is stored.
  await page.getByTestId("contact-url").fill("ops@example.com, nobody");
  await page.getByTestId("add-contact").click();
  await expect(page.getByTestId("alerts-error")).toContainText('"nobody" is not an email address');
  await expect(page.getByTestId("contact-point")).toHaveCount(0);
  await page.getByTestId("contact-url").fill("ops@example.com, oncall@example.com");
  // A mute timing that does not read is named too.
  await page.getByTestId("contact-mute").fill("weekends");
  await page.getByTestId("add-contact").click();
  await expect(page.getByTestId("alerts-error")).toContainText("mute");
  await page.getByTestId("contact-mute").fill("Sat-Sun 00:00-24:00");
  // So is a repeat interval that is not a duration, before anything is sent.
  await page.getByTestId("contact-repeat").fill("often");
  await page.getByTestId("add-contact").click();
  await expect(page.getByTestId("alerts-error")).toContainText("repeat");
  await page.getByTestId("contact-repeat").fill("4h");
  // Grouping: a group wait that is not a duration is named; labels that are not are refused by
  // the server, naming which.
  await page.getByTestId("contact-group-by").fill("alertname, not a label");
  await page.getByTestId("contact-group-wait").fill("soon");
  await page.getByTestId("add-contact").click();
  await expect(page.getByTestId("alerts-error")).toContainText("group wait");
  await page.getByTestId("contact-group-wait").fill("30s");
  await page.getByTestId("contact-group-interval").fill("10m");
  await page.getByTestId("add-contact").click();
  await expect(page.getByTestId("alerts-error")).toContainText("group_by[1]");
  await page.getByTestId("contact-group-by").fill("alertname, service");
  await page.getByTestId("add-contact").click();
  const contact = page.getByTestId("contact-point");
  await expect(contact).toHaveCount(1);
  await expect(contact).toContainText("email");
  await expect(contact).toContainText("ops@example.com, oncall@example.com");
  await expect(contact.getByTestId("contact-muted")).toHaveText("Sat-Sun 00:00-24:00");
  await expect(contact.getByTestId("contact-repeats")).toHaveText("4 h");
  await expect(contact.getByTestId("contact-grouping")).toHaveText("by alertname, service · wait 30.0 s · every 10 min");
  await expect(page.getByTestId("contact-group-by")).toHaveValue("");
  await expect(page.getByTestId("contact-repeat")).toHaveValue("");
  await expect(page.getByTestId("contact-mute")).toHaveValue("");
  await expect(page.getByTestId("contact-secret")).toHaveCount(0);
  const before = smtp.messages.length;
  await contact.getByTestId("test-contact").click();
  await expect(contact.getByTestId("test-result")).toHaveText("delivered (250)");
  await expect.poll(() => smtp.messages.length).toBe(before + 1);
  const message = smtp.messages[before];
  expect(message.subject).toBe("[FIRING:warning] livedash test notification");
  expect(message.rcpt_tos).toEqual(["ops@example.com", "oncall@example.com"]);
  expect(message.from).toBe("alerts@example.com");
  await contact.getByTestId("delete-contact").click();
  await expect(page.getByTestId("contact-point")).toHaveCount(0);
  // The three refused saves, and nothing else.
  expect(errors.filter((error) => error.includes("400"))).toHaveLength(3);
  expect(errors.filter((error) => !error.includes("400"))).toEqual([]);
});

test("a share link's holder sees its widgets' alert state live, and nothing of other rules", async ({ page, browser }) => {
  await app.signIn(page.context());
  const { id } = await app.callFn("create_dashboard", {
    dashboard: {
      title: "Wall",
      range: { type: "last", ms: 900_000 },
      widgets: [{ id: "w", kind: "line", title: "Pressure", layout: { x: 0, y: 0, w: 6, h: 6 },
        query: { selector: "pump_pressure", aggregation: { fn: "last" }, step_ms: 10_000, group_by: null } }],
    },
    summary: "test",
  });
  const rule = (name: string, selector: string) => ({
    id: "", name, source: { kind: "metric", selector, aggregation: { fn: "last" }, window_ms: 60_000, group_by: [] },
    condition: { op: "above", critical: { raise: 10 } }, pending_ms: 0, keep_firing_ms: 0, no_data: "keep", error: "keep",
    labels: {}, summary: "", description: "", contact_points: [], paused: false,
  });
  await app.callFn("alerts", { call: { SaveRule: rule("Pump over pressure", "pump_pressure") } });
  // A rule on a series the dashboard does not show: the link's holder must not see it.
  await app.callFn("alerts", { call: { SaveRule: rule("Secret vault", "vault_temp") } });
  const created = await app.callFn("create_share_link", { id, label: "lobby", expires_in_ms: null });

  const stranger = await browser.newContext();
  const viewer = await stranger.newPage();
  const viewerErrors = watchErrors(viewer);
  await open(viewer, app.url(`/s/${created.token}`));
  await expect(viewer.getByTestId("dashboard-view")).toHaveAttribute("data-ready", "true");
  await expect(viewer.getByTestId("live-status")).toHaveText("Live");
  await expect(viewer.getByTestId("alert-on-this")).toHaveCount(0);
  await expect(viewer.getByTestId("alert-badge")).toHaveCount(0);
  expect((await app.ingest([
    { name: "vault_temp", labels: {}, value: 99, ts: Date.now() },
    { name: "pump_pressure", labels: {}, value: 4, ts: Date.now() },
  ])).status).toBe(200);
  expect((await app.ingest([{ name: "pump_pressure", labels: {}, value: 12.5, ts: Date.now() }])).status).toBe(200);
  const badge = viewer.getByTestId("alert-badge");
  await expect(badge).toHaveAttribute("data-state", "firing");
  await expect(badge).toHaveAttribute("title", "Pump over pressure");
  expect((await app.ingest([{ name: "pump_pressure", labels: {}, value: 3, ts: Date.now() }])).status).toBe(200);
  await expect(badge).toHaveCount(0);
  // The vault's rule fired too, but the socket refuses its states to the link's holder.
  const refused = await viewer.evaluate(async (token) => {
    const socket = new WebSocket(`${location.origin.replace("http", "ws")}/api/v1/live?share=${token}`);
    await new Promise((opened) => socket.addEventListener("open", opened));
    let seen = "";
    const answer = new Promise<void>((got) => socket.addEventListener("message", (event) => {
      seen += String(event.data);
      if (seen.includes("error")) got();
    }));
    socket.send(JSON.stringify({ type: "subscribe", id: 1,
      query: { kind: "latest", selector: { name: "livedash_alert_state", matchers: [{ label: "selector", op: "=", value: "vault_temp" }] } } }));
    await Promise.race([answer, new Promise((late) => setTimeout(late, 5000))]);
    socket.close();
    return seen;
  }, created.token);
  expect(refused).toContain("a share link shows only its dashboard's widgets");
  await stranger.close();
  expect(viewerErrors).toEqual([]);
});

test("rules over product analytics: a funnel's conversion and an experiment, made in the editor, fire from events", async ({ page }) => {
  await app.signIn(page.context());
  const errors = watchErrors(page);
  const hook = await receiver();
  const made = await app.callFn("change_analytics", { change: { CreateFunnel: { funnel: {
    name: "Checkout", steps: [{ event: "view" }, { event: "cart" }, { event: "buy" }], window_ms: 3_600_000 }, backfill: false } } });
  const funnel = made.funnels[0].id;
  await app.callFn("change_analytics", { change: { CreateExperiment: { experiment: {
    id: "new-cart", name: "New cart", goal_event: "buy", variants: [{ name: "control", weight: 1 }, { name: "new", weight: 1 }] } } } });
  await app.callFn("alerts", { call: { SaveContact: { contact: { name: "growth", kind: "webhook", url: hook.url }, create: true } } });
  // Every step within one minute, the one before the current: the preview replays by minute,
  // and steps split over two minutes would show a minute where no one who carted bought.
  const minute = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const events = [];
  for (let user = 0; user < 20; user++) {
    events.push({ event: "view", user_id: `u${user}`, ts: minute + 10_000 });
    events.push({ event: "cart", user_id: `u${user}`, ts: minute + 20_000 });
    if (user < 10) events.push({ event: "buy", user_id: `u${user}`, ts: minute + 30_000 });
  }
  expect((await app.events(events)).status).toBe(200);

  await open(page, app.url("/alerts"));
  await page.getByTestId("new-rule").click();
  await page.getByTestId("rule-name").fill("Checkout conversion low");
  await page.getByTestId("rule-kind").selectOption("funnel");
  await expect(page.getByTestId("rule-selector")).toHaveCount(0);
  await expect(page.getByTestId("rule-funnel")).toHaveValue(funnel);
  await expect(page.getByTestId("rule-funnel").locator("option")).toHaveText(["Checkout"]);
  await expect(page.getByTestId("rule-step").locator("option")).toHaveText(["the whole funnel", "into step 1: cart", "into step 2: buy"]);
  await page.getByTestId("rule-step").selectOption("2");
  await page.getByTestId("rule-window").fill("1h");
  await page.getByTestId("rule-compare").selectOption("week_earlier");
  await page.getByTestId("rule-compare").selectOption("value");
  await page.getByTestId("rule-op").selectOption("below");
  await page.getByTestId("rule-critical").fill("0.3");
  await page.getByTestId("rule-contact").check();
  // The preview replays the step's conversion by minute: half of those who carted bought.
  await page.getByTestId("preview-rule").click();
  await expect(page.getByTestId("preview-instance")).toHaveCount(1);
  await expect(page.getByTestId("preview-instance")).toContainText(`funnel=${funnel}`);
  await expect(page.getByTestId("preview-instance")).toHaveAttribute("data-notifications", "0");
  await page.getByTestId("save-rule").click();
  await expect(page.getByTestId("rule-editor")).toHaveCount(0);
  const rule = page.getByTestId("alert-rule");
  await expect(rule).toHaveCount(1);
  await expect(rule).toContainText(`conversion(funnel ${funnel} step 2[1 h])`);

  // An experiment rule on its sample ratio; its preview says it shows the values now.
  await page.getByTestId("new-rule").click();
  await page.getByTestId("rule-name").fill("New cart split");
  await page.getByTestId("rule-kind").selectOption("experiment");
  await expect(page.getByTestId("rule-experiment")).toHaveValue("new-cart");
  await page.getByTestId("rule-signal").selectOption("sample_ratio");
  await page.getByTestId("rule-op").selectOption("below");
  await page.getByTestId("rule-critical").fill("0.001");
  await page.getByTestId("preview-rule").click();
  await expect(page.getByTestId("preview-note")).toContainText("not kept over time");
  await page.getByTestId("rule-kind").selectOption("uniques");
  await page.getByTestId("rule-event").fill("view");
  await page.getByTestId("rule-kind").selectOption("experiment");
  await page.getByTestId("save-rule").click();
  await expect(rule).toHaveCount(2);

  // Thirty more carts without a purchase: 10 of 50, the funnel rule fires, live on the page.
  const carts = [];
  for (let user = 20; user < 50; user++) {
    carts.push({ event: "view", user_id: `u${user}`, ts: Date.now() });
    carts.push({ event: "cart", user_id: `u${user}`, ts: Date.now() });
  }
  expect((await app.events(carts)).status).toBe(200);
  const low = page.getByTestId("alert-rule").filter({ hasText: "Checkout conversion low" });
  await expect(low.getByTestId("state")).toHaveAttribute("data-state", "firing");
  await expect.poll(() => hook.bodies.length).toBe(1);
  expect(hook.bodies[0].alerts[0].labels.funnel).toBe(funnel);
  expect(hook.bodies[0].alerts[0].value).toBeCloseTo(0.2);
  const overview = await app.callFn("alerts", { call: "Overview" });
  const sources = overview.Overview.rules.map((view: any) => view.rule.source);
  expect(sources).toContainEqual({ kind: "funnel", funnel, step: 2, window_ms: 3_600_000, compare: "value" });
  expect(sources).toContainEqual({ kind: "experiment", experiment: "new-cart", signal: "sample_ratio" });
  hook.server.close();
  expect(errors).toEqual([]);
});
