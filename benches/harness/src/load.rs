//! Owns the load generators, each run as a process of its own: wrk (keep-alive connections,
//! Lua scripts for bodies, headers and chained requests) for the request rows, and curl for
//! the 1 GiB transfers. Each run reports what the generator measured and who used the CPU.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::procfs::{Meter, Shares};

/// Where the wrk scripts are: read when a run starts, so that editing one needs no rebuild.
const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/lua");
/// One fixed request sent again and again.
pub const REQUEST: &str = "request.lua";
/// The P9 guest-operation mix.
pub const MIX: &str = "mix.lua";

/// Whether wrk is installed.
pub fn have_wrk() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Writes the script `name` of `lua/`, after the shared part (`common.lua`), into `dir` and
/// gives its path.
pub fn script(dir: &Path, name: &str) -> PathBuf {
    let read = |n: &str| {
        std::fs::read_to_string(format!("{SCRIPTS}/{n}"))
            .unwrap_or_else(|e| panic!("{SCRIPTS}/{n}: {e}"))
    };
    let path = dir.join(name);
    std::fs::write(&path, format!("{}\n{}", read("common.lua"), read(name)))
        .expect("write a wrk script");
    path
}

/// One wrk run.
#[derive(Debug, Clone)]
pub struct Wrk {
    /// `https://localhost:PORT` (the path comes from the script's arguments).
    pub url: String,
    /// The script, as written by [`script`].
    pub script: PathBuf,
    /// The script's arguments.
    pub args: Vec<String>,
    /// wrk threads.
    pub threads: usize,
    /// Keep-alive connections, spread over the threads.
    pub connections: usize,
    /// How long it runs.
    pub duration: Duration,
}

/// What a wrk run measured.
#[derive(Debug, Clone)]
pub struct WrkResult {
    /// Requests answered per second.
    pub rps: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// The server's CPU time per answered request, µs.
    pub server_us: f64,
    /// The load generator's CPU time per answered request, µs.
    pub client_us: f64,
    /// Answers that were errors (status above 399) and socket errors.
    pub errors: u64,
    /// Everything the script printed.
    pub raw: Value,
    /// Who used the CPU meanwhile.
    pub shares: Shares,
}

impl Wrk {
    fn command(&self) -> Command {
        let mut cmd = Command::new("wrk");
        cmd.arg("-t")
            .arg(self.threads.to_string())
            .arg("-c")
            .arg(self.connections.to_string())
            .arg("-d")
            .arg(format!("{}s", self.duration.as_secs().max(1)))
            .args(["--timeout", "10s", "-s"])
            .arg(&self.script)
            .arg(&self.url)
            .arg("--")
            .args(&self.args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs wrk against the server with process id `server` and waits for it.
    pub fn run(&self, server: u32) -> WrkResult {
        self.run_until(server, || false)
    }

    /// Runs wrk, stopping it early (SIGINT, after which it reports as usual) once `enough`
    /// says so; `enough` is asked every 100 ms. wrk now and then dies of a segmentation fault
    /// when many of its threads run Lua; a run that printed no results is run again, twice at
    /// most.
    pub fn run_until(&self, server: u32, mut enough: impl FnMut() -> bool) -> WrkResult {
        let mut failures = Vec::new();
        for _ in 0..3 {
            match self.attempt(server, &mut enough) {
                Ok(r) => return r,
                Err(e) => {
                    eprintln!("  wrk failed, running it again: {e}");
                    failures.push(e);
                }
            }
        }
        panic!("wrk failed three times: {}", failures.join("; "))
    }

    fn attempt(&self, server: u32, enough: &mut impl FnMut() -> bool) -> Result<WrkResult, String> {
        let meter = Meter::start(server);
        let started = crate::stats::now();
        let mut child = self.command().spawn().expect("wrk starts");
        let mut stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        let mut interrupted = false;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for wrk") {
                break status;
            }
            if !interrupted && enough() {
                let _ = Command::new("kill")
                    .args(["-INT", &child.id().to_string()])
                    .status();
                interrupted = true;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let shares = meter.finish();
        let out = reader.join().unwrap_or_default();
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix("BENCHJSON "))
            .ok_or_else(|| format!("wrk ({status}) printed no results: {}", err.trim()))?;
        let raw: Value = serde_json::from_str(line)
            .map_err(|e| format!("wrk's results are not JSON ({e}): {line}"))?;
        let secs = raw["duration_us"]
            .as_f64()
            .unwrap_or(started.elapsed().as_secs_f64() * 1e6)
            / 1e6;
        let errors = ["connect", "read", "write", "status", "timeout"]
            .iter()
            .map(|k| raw["errors"][k].as_u64().unwrap_or(0))
            .sum();
        let requests = raw["requests"].as_f64().unwrap_or(0.0).max(1.0);
        Ok(WrkResult {
            server_us: shares.server_seconds * 1e6 / requests,
            client_us: shares.client_seconds * 1e6 / requests,
            rps: raw["requests"].as_f64().unwrap_or(0.0) / secs.max(1e-9),
            p99_ms: raw["p99_us"].as_f64().unwrap_or(0.0) / 1000.0,
            errors,
            raw,
            shares,
        })
    }
}

/// What one curl transfer measured.
#[derive(Debug, Clone, Copy)]
pub struct Transfer {
    /// MiB per second, from the first byte sent to the last (connection set-up left out).
    pub mib_s: f64,
    /// Who used the CPU meanwhile.
    pub shares: Shares,
}

/// Downloads `url` to /dev/null with curl (`upload`: `None`), or uploads the file `upload` to
/// it with `PUT`, trusting `cacert`; panics unless the answer is a 2xx and all `bytes` moved.
pub fn curl(url: &str, cacert: &Path, upload: Option<&Path>, bytes: u64, server: u32) -> Transfer {
    let meter = Meter::start(server);
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--http1.1", "-o", "/dev/null", "-H", "Expect:"])
        .arg("--cacert")
        .arg(cacert)
        .args([
            "-w",
            "%{http_code} %{size_download} %{size_upload} %{time_pretransfer} %{time_total}",
        ]);
    if let Some(file) = upload {
        cmd.arg("-T").arg(file);
    }
    let out = cmd.arg(url).output().expect("curl runs");
    let shares = meter.finish();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let f: Vec<&str> = text.split_whitespace().collect();
    assert!(
        f.len() == 5 && f[0].starts_with('2'),
        "curl {url}: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let moved: f64 = if upload.is_some() { f[2] } else { f[1] }
        .parse()
        .unwrap_or(0.0);
    assert_eq!(moved as u64, bytes, "curl moved {moved} of {bytes} bytes");
    let secs = f[4].parse::<f64>().unwrap_or(1.0) - f[3].parse::<f64>().unwrap_or(0.0);
    Transfer {
        mib_s: bytes as f64 / (1 << 20) as f64 / secs.max(1e-9),
        shares,
    }
}
