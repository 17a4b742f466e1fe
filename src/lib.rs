//! Placeholder library so the root package can hold `tests/` and `benches/`.
