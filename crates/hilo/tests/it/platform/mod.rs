//! The platform: the binary, migrations, operations endpoints, the console, jobs, many
//! staff writes at once.

mod binary;
pub(crate) mod console;
pub(crate) mod jobs;
mod limits;
mod migrations;
mod ops;
mod staff_writes;
