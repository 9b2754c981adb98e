//! `photo.declare.v1`: a photo's record, made before any byte moves, so the
//! record syncs even when the bytes cannot yet. The bytes follow through a
//! signed upload; `complete` checks them against this declaration.

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Applying, Outcome, parse_args, payload_hash, repeated};
use crate::photos::{PhotoStatus, PhotoType};
use crate::protocol::{PhotoDeclareV1, PhotoTarget};

/// The storage key of a photo's bytes.
pub fn object_key(id: Uuid) -> String {
    format!("photos/{id}")
}

pub async fn declare_v1(tx: &mut sqlx::PgConnection, args: &Value, a: &Applying<'_>) -> Result<Outcome, sqlx::Error> {
    let args: PhotoDeclareV1 = match parse_args(args) {
        Ok(v) => v,
        Err(o) => return Ok(o),
    };
    let Some(sha) = parse_sha256(&args.sha256) else {
        return Ok(Outcome::rejected("invalid_sha256", "sha256 must be 64 hexadecimal characters"));
    };
    if args.size == 0 {
        return Ok(Outcome::rejected("invalid_size", "size must be the number of bytes, above 0"));
    }
    if args.size > a.ctx.photo_max_bytes {
        return Ok(Outcome::rejected(
            "too_large",
            format!("photos may have at most {} bytes; this one has {}", a.ctx.photo_max_bytes, args.size),
        ));
    }
    let Some(mime) = PhotoType::declared(&args.mime) else {
        return Ok(Outcome::rejected(
            "unsupported_type",
            format!("photos must be one of {}", PhotoType::declarable().join(", ")),
        ));
    };
    let hash = payload_hash(&args);
    let existing: Option<(Vec<u8>, PhotoStatus)> =
        sqlx::query_as(include_str!("photo_existing.sql")).bind(args.id).fetch_optional(&mut *tx).await?;
    if let Some((stored, status)) = existing {
        return Ok(repeated("photo", "declaration", args.id, &stored, &hash, || {
            Outcome::Applied(json!({ "id": args.id, "status": status }))
        }));
    }
    let (check_in, finding) = match args.attached_to {
        PhotoTarget::CheckIn(id) => (Some(id), None),
        PhotoTarget::Finding(id) => (None, Some(id)),
    };
    let owner: Option<Uuid> = match args.attached_to {
        PhotoTarget::CheckIn(id) => {
            sqlx::query_scalar(include_str!("check_in_owner.sql")).bind(id).fetch_optional(&mut *tx).await?
        }
        PhotoTarget::Finding(id) => {
            sqlx::query_scalar(include_str!("finding_owner.sql")).bind(id).fetch_optional(&mut *tx).await?
        }
    };
    if owner != Some(a.actor.person_id) {
        return Ok(Outcome::rejected("unknown_target", "the photo is attached to no check-in or finding of yours"));
    }
    sqlx::query(include_str!("insert_photo.sql"))
        .bind(args.id)
        .bind(a.actor.person_id)
        .bind(check_in)
        .bind(finding)
        .bind(sha.to_vec())
        .bind(i64::try_from(args.size).unwrap_or(i64::MAX))
        .bind(&mime)
        .bind(object_key(args.id))
        .bind(hash)
        .execute(&mut *tx)
        .await?;
    Ok(Outcome::Applied(json!({ "id": args.id, "status": PhotoStatus::Declared })))
}

/// Lower- or upper-case hex of a SHA-256.
pub fn parse_sha256(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut out).ok().map(|()| out)
}
