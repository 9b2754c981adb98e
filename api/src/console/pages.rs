//! The console's pages: sign-in, sign-out, the session's renewal, and the home map.
//! Pages are rendered on the server (minijinja, `api/templates/console/`); the map,
//! the chart and the lists are drawn by `assets/console.js` from the same JSON API
//! every other client uses, with the session cookie standing in for the bearer token.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fieldvisit_sync::coverage;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

use super::assets::{ECHARTS, MAPLIBRE};
use super::i18n::{Lang, catalogue};
use super::session;
use crate::app::AppState;
use crate::auth::{Caller, ClientAddress, Permission};
use crate::error::ApiError;
use crate::routes::auth::{TokenPair, rotate, sign_in};

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub lang: Option<String>,
    /// Where to go after signing in (a path of this site).
    pub next: Option<String>,
}

/// The language of this page, and the cookie that remembers a switch to it.
fn language(q: &PageQuery, headers: &HeaderMap, secure: bool) -> (Lang, Option<HeaderValue>) {
    let lang = Lang::of(q.lang.as_deref(), headers);
    let remember = q.lang.as_deref().and_then(Lang::parse).map(|l| session::remember_lang(l.code(), secure));
    (lang, remember)
}

/// Only a path of this site (not `//elsewhere`), else the home page.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn with_cookies(mut response: Response, cookies: impl IntoIterator<Item = HeaderValue>) -> Response {
    for c in cookies {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

fn render(name: &str, ctx: minijinja::Value) -> Result<Html<String>, ApiError> {
    crate::templates::render(name, ctx).map(Html).map_err(|e| ApiError::Internal(e.into()))
}

/// The signed-in caller of a page, renewing an expired access token with the refresh
/// cookie (the new cookies to set come back with it); `None` when there is no session.
async fn page_session(state: &AppState, headers: &HeaderMap) -> Option<(Caller, Vec<HeaderValue>)> {
    if let Some(token) = session::access_cookie(headers)
        && let Ok(caller) = Caller::from_token(state, &token).await
    {
        return Some((caller, Vec::new()));
    }
    let refresh = session::cookie(headers, session::REFRESH)?;
    let pair: TokenPair = rotate(state, &refresh).await.ok()?;
    let caller = Caller::from_token(state, &pair.access_token).await.ok()?;
    let secure = session::behind_tls(headers, state.trust_forwarded_for);
    let csrf = session::cookie(headers, session::CSRF);
    Some((caller, session::start(&pair, state.keys.refresh_ttl_days, secure, csrf)))
}

fn login_page(
    lang: Lang,
    csrf: &str,
    next: &str,
    error: Option<&str>,
    username: &str,
) -> Result<Html<String>, ApiError> {
    let t = catalogue(lang);
    render(
        "console/login.html",
        context! { lang => lang.code(), html_lang => lang.html(), other => lang.other().code(), t => t, csrf => csrf,
        next => next, error => error.map(|key| t.get(key).cloned().unwrap_or_default()), username => username },
    )
}

/// `GET /login`.
pub async fn login_form(State(state): State<AppState>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    let secure = session::behind_tls(&headers, state.trust_forwarded_for);
    let (lang, remember) = language(&q, &headers, secure);
    let (csrf, set_csrf) = session::csrf_for_form(&headers, secure);
    let next = safe_next(q.next.as_deref());
    match login_page(lang, &csrf, &next, None, "") {
        Ok(page) => with_cookies(page.into_response(), remember.into_iter().chain(set_csrf)),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
    pub csrf: String,
    #[serde(default)]
    pub next: Option<String>,
}

/// `POST /login`: the form's fields are checked like `/v1/auth/login`'s (and throttled
/// the same way); a good sign-in sets the session cookies and goes on to `next`.
pub async fn login_submit(
    State(state): State<AppState>,
    client: ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let secure = session::behind_tls(&headers, state.trust_forwarded_for);
    let lang = Lang::of(None, &headers);
    let next = safe_next(form.next.as_deref());
    let (csrf, set_csrf) = session::csrf_for_form(&headers, secure);
    let refuse = |status: StatusCode, key: &str| match login_page(lang, &csrf, &next, Some(key), &form.username) {
        Ok(page) => with_cookies((status, page).into_response(), set_csrf.clone()),
        Err(e) => e.into_response(),
    };
    if !session::csrf_matches(&headers, Some(&form.csrf)) {
        return refuse(StatusCode::FORBIDDEN, "login.csrf");
    }
    match sign_in(&state, client.0, form.username.clone(), form.password.clone()).await {
        Ok(pair) => with_cookies(
            Redirect::to(&next).into_response(),
            // A new CSRF token with the new session.
            session::start(&pair, state.keys.refresh_ttl_days, secure, None),
        ),
        Err(ApiError::TooManyAttempts(_)) => refuse(StatusCode::TOO_MANY_REQUESTS, "login.throttled"),
        Err(ApiError::Unauthorized(_) | ApiError::Invalid { .. }) => refuse(StatusCode::UNAUTHORIZED, "login.failed"),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

/// `POST /logout`: ends the sign-in (its refresh token stops working everywhere) and
/// clears the cookies.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    if !session::csrf_matches(&headers, Some(&form.csrf)) {
        return ApiError::Forbidden("sign out from the console's own page".into()).into_response();
    }
    if let Some(refresh) = session::cookie(&headers, session::REFRESH) {
        // Already ended is as good as ended.
        let _ = crate::routes::auth::end(&state, &refresh).await;
    }
    let secure = session::behind_tls(&headers, state.trust_forwarded_for);
    with_cookies(Redirect::to("/login").into_response(), session::clear(secure))
}

/// `POST /console/refresh` (with `X-CSRF-Token`): spends the refresh cookie for new
/// tokens; the script calls it when an answer says 401, then retries.
pub async fn refresh(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let given = headers.get(session::CSRF_HEADER).and_then(|v| v.to_str().ok());
    if !session::csrf_matches(&headers, given) {
        return ApiError::Forbidden("renew the session from the console's own page".into()).into_response();
    }
    let Some(token) = session::cookie(&headers, session::REFRESH) else {
        return ApiError::Unauthorized("no session; sign in".into()).into_response();
    };
    let secure = session::behind_tls(&headers, state.trust_forwarded_for);
    match rotate(&state, &token).await {
        Ok(pair) => with_cookies(
            StatusCode::NO_CONTENT.into_response(),
            session::start(&pair, state.keys.refresh_ttl_days, secure, given.map(str::to_owned)),
        ),
        Err(e) => with_cookies(e.into_response(), session::clear(secure)),
    }
}

/// A signed-in page's frame: who, in which language, and the cookies to set with it.
struct Shell {
    lang: Lang,
    caller: Caller,
    name: String,
    cookies: Vec<HeaderValue>,
}

/// The caller of a console page, or the answer to give instead: the sign-in form when
/// there is no session, 404 when the page is outside what the role may do (as if it did
/// not exist).
async fn shell(
    state: &AppState,
    q: &PageQuery,
    headers: &HeaderMap,
    needs: Option<Permission>,
    here: &str,
) -> Result<Shell, Response> {
    let secure = session::behind_tls(headers, state.trust_forwarded_for);
    let (lang, remember) = language(q, headers, secure);
    let Some((caller, renewed)) = page_session(state, headers).await else {
        let lang_param = if q.lang.is_some() { format!("&lang={}", lang.code()) } else { String::new() };
        let to = format!("/login?next={}{lang_param}", urlencoding(here));
        return Err(with_cookies(Redirect::to(&to).into_response(), remember));
    };
    if needs.is_some_and(|p| !caller.may(p)) {
        return Err(ApiError::NotFound("page").into_response());
    }
    let me = fieldvisit_sync::sign_ins::me(&state.db, caller.person_id)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    Ok(Shell { lang, caller, name: me.name, cookies: remember.into_iter().chain(renewed).collect() })
}

/// Percent-encodes a path for a `next` parameter.
fn urlencoding(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Renders `template` in the shell, with `extra` for the script's configuration.
fn page(shell: Shell, headers: &HeaderMap, template: &str, active: &str, extra: &serde_json::Value) -> Response {
    let t = catalogue(shell.lang);
    let role = format!(
        "role.{}",
        serde_json::to_value(shell.caller.role).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    );
    let can_plan = shell.caller.may(Permission::EditAssignments);
    let can_manage = shell.caller.may(Permission::ManageIssues);
    let can_admin = shell.caller.may(Permission::ManagePeople);
    let can_people = can_admin || can_plan;
    let mut config = json!({
        "lang": shell.lang.code(), "t": t, "canPlan": can_plan, "canManage": can_manage, "canAdmin": can_admin,
        "maplibre": MAPLIBRE, "csrfCookie": session::CSRF, "csrfHeader": session::CSRF_HEADER,
    });
    if let (Some(c), Some(extra)) = (config.as_object_mut(), extra.as_object()) {
        c.extend(extra.clone());
    }
    let rendered = render(
        template,
        context! { lang => shell.lang.code(), html_lang => shell.lang.html(), other => shell.lang.other().code(), t => t,
        name => shell.name, role => t.get(&role).cloned().unwrap_or_default(), can_plan => can_plan,
        can_manage => can_manage, can_admin => can_admin, can_people => can_people, active => active,
        // Representatives' work is in the field app; the console links them to it.
        field_app => !can_manage && !can_plan && !can_admin,
        month => config["month"].as_str().unwrap_or_default(),
        // `<` escaped, so that no text can close the script element early.
        config => config.to_string().replace('<', "\\u003c"), maplibre => MAPLIBRE, echarts => ECHARTS,
        csrf => session::cookie(headers, session::CSRF).unwrap_or_default() },
    );
    match rendered {
        Ok(html) => with_cookies(html.into_response(), shell.cookies),
        Err(e) => e.into_response(),
    }
}

/// `GET /`: the township's map of the month, for whoever is signed in.
pub async fn home(State(state): State<AppState>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    let shell = match shell(&state, &q, &headers, None, "/").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let month = match coverage::month_or_current(&state.db, None).await {
        Ok(m) => m,
        Err(e) => return ApiError::from(e).into_response(),
    };
    page(shell, &headers, "console/home.html", "map", &json!({ "month": month.to_string() }))
}

/// `GET /inbox`: the station's findings not yet in an issue (those who manage issues).
pub async fn inbox(State(state): State<AppState>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    match shell(&state, &q, &headers, Some(Permission::ManageIssues), "/inbox").await {
        Ok(s) => page(s, &headers, "console/inbox.html", "inbox", &json!({})),
        Err(r) => r,
    }
}

/// `GET /ledger`: the issue ledger (台账), within the caller's reach.
pub async fn ledger(State(state): State<AppState>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    match shell(&state, &q, &headers, None, "/ledger").await {
        Ok(s) => page(s, &headers, "console/ledger.html", "ledger", &json!({})),
        Err(r) => r,
    }
}

/// `GET /ledger/{id}`: one issue, with the buttons its state and the caller allow.
pub async fn issue(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<uuid::Uuid>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let here = format!("/ledger/{id}");
    let shell = match shell(&state, &q, &headers, None, &here).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    // Outside the caller's reach, the page is as absent as the issue.
    let scope = match shell.caller.scope(&state.db, crate::auth::Resource::Issues).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = fieldvisit_sync::issues::get(&state.db, &scope, id).await {
        return ApiError::from(e).into_response();
    }
    page(shell, &headers, "console/issue.html", "ledger", &json!({ "issueId": id }))
}

/// `GET /lists` (and `?id=` one of them): the monthly issue lists.
pub async fn lists(State(state): State<AppState>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    let shell = match shell(&state, &q, &headers, None, "/lists").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let month = match coverage::month_or_current(&state.db, None).await {
        Ok(m) => m,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let station = shell.caller.station_id;
    page(shell, &headers, "console/lists.html", "lists", &json!({ "month": month.to_string(), "stationId": station }))
}

/// `GET /stats`: the ledger's statistics for a chosen period.
pub async fn stats(State(state): State<AppState>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    match shell(&state, &q, &headers, None, "/stats").await {
        Ok(s) => page(s, &headers, "console/stats.html", "stats", &json!({})),
        Err(r) => r,
    }
}

/// `GET /places/import`: a file of places, dry run first (planners).
pub async fn import(State(state): State<AppState>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    match shell(&state, &q, &headers, Some(Permission::EditPlaces), "/places/import").await {
        Ok(s) => page(s, &headers, "console/import.html", "import", &json!({})),
        Err(r) => r,
    }
}

/// `GET /rule`: the nearby rule's parameters, proposals and locks (planners).
pub async fn rule(State(state): State<AppState>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    match shell(&state, &q, &headers, Some(Permission::EditAssignments), "/rule").await {
        Ok(s) => page(s, &headers, "console/rule.html", "rule", &json!({})),
        Err(r) => r,
    }
}

/// `GET /people`: people and departments (admins).
pub async fn people(State(state): State<AppState>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    // Admins manage people; planners set representatives' anchors and capacities.
    let needs = Permission::EditAssignments;
    match shell(&state, &q, &headers, None, "/people").await {
        Ok(s) if !s.caller.may(Permission::ManagePeople) && !s.caller.may(needs) => {
            ApiError::NotFound("page").into_response()
        }
        Ok(s) => {
            let departments = s.caller.may(Permission::EditDepartments);
            page(s, &headers, "console/people.html", "people", &json!({ "canDepartments": departments }))
        }
        Err(r) => r,
    }
}

/// `GET /places`: the places, on a table and a map (planners).
pub async fn places(State(state): State<AppState>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    match shell(&state, &q, &headers, Some(Permission::EditPlaces), "/places").await {
        Ok(s) => page(s, &headers, "console/places.html", "places", &json!({})),
        Err(r) => r,
    }
}
