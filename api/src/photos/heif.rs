//! HEIC/HEIF photos, what iPhones and many Android phones take by default,
//! turned into JPEG for their thumbnails. HEIC is HEVC inside and there is
//! no Rust HEVC decoder, so libheif does it, as its own process
//! (`heif-convert`): a C decoder fed a crafted file then crashes or hangs a
//! child, which is killed after [`TIMEOUT`], never the server. Debian's
//! libheif (1.15) is also older than the Rust bindings accept (1.17).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::media::MediaError;

/// Longer than any real photo takes (a 48-megapixel HEIC converts in a few
/// seconds on one core); a decoder stuck longer is killed.
const TIMEOUT: Duration = Duration::from_mins(1);
/// JPEG quality of the intermediate image, decoded again for the thumbnail.
const QUALITY: &str = "92";

/// Runs the configured `heif-convert`.
#[derive(Debug, Clone)]
pub struct HeifConverter {
    program: PathBuf,
}

impl HeifConverter {
    pub fn new(program: PathBuf) -> Self {
        Self { program }
    }

    /// The photo's primary image as a JPEG, upright (libheif applies the
    /// HEIF rotation and mirroring, and sets the copied EXIF orientation to
    /// upright). A file with several images yields the first.
    pub async fn to_jpeg(&self, heif: Vec<u8>) -> Result<Vec<u8>, MediaError> {
        let work = Scratch::new().await.map_err(|e| MediaError::Decode(format!("no scratch folder for HEIF: {e}")))?;
        let input = work.0.join("photo.heic");
        let output = work.0.join("photo.jpg");
        tokio::fs::write(&input, heif).await.map_err(|e| MediaError::Decode(format!("HEIF scratch file: {e}")))?;
        let run = tokio::process::Command::new(&self.program)
            .args(["--quiet", "-q", QUALITY])
            .arg(&input)
            .arg(&output)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        let done = match tokio::time::timeout(TIMEOUT, run).await {
            Err(_) => {
                return Err(MediaError::Decode(format!(
                    "{} took longer than {} s",
                    self.program.display(),
                    TIMEOUT.as_secs()
                )));
            }
            Ok(Err(e)) if e.kind() == ErrorKind::NotFound => {
                return Err(MediaError::Converter(format!(
                    "HEIF thumbnails need {} (Debian package libheif-examples), which is not installed",
                    self.program.display()
                )));
            }
            Ok(Err(e)) => return Err(MediaError::Converter(format!("{}: {e}", self.program.display()))),
            Ok(Ok(done)) => done,
        };
        if !done.status.success() {
            let said = String::from_utf8_lossy(&done.stderr);
            return Err(MediaError::Decode(format!("libheif cannot decode it: {}", said.trim())));
        }
        // One image: photo.jpg. Several (bursts, sequences): photo-1.jpg, …
        let written =
            first_jpeg(&work.0, &output).await.ok_or_else(|| MediaError::Decode("libheif wrote no image".into()))?;
        tokio::fs::read(written).await.map_err(|e| MediaError::Decode(format!("HEIF conversion output: {e}")))
    }
}

async fn first_jpeg(dir: &Path, expected: &Path) -> Option<PathBuf> {
    if tokio::fs::try_exists(expected).await.unwrap_or(false) {
        return Some(expected.to_owned());
    }
    let mut entries = tokio::fs::read_dir(dir).await.ok()?;
    let mut jpegs = Vec::new();
    while let Ok(Some(entry)) = entries.next_entry().await {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "jpg") {
            jpegs.push(path);
        }
    }
    jpegs.sort();
    jpegs.into_iter().next()
}

/// A private folder for one conversion, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    async fn new() -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("fieldvisit-heif-{}", uuid::Uuid::new_v4()));
        tokio::fs::create_dir(&dir).await?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
