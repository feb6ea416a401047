// A redis-server of the test's own (not livedash's managed one), so a test can kill it and
// start it again on the same port and data while livedash keeps running.
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export class RedisServer {
  private process: ChildProcess | null = null;

  private constructor(private readonly port: number, private readonly dir: string) {}

  /** Starts one on a free port, its append-only file fsynced at every write, so a kill loses
   * nothing (sessions included). */
  static async start(): Promise<RedisServer> {
    const redis = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), "livedash-e2e-redis-")));
    await redis.startAgain();
    return redis;
  }

  url(): string {
    return `redis://127.0.0.1:${this.port}/`;
  }

  /** Starts it (again) on its port and data, and waits until it answers PING. */
  async startAgain(): Promise<void> {
    const binary = process.env.LIVEDASH_TEST_REDIS_SERVER ?? "redis-server";
    this.process = spawn(binary, ["--bind", "127.0.0.1", "--port", String(this.port), "--dir", this.dir,
      "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--logfile", "redis.log"],
      { stdio: "ignore" });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (await this.answers()) return;
      await new Promise((wake) => setTimeout(wake, 50));
    }
    throw new Error(`redis-server on port ${this.port} did not start`);
  }

  /** SIGKILL, no goodbye; waits until it is gone. */
  async kill(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGKILL");
    await exited;
  }

  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Whether it answers an inline PING with +PONG. */
  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, "127.0.0.1");
      socket.setTimeout(500);
      socket.once("connect", () => socket.write("PING\r\n"));
      socket.once("data", (data) => { socket.destroy(); resolve(data.toString().startsWith("+PONG")); });
      socket.once("error", () => resolve(false));
      socket.once("timeout", () => { socket.destroy(); resolve(false); });
    });
  }
}
