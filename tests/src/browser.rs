//! A real browser for the pages: Debian's headless Chromium driven over WebDriver
//! by `chromedriver` (the `chromium-driver` package), started per test on a free
//! port, at an office screen's size. Screenshots go to `target/test-artifacts/`
//! (or `FIELDVISIT_ARTIFACTS`), kept after the run.
//!
//! For the offline-first app, DevTools-protocol commands go through chromedriver's
//! `goog/cdp/execute` endpoint ([`Browser::cdp`]), to the page's own target: a phone's
//! screen ([`Browser::phone`]), a position or a refusal to give one
//! ([`Browser::set_geolocation`], [`Browser::deny_geolocation`]), the browser's own idea
//! of the network ([`Browser::set_offline`], [`Browser::throttle`]). The network's
//! conditions are set for the page and for each service or shared worker running at
//! the time (a worker's own fetches are its own target's, which chromedriver does not
//! drive: the page's session attaches to it and relays the commands); a worker started
//! later runs unthrottled and online. To take the network itself away, whoever asks,
//! put a [`crate::proxy::Proxy`] between the browser and the server.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use reqwest::{Method, Url};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// A browser session and the driver behind it (stopped on drop).
pub struct Browser {
    pub client: Client,
    /// Where the browser saves downloads (a folder of this session's own).
    pub downloads: PathBuf,
    /// The DevTools sessions the page's session has attached to workers, by target id.
    workers: Mutex<HashMap<String, String>>,
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
        Self::launch(width, height, None).await
    }

    /// [`Browser::start`] on the browser profile in the folder `profile`
    /// (created if missing), which outlives the browser: its service workers,
    /// caches, IndexedDB and cookies are there when a browser starts on it
    /// again, as a phone's are after a restart. One browser at a time on a
    /// profile; [`Browser::close`] before starting the next.
    pub async fn start_with_profile(width: u32, height: u32, profile: &Path) -> Self {
        Self::launch(width, height, Some(profile)).await
    }

    async fn launch(width: u32, height: u32, profile: Option<&Path>) -> Self {
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
        let mut caps = caps.as_object().unwrap().clone();
        if let Some(profile) = profile {
            let args = caps["goog:chromeOptions"]["args"].as_array_mut().unwrap();
            args.push(format!("--user-data-dir={}", profile.display()).into());
        }
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            // The driver is on the loopback: plain HTTP, no TLS stack.
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
                Ok(client) => {
                    return Self { client, downloads, workers: Mutex::default(), _driver: child };
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no WebDriver session: {last:?}");
    }

    /// A phone: 360 × 640 CSS pixels at a device scale factor of 2, as a mobile
    /// viewport with touch events (a page without `<meta name=viewport>` lays
    /// itself out 980 pixels wide, as on a phone).
    pub async fn phone() -> Self {
        Self::start(360, 640).await.into_phone().await
    }

    /// [`Browser::phone`] on a profile that outlives it (see [`Browser::start_with_profile`]).
    pub async fn phone_with_profile(profile: &Path) -> Self {
        Self::start_with_profile(360, 640, profile).await.into_phone().await
    }

    async fn into_phone(self) -> Self {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 360, "height": 640, "deviceScaleFactor": 2, "mobile": true}),
        )
        .await;
        self.cdp("Emulation.setTouchEmulationEnabled", json!({"enabled": true, "maxTouchPoints": 5})).await;
        self
    }

    /// Sends the DevTools-protocol command `cmd` with `params` to the current
    /// page (chromedriver's `POST /session/{id}/goog/cdp/execute`) and answers
    /// its result.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let shown = params.to_string();
        self.try_cdp(cmd, params).await.unwrap_or_else(|e| panic!("DevTools command {cmd} {shown}: {e}"))
    }

    async fn try_cdp(&self, cmd: &str, params: Value) -> Result<Value, fantoccini::error::CmdError> {
        self.client
            .issue_cmd(SessionPost { path: "goog/cdp/execute", body: json!({"cmd": cmd, "params": params}) })
            .await
    }

    /// Sends `commands` to each service and shared worker running now, through
    /// a session of the page's own attached to the worker's target (their
    /// answers come back as events, which chromedriver drops: not waited for).
    async fn in_workers(&self, commands: &[(&str, &Value)]) {
        let targets = self.cdp("Target.getTargets", json!({})).await;
        let workers = targets["targetInfos"].as_array().into_iter().flatten().filter_map(|target| {
            matches!(target["type"].as_str(), Some("service_worker" | "shared_worker"))
                .then(|| target["targetId"].as_str())
                .flatten()
        });
        for target in workers {
            // A session kept from before may have ended with its worker's version: attach afresh once.
            for _ in 0..2 {
                let known = self.workers.lock().unwrap().get(target).cloned();
                let session = match known {
                    Some(session) => session,
                    None => {
                        match self.try_cdp("Target.attachToTarget", json!({"targetId": target, "flatten": false})).await
                        {
                            Ok(attached) => attached["sessionId"].as_str().expect("a session id").to_owned(),
                            Err(_) => break, // the worker has gone since
                        }
                    }
                };
                let mut relayed = true;
                for (i, (method, params)) in commands.iter().enumerate() {
                    let message = json!({"id": i + 1, "method": method, "params": params}).to_string();
                    let relay = json!({"sessionId": session, "message": message});
                    relayed &= self.try_cdp("Target.sendMessageToTarget", relay).await.is_ok();
                }
                let mut sessions = self.workers.lock().unwrap();
                if relayed {
                    sessions.insert(target.to_owned(), session);
                    break;
                }
                sessions.remove(target);
            }
        }
    }

    /// Grants the geolocation permission (to every origin, before or after
    /// navigating) and places the page at `lat`, `lon` within `accuracy_m`
    /// metres. A setting for one origin alone would win over it.
    pub async fn set_geolocation(&self, lat: f64, lon: f64, accuracy_m: f64) {
        self.geolocation_permission("granted").await;
        self.cdp(
            "Emulation.setGeolocationOverride",
            json!({"latitude": lat, "longitude": lon, "accuracy": accuracy_m}),
        )
        .await;
    }

    /// Refuses geolocation (to every origin): `getCurrentPosition` fails with
    /// `PERMISSION_DENIED` (code 1).
    pub async fn deny_geolocation(&self) {
        self.geolocation_permission("denied").await;
    }

    async fn geolocation_permission(&self, setting: &str) {
        self.cdp("Browser.setPermission", json!({"permission": {"name": "geolocation"}, "setting": setting})).await;
    }

    /// The network as the browser sees it: offline (`navigator.onLine` false,
    /// an `offline` event, every request of the page and of its running workers
    /// failing) or back online, unthrottled (an `online` event).
    pub async fn set_offline(&self, offline: bool) {
        self.network_conditions(offline, 0.0, -1.0, -1.0).await;
    }

    /// Throttles the network of the page and its running workers: `latency_ms`
    /// added to each request, and throughputs in bytes per second (DevTools' old
    /// "Slow 3G" preset was 2000, 50 000, 50 000).
    pub async fn throttle(&self, latency_ms: f64, down_bytes_per_s: f64, up_bytes_per_s: f64) {
        self.network_conditions(false, latency_ms, down_bytes_per_s, up_bytes_per_s).await;
    }

    async fn network_conditions(&self, offline: bool, latency_ms: f64, down: f64, up: f64) {
        let conditions =
            json!({"offline": offline, "latency": latency_ms, "downloadThroughput": down, "uploadThroughput": up});
        self.cdp("Network.enable", json!({})).await;
        self.cdp("Network.emulateNetworkConditions", conditions.clone()).await;
        self.in_workers(&[("Network.enable", &json!({})), ("Network.emulateNetworkConditions", &conditions)]).await;
    }

    /// Empties the browser's HTTP cache (not the service worker's caches).
    pub async fn clear_cache(&self) {
        self.cdp("Network.clearBrowserCache", json!({})).await;
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

/// A POST to an endpoint of the session that fantoccini has no method for
/// (chromedriver's vendor extensions).
#[derive(Debug)]
struct SessionPost {
    /// Under `/session/{id}/`.
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for SessionPost {
    // `url::ParseError`, named through `Url` (this crate does not depend on `url` itself).
    fn endpoint(&self, base_url: &Url, session_id: Option<&str>) -> Result<Url, <Url as std::str::FromStr>::Err> {
        let session = session_id.expect("a WebDriver session");
        base_url.join(&format!("session/{session}/{}", self.path))
    }

    fn method_and_body(&self, _request_url: &Url) -> (Method, Option<String>) {
        (Method::POST, Some(self.body.to_string()))
    }
}
