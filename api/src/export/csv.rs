//! The list as CSV: UTF-8 with a byte-order mark (without it Excel and WPS
//! on Chinese Windows read the file as GBK and garble it), the header row
//! and one row per issue, the same columns as the workbook. No title row:
//! a CSV is a table for other programs to read.

use super::{Sheet, headers};

/// The UTF-8 byte-order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

pub fn write(sheet: &Sheet<'_>) -> anyhow::Result<Vec<u8>> {
    let mut out = BOM.to_vec();
    {
        // CRLF, as RFC 4180 and Excel expect.
        let mut w = ::csv::WriterBuilder::new().terminator(::csv::Terminator::CRLF).from_writer(&mut out);
        w.write_record(headers(sheet.lang))?;
        for row in sheet.rows {
            w.write_record(row.cells(sheet.lang))?;
        }
        w.flush()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{Lang, sample};
    use super::*;

    #[test]
    fn starts_with_the_bom_and_reads_back() {
        let rows = sample::rows(3, Lang::Zh);
        let bytes = write(&Sheet { title: "t", lang: Lang::Zh, crs: fieldvisit_geodata::crs::Crs::Wgs84, rows: &rows })
            .unwrap();
        assert!(bytes.starts_with(BOM));
        let mut r = ::csv::Reader::from_reader(&bytes[BOM.len()..]);
        assert_eq!(r.headers().unwrap().get(1), Some("问题描述"));
        let records: Vec<_> = r.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 3);
        assert!(records[0][1].contains("村口道路雨后积水"), "the description, newline and all: {:?}", &records[0][1]);
    }
}
