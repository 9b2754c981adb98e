//! Exports of the issue ledger (台账) and of a monthly issue list (问题清单):
//! the same eleven columns as XLSX (as a township office prints it), CSV,
//! GeoJSON and a printable HTML page. Each writer is a pure function from the
//! rows, a title, the language and the coordinate system to bytes; the
//! handlers (`routes::exports`) fetch the rows and answer.

pub mod csv;
pub mod geojson;
pub mod html;
pub mod xlsx;

use chrono::NaiveDate;
use fieldvisit_geodata::crs::Crs;
use fieldvisit_sync::issues::Issue;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A workbook as the township office prints it (A4 landscape).
    Xlsx,
    /// UTF-8 with a byte-order mark, so Excel and WPS read the Chinese text.
    Csv,
    /// RFC 7946, one Point Feature per issue.
    Geojson,
    /// A printable page (A4 landscape).
    Html,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Geojson => "application/geo+json",
            Format::Html => "text/html; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
            Format::Geojson => "geojson",
            Format::Html => "html",
        }
    }
}

/// The language of headers, titles and state words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn english(self) -> bool {
        self == Lang::En
    }
}

/// The columns, in order, as the township's list has them.
pub const COLUMNS: usize = 11;

/// The column headers in `lang`.
pub fn headers(lang: Lang) -> [&'static str; COLUMNS] {
    match lang {
        Lang::Zh => [
            "序号",
            "问题描述",
            "类别",
            "地点",
            "坐标",
            "提出代表",
            "联络站",
            "责任单位",
            "办理时限",
            "办理状态",
            "销号日期",
        ],
        Lang::En => [
            "No.",
            "Issue",
            "Category",
            "Place",
            "Coordinates",
            "Raised by",
            "Liaison station",
            "Department",
            "Deadline",
            "Status",
            "Closed out",
        ],
    }
}

/// One line of an export: an issue with its 序号, its names in the export's
/// language and its position in the export's coordinate system.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// 序号, from 1.
    pub position: u32,
    pub id: uuid::Uuid,
    /// `2026-0007`.
    pub number: String,
    pub title: String,
    pub description: String,
    /// Forwarded by an earlier month's list and still open.
    pub carried_over: bool,
    pub category_code: String,
    pub category: String,
    pub place: String,
    /// In the export's coordinate system.
    pub lon: f64,
    pub lat: f64,
    pub raisers: Vec<String>,
    pub station: String,
    pub department: String,
    pub deadline: Option<NaiveDate>,
    /// The state's code (`in_progress`).
    pub state_code: &'static str,
    /// The state as the office writes it (办理中), with overdue noted.
    pub state: String,
    pub overdue: bool,
    /// The day of close-out (销号), Asia/Shanghai.
    pub closed_out_on: Option<NaiveDate>,
}

impl Row {
    pub fn new(position: u32, carried_over: bool, issue: &Issue, lang: Lang, crs: Crs) -> Self {
        let english = lang.english();
        let at = crs.from_wgs84(geo::Coord { x: issue.lon, y: issue.lat });
        let mut state = issue.state.label(english).to_owned();
        if issue.overdue {
            state.push_str(if english { " (overdue)" } else { "（已超期）" });
        }
        Row {
            position,
            id: issue.id,
            number: issue.number.clone(),
            title: issue.title.clone(),
            description: issue.description.clone(),
            carried_over,
            category_code: issue.category.clone(),
            category: if english { issue.category_en.clone() } else { issue.category_zh.clone() },
            place: issue.place_name.clone().unwrap_or_default(),
            lon: at.x,
            lat: at.y,
            raisers: issue.raisers.iter().map(|r| r.name.clone()).collect(),
            station: issue.station_name.clone(),
            department: if english { issue.department_en.clone() } else { issue.department_zh.clone() }
                .unwrap_or_default(),
            deadline: issue.deadline,
            state_code: issue.state.as_str(),
            state,
            overdue: issue.overdue,
            closed_out_on: issue
                .closed_out_at
                .map(|t| t.with_timezone(&fieldvisit_sync::month::shanghai()).date_naive()),
        }
    }

    /// The 问题描述 cell: number and title on the first line (marked when
    /// carried over from an earlier month), the description below.
    pub fn describe(&self, lang: Lang) -> String {
        let carried = match (self.carried_over, lang) {
            (false, _) => "",
            (true, Lang::Zh) => "【结转】",
            (true, Lang::En) => "[carried over] ",
        };
        format!("{carried}{} {}\n{}", self.number, self.title, self.description)
    }

    /// `lon, lat` with six decimals (about 0.1 m).
    pub fn coordinates(&self) -> String {
        format!("{:.6}, {:.6}", self.lon, self.lat)
    }

    pub fn raisers_text(&self, lang: Lang) -> String {
        self.raisers.join(if lang.english() { ", " } else { "、" })
    }

    /// The eleven cells as text, in column order (序号 included).
    pub fn cells(&self, lang: Lang) -> [String; COLUMNS] {
        let date = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
        [
            self.position.to_string(),
            self.describe(lang),
            self.category.clone(),
            self.place.clone(),
            self.coordinates(),
            self.raisers_text(lang),
            self.station.clone(),
            self.department.clone(),
            date(self.deadline),
            self.state.clone(),
            date(self.closed_out_on),
        ]
    }
}

/// What every writer is given: the title, the language, the coordinate
/// system the rows' positions are in, and the rows.
#[derive(Debug)]
pub struct Sheet<'a> {
    pub title: &'a str,
    pub lang: Lang,
    pub crs: Crs,
    pub rows: &'a [Row],
}

/// Writes `sheet` as `format`.
pub fn write(format: Format, sheet: &Sheet<'_>) -> anyhow::Result<Vec<u8>> {
    match format {
        Format::Xlsx => xlsx::write(sheet),
        Format::Csv => csv::write(sheet),
        Format::Geojson => geojson::write(sheet),
        Format::Html => html::write(sheet),
    }
}

#[cfg(test)]
pub(crate) mod sample {
    //! Rows for the writers' unit tests.
    use super::{Lang, Row};

    pub fn rows(n: u32, lang: Lang) -> Vec<Row> {
        (1..=n)
            .map(|i| Row {
                position: i,
                id: uuid::Uuid::nil(),
                number: format!("2026-{i:04}"),
                title: "道路积水".into(),
                description: "村口道路雨后积水 <严重>，影响通行".into(),
                carried_over: i == 1,
                category_code: "traffic_safety".into(),
                category: if lang.english() { "Traffic safety".into() } else { "交通安全".into() },
                place: "刘尧村".into(),
                lon: 112.24,
                lat: 35.19,
                raisers: vec!["罗国红".into(), "贾磊".into()],
                station: "东阳联络站".into(),
                department: "交通运输局".into(),
                deadline: chrono::NaiveDate::from_ymd_opt(2026, 12, 31),
                state_code: "forwarded",
                state: "已转办".into(),
                overdue: false,
                closed_out_on: None,
            })
            .collect()
    }
}
