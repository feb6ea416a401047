"""Writes to livedash with client libraries nobody here wrote, and checks what arrived.

Usage: python check_clients.py PATH/TO/livedash

Starts livedash (with its own managed, throwaway Redis) on free ports, writes through the
official InfluxDB Python client (the InfluxDB 2 write API: Point objects, line strings,
dictionaries, millisecond and second precision, gzip) and the `statsd` package (counters with
sample rates, gauges and gauge deltas, timers, sets), reads everything back through livedash's
server function and query API, and exits non-zero on any difference. Access control is on:
the script creates an ingest token (for the clients) and a viewer token (for reading back) with
the configured admin token, and checks that a wrong token is refused.
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import statsd
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(base: str, process: subprocess.Popen) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"livedash exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("livedash did not become ready")


def create_token(base: str, admin_token: str, role: str) -> str:
    request = urllib.request.Request(
        f"{base}/api/fn/create_token",
        data=json.dumps({"role": role, "label": f"client check ({role})"}).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json",
                 "Authorization": f"Token {admin_token}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)["token"]


def current_values(base: str, token: str) -> dict:
    request = urllib.request.Request(
        f"{base}/api/fn/current_values",
        data=b"",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
                 "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        listing = json.load(response)
    return {
        (value["series"]["name"], tuple(sorted(value["series"]["labels"].items()))): (
            value["value"],
            value["ts"],
        )
        for value in listing["values"]
    }


def query(base: str, token: str, **params: str) -> list:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode(params)
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)["series"]


def statsd_check(base: str, statsd_port: int, token: str) -> list:
    client = statsd.StatsClient("127.0.0.1", statsd_port, prefix="shop")
    for _ in range(3):
        client.incr("orders")
    client.incr("orders", 5)
    client.gauge("queue", 10)
    client.gauge("queue", 4, delta=True)
    client.gauge("queue", -2, delta=True)
    client.timing("render", 320)
    client.timing("render", 180)
    with client.timer("block"):
        time.sleep(0.01)
    client.set("visitors", "alice")
    client.set("visitors", "bob")
    client.set("visitors", "alice")
    with client.pipeline() as pipe:
        pipe.incr("pipelined", 2)
        pipe.gauge("pipelined_gauge", 7)

    want = {
        ("shop_orders", "sum"): 8.0,
        ("shop_queue", "last"): 12.0,
        ("shop_render", "count"): 2.0,
        ("shop_render", "max"): 320.0,
        ("shop_block", "count"): 1.0,
        ("shop_visitors", "unique"): 2.0,
        ("shop_pipelined", "sum"): 2.0,
        ("shop_pipelined_gauge", "last"): 7.0,
    }
    got = {}
    deadline = time.time() + 5
    while time.time() < deadline:
        for (name, agg) in want:
            series = query(base, token, query=name, agg=agg, range="5m", step="5m", group_by="")
            got[(name, agg)] = series[0]["points"][-1][1] if series else None
        if got == want:
            break
        time.sleep(0.1)
    return [f"statsd {key}: expected {value}, got {got.get(key)}" for key, value in want.items() if got.get(key) != value]


def main() -> None:
    binary = sys.argv[1]
    port = free_port()
    statsd_port = free_port(socket.SOCK_DGRAM)
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        admin_token = secrets.token_hex(16)
        env = dict(os.environ, LIVEDASH_ADDR=f"127.0.0.1:{port}", LIVEDASH_DATA_DIR=data_dir,
                   LIVEDASH_STATSD_ADDR=f"127.0.0.1:{statsd_port}", RUST_LOG="warn",
                   LIVEDASH_ADMIN_TOKEN=admin_token, LIVEDASH_AUTH="on")
        env.pop("REDIS_URL", None)
        process = subprocess.Popen([binary], env=env)
        try:
            wait_ready(base, process)
            # The admin token is stored once Redis answers, just after readiness.
            deadline = time.time() + 10
            while True:
                try:
                    ingest_token = create_token(base, admin_token, "ingest")
                    break
                except urllib.error.HTTPError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.1)
            viewer_token = create_token(base, admin_token, "viewer")
            failures = []
            with InfluxDBClient(url=base, token="ldt_wrong", org="acme") as client:
                try:
                    client.write_api(write_options=SYNCHRONOUS).write(
                        bucket="metrics", record="refused value=1")
                    failures.append("a write with a wrong token was accepted")
                except Exception as error:  # influxdb_client raises ApiException
                    if getattr(error, "status", None) != 401:
                        failures.append(f"a wrong token got {error!r}, expected 401")
            now_ms = int(time.time() * 1000) - 5_000
            now_s = now_ms // 1000
            with InfluxDBClient(url=base, token=ingest_token, org="acme") as client:
                writer = client.write_api(write_options=SYNCHRONOUS)
                writer.write(
                    bucket="metrics",
                    record=Point("weather")
                    .tag("station", "oslo")
                    .field("temperature", 3.5)
                    .field("humidity", 81)
                    .field("note", "drizzle")
                    .time(now_ms, WritePrecision.MS),
                    write_precision=WritePrecision.MS,
                )
                writer.write(bucket="metrics", record=f"weather,station=bergen temperature=7.25 {now_s}",
                             write_precision=WritePrecision.S)
                writer.write(bucket="metrics", record=[
                    {"measurement": "h2o", "tags": {"location": "coyote creek"}, "fields": {"level": 4.5, "ok": True}},
                ])
            with InfluxDBClient(url=base, token=ingest_token, org="acme", enable_gzip=True) as client:
                client.write_api(write_options=SYNCHRONOUS).write(
                    bucket="metrics", record=Point("gzipped").field("value", 11.5)
                )

            values = current_values(base, viewer_token)
            expected = {
                ("weather_temperature", (("station", "oslo"),)): (3.5, now_ms),
                ("weather_humidity", (("station", "oslo"),)): (81, now_ms),
                ("weather_temperature", (("station", "bergen"),)): (7.25, now_s * 1000),
            }
            failures += [f"{key}: expected {want}, got {values.get(key)}" for key, want in expected.items()
                         if values.get(key) != want]
            for key, want in [
                (("h2o_level", (("location", "coyote creek"),)), 4.5),
                (("h2o_ok", (("location", "coyote creek"),)), 1),
                (("gzipped_value", ()), 11.5),
            ]:
                if key not in values or values[key][0] != want:
                    failures.append(f"{key}: expected {want}, got {values.get(key)}")
            failures += statsd_check(base, statsd_port, viewer_token)
            if failures:
                sys.exit("client check failed:\n  " + "\n  ".join(failures))
            print("third-party clients: influxdb-client (6 series) and statsd (8 series) read back, a wrong token refused: 15 passed, 0 failed")
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
