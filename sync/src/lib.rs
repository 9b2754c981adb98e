//! fieldvisit sync.
