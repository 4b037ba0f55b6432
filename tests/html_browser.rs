//! The HTML export of the July 2020 chronology, measured in a real browser: headless
//! Chromium (the distribution's `chromium`, which `.ci/run` installs; `$CHRONICLE_CHROMIUM`
//! names another binary) at 1280 and 390 CSS px wide.
//!
//! The page holds no script, so the test wraps it: a harness page shows the export in an
//! `<iframe srcdoc>` of the width under test (a headless window cannot be narrower than
//! 500 px, an iframe is a viewport of its own and the page's media queries follow it), and
//! a script in the harness measures the page and writes the numbers into the DOM, which
//! `chromium --dump-dom` prints. Checked at both widths: no horizontal scrolling of the page,
//! every chart text that is shown at least 10 CSS px high, and the Puli Alam dispute (AFP 17
//! killed, Ministry of Defense 8) shown inside the viewport.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{repo_root, Scratch};
use serde_json::Value;

/// What the harness measures in the page, once the iframe has loaded.
const MEASURE: &str = r#"
const frame = document.getElementById('page');
frame.addEventListener('load', () => {
  const w = frame.contentWindow, d = frame.contentDocument, r = {};
  r.innerWidth = w.innerWidth;
  r.scrollWidth = d.documentElement.scrollWidth;
  r.charts = 0;
  r.chartTexts = [];
  for (const svg of d.querySelectorAll('svg')) {
    const box = svg.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    r.charts += 1;
    const scale = box.width / svg.viewBox.baseVal.width;
    for (const t of svg.querySelectorAll('text')) {
      const tb = t.getBoundingClientRect();
      if (tb.width === 0) continue;
      r.chartTexts.push({
        text: t.textContent,
        px: parseFloat(w.getComputedStyle(t).fontSize) * scale,
        title: t.classList.contains('axis-title'),
      });
    }
  }
  const row = d.getElementById('2020-07-30-puli-alam');
  r.rowDisplay = row ? w.getComputedStyle(row).display : null;
  r.dispute = row ? [...row.querySelectorAll('li, td.num')].map(e => {
    const b = e.getBoundingClientRect();
    return { text: e.textContent, left: b.left, right: b.right, width: b.width, height: b.height };
  }) : [];
  const out = document.createElement('pre');
  out.id = 'chronicle-measure';
  out.textContent = encodeURIComponent(JSON.stringify(r));
  document.body.appendChild(out);
});
"#;

/// The browser: `$CHRONICLE_CHROMIUM`, else `chromium` or `chromium-browser` on PATH.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHRONICLE_CHROMIUM") {
        return PathBuf::from(path);
    }
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "the HTML export is checked in headless Chromium, which is not installed: \
         apt-get install chromium (.ci/run does), or set CHRONICLE_CHROMIUM to a Chromium binary"
    );
}

/// `s` as a double-quoted HTML attribute value.
fn attribute(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut k = 0;
    while k < bytes.len() {
        if bytes[k] == b'%' && k + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[k + 1..k + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            k += 3;
        } else {
            out.push(bytes[k]);
            k += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Exports the July 2020 chronology as HTML through the shipped plugin.
fn export_html(s: &Scratch) -> String {
    let libs = chronicle_plugin_host::testing::build_cdylibs(
        &repo_root().join("Cargo.toml"),
        &["chronicle-plugin-html"],
    )
    .unwrap_or_else(|e| panic!("building the html plugin failed: {e}"));
    let plugins = s.path("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::set_permissions(&plugins, std::fs::Permissions::from_mode(0o755)).unwrap();
    let lib = plugins.join(chronicle_plugin_host::plugin_file_name(
        "chronicle_plugin_html",
    ));
    std::fs::copy(&libs["chronicle_plugin_html"], &lib).unwrap();
    std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Signed, so that the checkpoint's long signature line is on the page too.
    s.ok(&[
        "key",
        "generate",
        "test.example/chronicle",
        "--out",
        "signer.key",
    ]);
    let (code, out, err) = s.run(&[
        "export",
        "--format",
        "html",
        "--sign",
        "signer.key",
        "--plugin-dir",
        plugins.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    out
}

/// Loads `html` in an iframe `width` CSS px wide and returns what [`MEASURE`] found.
fn measure(dir: &Path, html: &str, width: u32) -> Value {
    let harness = dir.join(format!("harness-{width}.html"));
    std::fs::write(
        &harness,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body style=\"margin:0\">\
             <iframe id=\"page\" style=\"width:{width}px;height:900px;border:0\" srcdoc=\"{}\"></iframe>\
             <script>{MEASURE}</script></body></html>",
            attribute(html)
        ),
    )
    .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let browser = chromium();
    let out = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1400,1000",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", harness.display()))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", browser.display()));
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = "<pre id=\"chronicle-measure\">";
    let Some(at) = dom.find(start) else {
        panic!(
            "{} printed no measurements (exit {:?}):\n{}",
            browser.display(),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let rest = &dom[at + start.len()..];
    let encoded = &rest[..rest.find("</pre>").unwrap()];
    serde_json::from_str(&percent_decode(encoded)).unwrap()
}

/// The checks that hold at every width.
fn check(m: &Value, width: u32) {
    let inner = m["innerWidth"].as_f64().unwrap();
    assert_eq!(inner, f64::from(width), "{m}");
    let scroll = m["scrollWidth"].as_f64().unwrap();
    assert!(
        scroll <= inner,
        "at {width} px the page scrolls sideways: {scroll} px wide"
    );
    // Per day, per province, and by casualty status (the demo's attackers are militants).
    assert_eq!(m["charts"], 3, "at {width} px: {m}");
    let texts = m["chartTexts"].as_array().unwrap();
    assert!(texts.len() > 20, "at {width} px: {m}");
    for t in texts {
        let px = t["px"].as_f64().unwrap();
        assert!(
            px >= 10.0,
            "at {width} px the chart text {} is {px:.1} px high",
            t["text"]
        );
    }
    // Every chart has its two axis titles.
    let titles = texts.iter().filter(|t| t["title"] == true).count();
    assert_eq!(titles, 6, "at {width} px: {m}");
    // The dispute is on screen: AFP 17 killed, the Ministry of Defense 8.
    let dispute = m["dispute"].as_array().unwrap();
    for needle in ["AFP", "Ministry of Defense", "8–17"] {
        let shown = dispute
            .iter()
            .find(|e| e["text"].as_str().unwrap().contains(needle));
        let Some(e) = shown else {
            panic!("at {width} px the Puli Alam row has no {needle}: {m}");
        };
        let (left, right) = (e["left"].as_f64().unwrap(), e["right"].as_f64().unwrap());
        assert!(
            e["width"].as_f64().unwrap() > 0.0 && e["height"].as_f64().unwrap() > 0.0,
            "at {width} px {needle} is hidden: {e}"
        );
        assert!(
            left >= 0.0 && right <= inner,
            "at {width} px {needle} is outside the viewport: {e}"
        );
    }
    let afp = dispute
        .iter()
        .find(|e| e["text"].as_str().unwrap().contains("AFP"));
    assert!(afp.unwrap()["text"].as_str().unwrap().contains("17 killed"));
    let mod_ = dispute
        .iter()
        .find(|e| e["text"].as_str().unwrap().contains("Ministry of Defense"));
    assert!(mod_.unwrap()["text"].as_str().unwrap().contains("8 killed"));
}

#[test]
fn the_html_export_reads_on_a_desktop_and_on_a_phone() {
    let s = Scratch::demo();
    let html = export_html(&s);
    // The repeated note is one footnote, not 17 copies.
    let repeated = "The article gives no publication date; the incident date is used, as the \
                    article reports the toll as known that day.";
    assert_eq!(html.matches(repeated).count(), 1, "{html}");

    let desktop = measure(s.dir.path(), &html, 1280);
    check(&desktop, 1280);
    assert_eq!(desktop["rowDisplay"], "table-row");

    let phone = measure(s.dir.path(), &html, 390);
    check(&phone, 390);
    // Under 640 px the table is stacked cards.
    assert_eq!(phone["rowDisplay"], "block");
}
