//! The managed Redis, through the real `livedash` binary: with no `REDIS_URL` it starts its
//! own `redis-server`, keeps data across a SIGTERM restart, and revives a Redis that dies.

mod support;

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::process::{Process, alive, managed_redis_pid, request, wait_for_new_managed_redis};

/// A point written before a SIGTERM is there after livedash starts again on the same data,
/// and the managed Redis does not outlive livedash.
#[test]
fn managed_redis_keeps_data_across_restarts() {
    let data = tempfile::tempdir().unwrap();
    let first = Process::start(data.path());
    let (status, answer) = request(
        "POST",
        &first.url("/api/v1/ingest"),
        r#"[{"name":"persisted_gauge","labels":{"host":"a"},"value":314.25}]"#,
    )
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    let redis_pid = managed_redis_pid(data.path()).expect("the managed Redis writes a pid file");
    assert!(alive(redis_pid));
    first.terminate();
    assert!(
        !alive(redis_pid),
        "the managed redis-server outlived livedash"
    );
    assert!(data.path().join("appendonlydir").is_dir(), "the AOF is on");

    let second = Process::start(data.path());
    let (status, page) = request("GET", &second.url("/"), "").unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("persisted_gauge"), "{page}");
    assert!(page.contains("314.25"), "{page}");
    second.terminate();
}

/// A managed Redis that dies is restarted, with its data.
#[test]
fn a_managed_redis_that_dies_is_restarted() {
    let data = tempfile::tempdir().unwrap();
    let process = Process::start(data.path());
    let (status, _) = request(
        "POST",
        &process.url("/api/v1/ingest"),
        r#"{"name":"survivor","value":1}"#,
    )
    .unwrap();
    assert_eq!(status, 200);
    // appendfsync everysec: give the AOF its second before pulling the plug.
    std::thread::sleep(Duration::from_millis(1500));
    let first_pid = managed_redis_pid(data.path()).unwrap();
    kill(Pid::from_raw(first_pid), Signal::SIGKILL).unwrap();

    wait_for_new_managed_redis(data.path(), first_pid, Duration::from_secs(30));
    process.wait_ready(Duration::from_secs(30));
    let (status, page) = request("GET", &process.url("/"), "").unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("survivor"), "{page}");
    process.terminate();
}
