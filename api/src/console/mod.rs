//! The web console, served by the binary itself at `/`: a sign-in page, then the
//! township's visit-coverage map (the presidium's monthly review, the planners' gaps
//! and the nearby rule's proposals). Templates and assets are compiled in, so it works
//! with no internet; every action calls the same JSON API as any other client.

pub mod assets;
pub mod i18n;
pub mod pages;
pub mod session;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

/// The console's routes (outside the API document: pages, not operations).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/inbox", get(pages::inbox))
        .route("/ledger", get(pages::ledger))
        .route("/ledger/{id}", get(pages::issue))
        .route("/lists", get(pages::lists))
        .route("/stats", get(pages::stats))
        .route("/places/import", get(pages::import))
        .route("/rule", get(pages::rule))
        .route("/people", get(pages::people))
        .route("/places", get(pages::places))
        .route("/login", get(pages::login_form).post(pages::login_submit))
        .route("/logout", post(pages::logout))
        .route("/console/refresh", post(pages::refresh))
        .route("/assets/{*path}", get(assets::get))
}
