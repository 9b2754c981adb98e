//! The report's page as SVG (A4 landscape at 96 dpi: 1123 × 794): the title,
//! the map (station service areas and their names, one marker per place in
//! its status colour), the legend with the counts, and the totals per
//! station. The shapes come projected into [`MAP_FRAME`] already; this file
//! only lays out and writes.

use std::fmt::Write as _;

use fieldvisit_sync::coverage_report::{CoverageStatus, Frame, Totals};
use fieldvisit_sync::stations::StationLevel;

use super::{Catalogue, FONT_FAMILY, Page, colour};

pub const WIDTH: u32 = 1123;
pub const HEIGHT: u32 = 794;

/// Where the map goes on the page; the rest of the right side holds the
/// legend and the totals.
pub const MAP_FRAME: Frame = Frame { x: 24.0, y: 88.0, width: 740.0, height: 682.0 };

/// The right-hand panel's left edge and its right edge.
const PANEL: (f64, f64) = (784.0, 1099.0);

/// Rows of the totals table that fit under the legend, header and total row aside.
const TABLE_ROWS: usize = 18;

/// Text for XML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The page as an SVG document.
pub fn write(page: &Page<'_>) -> String {
    let words = page.words();
    let report = page.report;
    let mut s = String::with_capacity(64 * 1024 + report.places.len() * 200);
    // `write!` to a String cannot fail.
    let _ = write!(
        s,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="{FONT_FAMILY}, sans-serif" data-month="{month}">
<title>{title}</title>
<rect width="100%" height="100%" fill="#ffffff"/>
<text id="title" x="{cx}" y="46" font-size="24" font-weight="bold" text-anchor="middle" fill="#111111">{title}</text>
<text x="{cx}" y="72" font-size="12" text-anchor="middle" fill="#444444">{generated_label} {generated} · {rate_note}</text>
"##,
        month = report.month,
        title = esc(&page.title),
        cx = f64::from(WIDTH) / 2.0,
        generated_label = esc(words.generated),
        generated = Catalogue::time(page.generated),
        rate_note = esc(words.rate_note),
    );
    map(&mut s, page);
    legend(&mut s, page);
    totals(&mut s, page);
    s.push_str("</svg>\n");
    s
}

fn map(s: &mut String, page: &Page<'_>) {
    let Frame { x, y, width, height } = MAP_FRAME;
    let _ = write!(
        s,
        r##"<clipPath id="map-clip"><rect x="{x}" y="{y}" width="{width}" height="{height}"/></clipPath>
<rect x="{x}" y="{y}" width="{width}" height="{height}" fill="#fafbfc" stroke="#9aa5b1" stroke-width="1"/>
<g id="map" clip-path="url(#map-clip)">
<g id="stations">
"##
    );
    for st in &page.report.stations {
        let Some(area) = &st.area else { continue };
        // The central station's area lies inside the regional ones: dashed, unfilled.
        let style = if st.level == StationLevel::Central {
            r##"fill="none" stroke="#5b7083" stroke-width="1" stroke-dasharray="4 3""##
        } else {
            r##"fill="#e3eaf2" fill-opacity="0.7" stroke="#5b7083" stroke-width="1.2" stroke-linejoin="round""##
        };
        let _ = writeln!(s, r#"<path id="station-{}" d="{}" {style}/>"#, st.id, esc(area));
    }
    s.push_str("</g>\n<g id=\"places\">\n");
    // Areas under points, so that no point is hidden by a grid cell.
    for p in page.report.places.iter().filter(|p| p.outline.is_some()) {
        let c = colour(p.status);
        let d = p.outline.as_deref().unwrap_or_default();
        let _ = writeln!(
            s,
            r#"<path id="place-{}" class="{}" d="{}" fill="{c}" fill-opacity="0.45" stroke="{c}" stroke-width="1"/>"#,
            p.id,
            p.status.code(),
            esc(d)
        );
    }
    for p in page.report.places.iter().filter(|p| p.outline.is_none()) {
        let _ = writeln!(
            s,
            r##"<circle id="place-{}" class="{}" cx="{:.1}" cy="{:.1}" r="4.5" fill="{}" stroke="#ffffff" stroke-width="1"/>"##,
            p.id,
            p.status.code(),
            p.marker.0,
            p.marker.1,
            colour(p.status)
        );
    }
    s.push_str("</g>\n<g id=\"station-names\" font-size=\"13\" text-anchor=\"middle\" fill=\"#1f2d3d\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\" stroke-linejoin=\"round\">\n");
    for st in &page.report.stations {
        let _ = writeln!(
            s,
            r#"<text id="station-name-{}" x="{:.1}" y="{:.1}">{}</text>"#,
            st.id,
            st.label.0,
            st.label.1,
            esc(&st.name)
        );
    }
    s.push_str("</g>\n");
    if page.report.places.is_empty() {
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="16" text-anchor="middle" fill="#666666">{}</text>"##,
            x + width / 2.0,
            y + height / 2.0,
            esc(page.words().no_places)
        );
    }
    s.push_str("</g>\n");
}

fn legend(s: &mut String, page: &Page<'_>) {
    let words = page.words();
    let (x0, x1) = PANEL;
    let _ = writeln!(
        s,
        r##"<g id="legend"><text x="{x0}" y="106" font-size="15" font-weight="bold" fill="#111111">{}</text>"##,
        esc(words.legend)
    );
    for (i, status) in CoverageStatus::ALL.into_iter().enumerate() {
        #[expect(clippy::cast_precision_loss, reason = "four rows")]
        let y = 130.0 + 24.0 * i as f64;
        let _ = writeln!(
            s,
            r##"<circle cx="{}" cy="{}" r="7" fill="{}"/><text x="{}" y="{}" font-size="13" fill="#111111">{}</text><text x="{}" y="{}" font-size="13" text-anchor="end" fill="#111111">{}</text>"##,
            x0 + 8.0,
            y - 4.5,
            colour(status),
            x0 + 24.0,
            y,
            esc(words.status(status)),
            x1,
            y,
            page.report.total.count(status)
        );
    }
    s.push_str("</g>\n");
}

/// The numbers' right edges in the totals table, from the panel's left edge.
const COLUMNS: [f64; 6] = [140.0, 168.0, 196.0, 224.0, 252.0, 315.0];

fn totals(s: &mut String, page: &Page<'_>) {
    let words = page.words();
    let (x0, _) = PANEL;
    let _ = writeln!(
        s,
        r##"<g id="totals" font-size="11" fill="#111111"><text x="{x0}" y="248" font-size="15" font-weight="bold">{}</text>"##,
        esc(words.totals)
    );
    let mut y = 272.0;
    // The header: the station, then the places and each status as a swatch
    // (the words are in the legend just above), then the rate.
    let _ = write!(s, r##"<text x="{x0}" y="{y}" fill="#444444">{}</text>"##, esc(words.totals_columns[0]));
    let _ = write!(
        s,
        r##"<text x="{}" y="{y}" text-anchor="end" fill="#444444">{}</text>"##,
        x0 + COLUMNS[0],
        esc(words.totals_columns[1])
    );
    for (i, status) in CoverageStatus::ALL.into_iter().enumerate() {
        let _ = write!(
            s,
            r#"<circle cx="{}" cy="{}" r="5" fill="{}"/>"#,
            x0 + COLUMNS[i + 1] - 5.0,
            y - 4.0,
            colour(status)
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{y}" text-anchor="end" fill="#444444">{}</text>"##,
        x0 + COLUMNS[5],
        esc(words.totals_columns[6])
    );
    let _ = writeln!(s, r##"<line x1="{x0}" x2="{}" y1="{}" y2="{}" stroke="#9aa5b1"/>"##, PANEL.1, y + 6.0, y + 6.0);
    let row = |s: &mut String, y: f64, name: &str, t: Totals, bold: bool| {
        let weight = if bold { r#" font-weight="bold""# } else { "" };
        let _ = write!(s, r#"<text x="{x0}" y="{y}"{weight}>{}</text>"#, esc(name));
        let numbers = [t.places, t.visited, t.due, t.overdue, t.unassigned];
        for (i, n) in numbers.into_iter().enumerate() {
            let _ = write!(s, r#"<text x="{}" y="{y}" text-anchor="end"{weight}>{n}</text>"#, x0 + COLUMNS[i]);
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{y}" text-anchor="end"{weight}>{}</text>"#,
            x0 + COLUMNS[5],
            Catalogue::rate(t.rate())
        );
    };
    for st in page.report.totals.iter().take(TABLE_ROWS) {
        y += 22.0;
        row(s, y, &st.station_name, st.totals, false);
    }
    if page.report.totals.len() > TABLE_ROWS {
        y += 22.0;
        let _ = writeln!(s, r##"<text x="{x0}" y="{y}" fill="#666666">… {}</text>"##, esc(words.more_stations));
    }
    let _ = writeln!(s, r##"<line x1="{x0}" x2="{}" y1="{}" y2="{}" stroke="#9aa5b1"/>"##, PANEL.1, y + 8.0, y + 8.0);
    y += 26.0;
    row(s, y, words.total_row, page.report.total, true);
    s.push_str("</g>\n");
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_is_escaped() {
        assert_eq!(super::esc(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
