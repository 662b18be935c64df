//! Soak benchmark for the daemon: a directory receiving one file per second (100k rows, 20
//! numeric + 5 categorical columns, snappy), watched by `drift run` (files windows, settle 1 s).
//! Reports how many files were evaluated, the latency from a file's write to its evaluation,
//! the daemon's CPU use and its resident memory over time (it should stay flat).
//!
//! Run: `cargo bench --bench soak` (10 minutes); `DRIFT_SOAK_SECS=60` for a short run,
//! `DRIFT_SOAK_ROWS` for another file size.

// Benchmarks and tests measure and wait on real time; the rule is for the library.
#![allow(clippy::disallowed_methods)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use drift::synth::{bench_batches, write_parquet};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// (user + system CPU seconds, resident MiB) of a process, from /proc.
fn usage(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = 100.0; // USER_HZ on Linux
    let cpu = (fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?) / ticks;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss =
        status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0;
    Some((cpu, rss))
}

fn http_ok(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = write!(s, "GET {path} HTTP/1.0\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.starts_with("HTTP/1.1 200") || text.starts_with("HTTP/1.0 200")
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let secs = env_num("DRIFT_SOAK_SECS", 600);
    let rows = env_num("DRIFT_SOAK_ROWS", 100_000) as usize;
    let dir = tempfile::TempDir::new().unwrap();
    let root = dir.path();
    let (schema, batches) = bench_batches(rows, 20, 5, false, 1);
    write_parquet(&root.join("reference.parquet"), schema, batches).unwrap();
    std::fs::create_dir(root.join("incoming")).unwrap();
    std::fs::create_dir(root.join("monitors")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(
        root.join("drift.toml"),
        format!("state_dir = \"state\"\nlisten = \"127.0.0.1:{port}\"\nmonitors_dir = \"monitors\"\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("monitors/soak.toml"),
        "[source]\npath = \"../incoming\"\nsettle_secs = 1\npoll_secs = 1\n[reference]\npath = \"../reference.parquet\"\n[window]\nmin_rows = 100\n",
    )
    .unwrap();
    // Ten distinct files to cycle through (half shifted), written ahead of time.
    let cache = root.join("cache");
    std::fs::create_dir(&cache).unwrap();
    for i in 0..10u64 {
        let (schema, batches) = bench_batches(rows, 20, 5, i % 2 == 1, 100 + i);
        write_parquet(&cache.join(format!("{i}.parquet")), schema, batches).unwrap();
    }
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["run", "--config", root.join("drift.toml").to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = daemon.id();
    let start_wait = Instant::now();
    while !http_ok(port, "/readyz") {
        assert!(start_wait.elapsed() < Duration::from_secs(120), "daemon never ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "drift soak: {rows}-row files (25 columns) every second for {secs} s; daemon ready in {:.1} s",
        start_wait.elapsed().as_secs_f64()
    );

    let (cpu0, _) = usage(pid).unwrap();
    let t0 = Instant::now();
    let mut samples: Vec<(f64, f64, f64)> = Vec::new(); // (elapsed s, cpu s, rss MiB)
    let mut written = 0u64;
    let mut next = Instant::now();
    while t0.elapsed() < Duration::from_secs(secs) {
        let src = cache.join(format!("{}.parquet", written % 10));
        let tmp = root.join(format!("incoming/.part-{written:06}.parquet.tmp"));
        std::fs::copy(&src, &tmp).unwrap();
        std::fs::rename(&tmp, root.join(format!("incoming/part-{written:06}.parquet"))).unwrap();
        // Touch so the mtime is the landing time, not the copy's.
        let f = std::fs::File::options()
            .write(true)
            .open(root.join(format!("incoming/part-{written:06}.parquet")))
            .unwrap();
        f.set_modified(SystemTime::now()).unwrap();
        written += 1;
        if written.is_multiple_of(10)
            && let Some((cpu, rss)) = usage(pid)
        {
            samples.push((t0.elapsed().as_secs_f64(), cpu - cpu0, rss));
        }
        next += Duration::from_secs(1);
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    std::thread::sleep(Duration::from_secs(5));
    let (cpu_end, rss_end) = usage(pid).unwrap();
    let wall = t0.elapsed().as_secs_f64();
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = daemon.wait();

    let state = drift::state::State::open_read_only(&root.join("state")).unwrap();
    let consumed = state.consumed_files("soak").unwrap();
    let mut latency: Vec<i64> = consumed.iter().map(|(_, mtime, done)| done - mtime).collect();
    latency.sort_unstable();
    let pct = |p: f64| latency.get(((latency.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(-1);
    println!("files written {written}, evaluated {}", consumed.len());
    println!(
        "write-to-evaluation latency ms (settle 1000 included): p50 {}  p95 {}  max {}",
        pct(0.5),
        pct(0.95),
        latency.last().copied().unwrap_or(-1)
    );
    println!("daemon CPU: {:.2} cores on average over {:.0} s", (cpu_end - cpu0) / wall, wall);
    let first: Vec<f64> = samples.iter().take(6).map(|s| s.2).collect();
    let last: Vec<f64> = samples.iter().rev().take(6).map(|s| s.2).collect();
    let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "daemon RSS MiB: first minute {:.0}, last minute {:.0}, at the end {:.0}, max {:.0}",
        avg(&first),
        avg(&last),
        rss_end,
        samples.iter().map(|s| s.2).fold(0.0, f64::max)
    );
    for s in samples.iter().step_by((samples.len() / 10).max(1)) {
        println!("  t={:>5.0}s  cpu {:>6.1}s  rss {:>6.0} MiB", s.0, s.1, s.2);
    }
}
