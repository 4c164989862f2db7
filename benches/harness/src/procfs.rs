//! Owns what the harness reads from `/proc`: CPU time of a process, of the harness's reaped
//! children (the load generator, once it has exited) and of the whole machine, memory of a
//! process, and the load average, so that each row can say who used the cores.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

/// Clock ticks per second of `/proc` CPU times (`USER_HZ`, 100 on Linux).
const TICKS: f64 = 100.0;

/// The fields of `/proc/PID/stat` after the command name, from field 3 (`state`) on.
fn stat_fields(pid: &str) -> Vec<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = text.rsplit_once(')').map(|(_, t)| t).unwrap_or("");
    after
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect()
}

/// User plus system CPU seconds of process `pid` so far.
pub fn process_cpu(pid: u32) -> f64 {
    let f = stat_fields(&pid.to_string());
    // utime and stime are fields 14 and 15; `f` starts at field 4.
    (f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0)) as f64 / TICKS
}

/// CPU seconds of the harness's children that have exited and been waited for.
pub fn reaped_children_cpu() -> f64 {
    let f = stat_fields("self");
    // cutime and cstime are fields 16 and 17.
    (f.get(12).copied().unwrap_or(0) + f.get(13).copied().unwrap_or(0)) as f64 / TICKS
}

/// The machine's CPU seconds so far: (all, busy), summed over every core.
fn machine_cpu() -> (f64, f64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = text.lines().next().unwrap_or_default();
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let all: u64 = v.iter().take(8).sum();
    // idle and iowait are the fourth and fifth.
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (all as f64 / TICKS, (all - idle) as f64 / TICKS)
}

/// `/proc/loadavg`'s three averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// VmRSS of a process, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Who used the machine's CPU over one measurement, as shares of all its cores (1.0 = every
/// core busy for the whole time).
#[derive(Debug, Clone, Copy, Default)]
pub struct Shares {
    /// The load generator.
    pub client: f64,
    /// The measured server.
    pub server: f64,
    /// Everything else: the harness, other users of the machine.
    pub others: f64,
    /// The load generator's CPU seconds.
    pub client_seconds: f64,
    /// The server's CPU seconds.
    pub server_seconds: f64,
}

impl Shares {
    /// As JSON, in percent of the machine.
    pub fn json(&self) -> Value {
        json!({
            "client_pct": (self.client * 1000.0).round() / 10.0,
            "server_pct": (self.server * 1000.0).round() / 10.0,
            "others_pct": (self.others * 1000.0).round() / 10.0,
        })
    }
}

/// CPU readings at the start of a measurement.
pub struct Meter {
    server: u32,
    server_cpu: f64,
    children: f64,
    machine: (f64, f64),
}

impl Meter {
    /// Starts measuring, with `server` as the measured process.
    pub fn start(server: u32) -> Self {
        Self {
            server,
            server_cpu: process_cpu(server),
            children: reaped_children_cpu(),
            machine: machine_cpu(),
        }
    }

    /// The shares since `start`. Call it after the load generator has been waited for: its CPU
    /// time is counted among the reaped children's.
    pub fn finish(&self) -> Shares {
        let (all, busy) = machine_cpu();
        let all = (all - self.machine.0).max(1e-9);
        let busy = busy - self.machine.1;
        let client = (reaped_children_cpu() - self.children).max(0.0);
        let server = (process_cpu(self.server) - self.server_cpu).max(0.0);
        Shares {
            client: client / all,
            server: server / all,
            others: ((busy - client - server) / all).max(0.0),
            client_seconds: client,
            server_seconds: server,
        }
    }
}

/// Samples a process's VmRSS every 20 ms on a thread of its own until stopped.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl RssSampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = rss_kib(pid);
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
                peak = peak.max(rss_kib(pid));
            }
            peak
        });
        Self { stop, thread }
    }

    /// Stops and gives the peak seen, in KiB.
    pub fn peak(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or(0)
    }
}
