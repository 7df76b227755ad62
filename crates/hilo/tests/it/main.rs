//! Hilo's integration suite: the real server on a random port, spoken to over HTTP,
//! against SQLite always and against PostgreSQL when `HILO_TEST_DATABASE_URL` is set
//! (each test in its own freshly created database).

// Helpers outside #[test] functions may panic too: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

// One folder per part, one line each.
mod access;
mod collect;
mod commerce;
mod console;
mod conversations;
mod customers;
mod platform;
mod webhooks;
