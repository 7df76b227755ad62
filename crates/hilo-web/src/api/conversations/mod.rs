//! `/api/v1/channels`, `/api/v1/conversations` and `/api/v1/teams`: the channels
//! customers write on, for admins, and the inbox, for the people who answer.

mod agents;
mod attachments;
mod bot;
mod calls;
mod canned;
mod channels;
mod csat;
mod moves;
mod sla;
mod teams;
mod threads;

use axum::Router;
use utoipa::OpenApi;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(agents::routes())
        .merge(attachments::routes())
        .merge(bot::routes())
        .merge(calls::routes())
        .merge(canned::routes())
        .merge(channels::routes())
        .merge(csat::routes())
        .merge(moves::routes())
        .merge(sla::routes())
        .merge(teams::routes())
        .merge(threads::routes())
}

/// An id given in a body or a query, written as the API writes ids (hyphenated, 36
/// characters); 400 naming `field` otherwise.
fn id_field<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, crate::ApiError> {
    (text.len() == 36 && text.chars().filter(|c| *c == '-').count() == 4)
        .then(|| text.parse::<T>().ok())
        .flatten()
        .ok_or_else(|| hilo_domain::Invalid::new(field, "is not a valid id").into())
}

/// The part's document: both halves, with the channel settings stated per type.
pub struct ConversationsApi;

impl ConversationsApi {
    pub fn openapi() -> utoipa::openapi::OpenApi {
        let mut doc = channels::ChannelsApi::openapi();
        doc.merge(threads::ThreadsApi::openapi());
        doc.merge(calls::CallsApi::openapi());
        doc.merge(bot::BotApi::openapi());
        doc.merge(moves::MovesApi::openapi());
        doc.merge(attachments::AttachmentsApi::openapi());
        doc.merge(agents::AgentsApi::openapi());
        doc.merge(canned::CannedApi::openapi());
        doc.merge(csat::CsatApi::openapi());
        doc.merge(sla::SlaApi::openapi());
        doc.merge(teams::TeamsApi::openapi());
        channels::describe_settings(&mut doc);
        doc
    }
}
