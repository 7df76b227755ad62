//! Access: API keys, console users, sign-in and sessions, sources and their write keys.

pub mod keys;
mod passwords;
pub(crate) mod remembered;
pub mod sessions;
pub mod sources;
pub mod users;

use crate::Hilo;

/// The access part's use cases: `hilo.access()…`.
#[derive(Clone, Copy)]
pub struct Access<'a> {
    hilo: &'a Hilo,
}

impl Hilo {
    pub fn access(&self) -> Access<'_> {
        Access { hilo: self }
    }
}
