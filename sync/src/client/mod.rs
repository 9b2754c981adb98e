//! The device side of the protocol (placeholder: being written).
