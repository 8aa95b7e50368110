//! Loading data sets (std only).
