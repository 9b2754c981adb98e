//! The printable monthly coverage report (`GET /v1/coverage/report`): the
//! month's map with its legend, the totals per station and the overdue list,
//! for meeting papers (A4 landscape). [`svg`] draws the page from the
//! domain's report (`fieldvisit_sync::coverage_report`, whose geometry
//! PostGIS has already projected into the map frame), [`png`] rasterises that
//! same SVG with resvg and the system's CJK fonts, [`html`] embeds it in a
//! printable page with the tables. Every word shown is in [`Catalogue`].

pub mod html;
pub mod png;
pub mod svg;

use chrono::{DateTime, Utc};
use fieldvisit_sync::coverage_report::{CoverageReport, CoverageStatus};
use fieldvisit_sync::month::{Month, shanghai};
use serde::Deserialize;
use utoipa::ToSchema;

pub use crate::export::Lang;

/// What the report is answered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// A printable page: the map and the tables (A4 landscape).
    #[default]
    Html,
    /// The map page alone, as SVG.
    Svg,
    /// The map page alone, rasterised (2246 × 1588 px, A4 landscape at 192 dpi).
    Png,
}

impl ReportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Html => "text/html; charset=utf-8",
            Self::Svg => "image/svg+xml",
            Self::Png => "image/png",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Html => "html",
            Self::Svg => "svg",
            Self::Png => "png",
        }
    }
}

/// The status colours, the same on the map, in the legend and in the tables.
pub fn colour(status: CoverageStatus) -> &'static str {
    match status {
        CoverageStatus::Visited => "#2e7d32",
        CoverageStatus::Due => "#f9a825",
        CoverageStatus::Overdue => "#c62828",
        CoverageStatus::Unassigned => "#757575",
    }
}

/// The font the page asks for: Debian's `fonts-noto-cjk`, which has Latin too.
pub const FONT_FAMILY: &str = "Noto Sans CJK SC";

/// Every word of the report in one language.
#[derive(Debug)]
pub struct Catalogue {
    pub html_lang: &'static str,
    pub legend: &'static str,
    pub totals: &'static str,
    /// Station, places, then one per status, then the coverage rate.
    pub totals_columns: [&'static str; 7],
    pub total_row: &'static str,
    pub overdue: &'static str,
    pub overdue_columns: [&'static str; 6],
    pub no_overdue: &'static str,
    pub no_places: &'static str,
    pub never_visited: &'static str,
    pub generated: &'static str,
    pub rate_note: &'static str,
    pub more_stations: &'static str,
}

const ZH: Catalogue = Catalogue {
    html_lang: "zh-CN",
    legend: "图例",
    totals: "各联络站走访情况",
    totals_columns: ["联络站", "地点", "已走访", "待走访", "逾期未走访", "未分配", "覆盖率"],
    total_row: "合计",
    overdue: "逾期未走访地点",
    overdue_columns: ["序号", "地点", "联络站", "类型", "负责代表", "最近走访"],
    no_overdue: "无逾期未走访地点",
    no_places: "范围内没有地点",
    never_visited: "从未走访",
    generated: "生成时间（北京时间）",
    rate_note: "覆盖率 = 已走访地点 ÷ 已分配代表的地点",
    more_stations: "其余联络站见表格",
};

const EN: Catalogue = Catalogue {
    html_lang: "en",
    legend: "Legend",
    totals: "Coverage by station",
    totals_columns: ["Station", "Places", "Visited", "Due", "Overdue", "Unassigned", "Coverage"],
    total_row: "Total",
    overdue: "Overdue places",
    overdue_columns: ["No.", "Place", "Station", "Kind", "Representatives", "Last visit"],
    no_overdue: "No overdue places",
    no_places: "No places in scope",
    never_visited: "never",
    generated: "Generated (Beijing time)",
    rate_note: "Coverage = visited places ÷ places with a representative assigned",
    more_stations: "other stations: see the table",
};

impl Catalogue {
    pub fn of(lang: Lang) -> &'static Self {
        match lang {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    pub fn status(&self, status: CoverageStatus) -> &'static str {
        let zh = self.html_lang != "en";
        match (status, zh) {
            (CoverageStatus::Visited, true) => "已走访",
            (CoverageStatus::Due, true) => "待走访",
            (CoverageStatus::Overdue, true) => "逾期未走访",
            (CoverageStatus::Unassigned, true) => "未分配",
            (CoverageStatus::Visited, false) => "Visited",
            (CoverageStatus::Due, false) => "Due",
            (CoverageStatus::Overdue, false) => "Overdue",
            (CoverageStatus::Unassigned, false) => "Unassigned",
        }
    }

    pub fn kind(&self, kind: &str) -> String {
        let zh = self.html_lang != "en";
        match (kind, zh) {
            ("grid_cell", true) => "网格".into(),
            ("enterprise", true) => "企业".into(),
            ("project_site", true) => "项目工地".into(),
            ("grid_cell", false) => "grid cell".into(),
            ("enterprise", false) => "enterprise".into(),
            ("project_site", false) => "project site".into(),
            (other, _) => other.to_owned(),
        }
    }

    /// The report's title: 邵原镇东阳联络站2026年11月走访覆盖图.
    pub fn title(&self, township: &str, station: Option<&str>, month: Month) -> String {
        if self.html_lang == "en" {
            let name =
                u8::try_from(month.month()).ok().and_then(|m| chrono::Month::try_from(m).ok()).map_or("", |m| m.name());
            let whose =
                [township, station.unwrap_or_default()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>();
            let whose = if whose.is_empty() { String::new() } else { format!(": {}", whose.join(" ")) };
            format!("Visit coverage, {name} {}{whose}", month.year())
        } else {
            format!("{township}{}{}年{}月走访覆盖图", station.unwrap_or_default(), month.year(), month.month())
        }
    }

    /// A coverage rate as a percentage with one decimal, `—` when nothing was assigned.
    pub fn rate(rate: Option<f64>) -> String {
        rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
    }

    /// A time as the report prints it: Asia/Shanghai, to the minute.
    pub fn time(t: DateTime<Utc>) -> String {
        t.with_timezone(&shanghai()).format("%Y-%m-%d %H:%M").to_string()
    }
}

/// A report ready to be drawn: the domain's report and what the page adds.
#[derive(Debug)]
pub struct Page<'a> {
    pub report: &'a CoverageReport,
    pub title: String,
    pub generated: DateTime<Utc>,
    pub lang: Lang,
}

impl Page<'_> {
    pub fn words(&self) -> &'static Catalogue {
        Catalogue::of(self.lang)
    }
}
