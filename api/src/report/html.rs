//! The report as a printable page (`templates/report/coverage.html`): the
//! map page (the SVG of [`super::svg`], inline), the totals per station and
//! the overdue list.

use fieldvisit_sync::coverage_report::CoverageStatus;
use minijinja::context;
use serde::Serialize;

use super::{Catalogue, Page, colour};

#[derive(Serialize)]
struct TotalsRow {
    name: String,
    numbers: [u32; 5],
    rate: String,
    total: bool,
}

#[derive(Serialize)]
struct OverdueRow {
    id: String,
    name: String,
    station: String,
    kind: String,
    representatives: String,
    last_visit: String,
}

pub fn write(page: &Page<'_>) -> Result<String, minijinja::Error> {
    let words = page.words();
    let report = page.report;
    let svg = super::svg::write(page);
    // Inline in HTML the SVG element goes without its XML declaration.
    let svg = svg.split_once("?>\n").map_or(svg.as_str(), |(_, element)| element);
    let row = |name: &str, t: fieldvisit_sync::coverage_report::Totals, total: bool| TotalsRow {
        name: name.to_owned(),
        numbers: [t.places, t.visited, t.due, t.overdue, t.unassigned],
        rate: Catalogue::rate(t.rate()),
        total,
    };
    let mut totals: Vec<TotalsRow> = report.totals.iter().map(|s| row(&s.station_name, s.totals, false)).collect();
    totals.push(row(words.total_row, report.total, true));
    let separator = if page.lang.english() { ", " } else { "、" };
    let overdue: Vec<OverdueRow> = report
        .overdue()
        .map(|p| OverdueRow {
            id: p.id.to_string(),
            name: p.name.clone(),
            station: p.station_name.clone(),
            kind: words.kind(&p.kind),
            representatives: p.representatives.join(separator),
            last_visit: p.last_visit_at.map_or_else(|| words.never_visited.to_owned(), Catalogue::time),
        })
        .collect();
    crate::templates::render(
        "report/coverage.html",
        context! {
            html_lang => words.html_lang,
            title => &page.title,
            svg,
            generated_label => words.generated,
            generated => Catalogue::time(page.generated),
            rate_note => words.rate_note,
            totals_heading => words.totals,
            totals_columns => words.totals_columns,
            colours => CoverageStatus::ALL.map(colour),
            totals => minijinja::value::Value::from(minijinja::value::Serde(&totals)),
            overdue_heading => words.overdue,
            overdue_columns => words.overdue_columns,
            overdue => minijinja::value::Value::from(minijinja::value::Serde(&overdue)),
            no_overdue => words.no_overdue,
        },
    )
}
