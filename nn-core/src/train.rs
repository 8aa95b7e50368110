//! The training loop (std only).
