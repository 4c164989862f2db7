//! SIGTERM under load: requests in flight finish or get a clean close, new connections are
//! refused, the process exits 0 and leaves no temporary file behind.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_drains_exits_zero_and_leaves_no_tempfiles() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vcmock"))
        .args(["--listen", "127.0.0.1:0", "--tls", "off"])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: Value = serde_json::from_str(&line).unwrap();
    let base = ready["base_url"].as_str().unwrap().to_owned();
    let addr = ready["address"].as_str().unwrap().to_owned();
    let ok = Arc::new(AtomicUsize::new(0));
    let bad = Arc::new(AtomicUsize::new(0));
    let mut loops = Vec::new();
    for _ in 0..32 {
        let (base, ok, bad) = (base.clone(), ok.clone(), bad.clone());
        loops.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for _ in 0..200 {
                match http
                    .post(format!("{base}/api/session"))
                    .basic_auth("administrator@vsphere.local", Some("VMware1!"))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 201 => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    // Any answer must be a well-formed one; a refused or closed connection ends the loop.
                    Ok(r) => {
                        bad.fetch_add(1, Ordering::Relaxed);
                        panic!("unexpected status {}", r.status());
                    }
                    Err(_) => break,
                }
            }
        }));
    }
    // Let the load build up (bounded: at most 10 s).
    for _ in 0..2000 {
        if ok.load(Ordering::Relaxed) >= 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(
        ok.load(Ordering::Relaxed) >= 200,
        "the server answered under load"
    );
    // SAFETY: kill(2) on our own child with SIGTERM.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    for l in loops {
        l.await.expect("no request got a malformed answer");
    }
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status}");
    assert_eq!(bad.load(Ordering::Relaxed), 0);
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "new connections are refused"
    );
    let left: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}
