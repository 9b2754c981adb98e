//! The list as a printable page (`templates/export/issues.html`): the same
//! columns, A4 landscape print CSS, the header row repeated on every printed
//! page by the table's `thead`.

use minijinja::context;

use super::{Lang, Sheet, headers};

/// A class per column, for the print CSS.
const CLASSES: [&str; super::COLUMNS] = [
    "n",
    "description",
    "category",
    "place",
    "coordinates",
    "raisers",
    "station",
    "department",
    "deadline",
    "state",
    "closed-out",
];

pub fn write(sheet: &Sheet<'_>) -> anyhow::Result<Vec<u8>> {
    let rows: Vec<_> = sheet.rows.iter().map(|r| r.cells(sheet.lang)).collect();
    let count_label = match sheet.lang {
        Lang::Zh => format!("共 {} 项", rows.len()),
        Lang::En => format!("{} issues", rows.len()),
    };
    let page = crate::templates::render(
        "export/issues.html",
        context! {
            html_lang => match sheet.lang { Lang::Zh => "zh-CN", Lang::En => "en" },
            title => sheet.title,
            count_label,
            headers => headers(sheet.lang),
            classes => CLASSES,
            rows,
        },
    )?;
    Ok(page.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::super::sample;
    use super::*;

    #[test]
    fn a_table_with_print_css_and_escaped_text() {
        let rows = sample::rows(2, Lang::Zh);
        let page =
            write(&Sheet {
                title: "清单 <1>", lang: Lang::Zh, crs: fieldvisit_geodata::crs::Crs::Wgs84, rows: &rows
            })
            .unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.contains("size: A4 landscape"));
        assert!(page.contains("<thead><tr><th>序号</th>"));
        assert!(page.contains("清单 &lt;1&gt;"), "the title is escaped");
        assert!(page.contains("&lt;严重&gt;"), "the description is escaped");
        assert_eq!(page.matches("<tr>").count(), 3);
    }
}
