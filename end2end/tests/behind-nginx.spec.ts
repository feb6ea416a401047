// Two livedash processes on one Redis behind a real nginx, configured with
// docs/deploy/nginx.conf: a live chart drawn through nginx keeps its points and goes on when the
// process that served its socket stops (the browser reconnects through nginx to the other one
// and resumes from its cursor).
import { expect, test } from "@playwright/test";
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Livedash, open, watchErrors } from "./support/livedash";
import { freePort, RedisServer } from "./support/redis";

/** nginx in the foreground with the repository's configuration, its ports replaced. */
class Nginx {
  private process: ChildProcess | null = null;
  private log = "";

  private constructor(readonly port: number, private readonly dir: string) {}

  static async start(upstreams: string[]): Promise<Nginx> {
    const dir = mkdtempSync(join(tmpdir(), "livedash-nginx-"));
    const nginx = new Nginx(await freePort(), dir);
    const site = readFileSync(resolve(__dirname, "../../docs/deploy/nginx.conf"), "utf8")
      .replace(/^\s*server 127\.0\.0\.1:\d+[^;]*;\n/gm, "")
      .replace(/least_conn;\n/, (line) =>
        line + upstreams.map((address) => `    server ${address} max_fails=1 fail_timeout=5s;\n`).join(""))
      .replace(/listen \d+;/, `listen 127.0.0.1:${nginx.port};`);
    if (!site.includes(upstreams[0])) throw new Error(`the upstream list was not found in:\n${site}`);
    // The main context a packaged nginx.conf provides, here in the test's directory.
    writeFileSync(join(dir, "nginx.conf"), `
worker_processes 1;
daemon off;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 1024; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${site}
}
`);
    const binary = process.env.NGINX_BIN ?? "/usr/sbin/nginx";
    const child = spawn(binary, ["-p", dir, "-c", join(dir, "nginx.conf")], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (chunk) => (nginx.log += chunk));
    child.stderr?.on("data", (chunk) => (nginx.log += chunk));
    nginx.process = child;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`nginx exited:\n${nginx.log}`);
      try {
        if ((await fetch(nginx.url("/healthz"))).ok) return nginx;
      } catch {
        // Not listening yet.
      }
      await new Promise((wake) => setTimeout(wake, 100));
    }
    throw new Error(`nginx did not answer:\n${nginx.log}`);
  }

  url(path = "/"): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (child && child.exitCode === null) {
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let redis: RedisServer;
let apps: Livedash[];
let nginx: Nginx;

test.beforeEach(async () => {
  redis = await RedisServer.start();
  const shared = { REDIS_URL: redis.url(), LIVEDASH_ADMIN_TOKEN: "nginx-e2e-admin-token-0123456789ab",
    LIVEDASH_TRUSTED_PROXIES: "127.0.0.1" };
  apps = [await Livedash.start([], shared), await Livedash.start([], shared)];
  nginx = await Nginx.start(apps.map((app) => new URL(app.url()).host));
});

test.afterEach(async ({}, testInfo) => {
  await nginx.stop();
  for (const app of apps) await app.dispose(testInfo);
  await redis.dispose();
});

/** How many live sockets `app` holds (its /readyz says). */
async function listeners(app: Livedash): Promise<number> {
  const ready = await (await fetch(app.url("/readyz"))).json();
  return ready.live_listeners;
}

test("a live chart through nginx keeps its points when the process serving it stops", async ({ page }) => {
  const errors = watchErrors(page);
  const token = "nginx-e2e-admin-token-0123456789ab";
  const signedIn = await page.context().request.post(nginx.url("/login"), {
    form: { token, next: "/" },
    maxRedirects: 0,
  });
  expect(signedIn.status()).toBe(303);
  const base = Math.floor((Date.now() - 90_000) / 1000) * 1000;
  const write = async (from: number, to: number) => {
    const batch = [];
    for (let i = from; i < to; i++) batch.push({ name: "nginx_gauge", value: 10 + (i % 7), ts: base + i * 1000 });
    const response = await fetch(nginx.url("/api/v1/ingest"), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Token ${token}` },
      body: JSON.stringify(batch),
    });
    expect(response.status).toBe(200);
  };
  await write(0, 10);

  await open(page, nginx.url("/explore?q=nginx_gauge&fn=avg&step=1s&window=5m"));
  const chart = page.getByTestId("chart");
  const status = page.getByTestId("live-status");
  await expect(status).toHaveText("Live");
  await expect(chart).toHaveAttribute("data-points", "10");
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await write(10, 20);
  await expect(chart).toHaveAttribute("data-points", "20");

  // Stop the process that holds the chart's socket; writes go on through nginx meanwhile.
  await expect.poll(async () => (await listeners(apps[0])) + (await listeners(apps[1]))).toBe(1);
  const serving = (await listeners(apps[0])) === 1 ? 0 : 1;
  await apps[serving].stop();
  await write(20, 30);
  await expect(status).toHaveText("Live", { timeout: 20_000 });
  await expect(chart).toHaveAttribute("data-points", "30");
  expect(await listeners(apps[1 - serving])).toBe(1);
  await write(30, 35);
  await expect(chart).toHaveAttribute("data-points", "35");
  await expect(chart).toHaveAttribute("data-lines", "1");
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  expect(errors).toEqual([]);
});
