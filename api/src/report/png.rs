//! The report's page as PNG: the SVG of [`super::svg`] rasterised by resvg
//! at twice its size (A4 landscape at 192 dpi), its text shaped with the
//! system's fonts. The font database is loaded once: scanning the fonts
//! takes a while, and `fonts-noto-cjk` is what makes the Chinese render
//! rather than come out as empty boxes.

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia;
pub use resvg::usvg::{self, fontdb};

use super::FONT_FAMILY;

/// Pixels per SVG unit.
pub const SCALE: u32 = 2;

/// The system's fonts, with sans-serif meaning the CJK family the page asks for.
pub fn system_fonts() -> Arc<fontdb::Database> {
    static FONTS: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            db.load_system_fonts();
            db.set_sans_serif_family(FONT_FAMILY);
            Arc::new(db)
        })
        .clone()
}

/// Parses the SVG with `fonts` (text is turned into outlines here).
pub fn parse(svg: &str, fonts: Arc<fontdb::Database>) -> Result<usvg::Tree, usvg::Error> {
    let options = usvg::Options {
        font_family: FONT_FAMILY.to_owned(),
        languages: vec!["zh-CN".to_owned(), "en".to_owned()],
        fontdb: fonts,
        ..usvg::Options::default()
    };
    usvg::Tree::from_str(svg, &options)
}

/// The SVG as PNG bytes, [`SCALE`] pixels per unit, on white.
pub fn render(svg: &str, fonts: Arc<fontdb::Database>) -> anyhow::Result<Vec<u8>> {
    let tree = parse(svg, fonts)?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(f32::from(u8::try_from(SCALE)?))
        .ok_or_else(|| anyhow::anyhow!("the page's size cannot be scaled"))?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| anyhow::anyhow!("no pixmap of {}×{}", size.width(), size.height()))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    #[expect(clippy::cast_precision_loss, reason = "a small integer")]
    let scale = SCALE as f32;
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    Ok(pixmap.encode_png()?)
}
