//! Access tokens (EdDSA JWTs, short-lived) and refresh tokens (random, stored
//! hashed, rotated on every use, with reuse detection per login family).

use base64::Engine;
use chrono::Utc;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::ApiError;

/// Claims of an access token. The server re-reads the person and the sign-in
/// on every request, so a deactivation, a sign-out, a password change or a
/// revoked refresh family ends access at once, not when the token expires.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    /// The sign-in (the refresh-token family) this token belongs to.
    pub sid: Uuid,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
}

/// The signing key pair and the token settings.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub issuer: String,
    pub audience: String,
    pub access_ttl_s: i64,
    pub refresh_ttl_days: i64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Builds the keys from a PKCS#8 PEM Ed25519 private key.
    pub fn from_private_pem(
        pem: &str,
        issuer: String,
        access_ttl_s: i64,
        refresh_ttl_days: i64,
    ) -> anyhow::Result<Self> {
        // Idempotent: a second call (tests build many apps) finds it installed.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let signing = SigningKey::from_pkcs8_pem(pem)
            .map_err(|e| anyhow::anyhow!("the JWT key is not an Ed25519 PKCS#8 PEM key: {e}"))?;
        let public_pem = signing.verifying_key().to_public_key_pem(LineEnding::LF)?;
        Ok(Self {
            encoding: EncodingKey::from_ed_pem(pem.as_bytes())?,
            decoding: DecodingKey::from_ed_pem(public_pem.as_bytes())?,
            audience: "fieldvisit".into(),
            issuer,
            access_ttl_s,
            refresh_ttl_days,
        })
    }

    /// The key shared by every API instance through the database, created on
    /// first start. Used when no key file is configured.
    pub async fn private_pem_from_db(db: &PgPool) -> anyhow::Result<String> {
        let fresh = SigningKey::from_bytes(&random_bytes()).to_pkcs8_pem(LineEnding::LF)?.to_string();
        Ok(fieldvisit_sync::secrets::get_or_create(db, "jwt", || fresh).await?)
    }

    pub fn issue_access(&self, person: Uuid, sign_in: Uuid) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: person,
            sid: sign_in,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + self.access_ttl_s,
            jti: Uuid::now_v7(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(e.into()))
    }

    pub fn verify_access(&self, token: &str) -> Result<Claims, ApiError> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map(|d| d.claims).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    ApiError::Unauthorized("the access token has expired; refresh it".into())
                }
                _ => ApiError::Unauthorized("the access token is not valid".into()),
            }
        })
    }
}

fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// A refresh token as the client sees it, and the hash the database keeps.
pub fn new_refresh_token() -> (String, Vec<u8>) {
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes());
    let hash = refresh_hash(&token);
    (token, hash)
}

pub fn refresh_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
