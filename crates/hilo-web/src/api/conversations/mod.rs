//! `/api/v1/channels` and `/api/v1/conversations`: the channels customers write on,
//! for admins, and the inbox, for the people who answer.

mod bot;
mod calls;
mod channels;
mod moves;
mod threads;

use axum::Router;
use utoipa::OpenApi;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(bot::routes())
        .merge(calls::routes())
        .merge(channels::routes())
        .merge(moves::routes())
        .merge(threads::routes())
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
        channels::describe_settings(&mut doc);
        doc
    }
}
