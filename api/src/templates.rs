//! The server's templates (minijinja): compiled into the binary with
//! `include_str!` and parsed once into one [`Environment`], which every page
//! renders with. Files ending in `.html` are autoescaped, so text from the
//! database (titles, descriptions) cannot inject markup. The printable
//! exports use it now; the web console will add its pages here.

use std::sync::OnceLock;

use minijinja::{Environment, UndefinedBehavior};

/// Every template, by the name templates extend and include it under.
const TEMPLATES: [(&str, &str); 17] = [
    ("layout.html", include_str!("../templates/layout.html")),
    ("console/base.html", include_str!("../templates/console/base.html")),
    ("console/login.html", include_str!("../templates/console/login.html")),
    ("console/home.html", include_str!("../templates/console/home.html")),
    ("console/nav.html", include_str!("../templates/console/nav.html")),
    ("console/inbox.html", include_str!("../templates/console/inbox.html")),
    ("console/ledger.html", include_str!("../templates/console/ledger.html")),
    ("console/issue.html", include_str!("../templates/console/issue.html")),
    ("console/lists.html", include_str!("../templates/console/lists.html")),
    ("console/stats.html", include_str!("../templates/console/stats.html")),
    ("console/import.html", include_str!("../templates/console/import.html")),
    ("console/rule.html", include_str!("../templates/console/rule.html")),
    ("console/people.html", include_str!("../templates/console/people.html")),
    ("console/places.html", include_str!("../templates/console/places.html")),
    ("app/shell.html", include_str!("../templates/app/shell.html")),
    ("export/issues.html", include_str!("../templates/export/issues.html")),
    ("report/coverage.html", include_str!("../templates/report/coverage.html")),
];

/// The one environment, built on first use.
pub fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // A misspelt variable is an error, not an empty string in a page.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            let html = std::path::Path::new(name).extension().is_some_and(|e| e.eq_ignore_ascii_case("html"));
            if html { minijinja::AutoEscape::Html } else { minijinja::AutoEscape::None }
        });
        for (name, source) in TEMPLATES {
            env.add_template(name, source).unwrap_or_else(|e| panic!("template {name}: {e:#}"));
        }
        env
    })
}

/// Renders the template `name` with `context`.
pub fn render(name: &str, context: minijinja::Value) -> Result<String, minijinja::Error> {
    environment().get_template(name)?.render(context)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        for (name, _) in super::TEMPLATES {
            super::environment().get_template(name).unwrap();
        }
    }
}
