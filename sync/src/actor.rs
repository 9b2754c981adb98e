//! Who is syncing, as the API's access policy resolved it for this request.

use uuid::Uuid;

/// The person behind a push or pull. The API builds it from the database on
/// every request, so a representative moved to another station is seen at once.
#[derive(Debug, Clone)]
pub struct Actor {
    pub person_id: Uuid,
    /// Only representatives check in.
    pub representative: bool,
    /// Stations whose places this person may visit and read (`None`: all).
    pub place_stations: Option<Vec<Uuid>>,
    /// The buckets this person's devices carry, as the access policy derived
    /// them (see [`crate::buckets`] for their names).
    pub buckets: Vec<String>,
}

impl Actor {
    pub fn may_visit(&self, station: Uuid) -> bool {
        self.place_stations.as_ref().is_none_or(|s| s.contains(&station))
    }
}
