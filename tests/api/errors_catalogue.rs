//! The golden catalogue `fixtures/errors.json` matches the code and `GET /_mock/errors`.
//! Run with `VCMOCK_BLESS=1` to rewrite the file after changing the catalogue.

use serde_json::Value;

use crate::helpers::*;

fn golden_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/errors.json")
}

#[tokio::test]
async fn the_golden_error_catalogue_matches_the_code_and_the_admin_api() {
    let rows = serde_json::to_value(vcmock::error_catalogue()).unwrap();
    let rendered = serde_json::to_string_pretty(&rows).unwrap() + "\n";
    if std::env::var_os("VCMOCK_BLESS").is_some() {
        std::fs::write(golden_path(), &rendered).unwrap();
    }
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(golden_path()).expect("fixtures/errors.json exists"),
    )
    .unwrap();
    assert_eq!(
        golden, rows,
        "fixtures/errors.json is out of date: run `VCMOCK_BLESS=1 cargo test --test api errors_catalogue`"
    );

    let app = TestApp::spawn().await;
    let served = app
        .client
        .get(app.url("/_mock/errors"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(served, rows);
    for row in rows.as_array().unwrap() {
        for key in [
            "fault",
            "error_type",
            "status",
            "message_id",
            "default_message",
            "documented",
            "soap_fault",
        ] {
            assert!(row.get(key).is_some(), "row lacks {key}: {row}");
        }
    }
}

#[test]
fn the_readme_error_table_lists_every_catalogue_row() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    for row in vcmock::error_catalogue() {
        let line = format!(
            "| `{}` | `{}` | {} | `{}` | {} | `{}` |",
            row.fault,
            row.error_type.as_str(),
            row.status,
            row.message_id,
            row.documented,
            row.soap_fault
        );
        assert!(
            readme.contains(&line),
            "README.md's error table lacks: {line}"
        );
    }
}
