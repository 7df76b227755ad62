//! The pages of signing in and the home page, and the rows they show.

use askama::Template;
use hilo_store::access::sources::SourceRecord;

use super::shell::Shell;
use super::texts::Texts;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub t: &'static Texts,
    pub csrf: String,
    pub email: String,
    /// The console page to go to once signed in.
    pub next: String,
    pub error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub t: &'static Texts,
    pub shell: Shell,
    pub sources: Option<Vec<SourceRow>>,
}

pub struct SourceRow {
    pub name: String,
    pub channel: String,
    pub write_key_prefix: String,
    pub created_at: String,
}

impl From<SourceRecord> for SourceRow {
    fn from(source: SourceRecord) -> Self {
        Self {
            name: source.name,
            channel: source.channel.to_string(),
            write_key_prefix: source.write_key_prefix,
            created_at: source.created_at.to_rfc3339(),
        }
    }
}
