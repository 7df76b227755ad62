//! The `hilo` binary's library: settings, start-up and shutdown, and the command line.
//! `main.rs` only calls [`cli::run`]; tests start servers through [`server::start`].

pub mod bench;
pub mod cli;
pub mod config;
pub mod import;
pub mod import_products;
mod listener;
mod logging;
pub mod server;
mod smtp;
