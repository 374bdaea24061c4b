//! The HTML reports in a real browser: harness/tests/browser/check.mjs loads
//! reports/uvloop/report.html (a report with explained FAILs) and reports/index.html in headless Chromium (Debian's
//! /usr/bin/chromium, driven by playwright-core) and checks counts, filters, a case's evidence
//! and URL state. `STREAMCHECK_SCREENSHOTS=docs/img cargo test --test browser` retakes the
//! README's screenshots.

use std::path::Path;
use std::process::Command;

#[test]
fn the_published_report_and_matrix_work_in_headless_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("harness/tests/browser");
    let chromium = std::env::var("STREAMCHECK_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(Path::new(&chromium).exists(), "no Chromium at {chromium}: `apt-get install chromium` (Debian's), or set STREAMCHECK_CHROMIUM");
    assert!(dir.join("node_modules/playwright-core").exists(), "playwright-core is not installed: run `npm ci --prefix harness/tests/browser`");
    let shots = std::env::var("STREAMCHECK_SCREENSHOTS").map_or_else(|_| root.join("target/browser-screenshots"), |d| root.join(d));
    std::fs::create_dir_all(&shots).expect("the screenshot folder");
    let out = Command::new("node")
        .arg(dir.join("check.mjs"))
        .arg(root.join("reports"))
        .arg("uvloop")
        .arg(&shots)
        .env("STREAMCHECK_CHROMIUM", &chromium)
        .output()
        .expect("node (Node.js 20) runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the browser check failed:\n{text}");
    assert!(text.contains("ok: uvloop"), "{text}");
}
