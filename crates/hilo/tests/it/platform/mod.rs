//! The platform: the binary, migrations, operations endpoints, the console, jobs.

mod binary;
mod console;
mod jobs;
mod migrations;
mod ops;
