//! The vcmock benchmark: starts the release binary and baselines on standard stacks on
//! loopback, loads them from wrk and curl (processes of their own), alternating vcmock and its
//! baseline over rounds, and prints each measure beside its baseline with the ratio, the load
//! generator's CPU share and the machine's load, as a markdown table and a JSON file.
//!
//! `vcmock-bench run [--vcmock PATH] [--out FILE]` runs the rows; `baseline-axum` and
//! `baseline-hyper` are the baseline servers, which `run` starts as processes of their own.

mod baseline;
mod cert;
mod inproc;
mod load;
mod procfs;
mod rows;
mod stats;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// Keep-alive connections of every load row.
pub const CONNECTIONS: usize = 64;
/// One GiB.
pub const GIB: u64 = 1 << 30;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rest = args.get(2..).unwrap_or_default();
    match args.get(1).map(String::as_str) {
        Some("baseline-axum") => baseline::axum(rest),
        Some("baseline-hyper") => baseline::hyper(rest),
        Some("run") => {
            let flag = |name: &str, default: &str| {
                rest.iter()
                    .position(|a| a == name)
                    .and_then(|i| rest.get(i + 1))
                    .cloned()
                    .unwrap_or_else(|| default.to_owned())
            };
            let vcmock = flag("--vcmock", "target/release/vcmock");
            let out = flag("--out", "target/bench/results.json");
            run(Path::new(&vcmock), Path::new(&out));
        }
        _ => {
            eprintln!(
                "usage: vcmock-bench run [--vcmock PATH] [--out FILE] | baseline-axum ... | baseline-hyper ..."
            );
            std::process::exit(2);
        }
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What every row can reach: the settings of the run, its files and certificate, the binaries.
pub struct Bench {
    /// The run's temporary directory (fixtures, scripts, certificate, logs).
    pub dir: PathBuf,
    /// The certificate every server serves.
    pub cert: cert::CertFiles,
    /// The vcmock binary.
    pub vcmock: PathBuf,
    /// This binary (the baselines).
    pub me: PathBuf,
    /// Seconds each load runs.
    pub duration: Duration,
    /// Seconds of warm-up before the first round of each server.
    pub warmup: Duration,
    /// Rounds of each compared row.
    pub rounds: usize,
    /// A client for setting up the rows (logins, transfer URLs); never for the load.
    pub http: reqwest::blocking::Client,
    /// The rows so far.
    pub rows: Vec<Row>,
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// P1..P9, S1..
    pub id: &'static str,
    /// What is measured.
    pub measure: String,
    /// vcmock's figure.
    pub vcmock: String,
    /// The baseline's figure.
    pub baseline: String,
    /// vcmock against the baseline.
    pub ratio: String,
    /// The target.
    pub target: &'static str,
    /// Whether it was met (`None`: nothing to meet).
    pub met: Option<bool>,
    /// Who used the CPU: the load generator, the server and everything else, in percent of
    /// both cores (vcmock's runs; the baseline's after a semicolon).
    pub cpu: String,
    /// `/proc/loadavg` when the row started.
    pub load: String,
    /// The raw figures, for the JSON file.
    pub data: Value,
}

impl Row {
    /// A row with only a figure of vcmock's.
    pub fn new(id: &'static str, measure: impl Into<String>, vcmock: impl Into<String>) -> Self {
        Self {
            id,
            measure: measure.into(),
            vcmock: vcmock.into(),
            baseline: String::new(),
            ratio: String::new(),
            target: "report",
            met: None,
            cpu: String::new(),
            load: procfs::loadavg(),
            data: Value::Null,
        }
    }
}

/// A server process: vcmock or a baseline, started and waited for until its ready line.
pub struct Server {
    child: Child,
    /// Its ready line, with `startup_ms` (exec to ready line) added.
    pub ready: Value,
    /// The port it listens on.
    pub port: u16,
}

impl Server {
    /// Starts `cmd` and waits for its ready line on stdout; stderr goes to `log` (or nowhere).
    pub fn start(cmd: &mut Command, log: Option<&Path>) -> Self {
        let stderr = match log {
            Some(p) => Stdio::from(std::fs::File::create(p).expect("a log file")),
            None => Stdio::null(),
        };
        let started = crate::stats::now();
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("a ready line");
        let startup = started.elapsed();
        let mut ready: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("ready line ({e}): {line}"));
        ready["startup_ms"] = json!(startup.as_secs_f64() * 1000.0);
        let port = ready["address"]
            .as_str()
            .and_then(|a| a.rsplit_once(':'))
            .and_then(|(_, p)| p.parse().ok())
            .expect("a port in the ready line");
        Self { child, ready, port }
    }

    /// `https://localhost:PORT`.
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    /// Stops the server with SIGTERM, so that vcmock removes its spilled uploads, and kills it
    /// if it has not exited within 10 s.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = crate::stats::now() + Duration::from_secs(10);
        while crate::stats::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Bench {
    /// Starts vcmock with `args` (after `--listen 127.0.0.1:0`, the run's certificate and
    /// `--log-level warn` unless `args` sets one), stderr to `log`.
    pub fn vcmock(&self, args: &[&str], log: Option<&Path>) -> Server {
        let mut cmd = Command::new(&self.vcmock);
        cmd.args(["--listen", "127.0.0.1:0"])
            .arg("--tls-cert")
            .arg(&self.cert.cert)
            .arg("--tls-key")
            .arg(&self.cert.key)
            .arg("--cert-out")
            .arg(self.dir.join("served-{port}.pem"));
        if !args.contains(&"--log-level") {
            cmd.args(["--log-level", "warn"]);
        }
        Server::start(cmd.args(args), log)
    }

    /// Starts a baseline (`baseline-axum` or `baseline-hyper`) with `args`.
    pub fn baseline(&self, kind: &str, args: &[String]) -> Server {
        let mut cmd = Command::new(&self.me);
        cmd.arg(kind)
            .arg("--cert")
            .arg(&self.cert.cert)
            .arg("--key")
            .arg(&self.cert.key)
            .args(args);
        Server::start(&mut cmd, None)
    }
}

fn run(vcmock: &Path, out: &Path) {
    let dir = std::env::temp_dir().join(format!("vcmock-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let cert = cert::generate(&dir);
    let root = reqwest::Certificate::from_pem(&std::fs::read(&cert.cert).expect("read cert"))
        .expect("PEM");
    let http = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(root)
        .timeout(Duration::from_secs(120))
        .build()
        .expect("a client");
    let mut bench = Bench {
        dir: dir.clone(),
        cert,
        vcmock: vcmock.to_owned(),
        me: std::env::current_exe().expect("this binary"),
        duration: Duration::from_secs(env_u64("BENCH_SECONDS", 5)),
        warmup: Duration::from_secs(env_u64("BENCH_WARMUP", 3)),
        rounds: env_u64("BENCH_ROUNDS", 5).max(1) as usize,
        http,
        rows: Vec::new(),
    };
    let only = std::env::var("BENCH_ROWS").ok();
    let want = |id: &str| {
        only.as_deref().is_none_or(|o| {
            o.split(',')
                .any(|x| x.trim() == id || (x.trim().len() == 1 && id.starts_with(x.trim())))
        })
    };
    let started = crate::stats::now();
    let load_at_start = procfs::loadavg();
    eprintln!("vcmock-bench: load average {load_at_start} at the start");
    if load::have_wrk() {
        rows::load_rows(&mut bench, &want);
    } else {
        eprintln!("vcmock-bench: wrk is not installed: the load rows are skipped");
        bench.rows.push(Row::new(
            "P1",
            "load rows (P1, P2, P6, P9) skipped: wrk is not installed",
            "-",
        ));
    }
    rows::transfer_rows(&mut bench, &want);
    rows::startup_row(&mut bench, &want);
    inproc::rows(&mut bench, &want);
    if want("S") {
        rows::soap_rows(&mut bench);
    }
    report(&bench, out, &load_at_start, started.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}

fn report(bench: &Bench, out: &Path, load_at_start: &str, took: Duration) {
    println!(
        "| id | measure | vcmock | baseline | ratio | target | met | CPU: load generator / server / others | load avg |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut json_rows = Vec::new();
    for r in &bench.rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.id, r.measure, r.vcmock, r.baseline, r.ratio, r.target, met, r.cpu, r.load
        );
        json_rows.push(json!({
            "id": r.id, "measure": r.measure, "vcmock": r.vcmock, "baseline": r.baseline,
            "ratio": r.ratio, "target": r.target, "met": r.met, "cpu": r.cpu, "load": r.load,
            "data": r.data,
        }));
    }
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).expect("the results directory");
    }
    let doc = json!({
        "rows": json_rows,
        "seconds_per_load": bench.duration.as_secs(),
        "warmup_seconds": bench.warmup.as_secs(),
        "rounds": bench.rounds,
        "connections": CONNECTIONS,
        "load_generator": "wrk (requests), curl (transfers)",
        "load_at_start": load_at_start,
        "load_at_end": procfs::loadavg(),
        "run_seconds": took.as_secs(),
    });
    std::fs::write(out, serde_json::to_vec_pretty(&doc).expect("JSON")).expect("write results");
    eprintln!(
        "results written to {} ({} s; load average {} at the end)",
        out.display(),
        took.as_secs(),
        procfs::loadavg()
    );
}
