//! `fieldvisit import places FILE`: the planner's import from the command
//! line, on the same code path as `POST /v1/places/import`, with a progress
//! display and the report as a readable table (or JSON).

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use fieldvisit_sync::places::PlaceKind;
use fieldvisit_sync::places::import::{self, FileCrs, Format, ImportOptions, Mapping};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;

// Command-line switches are booleans by nature.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub struct ImportPlaces {
    /// The file: GeoJSON, CSV, XLSX, or a zipped shapefile.
    pub file: std::path::PathBuf,
    /// Where the rows come from; rows match on (source, external id).
    #[arg(long)]
    pub source: String,
    /// The file's coordinate system: wgs84, gcj02, bd09 or cgcs2000.
    #[arg(long, value_parser = parse_crs, default_value = "wgs84")]
    pub crs: FileCrs,
    /// The kind of every row: grid_cell, enterprise or project_site.
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<PlaceKind>,
    /// The column holding the kind (grid_cell/enterprise/project_site or 网格/企业/项目).
    #[arg(long)]
    pub kind_column: Option<String>,
    /// geojson, csv, xlsx or shapefile (default: told from the file).
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// The text encoding (UTF-8, GBK, GB18030 …; default: detected, GBK for shapefiles without a .cpg).
    #[arg(long)]
    pub encoding: Option<String>,
    /// Column names: name=名称,external_id=统一社会信用代码,address=地址,station=联络站,lon=经度,lat=纬度,wkt=WKT
    #[arg(long, value_parser = parse_mapping)]
    pub map: Option<Mapping>,
    /// Count and check, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Retire this source's places absent from the file (their assignments end).
    #[arg(long)]
    pub deactivate_missing: bool,
    /// Repair invalid polygons with ST_MakeValid instead of refusing them.
    #[arg(long)]
    pub repair: bool,
    /// The planner or admin the import is recorded for.
    #[arg(long, default_value = "planner")]
    pub by: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub config: Config,
}

fn parse_crs(s: &str) -> Result<FileCrs, String> {
    serde_json::from_value(serde_json::Value::String(s.to_lowercase()))
        .map_err(|_| "wgs84, gcj02, bd09 or cgcs2000".into())
}

fn parse_kind(s: &str) -> Result<PlaceKind, String> {
    serde_json::from_value(serde_json::Value::String(s.into()))
        .map_err(|_| "grid_cell, enterprise or project_site".into())
}

fn parse_format(s: &str) -> Result<Format, String> {
    serde_json::from_value(serde_json::Value::String(s.to_lowercase()))
        .map_err(|_| "geojson, csv, xlsx or shapefile".into())
}

fn parse_mapping(s: &str) -> Result<Mapping, String> {
    let mut m = Mapping::default();
    for pair in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| format!("{pair:?} is not key=column"))?;
        let v = Some(v.trim().to_owned());
        match k.trim() {
            "name" => m.name = v,
            "external_id" => m.external_id = v,
            "address" => m.address = v,
            "station" => m.station = v,
            "kind" => m.kind = v,
            "lon" => m.lon = v,
            "lat" => m.lat = v,
            "wkt" => m.wkt = v,
            other => return Err(format!("unknown field {other:?}")),
        }
    }
    Ok(m)
}

pub async fn run(a: ImportPlaces) -> anyhow::Result<()> {
    let db = crate::server::open_database(&a.config).await?;
    let by = fieldvisit_sync::sign_ins::credentials(&db.pool, &a.by)
        .await?
        .with_context(|| format!("no active person {:?} to record the import for", a.by))?
        .id;
    let progress = ProgressBar::new_spinner().with_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})")?);
    progress.enable_steady_tick(Duration::from_millis(120));
    progress.set_message(format!("reading {}", a.file.display()));
    let bytes = std::fs::read(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let mut mapping = a.map.unwrap_or_default();
    if a.kind_column.is_some() {
        mapping.kind = a.kind_column;
    }
    let options = ImportOptions {
        source: a.source,
        crs: a.crs,
        kind: a.kind,
        mapping,
        dry_run: a.dry_run,
        deactivate_missing: a.deactivate_missing,
        repair: a.repair,
    };
    let name = a.file.file_name().map(|n| n.to_string_lossy().into_owned());
    let prepared = tokio::task::spawn_blocking(move || {
        import::prepare(&bytes, name.as_deref(), a.format, a.encoding.as_deref(), options)
    })
    .await??;
    progress.set_message(format!("checking and writing {} rows", prepared.rows.len()));
    let report = import::run(&db.pool, by, prepared).await?;
    progress.finish_and_clear();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{}{} rows from {}: {} created, {} updated, {} unchanged, {} refused, {} repaired, {} retired",
        if report.dry_run { "dry run (nothing changed): " } else { "" },
        report.rows,
        a.file.display(),
        report.created,
        report.updated,
        report.unchanged,
        report.refused.len(),
        report.repaired.len(),
        report.deactivated
    );
    if !report.refused.is_empty() {
        println!("{:>7}  {:<22}  why", "line", "reason");
        for r in &report.refused {
            println!("{:>7}  {:<22}  {}", r.line, r.reason, r.message);
        }
    }
    Ok(())
}
