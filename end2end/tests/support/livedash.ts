// Starts and stops a real livedash process for a test. With no REDIS_URL, livedash launches
// its own redis-server on a temporary data directory, so every spec gets a throwaway Redis.
import type { BrowserContext, Page, TestInfo } from "@playwright/test";
import { randomBytes } from "node:crypto";
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const binary = process.env.LIVEDASH_BIN ?? resolve(__dirname, "../../../target/release/livedash");
const siteRoot = process.env.LIVEDASH_SITE_ROOT ?? resolve(__dirname, "../../../target/site");

export class Livedash {
  private process: ChildProcess | null = null;
  private log = "";

  /** 0 until the first launch, which binds port 0 and learns the port from the log. */
  private port = 0;

  /** The admin token it is configured with (access control is on, as for users). */
  readonly adminToken = randomBytes(16).toString("hex");

  private constructor(readonly dataDir: string, private readonly args: string[],
    private readonly extraEnv: Record<string, string>) {}

  /** Starts livedash (with command-line `args`) on a free port with a fresh data directory, and
   * waits until it is ready. */
  static async start(args: string[] = [], env: Record<string, string> = {}): Promise<Livedash> {
    const app = new Livedash(mkdtempSync(join(tmpdir(), "livedash-e2e-")), args, env);
    await app.launch();
    return app;
  }

  url(path = "/"): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** (Re)launches the process on the same port (after the first launch) and data directory. */
  async launch(): Promise<void> {
    const env = { ...process.env, LIVEDASH_ADDR: `127.0.0.1:${this.port}`, LIVEDASH_DATA_DIR: this.dataDir,
      LIVEDASH_SITE_ROOT: siteRoot, LIVEDASH_STATSD_ADDR: "off", RUST_LOG: process.env.RUST_LOG ?? "info", NO_COLOR: "1",
      // Each test sees only what it writes: no series or Overview dashboard of livedash's own.
      LIVEDASH_SELF_METRICS: "off", LIVEDASH_ADMIN_TOKEN: this.adminToken, ...this.extraEnv };
    if (this.extraEnv.LIVEDASH_ADMIN_TOKEN === "") delete env.LIVEDASH_ADMIN_TOKEN;
    // The managed Redis, unless the test brings its own.
    if (!this.extraEnv.REDIS_URL) delete env.REDIS_URL;
    const child = spawn(binary, this.args, { env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (chunk) => (this.log += chunk));
    child.stderr?.on("data", (chunk) => (this.log += chunk));
    this.process = child;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`livedash exited early:\n${this.log}`);
      if (this.port === 0) {
        const serving = /serving on http:\/\/127\.0\.0\.1:(\d+)/.exec(this.log);
        if (serving) this.port = Number(serving[1]);
        else {
          await new Promise((wake) => setTimeout(wake, 100));
          continue;
        }
      }
      try {
        const response = await fetch(this.url("/readyz"));
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((wake) => setTimeout(wake, 100));
    }
    throw new Error(`livedash did not become ready:\n${this.log}`);
  }

  /** SIGTERM, and wait for the process (and its managed Redis) to exit. */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    await exited;
  }

  /** Stops for good and removes the data directory; a failed test gets the server's log attached. */
  async dispose(testInfo?: TestInfo): Promise<void> {
    await this.stop();
    if (testInfo && testInfo.status !== testInfo.expectedStatus) {
      await testInfo.attach("livedash.log", { body: this.log, contentType: "text/plain" });
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** What the server printed so far. */
  output(): string {
    return this.log;
  }

  /** The header that authenticates a script as the admin. */
  authHeaders(): Record<string, string> {
    return { authorization: `Token ${this.adminToken}` };
  }

  /** Signs `context`'s browser in as the admin (through the sign-in form, as a user would
   * after pasting the token), so its pages and server function calls carry the session. */
  async signIn(context: BrowserContext): Promise<void> {
    const response = await context.request.post(this.url("/login"), {
      form: { token: this.adminToken, next: "/" },
      maxRedirects: 0,
    });
    if (response.status() !== 303) throw new Error(`sign-in failed: ${response.status()}`);
  }

  /** Calls server function `name` as the admin; its JSON answer. */
  async callFn(name: string, args: unknown): Promise<any> {
    const response = await fetch(this.url(`/api/fn/${name}`), {
      method: "POST",
      headers: { "content-type": "application/json", ...this.authHeaders() },
      body: JSON.stringify(args),
    });
    if (!response.ok) throw new Error(`${name}: ${response.status} ${await response.text()}`);
    return response.json();
  }

  /** Makes an API token for `role`; the secret. */
  async createToken(role: "admin" | "viewer" | "ingest", label = role): Promise<string> {
    return (await this.callFn("create_token", { role, label })).token;
  }

  /** POSTs a JSON batch to the ingest endpoint and returns the parsed answer. */
  async ingest(batch: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(this.url("/api/v1/ingest"), {
      method: "POST",
      headers: { "content-type": "application/json", ...this.authHeaders() },
      body: JSON.stringify(batch),
    });
    return { status: response.status, body: await response.json() };
  }

  /** POSTs a JSON batch of analytics events and returns the parsed answer. */
  async events(batch: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(this.url("/api/v1/events"), {
      method: "POST",
      headers: { "content-type": "application/json", ...this.authHeaders() },
      body: JSON.stringify(batch),
    });
    return { status: response.status, body: await response.json() };
  }
}

/** Collects uncaught exceptions and console errors, so a broken hydration fails the test. Failed
 * WebSocket connection attempts while the server restarts are expected and left out. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && !/WebSocket connection .* failed/.test(message.text())) {
      errors.push(message.text());
    }
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return errors;
}

/** Waits until the page is hydrated. The server-rendered page shows at once, but until the WASM
 * bundle (and the chunk of a lazily loaded page) has hydrated it, clicks and typing do nothing. */
export async function hydrated(page: Page): Promise<void> {
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
}

/** Opens a livedash page and waits until it is hydrated. */
export async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await hydrated(page);
}

/** Reloads a livedash page and waits until it is hydrated. */
export async function reload(page: Page): Promise<void> {
  await page.reload();
  await hydrated(page);
}
