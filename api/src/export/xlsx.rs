//! The list as a township office prints it: a title row, the header row
//! (frozen, and repeated at the top of every printed page), wrapped text in
//! columns wide enough for Chinese, A4 landscape fitted to one page wide,
//! page numbers in the footer.
//!
//! The sheet is written in `rust_xlsxwriter`'s constant-memory mode: each
//! row goes to a temporary file as it is written (strings inline, no shared
//! string table), so a 10,000-row ledger costs the server a few MB rather
//! than a cell object per value.

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};

use super::{COLUMNS, Lang, Sheet, headers};

/// Column widths in Excel's character units. A Chinese character takes about
/// two; 问题描述 is the wide one and wraps.
const WIDTHS: [f64; COLUMNS] = [6.0, 48.0, 12.0, 16.0, 22.0, 14.0, 14.0, 14.0, 12.0, 12.0, 12.0];

/// A4 in Excel's paper codes.
const PAPER_A4: u8 = 9;

pub fn write(sheet: &Sheet<'_>) -> anyhow::Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    // Faster than the default level 6 for a few per cent more bytes.
    workbook.set_zip_compression_level(3);
    let title_format = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    let header_format = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin)
        .set_background_color("D9E1F2");
    let cell = Format::new().set_text_wrap().set_align(FormatAlign::Top).set_border(FormatBorder::Thin);
    let centred = cell.clone().set_align(FormatAlign::Center);

    let ws = workbook.add_worksheet_with_constant_memory()?;
    ws.set_name(match sheet.lang {
        Lang::Zh => "问题清单",
        Lang::En => "Issues",
    })?;
    for (col, width) in (0u16..).zip(WIDTHS) {
        ws.set_column_width(col, width)?;
    }
    ws.set_landscape();
    ws.set_paper_size(PAPER_A4);
    ws.set_print_fit_to_pages(1, 0);
    ws.set_print_center_horizontally(true);
    ws.set_margins(0.4, 0.4, 0.6, 0.6, 0.3, 0.3);
    ws.set_repeat_rows(1, 1)?;
    ws.set_freeze_panes(2, 0)?;
    ws.set_footer(match sheet.lang {
        Lang::Zh => "&C第 &P 页，共 &N 页",
        Lang::En => "&CPage &P of &N",
    });

    let last_col = u16::try_from(COLUMNS - 1).expect("eleven columns");
    ws.set_row_height(0, 30)?;
    ws.merge_range(0, 0, 0, last_col, sheet.title, &title_format)?;
    for (col, header) in (0u16..).zip(headers(sheet.lang)) {
        ws.write_string_with_format(1, col, header, &header_format)?;
    }
    for (row, line) in (2u32..).zip(sheet.rows) {
        ws.write_number_with_format(row, 0, line.position, &centred)?;
        for (col, text) in (1u16..).zip(line.cells(sheet.lang).into_iter().skip(1)) {
            ws.write_string_with_format(row, col, text, &cell)?;
        }
    }
    Ok(workbook.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::super::sample;
    use super::*;

    #[test]
    fn writes_a_workbook() {
        let rows = sample::rows(3, Lang::Zh);
        let sheet = Sheet {
            title: "邵原镇人大主席团2026年11月问题清单",
            lang: Lang::Zh,
            crs: fieldvisit_geodata::crs::Crs::Wgs84,
            rows: &rows,
        };
        let bytes = write(&sheet).unwrap();
        assert_eq!(&bytes[..2], b"PK", "an xlsx is a zip");
    }
}
