//! Credentials: nothing issued before a reset is honoured after it, even with a fixed seed.

use crate::helpers::*;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn a_session_or_url_from_before_a_reset_is_refused_after_it_with_a_fixed_seed() {
    let app = TestApp::spawn().await;
    let readonly = app.login_as(READONLY).await;
    let admin = app.login().await;
    let url = app
        .download_url(&admin, "vm-1001", alice(), "/home/alice/notes.txt")
        .await;
    app.mock.reset();

    let admin_after = app.login().await;
    assert_ne!(admin_after, readonly, "a new epoch's session ids are new");
    assert_ne!(admin_after, admin);
    for old in [&readonly, &admin] {
        let r = app.get("/api/vcenter/vm", old).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    }
    // The first URL after the reset gets id 1 again, but not the old token.
    let secret = app
        .download_url(&admin_after, "vm-1001", root(), "/root/secret.txt")
        .await;
    assert_ne!(secret, url);
    let stale = TestApp::read(app.client.get(&url).send().await.unwrap()).await;
    assert_eq!(stale.status, StatusCode::NOT_FOUND, "{}", stale.text());
    assert_eq!(stale.error_type(), "NOT_FOUND");
    assert_eq!(stale.json()["messages"][0]["id"], "vcmock.transfer.refused");
    let fresh = TestApp::read(app.client.get(&secret).send().await.unwrap()).await;
    assert_eq!(fresh.status, StatusCode::OK);
}

#[tokio::test]
async fn each_epoch_is_the_same_in_every_run_with_the_same_seed() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let app = TestApp::spawn().await;
        let mut ids = vec![app.login().await];
        for _ in 0..2 {
            app.send(Method::POST, "/_mock/reset", None, None).await;
            ids.push(app.login().await);
        }
        runs.push(ids);
    }
    assert_eq!(runs[0], runs[1], "deterministic per run");
    let mut all = runs[0].clone();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 3, "each epoch hands out its own ids");
}
