//! Secrets stay out of the logs: guest passwords, vCenter passwords, session ids and transfer
//! tokens never appear on stderr, even at debug level.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

#[tokio::test]
async fn guest_passwords_and_session_ids_never_appear_in_debug_logs() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vcmock"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tls",
            "off",
            "--log",
            "json",
            "--log-level",
            "debug",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: Value = serde_json::from_str(&line).unwrap();
    let base = ready["base_url"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let sid: String = http
        .post(format!("{base}/api/session"))
        .basic_auth("administrator@vsphere.local", Some("VMware1!"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = "Distinctive-Guest-Secret-42";
    for password in ["rootpw", secret] {
        let creds = json!({"interactive_session": false, "type": "USERNAME_PASSWORD", "user_name": "root", "password": password});
        http.post(format!(
            "{base}/api/vcenter/vm/vm-1001/guest/filesystem/files?action=list"
        ))
        .header("vmware-api-session-id", &sid)
        .json(&json!({"credentials": creds, "path": "/etc"}))
        .send()
        .await
        .unwrap();
    }
    let creds = json!({"interactive_session": false, "type": "USERNAME_PASSWORD", "user_name": "root", "password": "rootpw"});
    let url: String = http
        .post(format!(
            "{base}/api/vcenter/vm/vm-1001/guest/filesystem?action=create"
        ))
        .header("vmware-api-session-id", &sid)
        .json(&json!({"credentials": creds, "spec": {"path": "/etc/hosts"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = url.replacen('*', "127.0.0.1", 1);
    http.get(&url).send().await.unwrap();
    http.get(&url).send().await.unwrap();
    // SAFETY: kill(2) on our own child with SIGTERM.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        logs.contains("guestFile request refused"),
        "debug logs were written: {logs}"
    );
    let token = url.split("token=").nth(1).unwrap();
    for needle in [secret, "rootpw", "VMware1!", sid.as_str(), token] {
        assert!(
            !logs.contains(needle),
            "the logs contain a secret ({needle})"
        );
    }
}
