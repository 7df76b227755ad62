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

use super::id_field;

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
