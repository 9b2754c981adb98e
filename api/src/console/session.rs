//! The console's session: the same access and refresh tokens as the API's, kept in
//! cookies the page's script cannot read (`HttpOnly`, `SameSite=Strict`, `Secure` behind
//! TLS), never in `localStorage`. A request that changes something with the cookie must
//! also carry the CSRF token (double submit: the `fv_csrf` cookie, readable by the
//! page, echoed in the `X-CSRF-Token` header or a form's `csrf` field), so another site
//! cannot make the browser act.

use axum::http::{HeaderMap, HeaderValue, Method, header};
use cookie::{Cookie, SameSite};
use rand::RngCore;

use crate::error::ApiError;
use crate::routes::auth::TokenPair;

/// The access token (a JWT, checked like the `Authorization` header's).
pub const ACCESS: &str = "fv_access";
/// The refresh token, spent to renew the access token when it expires.
pub const REFRESH: &str = "fv_refresh";
/// The CSRF token, readable by the console's script.
pub const CSRF: &str = "fv_csrf";
/// The console's language, remembered.
pub const LANG: &str = "fv_lang";
/// The header a script sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name`, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// The access token of a console session, if any.
pub fn access_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, ACCESS)
}

/// Whether `given` is the CSRF token of the session (compared in constant time).
pub fn csrf_matches(headers: &HeaderMap, given: Option<&str>) -> bool {
    match (cookie(headers, CSRF), given) {
        (Some(expected), Some(given)) => {
            expected.len() == given.len()
                && expected.bytes().zip(given.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        }
        _ => false,
    }
}

/// A cookie-authenticated request that changes something must carry the CSRF token.
pub fn check_csrf(method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let given = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if csrf_matches(headers, given) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("a change made with the console's session must carry its X-CSRF-Token".into()))
    }
}

/// A fresh CSRF token: 32 random bytes, hex.
pub fn new_csrf() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn build(name: &'static str, value: String, http_only: bool, secure: bool, max_age_s: i64) -> HeaderValue {
    let c = Cookie::build((name, value))
        .path("/")
        .http_only(http_only)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(max_age_s))
        .build();
    HeaderValue::from_str(&c.to_string()).expect("a cookie is a valid header value")
}

/// The `Set-Cookie` values that start or renew a session: the tokens (kept as long as
/// the refresh token lives, so that a closed browser still renews) and the CSRF token:
/// `csrf` when renewing (open pages keep theirs), a new one at sign-in.
pub fn start(pair: &TokenPair, refresh_ttl_days: i64, secure: bool, csrf: Option<String>) -> Vec<HeaderValue> {
    let keep = refresh_ttl_days * 86_400;
    vec![
        build(ACCESS, pair.access_token.clone(), true, secure, keep),
        build(REFRESH, pair.refresh_token.clone(), true, secure, keep),
        build(CSRF, csrf.unwrap_or_else(new_csrf), false, secure, keep),
    ]
}

/// The `Set-Cookie` values that end a session (the language stays).
pub fn clear(secure: bool) -> Vec<HeaderValue> {
    [ACCESS, REFRESH, CSRF].into_iter().map(|name| build(name, String::new(), true, secure, 0)).collect()
}

/// A CSRF cookie for a page without a session (the login form), when there is none yet.
pub fn csrf_for_form(headers: &HeaderMap, secure: bool) -> (String, Option<HeaderValue>) {
    if let Some(token) = cookie(headers, CSRF) {
        return (token, None);
    }
    let token = new_csrf();
    (token.clone(), Some(build(CSRF, token, false, secure, 86_400)))
}

/// The remembered language cookie (a year).
pub fn remember_lang(lang: &str, secure: bool) -> HeaderValue {
    let c = Cookie::build((LANG, lang.to_owned()))
        .path("/")
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::days(365))
        .build();
    HeaderValue::from_str(&c.to_string()).expect("a cookie is a valid header value")
}

/// Whether the browser reached us over TLS: a proxy we trust says so.
pub fn behind_tls(headers: &HeaderMap, trust_proxy: bool) -> bool {
    trust_proxy && headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p == "https")
}
