//! The list as an RFC 7946 FeatureCollection: one Point Feature per issue,
//! its properties the workbook's columns under stable English keys (the
//! labels in the export's language). Positions are WGS84 as the RFC says;
//! with `crs=gcj02` they are GCJ-02 for AMap, and the collection says so in
//! a foreign member, `coordinate_system` (RFC 7946 has no `crs` member).

use std::io::Write;

use serde_json::json;

use super::{Row, Sheet};

pub fn write(sheet: &Sheet<'_>) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(512 * sheet.rows.len() + 256);
    // Written feature by feature rather than as one value: a 10,000-issue
    // ledger would otherwise be held twice, as a tree and as text.
    write!(
        out,
        r#"{{"type":"FeatureCollection","name":{},"coordinate_system":{},"features":["#,
        serde_json::to_string(sheet.title)?,
        serde_json::to_string(&sheet.crs)?
    )?;
    for (i, row) in sheet.rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, &feature(row))?;
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

fn feature(row: &Row) -> serde_json::Value {
    json!({
        "type": "Feature",
        "id": row.id,
        "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
        "properties": {
            "position": row.position,
            "number": row.number,
            "title": row.title,
            "description": row.description,
            "carried_over": row.carried_over,
            "category_code": row.category_code,
            "category": row.category,
            "place": row.place,
            "raisers": row.raisers,
            "station": row.station,
            "department": row.department,
            "deadline": row.deadline,
            "state_code": row.state_code,
            "state": row.state,
            "overdue": row.overdue,
            "closed_out_on": row.closed_out_on,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Lang, sample};
    use super::*;

    #[test]
    fn is_a_feature_collection_of_points() {
        let rows = sample::rows(2, Lang::Zh);
        let bytes =
            write(&Sheet { title: "清单", lang: Lang::Zh, crs: fieldvisit_geodata::crs::Crs::Wgs84, rows: &rows })
                .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["type"], "FeatureCollection");
        assert_eq!(v["coordinate_system"], "wgs84");
        assert_eq!(v["features"].as_array().unwrap().len(), 2);
        assert_eq!(v["features"][0]["geometry"]["coordinates"][0], 112.24);
        assert_eq!(v["features"][1]["properties"]["number"], "2026-0002");
    }
}
