//! The console's words: one catalogue per language (`i18n/zh.json`, `i18n/en.json`),
//! compiled in. Chinese by default; English by the switch, remembered in a cookie.
//! Pages render with the catalogue and the page's script gets the same one.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;

use super::session;

/// A language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "zh" => Some(Self::Zh),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The `lang` attribute of a page.
    pub fn html(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    /// The other one, for the switch.
    #[must_use]
    pub fn other(self) -> Self {
        match self {
            Self::Zh => Self::En,
            Self::En => Self::Zh,
        }
    }

    /// The language asked for (`?lang=`), else the remembered one, else Chinese.
    pub fn of(asked: Option<&str>, headers: &HeaderMap) -> Self {
        asked
            .and_then(Self::parse)
            .or_else(|| session::cookie(headers, session::LANG).as_deref().and_then(Self::parse))
            .unwrap_or(Self::Zh)
    }
}

pub type Catalogue = BTreeMap<String, String>;

/// The catalogue of `lang`.
pub fn catalogue(lang: Lang) -> &'static Catalogue {
    static ZH: OnceLock<Catalogue> = OnceLock::new();
    static EN: OnceLock<Catalogue> = OnceLock::new();
    let parse = |text: &str| serde_json::from_str(text).expect("a catalogue is a JSON object of strings");
    match lang {
        Lang::Zh => ZH.get_or_init(|| parse(include_str!("i18n/zh.json"))),
        Lang::En => EN.get_or_init(|| parse(include_str!("i18n/en.json"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_the_same_words() {
        let zh: Vec<&String> = catalogue(Lang::Zh).keys().collect();
        let en: Vec<&String> = catalogue(Lang::En).keys().collect();
        assert_eq!(zh, en);
        assert!(catalogue(Lang::Zh).values().chain(catalogue(Lang::En).values()).all(|v| !v.trim().is_empty()));
    }
}
