//! Which rows a reader may see, as the API's access policy resolved it for
//! one request. Every query of the domain takes one.

use uuid::Uuid;

/// `stations = None` means the whole township; `person`, when set, narrows
/// to that person's own records.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub stations: Option<Vec<Uuid>>,
    pub person: Option<Uuid>,
}
