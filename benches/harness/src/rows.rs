//! Owns the rows that load the release binary: P1 (with the cost of the info-level log line),
//! P2, P6 and P9 from wrk, P3 and P4 from curl, P5's start-up, and the SOAP rows from pyVmomi.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::load::{self, Wrk, WrkResult};
use crate::procfs::{self, RssSampler, Shares};
use crate::stats::{self, Spread};
use crate::{Bench, CONNECTIONS, GIB, Row, Server};

/// The administrator of every fixture the harness writes.
const ADMIN: (&str, &str) = ("administrator@vsphere.local", "VMware1!");

fn credentials() -> Value {
    json!({"interactive_session": false, "type": "USERNAME_PASSWORD", "user_name": "root", "password": "rootpw"})
}

fn basic_auth() -> String {
    use base64::Engine as _;
    let pair = format!("{}:{}", ADMIN.0, ADMIN.1);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// A fixture file with the harness's administrator, a role that may do everything and `vms`.
fn write_fixture(dir: &Path, name: &str, vms: Vec<Value>) -> PathBuf {
    let f = json!({
        "format": "vcmock-fixture/v1",
        "roles": [{"name": "Admin", "privileges": ["*"]}],
        "users": [{"login": ADMIN.0, "password": ADMIN.1, "role": "Admin"}],
        "vms": vms,
    });
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec(&f).expect("JSON")).expect("write a fixture");
    p
}

fn bench_vm(id: &str, host: &str, files: Vec<Value>) -> Value {
    json!({"id": id, "name": id, "guest_family": "linux", "power_state": "POWERED_ON",
           "host": host, "disk_capacity": 4 * GIB,
           "guest_users": [{"name": "root", "password": "rootpw", "uid": 0}], "files": files})
}

/// The fixture of the load rows: one VM with a 20-entry directory `/bench`, a generated 1 GiB
/// file, `/tmp`, and a directory for each P9 connection (`/work/c01`...).
fn load_fixture(dir: &Path) -> PathBuf {
    let mut files = vec![
        json!({"path": "/bench", "type": "directory"}),
        json!({"path": "/data/big.bin", "size": GIB}),
        json!({"path": "/tmp", "type": "directory", "mode": "1777"}),
    ];
    files.extend((0..20).map(
        |i| json!({"path": format!("/bench/file-{i:02}.dat"), "content": "x".repeat(1000 + i)}),
    ));
    files.extend(
        (1..=CONNECTIONS).map(
            |i| json!({"path": format!("/work/c{i:02}"), "type": "directory", "mode": "1777"}),
        ),
    );
    write_fixture(dir, "bench.json", vec![bench_vm("vm-1", "host-11", files)])
}

/// The 10,000-VM fixture of P5 and the SOAP rows (five files each, over four hosts).
fn ten_thousand(dir: &Path) -> PathBuf {
    let vms = (0..10_000)
        .map(|i| {
            bench_vm(
                &format!("vm-{}", 10_000 + i),
                &format!("host-{}", 11 + i % 4),
                vec![
                    json!({"path": "/etc/hostname", "content": format!("vm-{i}\n")}),
                    json!({"path": "/etc/hosts", "content": "127.0.0.1 localhost\n"}),
                    json!({"path": "/tmp", "type": "directory", "mode": "1777"}),
                    json!({"path": "/var/log/syslog", "content": "boot\n"}),
                    json!({"path": "/home/user/notes.txt", "content": "notes\n"}),
                ],
            )
        })
        .collect();
    write_fixture(dir, "ten-thousand.json", vms)
}

impl Bench {
    /// Logs in as the administrator and gives the session id.
    fn login(&self, server: &Server) -> String {
        self.http
            .post(format!("{}/api/session", server.url()))
            .basic_auth(ADMIN.0, Some(ADMIN.1))
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .expect("a login")
    }

    /// The body of vcmock's answer to `POST path` with `body` (for the baselines to answer).
    fn answer_of(
        &self,
        server: &Server,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Vec<u8> {
        let mut req = self
            .http
            .post(format!("{}{path}", server.url()))
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req
            .send()
            .and_then(|r| r.error_for_status())
            .expect("an answer");
        resp.bytes().expect("a body").to_vec()
    }

    /// A transfer URL for `spec` on vm-1, with the host filled in.
    fn transfer(&self, server: &Server, sid: &str, spec: Value) -> String {
        let url: String = self
            .http
            .post(format!(
                "{}/api/vcenter/vm/vm-1/guest/filesystem?action=create",
                server.url()
            ))
            .header("vmware-api-session-id", sid)
            .json(&json!({"credentials": credentials(), "spec": spec}))
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .expect("a transfer URL");
        url.replacen('*', "localhost", 1)
    }

    fn wrk(&self, server: &Server, script: &Path, args: Vec<String>, duration: Duration) -> Wrk {
        Wrk {
            url: server.url(),
            script: script.to_owned(),
            args,
            threads: 2,
            connections: CONNECTIONS,
            duration,
        }
    }

    /// Runs `a` (vcmock) and `b` (its baseline) for a warm-up each, then `rounds` times each,
    /// taking turns and swapping who goes first every round.
    fn alternate(&self, a: (&Server, &Wrk), b: (&Server, &Wrk)) -> Vec<(WrkResult, WrkResult)> {
        if !self.warmup.is_zero() {
            for (s, w) in [a, b] {
                let warm = Wrk {
                    duration: self.warmup,
                    ..w.clone()
                };
                warm.run(s.pid());
            }
        }
        (0..self.rounds)
            .map(|round| {
                let (x, y) = if round % 2 == 0 {
                    let x = a.1.run(a.0.pid());
                    (x, b.1.run(b.0.pid()))
                } else {
                    let y = b.1.run(b.0.pid());
                    (a.1.run(a.0.pid()), y)
                };
                eprintln!(
                    "  round {round}: {:.0} vs {:.0} req/s, p99 {:.2} vs {:.2} ms, {:.1} vs {:.1} µs CPU/req, errors {} {}, CPU {} | {}",
                    x.rps,
                    y.rps,
                    x.p99_ms,
                    y.p99_ms,
                    x.server_us,
                    y.server_us,
                    x.errors,
                    y.errors,
                    cpu_text(&x.shares),
                    cpu_text(&y.shares)
                );
                (x, y)
            })
            .collect()
    }

    /// The req/s and p99 rows of a compared load.
    #[expect(clippy::too_many_arguments, reason = "one call per compared row")]
    fn compared_rows(
        &mut self,
        id: &'static str,
        measure: &str,
        base_name: &str,
        rps_target: (&'static str, f64),
        p99_target: (&'static str, f64),
        results: &[(WrkResult, WrkResult)],
        load: String,
    ) {
        let (mut rps, mut base_rps, mut ratio) =
            (Spread::default(), Spread::default(), Spread::default());
        let (mut p99, mut base_p99, mut p99_ratio) =
            (Spread::default(), Spread::default(), Spread::default());
        let (mut us, mut base_us, mut us_ratio) =
            (Spread::default(), Spread::default(), Spread::default());
        let mut client_us = Spread::default();
        for (x, y) in results {
            us.push(x.server_us);
            base_us.push(y.server_us);
            us_ratio.push(x.server_us / y.server_us.max(1e-9));
            client_us.push(x.client_us);
            client_us.push(y.client_us);
            rps.push(x.rps);
            base_rps.push(y.rps);
            ratio.push(x.rps / y.rps.max(1e-9));
            p99.push(x.p99_ms);
            base_p99.push(y.p99_ms);
            p99_ratio.push(x.p99_ms / y.p99_ms.max(1e-9));
        }
        let cpu = format!(
            "{}; {}",
            median_shares(results.iter().map(|r| r.0.shares)),
            median_shares(results.iter().map(|r| r.1.shares))
        );
        let data = json!({
            "vcmock": results.iter().map(|r| r.0.raw.clone()).collect::<Vec<_>>(),
            "baseline": results.iter().map(|r| r.1.raw.clone()).collect::<Vec<_>>(),
            "cpu_vcmock": results.iter().map(|r| r.0.shares.json()).collect::<Vec<_>>(),
            "cpu_baseline": results.iter().map(|r| r.1.shares.json()).collect::<Vec<_>>(),
        });
        self.rows.push(Row {
            measure: format!("{measure}, req/s"),
            vcmock: rps.text(stats::rate),
            baseline: format!("{base_name} {}", base_rps.text(stats::rate)),
            ratio: ratio.text(stats::pct),
            target: rps_target.0,
            met: Some(ratio.median() >= rps_target.1),
            cpu: cpu.clone(),
            data,
            load: load.clone(),
            ..Row::new(id, "", "")
        });
        self.rows.push(Row {
            measure: "same, p99 latency (ms)".into(),
            vcmock: p99.text(stats::ms),
            baseline: base_p99.text(stats::ms),
            ratio: p99_ratio.text(stats::times),
            target: p99_target.0,
            met: Some(p99_ratio.median() <= p99_target.1),
            cpu: cpu.clone(),
            load: load.clone(),
            ..Row::new(id, "", "")
        });
        self.rows.push(Row {
            measure: format!(
                "same, server CPU per request (µs; wrk spends {:.0} µs a request)",
                client_us.median()
            ),
            vcmock: us.text(|v| format!("{v:.1}")),
            baseline: base_us.text(|v| format!("{v:.1}")),
            ratio: us_ratio.text(stats::times),
            cpu,
            load,
            ..Row::new(id, "", "")
        });
    }
}

/// `wrk 41 / vcmock 55 / others 4` in percent of both cores.
fn cpu_text(s: &Shares) -> String {
    format!(
        "{:.0}/{:.0}/{:.0} %",
        s.client * 100.0,
        s.server * 100.0,
        s.others * 100.0
    )
}

/// The median of each share over runs.
fn median_shares(all: impl Iterator<Item = Shares>) -> String {
    let (mut c, mut s, mut o) = (Spread::default(), Spread::default(), Spread::default());
    for x in all {
        c.push(x.client);
        s.push(x.server);
        o.push(x.others);
    }
    cpu_text(&Shares {
        client: c.median(),
        server: s.median(),
        others: o.median(),
        ..Shares::default()
    })
}

/// P1 (and the log line's cost), P9, P2 and P6, loaded from wrk.
pub fn load_rows(bench: &mut Bench, want: &dyn Fn(&str) -> bool) {
    let fixture = load_fixture(&bench.dir);
    let fx = fixture.to_str().expect("a UTF-8 path");
    let vc = bench.vcmock(&["--fixtures", fx], None);
    let request = load::script(&bench.dir, load::REQUEST);
    let list_path = "/api/vcenter/vm/vm-1/guest/filesystem/files?action=list";
    let list_body = json!({"credentials": credentials(), "path": "/bench"}).to_string();

    if want("P1") {
        eprintln!("P1: files?action=list under load ...");
        let load = procfs::loadavg();
        let sid = bench.login(&vc);
        let answer = bench.answer_of(
            &vc,
            list_path,
            &[("vmware-api-session-id", &sid)],
            &list_body,
        );
        let answer_file = bench.dir.join("list-answer.json");
        std::fs::write(&answer_file, &answer).expect("write the answer");
        let axum = bench.baseline(
            "baseline-axum",
            &[
                "--answer".to_owned(),
                format!("list={}", answer_file.display()),
            ],
        );
        let ours = bench.wrk(
            &vc,
            &request,
            strings(&[
                "POST",
                list_path,
                "Content-Type",
                "application/json",
                "vmware-api-session-id",
                &sid,
                "--body",
                &list_body,
            ]),
            bench.duration,
        );
        let theirs = bench.wrk(
            &axum,
            &request,
            strings(&[
                "POST",
                "/list",
                "Content-Type",
                "application/json",
                "--body",
                &list_body,
            ]),
            bench.duration,
        );
        let results = bench.alternate((&vc, &ours), (&axum, &theirs));
        bench.compared_rows(
            "P1",
            &format!(
                "authenticated `files?action=list` (20 entries, {} B answer), HTTPS keep-alive",
                answer.len()
            ),
            "bare axum (axum-server, rustls)",
            ("≥ 80 % of bare axum", 0.8),
            ("≤ 1.5× the baseline's", 1.5),
            &results,
            load,
        );
        drop(axum);

        eprintln!("P1: the cost of the info-level request log line ...");
        let load = procfs::loadavg();
        let log = bench.dir.join("info.log");
        let info = bench.vcmock(&["--fixtures", fx, "--log-level", "info"], Some(&log));
        let sid_info = bench.login(&info);
        let with_log = bench.wrk(
            &info,
            &request,
            strings(&[
                "POST",
                list_path,
                "Content-Type",
                "application/json",
                "vmware-api-session-id",
                &sid_info,
                "--body",
                &list_body,
            ]),
            bench.duration,
        );
        let results = bench.alternate((&info, &with_log), (&vc, &ours));
        let (mut ratio, mut us_ratio) = (Spread::default(), Spread::default());
        let (mut a, mut b) = (Spread::default(), Spread::default());
        let (mut a_us, mut b_us) = (Spread::default(), Spread::default());
        for (x, y) in &results {
            a.push(x.rps);
            b.push(y.rps);
            ratio.push(x.rps / y.rps.max(1e-9));
            a_us.push(x.server_us);
            b_us.push(y.server_us);
            us_ratio.push(x.server_us / y.server_us.max(1e-9));
        }
        let cpu = format!(
            "{}; {}",
            median_shares(results.iter().map(|r| r.0.shares)),
            median_shares(results.iter().map(|r| r.1.shares))
        );
        let log_bytes = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        bench.rows.push(Row {
            vcmock: format!("info: {}", a.text(stats::rate)),
            baseline: format!("warn: {}", b.text(stats::rate)),
            ratio: ratio.text(stats::pct),
            cpu: cpu.clone(),
            load: load.clone(),
            data: json!({"log_bytes": log_bytes}),
            ..Row::new(
                "P1",
                "same at `--log-level info` (the default; one line a request, to a file) against `warn`, req/s",
                "",
            )
        });
        bench.rows.push(Row {
            vcmock: format!("info: {}", a_us.text(|v| format!("{v:.1}"))),
            baseline: format!("warn: {}", b_us.text(|v| format!("{v:.1}"))),
            ratio: us_ratio.text(stats::times),
            cpu,
            load,
            ..Row::new("P1", "same, server CPU per request (µs)", "")
        });
        drop(info);
        let _ = std::fs::remove_file(&log);
    }

    if want("P9") {
        eprintln!("P9: the guest-operation mix ...");
        let load = procfs::loadavg();
        let sid = bench.login(&vc);
        let mix = load::script(&bench.dir, load::MIX);
        let spec = Wrk {
            threads: CONNECTIONS,
            ..bench.wrk(
                &vc,
                &mix,
                strings(&["vm-1", &sid, &credentials().to_string()]),
                bench.duration,
            )
        };
        if !bench.warmup.is_zero() {
            Wrk {
                duration: bench.warmup,
                ..spec.clone()
            }
            .run(vc.pid());
        }
        let runs: Vec<WrkResult> = (0..bench.rounds)
            .map(|round| {
                let r = spec.run(vc.pid());
                eprintln!(
                    "  round {round}: {:.0} req/s in all, CPU {}",
                    r.rps,
                    cpu_text(&r.shares)
                );
                r
            })
            .collect();
        let cpu = median_shares(runs.iter().map(|r| r.shares));
        let ops = [
            "files.list",
            "files.get",
            "files.createTemporary",
            "transfers.create",
            "guestFile.put",
            "files.delete",
        ];
        for op in ops {
            let (mut rate, mut p99, mut errors) = (Spread::default(), Spread::default(), 0);
            for r in &runs {
                let o = &r.raw["ops"][op];
                let secs = r.raw["duration_us"].as_f64().unwrap_or(1e6) / 1e6;
                rate.push(o["count"].as_f64().unwrap_or(0.0) / secs);
                p99.push(o["p99_us"].as_f64().unwrap_or(0.0) / 1000.0);
                errors += o["errors"].as_u64().unwrap_or(0);
            }
            bench.rows.push(Row {
                vcmock: format!(
                    "{} ops/s, p99 {} ms{}",
                    rate.text(stats::rate),
                    p99.text(stats::ms),
                    if errors > 0 {
                        format!(", {errors} errors")
                    } else {
                        String::new()
                    }
                ),
                target: "p99 ≤ 5 ms",
                met: Some(p99.median() <= 5.0 && errors == 0),
                cpu: cpu.clone(),
                load: load.clone(),
                data: json!(
                    runs.iter()
                        .map(|r| r.raw["ops"][op].clone())
                        .collect::<Vec<_>>()
                ),
                ..Row::new(
                    "P9",
                    format!("`{op}` in the mix ({CONNECTIONS} connections, one wrk thread each)"),
                    "",
                )
            });
        }
    }

    if want("P2") {
        eprintln!("P2: logins ...");
        let load = procfs::loadavg();
        let answer = bench.answer_of(&vc, "/api/session", &[("authorization", &basic_auth())], "");
        let answer_file = bench.dir.join("login-answer.json");
        std::fs::write(&answer_file, &answer).expect("write the answer");
        let axum = bench.baseline(
            "baseline-axum",
            &[
                "--answer".to_owned(),
                format!("session={}", answer_file.display()),
            ],
        );
        let auth = basic_auth();
        let ours = bench.wrk(
            &vc,
            &request,
            strings(&["POST", "/api/session", "Authorization", &auth]),
            bench.duration,
        );
        let theirs = bench.wrk(
            &axum,
            &request,
            strings(&["POST", "/session", "Authorization", &auth]),
            bench.duration,
        );
        let results = bench.alternate((&vc, &ours), (&axum, &theirs));
        bench.compared_rows(
            "P2",
            &format!(
                "`POST /api/session` logins (baseline answers 201 with vCenter's {} B session id)",
                answer.len()
            ),
            "bare axum",
            ("≥ 90 % of bare axum", 0.9),
            ("≤ 1.5× the baseline's", 1.5),
            &results,
            load,
        );
    }
    drop(vc);

    if want("P6") {
        let total = crate::env_u64("BENCH_P6_LOGINS", 1_000_000);
        eprintln!("P6: {total} logins without logout ...");
        let load = procfs::loadavg();
        let vc6 = bench.vcmock(&[], None);
        let sampler = RssSampler::start(vc6.pid());
        let auth = basic_auth();
        let spec = bench.wrk(
            &vc6,
            &request,
            strings(&["POST", "/api/session", "Authorization", &auth]),
            Duration::from_secs(600),
        );
        let metrics = format!("{}/_mock/metrics", vc6.url());
        let count = || -> u64 {
            bench
                .http
                .get(&metrics)
                .send()
                .and_then(|r| r.text())
                .ok()
                .and_then(|t| {
                    t.lines()
                        .find(|l| l.starts_with("vcmock_requests_total{operation=\"session.create\",status=\"201\"}"))
                        .and_then(|l| l.rsplit(' ').next())
                        .and_then(|n| n.parse().ok())
                })
                .unwrap_or(0)
        };
        let r = spec.run_until(vc6.pid(), || count() >= total);
        let peak = sampler.peak() as f64 / 1024.0;
        let done = count();
        let secs = r.raw["duration_us"].as_f64().unwrap_or(0.0) / 1e6;
        bench.rows.push(Row {
            vcmock: format!("peak RSS {peak:.1} MiB after {done} logins ({secs:.0} s)"),
            target: "≤ 64 MiB",
            met: Some(peak <= 64.0),
            cpu: cpu_text(&r.shares),
            load,
            data: json!({"peak_rss_mib": peak, "logins": done, "seconds": secs}),
            ..Row::new(
                "P6",
                format!("{total} logins without logout (`--max-sessions 10000`)"),
                "",
            )
        });
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// P3 and P4: 1 GiB through `/guestFile` from curl, against bare hyper streaming, storing and
/// draining.
pub fn transfer_rows(bench: &mut Bench, want: &dyn Fn(&str) -> bool) {
    if !want("P3") && !want("P4") {
        return;
    }
    let fixture = load_fixture(&bench.dir);
    let vc = bench.vcmock(&["--fixtures", fixture.to_str().expect("UTF-8")], None);
    let hyper = bench.baseline("baseline-hyper", &[]);
    let cacert = bench.cert.cert.clone();
    if want("P3") {
        eprintln!("P3: 1 GiB downloads ...");
        let load = procfs::loadavg();
        let sid = bench.login(&vc);
        let stream = format!("{}/stream?bytes={GIB}", hyper.url());
        let down = |bench: &Bench| {
            let url = bench.transfer(&vc, &sid, json!({"path": "/data/big.bin"}));
            let before = procfs::rss_kib(vc.pid());
            let sampler = RssSampler::start(vc.pid());
            let t = load::curl(&url, &cacert, None, GIB, vc.pid());
            (t, sampler.peak().saturating_sub(before) as f64 / 1024.0)
        };
        down(bench);
        load::curl(&stream, &cacert, None, GIB, hyper.pid());
        let (mut ours, mut theirs, mut ratio, mut growth) = (
            Spread::default(),
            Spread::default(),
            Spread::default(),
            Spread::default(),
        );
        let mut shares = (Vec::new(), Vec::new());
        for round in 0..bench.rounds {
            let (x, g, y) = if round % 2 == 0 {
                let (x, g) = down(bench);
                (x, g, load::curl(&stream, &cacert, None, GIB, hyper.pid()))
            } else {
                let y = load::curl(&stream, &cacert, None, GIB, hyper.pid());
                let (x, g) = down(bench);
                (x, g, y)
            };
            eprintln!(
                "  round {round}: {:.0} vs {:.0} MiB/s, CPU {} | {}",
                x.mib_s,
                y.mib_s,
                cpu_text(&x.shares),
                cpu_text(&y.shares)
            );
            ours.push(x.mib_s);
            theirs.push(y.mib_s);
            ratio.push(x.mib_s / y.mib_s);
            growth.push(g);
            shares.0.push(x.shares);
            shares.1.push(y.shares);
        }
        let cpu = format!(
            "{}; {}",
            median_shares(shares.0.into_iter()),
            median_shares(shares.1.into_iter())
        );
        bench.rows.push(Row {
            vcmock: ours.text(|v| format!("{v:.0}")),
            baseline: format!(
                "bare hyper streaming {}",
                theirs.text(|v| format!("{v:.0}"))
            ),
            ratio: ratio.text(stats::pct),
            target: "≥ 90 % of bare hyper",
            met: Some(ratio.median() >= 0.9),
            cpu,
            load: load.clone(),
            data: json!({"vcmock": ours.values(), "baseline": theirs.values()}),
            ..Row::new("P3", "`/guestFile` download of 1 GiB (curl), MiB/s", "")
        });
        let worst = growth.range().1;
        bench.rows.push(Row {
            vcmock: format!("{worst:.1}"),
            target: "≤ 32 MiB",
            met: Some(worst <= 32.0),
            load,
            ..Row::new("P3", "RSS growth during a download (MiB, worst round)", "")
        });
    }
    if want("P4") {
        eprintln!("P4: 1 GiB uploads ...");
        let load = procfs::loadavg();
        let sid = bench.login(&vc);
        // A sparse file: curl reads zeros without touching the disk.
        let source = bench.dir.join("upload.bin");
        std::fs::File::create(&source)
            .and_then(|f| f.set_len(GIB))
            .expect("a sparse 1 GiB file");
        let store = format!("{}/store", hyper.url());
        let drain = format!("{}/drain", hyper.url());
        let up = |bench: &Bench| {
            let url = bench.transfer(
                &vc,
                &sid,
                json!({"path": "/tmp/up.bin", "attributes": {"size": GIB, "overwrite": true}}),
            );
            let before = procfs::rss_kib(vc.pid());
            let sampler = RssSampler::start(vc.pid());
            let t = load::curl(&url, &cacert, Some(&source), GIB, vc.pid());
            (t, sampler.peak().saturating_sub(before) as f64 / 1024.0)
        };
        up(bench);
        load::curl(&store, &cacert, Some(&source), GIB, hyper.pid());
        let (mut ours, mut stored, mut drained) =
            (Spread::default(), Spread::default(), Spread::default());
        let (mut ratio, mut drain_ratio, mut growth) =
            (Spread::default(), Spread::default(), Spread::default());
        let mut shares = (Vec::new(), Vec::new());
        for round in 0..bench.rounds {
            let hy = || {
                (
                    load::curl(&store, &cacert, Some(&source), GIB, hyper.pid()),
                    load::curl(&drain, &cacert, Some(&source), GIB, hyper.pid()),
                )
            };
            let (x, g, (s, d)) = if round % 2 == 0 {
                let (x, g) = up(bench);
                (x, g, hy())
            } else {
                let y = hy();
                let (x, g) = up(bench);
                (x, g, y)
            };
            eprintln!(
                "  round {round}: {:.0} vs {:.0} MiB/s storing, {:.0} draining, CPU {} | {}",
                x.mib_s,
                s.mib_s,
                d.mib_s,
                cpu_text(&x.shares),
                cpu_text(&s.shares)
            );
            ours.push(x.mib_s);
            stored.push(s.mib_s);
            drained.push(d.mib_s);
            ratio.push(x.mib_s / s.mib_s);
            drain_ratio.push(x.mib_s / d.mib_s);
            growth.push(g);
            shares.0.push(x.shares);
            shares.1.push(s.shares);
        }
        let _ = std::fs::remove_file(&source);
        let cpu = format!(
            "{}; {}",
            median_shares(shares.0.into_iter()),
            median_shares(shares.1.into_iter())
        );
        bench.rows.push(Row {
            vcmock: ours.text(|v| format!("{v:.0}")),
            baseline: format!("bare hyper storing to a temporary file {}", stored.text(|v| format!("{v:.0}"))),
            ratio: ratio.text(stats::pct),
            target: "≥ 90 % of bare hyper storing",
            met: Some(ratio.median() >= 0.9),
            cpu,
            load: load.clone(),
            data: json!({"vcmock": ours.values(), "storing": stored.values(), "draining": drained.values()}),
            ..Row::new("P4", "`/guestFile` upload of 1 GiB (curl), MiB/s", "")
        });
        bench.rows.push(Row {
            baseline: format!(
                "bare hyper draining {}",
                drained.text(|v| format!("{v:.0}"))
            ),
            ratio: drain_ratio.text(stats::pct),
            load: load.clone(),
            ..Row::new("P4", "same, against bare hyper dropping the bytes", "")
        });
        let worst = growth.range().1;
        bench.rows.push(Row {
            vcmock: format!("{worst:.1}"),
            target: "≤ 32 MiB",
            met: Some(worst <= 32.0),
            load,
            ..Row::new("P4", "RSS growth during an upload (MiB, worst round)", "")
        });
    }
}

/// P5: exec to the ready line with 10,000 VMs, five starts.
pub fn startup_row(bench: &mut Bench, want: &dyn Fn(&str) -> bool) {
    if !want("P5") {
        return;
    }
    eprintln!("P5: start with 10,000 VMs ...");
    let load = procfs::loadavg();
    let fixture = ten_thousand(&bench.dir);
    let (mut ready, mut rss) = (Spread::default(), Spread::default());
    for _ in 0..5 {
        let s = bench.vcmock(&["--fixtures", fixture.to_str().expect("UTF-8")], None);
        ready.push(s.ready["startup_ms"].as_f64().unwrap_or(0.0));
        rss.push(procfs::rss_kib(s.pid()) as f64 / 1024.0);
    }
    bench.rows.push(Row {
        vcmock: format!(
            "ready after {} ms, RSS {} MiB",
            ready.text(|v| format!("{v:.0}")),
            rss.text(|v| format!("{v:.0}"))
        ),
        target: "≤ 100 ms, ≤ 64 MiB",
        met: Some(ready.median() <= 100.0 && rss.median() <= 64.0),
        load,
        data: json!({"ready_ms": ready.values(), "rss_mib": rss.values()}),
        ..Row::new(
            "P5",
            "exec to the ready line with 10,000 VMs (5 files each), 5 starts",
            "",
        )
    });
}

/// The SOAP rows, measured by `scripts/soap_bench.py` with pyVmomi (its venv is made by
/// `scripts/pyvmomi-e2e.sh --venv-only`; without it the rows are skipped).
pub fn soap_rows(bench: &mut Bench) {
    let python = Path::new("target/pyvmomi-venv/bin/python");
    let script = Path::new("scripts/soap_bench.py");
    if !python.exists() || !script.exists() {
        eprintln!(
            "S: no pyVmomi venv (scripts/pyvmomi-e2e.sh --venv-only): the SOAP rows are skipped"
        );
        bench
            .rows
            .push(Row::new("S1", "SOAP rows skipped: no pyVmomi venv", "-"));
        return;
    }
    eprintln!("S: SOAP over 10,000 VMs with pyVmomi ...");
    let load = procfs::loadavg();
    let fixture = ten_thousand(&bench.dir);
    let vc = bench.vcmock(&["--fixtures", fixture.to_str().expect("UTF-8")], None);
    let out = bench.dir.join("soap.json");
    let status = std::process::Command::new(python)
        .arg(script)
        .arg(format!("127.0.0.1:{}", vc.port))
        .arg(&bench.cert.cert)
        .args([ADMIN.0, ADMIN.1])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status();
    let rows: Vec<Value> = std::fs::read(&out)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if !matches!(status, Ok(s) if s.success()) || rows.is_empty() {
        bench.rows.push(Row::new(
            "S1",
            "SOAP rows failed: see the output of scripts/soap_bench.py",
            "-",
        ));
        return;
    }
    for r in rows {
        let id: &'static str = match r["id"].as_str().unwrap_or("S") {
            "S1" => "S1",
            "S1b" => "S1b",
            "S2" => "S2",
            "S2b" => "S2b",
            "S2c" => "S2c",
            _ => "S",
        };
        bench.rows.push(Row {
            load: load.clone(),
            data: r.clone(),
            ..Row::new(
                id,
                r["measure"].as_str().unwrap_or(""),
                r["vcmock"].as_str().unwrap_or(""),
            )
        });
    }
}
