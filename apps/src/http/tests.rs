//! Unit tests of the server logic.
