// Realistic-looking data and dashboards for the screenshots and the browser measurements.
import { Livedash } from "../tests/support/livedash";

/** Calls a server function as the browser does. */
export async function serverFn(app: Livedash, name: string, body: unknown): Promise<any> {
  const response = await fetch(app.url(`/api/fn/${name}`), {
    method: "POST",
    headers: { "content-type": "application/json", ...app.authHeaders() },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${name}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Posts points in batches of at most 5 000. */
export async function ingest(app: Livedash, points: unknown[]) {
  for (let start = 0; start < points.length; start += 5000) {
    const { status, body } = await app.ingest(points.slice(start, start + 5000));
    if (status !== 200) throw new Error(`ingest: ${status} ${JSON.stringify(body)}`);
  }
}

const routes = ["/", "/cart", "/checkout", "/login", "/search"];
const hosts = ["web-1", "web-2", "web-3", "web-4"];

/** A smooth daily pattern with some noise, for time `ts`. */
function wave(ts: number, base: number, swing: number, seed: number): number {
  const day = (ts / 86_400_000) * 2 * Math.PI;
  const noise = Math.sin(ts / 37_000 + seed * 3.1) * 0.3 + Math.sin(ts / 11_000 + seed) * 0.2;
  return Math.max(0, base + swing * (Math.sin(day + seed) + noise));
}

/** One point per series every `stepMs` over the last `spanMs`, up to `now`. */
export function shopTraffic(now: number, spanMs: number, stepMs: number): unknown[] {
  const points: unknown[] = [];
  for (let ts = now - spanMs; ts <= now; ts += stepMs) {
    routes.forEach((route, i) => {
      points.push({ name: "http_latency_ms", labels: { route }, value: wave(ts, 40 + i * 25, 12 + i * 4, i), ts });
      points.push({ kind: "counter", name: "http_requests_total", labels: { route },
        value: Math.round(wave(ts, 30 - i * 4, 8, i + 7) * (stepMs / 1000)), ts });
    });
    hosts.forEach((host, i) => {
      points.push({ name: "cpu_usage_percent", labels: { host }, value: Math.min(99, wave(ts, 45 + i * 8, 15, i + 3)), ts });
    });
    points.push({ kind: "counter", name: "http_errors_total", value: Math.round(wave(ts, 2, 2, 11) * (stepMs / 10_000)), ts });
  }
  return points;
}

type Layout = { x: number; y: number; w: number; h: number };
const widget = (id: string, kind: string, title: string, layout: Layout, selector: string, fn: unknown, extra: object = {}) => ({
  id, kind, title, layout, query: { selector, aggregation: fn, step_ms: null, group_by: null }, ...extra,
});

/** The shop dashboard: every kind of widget. */
export function shopDashboard() {
  return {
    title: "Shop — live",
    description: "Requests, latency and errors of the web shop, and the hosts serving it.",
    range: { type: "last", ms: 3_600_000 },
    widgets: [
      widget("rps", "stat", "Requests per second", { x: 0, y: 0, w: 3, h: 4 }, "http_requests_total", { fn: "rate" },
        { query: { selector: "http_requests_total", aggregation: { fn: "rate" }, step_ms: 60_000, group_by: null },
          display: { unit: "req/s", decimals: 1, legend: true, thresholds: [] } }),
      widget("cpu", "gauge", "CPU, busiest host", { x: 3, y: 0, w: 3, h: 4 }, "cpu_usage_percent", { fn: "max" },
        { display: { unit: "%", decimals: 0, min: 0, max: 100, legend: true,
          thresholds: [{ value: 0, color: "#10b981" }, { value: 60, color: "#eab308" }, { value: 80, color: "#e11d48" }] } }),
      widget("errors", "stat", "Errors", { x: 6, y: 0, w: 3, h: 4 }, "http_errors_total", { fn: "sum" },
        { display: { unit: "", decimals: 0, legend: true, thresholds: [{ value: 5, color: "#e11d48" }] } }),
      { id: "note", kind: "text", title: "On call", layout: { x: 9, y: 0, w: 3, h: 4 },
        text: "## Runbook\n\n- Latency over **200 ms**: scale `web`\n- Errors: check the *checkout* logs" },
      widget("latency", "line", "Latency by route", { x: 0, y: 4, w: 8, h: 8 }, "http_latency_ms", { fn: "avg" },
        { query: { selector: "http_latency_ms", aggregation: { fn: "avg" }, step_ms: null, group_by: ["route"] },
          display: { unit: "ms", decimals: 0, legend: true, thresholds: [] } }),
      widget("top", "top_n", "Busiest routes", { x: 8, y: 4, w: 4, h: 8 }, "http_latency_ms", { fn: "last" },
        { display: { unit: "ms", decimals: 0, legend: true, limit: 5, thresholds: [] } }),
      widget("requests", "bar", "Requests per minute", { x: 0, y: 12, w: 8, h: 7 }, "http_requests_total", { fn: "sum" },
        { query: { selector: 'http_requests_total{route=~"/cart|/checkout"}', aggregation: { fn: "sum" }, step_ms: 300_000, group_by: ["route"] },
          display: { unit: "", decimals: 0, legend: true, thresholds: [] } }),
      widget("hosts", "table", "CPU by host", { x: 8, y: 12, w: 4, h: 7 }, "cpu_usage_percent", { fn: "last" },
        { display: { unit: "%", decimals: 1, legend: true,
          thresholds: [{ value: 60, color: "#eab308" }, { value: 80, color: "#e11d48" }] } }),
    ],
  };
}
