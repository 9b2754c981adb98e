//! A real browser for the pages: Debian's headless Chromium driven over WebDriver
//! by `chromedriver` (the `chromium-driver` package), started per test on a free
//! port, at an office screen's size. Screenshots go to `target/test-artifacts/`
//! (or `FIELDVISIT_ARTIFACTS`), kept after the run.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::json;
use tokio::process::{Child, Command};

/// A browser session and the driver behind it (stopped on drop).
pub struct Browser {
    pub client: Client,
    /// Where the browser saves downloads (a folder of this session's own).
    pub downloads: PathBuf,
    _driver: Child,
}

/// Where screenshots are kept.
pub fn artifacts() -> PathBuf {
    let dir = std::env::var_os("FIELDVISIT_ARTIFACTS")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts"), PathBuf::from);
    std::fs::create_dir_all(&dir).expect("the artifacts folder");
    dir
}

impl Browser {
    /// Headless Chromium at `width` × `height`, in `lang` (`zh-CN` by default).
    pub async fn start(width: u32, height: u32) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = std::env::var("FIELDVISIT_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver runs (.ci/setup installs chromium-driver)");
        let chromium = std::env::var("FIELDVISIT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let downloads = std::env::temp_dir().join(format!("fieldvisit-downloads-{port}"));
        std::fs::create_dir_all(&downloads).expect("a downloads folder");
        let caps = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--lang=zh-CN",
                    format!("--window-size={width},{height}")],
                "prefs": {"download.default_directory": downloads, "download.prompt_for_download": false},
            }
        });
        let caps = caps.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            // The driver is on the loopback: plain HTTP, no TLS stack.
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
                Ok(client) => return Self { client, downloads, _driver: child },
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no WebDriver session: {last:?}");
    }

    /// Saves a screenshot as `name.png` among the artifacts.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(artifacts().join(format!("{name}.png")), png).expect("the screenshot is written");
    }

    /// Waits until the script `condition` (a JS expression) is true, up to `seconds`.
    pub async fn wait_for(&self, condition: &str, seconds: u64) {
        let script = format!("return !!({condition});");
        for _ in 0..seconds * 10 {
            if let Ok(v) = self.client.execute(&script, vec![]).await
                && v.as_bool() == Some(true)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("waited {seconds} s for {condition}");
    }

    /// Waits up to `seconds` for a finished download whose name ends in `suffix`.
    pub async fn downloaded(&self, suffix: &str, seconds: u64) -> PathBuf {
        for _ in 0..seconds * 10 {
            if let Some(found) = std::fs::read_dir(&self.downloads)
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(suffix))
            {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no download ending in {suffix} within {seconds} s");
    }

    /// Ends the session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
