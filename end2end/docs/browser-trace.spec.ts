// Where the main thread's time goes while 20 line charts update 10 times a second
// (`make trace-browser`): the load of `make bench-browser`, recorded with Chrome's own tracing
// (no sampling profiler, which would double the cost) and summed by kind of work, so that a
// change to the live path can be read as shares of the second. Figures go to docs/benchmarks.md.
import { test } from "@playwright/test";
import { Livedash } from "../tests/support/livedash";
import { liveDashboard, openLive, startWriter } from "./live-load";
import { serverFn } from "./demo";

const SECONDS = Number(process.env.TRACE_SECONDS ?? 10);
const RUNS = Number(process.env.TRACE_RUNS ?? 3);

type TraceEvent = { name: string; cat: string; ph: string; ts: number; dur?: number; pid: number; tid: number; args?: any };

/** The renderer's main thread: where the page's `CrRendererMain` thread name says it is. */
function mainThread(events: TraceEvent[]): { pid: number; tid: number } {
  const named = events.find((event) => event.ph === "M" && event.name === "thread_name" && event.args?.name === "CrRendererMain");
  if (!named) throw new Error("no renderer main thread in the trace");
  return { pid: named.pid, tid: named.tid };
}

/** Self time (µs) per event name on one thread, and the time of its top-level tasks. */
function selfTimes(events: TraceEvent[], pid: number, tid: number) {
  const complete = events
    .filter((event) => event.pid === pid && event.tid === tid && event.ph === "X" && event.dur !== undefined)
    .sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  const self = new Map<string, number>();
  const count = new Map<string, number>();
  const stack: { end: number; name: string }[] = [];
  let tasks = 0;
  for (const event of complete) {
    while (stack.length && stack[stack.length - 1].end <= event.ts) stack.pop();
    const parent = stack[stack.length - 1];
    if (parent) self.set(parent.name, (self.get(parent.name) ?? 0) - event.dur!);
    else if (event.name === "RunTask" || event.name === "ThreadControllerImpl::RunTask") tasks += event.dur!;
    self.set(event.name, (self.get(event.name) ?? 0) + event.dur!);
    count.set(event.name, (count.get(event.name) ?? 0) + 1);
    stack.push({ end: event.ts + event.dur!, name: event.name });
  }
  return { self, count, tasks };
}

type ProfileNode = { id: number; callFrame: { functionName: string; url: string }; children?: number[] };

/** With `TRACE_PROFILE=1`: V8's sampling profiler instead, self time per function (a build
 * whose WASM keeps its names shows Rust's; see docs/benchmarks.md). */
async function profile(cdp: any, run: number) {
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  await cdp.send("Profiler.start");
  await new Promise((wake) => setTimeout(wake, SECONDS * 1000));
  const { profile } = await cdp.send("Profiler.stop");
  const nodes = new Map<number, ProfileNode>(profile.nodes.map((node: ProfileNode) => [node.id, node]));
  const self = new Map<string, number>();
  const deltas: number[] = profile.timeDeltas;
  profile.samples.forEach((id: number, index: number) => {
    const node = nodes.get(id)!;
    const name = node.callFrame.functionName || `(${node.callFrame.url.split("/").pop() || "anonymous"})`;
    self.set(name, (self.get(name) ?? 0) + (deltas[index + 1] ?? 0));
  });
  const total = [...self.entries()].filter(([name]) => name !== "(idle)" && name !== "(program)")
    .reduce((sum, [, us]) => sum + us, 0);
  console.log(`run ${run + 1}: sampled ${(total / 1000 / SECONDS).toFixed(1)} ms/s outside idle and (program)`);
  for (const [name, us] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
    console.log(`  ${(us / 1000 / SECONDS).toFixed(1).padStart(7)} ms/s  ${name.slice(0, 150)}`);
  }
}

/** Chrome's tracing over `SECONDS`: time per event on the page's main thread, and how many
 * live messages and frames it had. */
async function trace(cdp: any, run: number) {
  let messages = 0;
  await cdp.send("Network.enable");
  cdp.on("Network.webSocketFrameReceived", () => (messages += 1));
  const events: TraceEvent[] = [];
  cdp.on("Tracing.dataCollected", ({ value }: { value: TraceEvent[] }) => events.push(...value));
  const done = new Promise<void>((resolve) => cdp.once("Tracing.tracingComplete", () => resolve()));
  await cdp.send("Tracing.start", {
    traceConfig: { includedCategories: ["devtools.timeline", "disabled-by-default-devtools.timeline", "toplevel", "v8.execute", "blink"] },
    transferMode: "ReportEvents",
  });
  await new Promise((wake) => setTimeout(wake, SECONDS * 1000));
  await cdp.send("Tracing.end");
  await done;
  const { pid, tid } = mainThread(events);
  const { self, count, tasks } = selfTimes(events, pid, tid);
  const perSecond = (us: number) => (us / 1000 / SECONDS).toFixed(1);
  const frames = count.get("Commit") ?? 0;
  console.log(`run ${run + 1}: tasks ${perSecond(tasks)} ms/s; live messages ${(messages / SECONDS).toFixed(1)}/s; frames committed ${(frames / SECONDS).toFixed(1)}/s`);
  const rows = [...self.entries()].filter(([, us]) => us > 0).sort((a, b) => b[1] - a[1]).slice(0, 25);
  for (const [name, us] of rows) console.log(`  ${perSecond(us).padStart(7)} ms/s  ${String(count.get(name)).padStart(6)}×  ${name}`);
}

test("20 widgets updating 10 times a second: the main thread's time by kind", async ({ browser }) => {
  const app = await Livedash.start();
  try {
    const live = await serverFn(app, "create_dashboard", { dashboard: liveDashboard("Live", 300_000, "live_metric", 1_000), summary: "trace" });
    for (let run = 0; run < RUNS; run++) {
      const { context, page } = await openLive(browser, app, live.id);
      const stopWriter = startWriter(app, "live_metric");
      try {
        await page.waitForTimeout(2_000);
        const cdp = await context.newCDPSession(page);
        if (process.env.TRACE_PROFILE) await profile(cdp, run);
        else await trace(cdp, run);
      } finally {
        stopWriter();
        await context.close();
      }
    }
  } finally {
    await app.dispose();
  }
});
