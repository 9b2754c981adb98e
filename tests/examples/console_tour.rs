//! A tour of the console for a person to look at: signs in as each desk role on the
//! demo (`fieldvisit demo` on `DATABASE_URL`, the binary in `FIELDVISIT_BIN`) and keeps
//! a screenshot of every page, in Chinese and in English, in `target/test-artifacts/tour/`.
//!
//! Usage: `console_tour`.

use std::time::Duration;

use fantoccini::Locator;
use fieldvisit_tests::Server;
use fieldvisit_tests::browser::Browser;

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL: the tour's database");
    let server = Server::start(&["demo"], &[("DATABASE_URL", url.as_str())]).await;
    let dir = fieldvisit_tests::browser::artifacts().join("tour");
    std::fs::create_dir_all(&dir).unwrap();
    let first_issue = {
        let token = server.login("presidium").await;
        let (_, page) = server.get(&token, "/v1/issues?limit=1").await;
        page["items"][0]["id"].as_str().unwrap_or_default().to_owned()
    };
    let tours: [(&str, Vec<String>); 4] = [
        ("presidium", vec!["/".into(), "/ledger".into(), format!("/ledger/{first_issue}"), "/stats".into()]),
        ("staff02", vec!["/inbox".into(), "/lists".into()]),
        ("planner", vec!["/".into(), "/places/import".into(), "/places".into(), "/rule".into(), "/people".into()]),
        ("admin", vec!["/people".into()]),
    ];
    for (user, pages) in tours {
        let browser = Browser::start(1366, 768).await;
        let c = &browser.client;
        c.goto(&format!("{}/login", server.base)).await.unwrap();
        c.find(Locator::Id("username")).await.unwrap().send_keys(user).await.unwrap();
        c.find(Locator::Id("password")).await.unwrap().send_keys("fieldvisit").await.unwrap();
        c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
        browser
            .wait_for("document.body.classList.contains('home') || document.body.classList.contains('page')", 30)
            .await;
        for lang in ["zh", "en"] {
            for page in &pages {
                let sep = if page.contains('?') { '&' } else { '?' };
                c.goto(&format!("{}{page}{sep}lang={lang}", server.base)).await.unwrap();
                tokio::time::sleep(Duration::from_millis(2500)).await;
                let name = format!("{user}{}-{lang}", page.replace('/', "_"));
                let png = c.screenshot().await.unwrap();
                std::fs::write(dir.join(format!("{}.png", &name[..name.len().min(60)])), png).unwrap();
                println!("{name}");
            }
        }
        browser.close().await;
    }
}
