//! `fieldvisit bench import`: places imported per second through
//! `POST /v1/places/import`, from a CSV and from a zipped shapefile of
//! 100,000 enterprises, then the same file again (every row unchanged), and
//! in the same run the same rows written by plain `COPY` (the floor of what
//! PostgreSQL can take) as the reference.

use std::fmt::Write as _;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Context;
use fieldvisit_sync::bench as rig_data;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::{Rig, per_second, rig};

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Rows in each file.
    #[arg(long, default_value_t = 100_000)]
    pub rows: usize,
    /// Tiny sizes, a few seconds: proves the benchmark runs (the figures mean nothing).
    #[arg(long)]
    pub smoke: bool,
}

impl ImportArgs {
    pub fn sized(self) -> Self {
        if self.smoke { Self { rows: 200, ..self } } else { self }
    }
}

/// Points inside 东阳's service area (the demo's), seeded.
fn points(n: usize) -> Vec<(f64, f64)> {
    let mut rng = StdRng::seed_from_u64(20_261_201);
    (0..n).map(|_| (rng.gen_range(112.215..112.285), rng.gen_range(35.125..35.165))).collect()
}

fn csv(points: &[(f64, f64)]) -> Vec<u8> {
    let mut out = String::from("统一社会信用代码,名称,地址,经度,纬度,联络站\n");
    for (i, (x, y)) in points.iter().enumerate() {
        writeln!(out, "91419001BM{i:08},基准企业{i},邵原镇东阳村{i}号,{x:.7},{y:.7},dongyang")
            .expect("a String takes it");
    }
    out.into_bytes()
}

fn field(name: &str) -> anyhow::Result<shapefile::dbase::FieldName> {
    name.try_into().map_err(|e| anyhow::anyhow!("field name {name}: {e:?}"))
}

fn shapefile_zip(points: &[(f64, f64)]) -> anyhow::Result<Vec<u8>> {
    use shapefile::dbase::{self, FieldValue, Record};
    let dir = std::env::temp_dir().join(format!("fieldvisit-bench-shp-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    {
        let table = dbase::TableWriterBuilder::with_encoding(dbase::encoding::EncodingRs::from(encoding_rs::GBK))
            .add_character_field(field("BH")?, 20)
            .add_character_field(field("MC")?, 40)
            .add_character_field(field("STATION")?, 20);
        let mut writer = shapefile::Writer::from_path(dir.join("e.shp"), table)?;
        for (i, (x, y)) in points.iter().enumerate() {
            let mut r = Record::default();
            r.insert("BH".into(), FieldValue::Character(Some(format!("SHP{i:08}"))));
            r.insert("MC".into(), FieldValue::Character(Some(format!("图层企业{i}"))));
            r.insert("STATION".into(), FieldValue::Character(Some("dongyang".into())));
            writer.write_shape_and_record(&shapefile::Point::new(*x, *y), &r)?;
        }
    }
    std::fs::write(dir.join("e.cpg"), "GBK")?;
    let mut out = Vec::new();
    {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut out));
        for ext in ["shp", "shx", "dbf", "cpg"] {
            z.start_file(format!("e.{ext}"), zip::write::SimpleFileOptions::default())?;
            z.write_all(&std::fs::read(dir.join(format!("e.{ext}")))?)?;
        }
        z.finish()?;
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(out)
}

async fn upload(
    rig: &Rig,
    token: &str,
    file: Vec<u8>,
    name: &str,
    options: &Value,
) -> anyhow::Result<(Value, Duration)> {
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(file).file_name(name.to_owned()))
        .text("options", options.to_string());
    let t = Instant::now();
    let res = rig.http.post(format!("{}/v1/places/import", rig.base)).bearer_auth(token).multipart(form).send().await?;
    let status = res.status();
    let body: Value = res.json().await?;
    anyhow::ensure!(status.is_success(), "import answered {status}: {body}");
    Ok((body, t.elapsed()))
}

pub async fn run(a: ImportArgs) -> anyhow::Result<()> {
    let rig = rig("import").await?;
    let token = rig.login("planner").await?;
    let pts = points(a.rows);
    println!("import: {} rows per file (CSV and a zipped shapefile), through POST /v1/places/import", a.rows);
    for (label, file, name, source) in
        [("CSV", csv(&pts), "bench.csv", "bench-csv"), ("shapefile", shapefile_zip(&pts)?, "bench.zip", "bench-shp")]
    {
        let options = json!({"source": source, "kind": "enterprise"});
        let (first, took) = upload(&rig, &token, file.clone(), name, &options).await?;
        let created = first["created"].as_u64().context("created")?;
        anyhow::ensure!(created == a.rows as u64, "{label}: {created} of {} rows created: {first}", a.rows);
        println!(
            "  {label:<9} first import: {:>8.0} rows/s ({:.2} s, {} bytes)",
            per_second(a.rows, took),
            took.as_secs_f64(),
            file.len()
        );
        let (again, took) = upload(&rig, &token, file, name, &options).await?;
        anyhow::ensure!(again["unchanged"].as_u64() == Some(a.rows as u64), "{label}: re-import changed rows: {again}");
        println!(
            "  {label:<9} re-import:    {:>8.0} rows/s ({:.2} s, every row unchanged)",
            per_second(a.rows, took),
            took.as_secs_f64()
        );
    }
    let (copied, took) = rig_data::copy_places(&rig.pool).await?;
    println!(
        "  reference: COPY of the same {copied} places into a table with the same indexes: {:.0} rows/s ({:.2} s)",
        per_second(usize::try_from(copied).unwrap_or(usize::MAX), took),
        took.as_secs_f64()
    );
    Ok(())
}
