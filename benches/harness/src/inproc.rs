//! Owns the in-process rows, which measure what a test suite pays: P7, `MockVcenter::start()`
//! to the first answer against wiremock-rs, and P8, a reset of the default fixture followed by
//! the first answered request, on the connection the suite already has.

use serde_json::json;

use crate::stats::{self, Spread};
use crate::{Bench, Row, env_u64};

/// P7 and P8.
pub fn rows(bench: &mut Bench, want: &dyn Fn(&str) -> bool) {
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    if want("P7") {
        let n = env_u64("BENCH_P7_STARTS", 100);
        eprintln!("P7: start to first answer, {n} times each ...");
        let load = crate::procfs::loadavg();
        let (ours, theirs) = rt.block_on(starts(n));
        let ratio = ours.median() / theirs.median();
        bench.rows.push(Row {
            vcmock: ours.text(stats::ms),
            baseline: format!("wiremock-rs {}", theirs.text(stats::ms)),
            ratio: stats::times(ratio),
            target: "≤ 1.2× wiremock-rs",
            met: Some(ratio <= 1.2),
            load,
            data: json!({"vcmock_ms": ours.values(), "wiremock_ms": theirs.values()}),
            ..Row::new(
                "P7",
                format!("`MockVcenter::start()` (TLS off) to the first answer, median of {n} (range), ms"),
                "",
            )
        });
    }
    if want("P8") {
        let n = env_u64("BENCH_P8_RESETS", 200);
        eprintln!("P8: reset then first answer, {n} times ...");
        let load = crate::procfs::loadavg();
        let (reset, total) = rt.block_on(resets(n));
        bench.rows.push(Row {
            vcmock: format!(
                "median {} ms, p99 {} ms (the reset's own answer: median {} ms)",
                stats::ms(total.median()),
                stats::ms(total.percentile(99.0)),
                stats::ms(reset.median())
            ),
            target: "median ≤ 1 ms",
            met: Some(total.median() <= 1.0),
            load,
            data: json!({"reset_ms": reset.values(), "reset_then_login_ms": total.values()}),
            ..Row::new(
                "P8",
                format!("`POST /_mock/reset` (default fixture, HTTPS, kept-alive connection), then a login answered, {n} times"),
                "",
            )
        });
    }
}

/// `n` starts of each server, taking turns. Each start gets a new client, made before the clock
/// starts, as a test would: the first request then opens a connection to whichever server it
/// meets (wiremock-rs hands out pooled servers on reused ports, which a shared client would
/// reach over a warm one).
async fn starts(n: u64) -> (Spread, Spread) {
    let (mut ours, mut theirs) = (Spread::default(), Spread::default());
    for _ in 0..n {
        let client = reqwest::Client::new();
        let t = crate::stats::now();
        let vc = vcmock::MockVcenter::builder()
            .tls(false)
            .start()
            .expect("vcmock starts");
        let r = client
            .get(format!("{}/_mock/health", vc.base_url()))
            .send()
            .await
            .expect("an answer");
        assert!(r.status().is_success());
        ours.push(t.elapsed().as_secs_f64() * 1000.0);
        // Stopping waits for the server to let go of its port: not part of the measure.
        tokio::task::spawn_blocking(move || drop(vc))
            .await
            .expect("stopped");

        let client = reqwest::Client::new();
        let t = crate::stats::now();
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::path("/health"))
            .respond_with(wiremock::ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let r = client
            .get(format!("{}/health", server.uri()))
            .send()
            .await
            .expect("an answer");
        assert!(r.status().is_success());
        theirs.push(t.elapsed().as_secs_f64() * 1000.0);
        drop(server);
    }
    (ours, theirs)
}

/// `n` resets of a default-fixture server over HTTPS, each followed by a login on the same
/// kept-alive connection: the time of the reset's answer, and of both.
async fn resets(n: u64) -> (Spread, Spread) {
    let vc = vcmock::MockVcenter::start().expect("vcmock starts");
    let pem = vc.certificate_pem().expect("TLS is on").to_owned();
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("PEM"))
        .build()
        .expect("a client");
    let base = vc.base_url().to_owned();
    let login = || {
        client
            .post(format!("{base}/api/session"))
            .basic_auth("administrator@vsphere.local", Some("VMware1!"))
            .send()
    };
    assert!(login().await.expect("a login").status().is_success());
    let (mut reset, mut total) = (Spread::default(), Spread::default());
    for _ in 0..n {
        let t = crate::stats::now();
        let r = client
            .post(format!("{base}/_mock/reset"))
            .send()
            .await
            .expect("a reset");
        assert!(r.status().is_success(), "reset: {}", r.status());
        r.bytes().await.expect("the reset's body");
        reset.push(t.elapsed().as_secs_f64() * 1000.0);
        let r = login().await.expect("a login");
        assert!(r.status().is_success(), "login: {}", r.status());
        r.bytes().await.expect("the login's body");
        total.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    tokio::task::spawn_blocking(move || drop(vc))
        .await
        .expect("stopped");
    (reset, total)
}
