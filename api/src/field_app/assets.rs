//! The field app's files, compiled into the binary (`api/assets/app/`), and the
//! release version they are served under: a hash of all of them together with the
//! shell and the service worker, so any change is a new version and a new worker.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// One of the app's files.
pub struct AppFile {
    pub path: &'static str,
    pub bytes: &'static [u8],
    pub mime: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! app_file {
    ($path:literal, $mime:expr) => {
        AppFile { path: $path, bytes: include_bytes!(concat!("../../assets/app/", $path)), mime: $mime }
    };
}

/// The modules, the style and the word lists (the map module is among them, but only
/// the map screen imports it, and it imports MapLibre).
pub const APP_FILES: &[AppFile] = &[
    app_file!("main.js", JS),
    app_file!("store.js", JS),
    app_file!("net.js", JS),
    app_file!("sync.js", JS),
    app_file!("photos.js", JS),
    app_file!("locate.js", JS),
    app_file!("month.js", JS),
    app_file!("i18n.js", JS),
    app_file!("map.js", JS),
    app_file!("app.css", "text/css; charset=utf-8"),
    app_file!("i18n/zh.json", "application/json"),
    app_file!("i18n/en.json", "application/json"),
];

/// The service worker's own code (its version and file list are written in front).
pub const SERVICE_WORKER: &[u8] = include_bytes!("../../assets/app/sw.js");

const SHELL: &str = include_str!("../../templates/app/shell.html");
const ICON_SVG: &str = include_str!("../../assets/app/icon.svg");

/// This release's version: 12 hex digits of the hash of every file the app is made of.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut hash = Sha256::new();
        for f in APP_FILES {
            hash.update(f.path.as_bytes());
            hash.update((f.bytes.len() as u64).to_le_bytes());
            hash.update(f.bytes);
        }
        hash.update(SERVICE_WORKER);
        hash.update(SHELL.as_bytes());
        hash.update(ICON_SVG.as_bytes());
        hex::encode(&hash.finalize()[..6])
    })
}

type IconBytes = fn() -> anyhow::Result<Vec<u8>>;

/// The icons a phone installs the app with: the drawing, and PNGs of it for the
/// launchers that need pixels.
pub const ICONS: &[(&str, IconBytes)] =
    &[("icon.svg", || Ok(ICON_SVG.as_bytes().to_vec())), ("icon-192.png", || png(192)), ("icon-512.png", || png(512))];

/// The icon rendered at `size` pixels square (once per size and process).
fn png(size: u32) -> anyhow::Result<Vec<u8>> {
    static SMALL: OnceLock<Vec<u8>> = OnceLock::new();
    static LARGE: OnceLock<Vec<u8>> = OnceLock::new();
    let cell = if size <= 192 { &SMALL } else { &LARGE };
    if let Some(done) = cell.get() {
        return Ok(done.clone());
    }
    let tree = resvg::usvg::Tree::from_str(ICON_SVG, &resvg::usvg::Options::default())?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size, size).ok_or_else(|| anyhow::anyhow!("no {size} px pixmap"))?;
    #[expect(clippy::cast_precision_loss, reason = "an icon's size, a few hundred pixels")]
    let scale = size as f32 / tree.size().width();
    resvg::render(&tree, resvg::tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    let bytes = pixmap.encode_png()?;
    Ok(cell.get_or_init(|| bytes).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icons_render_at_their_sizes() {
        for (name, bytes) in ICONS {
            let bytes = bytes().unwrap();
            if std::path::Path::new(name).extension().is_some_and(|e| e == "png") {
                let img = image::load_from_memory(&bytes).unwrap();
                let size: u32 = name.trim_start_matches("icon-").trim_end_matches(".png").parse().unwrap();
                assert_eq!((img.width(), img.height()), (size, size), "{name}");
            }
        }
    }

    #[test]
    fn the_word_lists_have_the_same_keys() {
        let keys = |bytes: &[u8]| {
            let words: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(bytes).unwrap();
            words.keys().cloned().collect::<std::collections::BTreeSet<_>>()
        };
        let file = |p: &str| APP_FILES.iter().find(|f| f.path == p).unwrap().bytes;
        let (zh, en) = (keys(file("i18n/zh.json")), keys(file("i18n/en.json")));
        assert_eq!(zh.difference(&en).collect::<Vec<_>>(), Vec::<&String>::new(), "in zh, not in en");
        assert_eq!(en.difference(&zh).collect::<Vec<_>>(), Vec::<&String>::new(), "in en, not in zh");
    }

    #[test]
    fn every_word_the_app_uses_is_in_the_lists() {
        // `t('key')` in the modules: each key must be in the list (zh; the lists match).
        let words: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(APP_FILES.iter().find(|f| f.path == "i18n/zh.json").unwrap().bytes).unwrap();
        let js = |f: &&AppFile| std::path::Path::new(f.path).extension().is_some_and(|e| e == "js");
        let used = literal_keys(APP_FILES.iter().filter(js).map(|f| f.bytes));
        let missing: Vec<_> = used.iter().filter(|k| !words.contains_key(*k)).collect();
        assert!(missing.is_empty(), "words used but not listed: {missing:?}");
    }

    /// The literal keys of `t('…')` calls.
    fn literal_keys<'a>(files: impl Iterator<Item = &'a [u8]>) -> std::collections::BTreeSet<String> {
        let mut keys = std::collections::BTreeSet::new();
        for bytes in files {
            let text = std::str::from_utf8(bytes).unwrap();
            for (i, _) in text.match_indices("t('") {
                if i > 0 && text.as_bytes()[i - 1].is_ascii_alphanumeric() {
                    continue;
                }
                let rest = &text[i + 3..];
                if let Some(end) = rest.find('\'') {
                    keys.insert(rest[..end].to_owned());
                }
            }
        }
        keys
    }
}
