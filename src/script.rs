//! script (in progress).
