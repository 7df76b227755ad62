//! The inbox: the conversation list with the API's filters, a conversation with every
//! channel in one thread, the reply box and the agent's changes, and the customer beside
//! it. Both pages name a fragment (`…/list`, `…/thread`) that `console.js` fetches again
//! when a live event concerns it.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hilo_app::conversations::{ConversationView, Reply};
use hilo_domain::conversations::ChannelType;
use hilo_domain::conversations::Direction;
use hilo_domain::conversations::assignment::Availability;
use hilo_domain::conversations::search;
use hilo_domain::conversations::work::WorkChange;
use hilo_domain::{ChannelId, ConversationId, CustomerId, PageRequest, Permission, UserId};
use hilo_store::conversations::{ConversationFilter, MessageRecord};
use serde::Deserialize;

use super::shell::{Area, Shell, Staff, failure, render};
use super::texts::Texts;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/inbox", get(inbox))
        .route("/inbox/list", get(inbox_list))
        .route("/inbox/availability", post(set_availability))
        .route("/conversations/{id}", get(conversation))
        .route("/conversations/{id}/thread", get(thread))
        .route("/conversations/{id}/reply", post(reply))
        .route("/conversations/{id}/work", post(work))
        .route("/conversations/{id}/cancel-order", post(cancel_order))
}

/// Conversations on one page of the inbox.
const PAGE_SIZE: u32 = 50;

/// The list's filters, as the API names them.
#[derive(Debug, Default, Deserialize)]
struct InboxQuery {
    /// open (the default), pending, snoozed, resolved, bot, or `all`.
    status: Option<String>,
    /// `me`, `unassigned`, or empty for anyone.
    assignee: Option<String>,
    channel: Option<String>,
    team: Option<String>,
    label: Option<String>,
    /// Words the conversations' messages hold.
    q: Option<String>,
    after: Option<String>,
}

impl InboxQuery {
    fn status(&self) -> &str {
        match self.status.as_deref() {
            None | Some("") => "open",
            Some(status) => status,
        }
    }

    /// The filter for the store; `None` when a value cannot be read.
    fn filter(&self, me: UserId) -> Option<ConversationFilter> {
        let status = match self.status() {
            "all" => None,
            status => Some(hilo_app::conversations::Conversations::parse_status(status).ok()?),
        };
        let (assignee, unassigned) = match self.assignee.as_deref().unwrap_or("") {
            "" => (None, false),
            "me" => (Some(me), false),
            "unassigned" => (None, true),
            _ => return None,
        };
        let channel = match self.channel.as_deref().unwrap_or("") {
            "" => None,
            text => Some(text.parse::<ChannelId>().ok()?),
        };
        let label = self
            .label
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_lowercase);
        let team = self
            .team
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let words = search::typed_words(self.q.as_deref().unwrap_or(""));
        Some(ConversationFilter {
            status,
            assignee,
            unassigned,
            channel,
            team,
            label,
            words: (!words.is_empty()).then_some(words),
            ..ConversationFilter::default()
        })
    }

    /// The query again, for the list fragment and the next page.
    fn encoded(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("status", self.status());
        for (key, value) in [
            ("assignee", &self.assignee),
            ("channel", &self.channel),
            ("team", &self.team),
            ("label", &self.label),
            ("q", &self.q),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                query.append_pair(key, value);
            }
        }
        query.finish()
    }
}

#[derive(Template)]
#[template(path = "conversations/inbox.html")]
struct InboxPage {
    t: &'static Texts,
    shell: Shell,
    list: InboxList,
    statuses: Vec<Choice>,
    assignees: Vec<Choice>,
    channels: Vec<Choice>,
    teams: Vec<Choice>,
    label: String,
    q: String,
    /// The user's own availability, when they answer customers.
    availability: Option<Vec<Choice>>,
}

#[derive(Template)]
#[template(path = "conversations/inbox_list.html")]
struct InboxList {
    t: &'static Texts,
    rows: Vec<InboxRow>,
    /// This list's own address, which `console.js` fetches again on live events.
    live: String,
    next: Option<String>,
}

struct InboxRow {
    id: String,
    customer: String,
    channel: String,
    status: &'static str,
    status_label: &'static str,
    assignee: String,
    subject: String,
    at: String,
    unanswered: i64,
}

/// An option of a select: its value, its label, whether chosen.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

async fn inbox(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<InboxQuery>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::ReadConversations) {
        return refused;
    }
    let t = staff.t;
    let channels = match channel_names(&state).await {
        Ok(channels) => channels,
        Err(error) => return failure(error, t),
    };
    let list = match inbox_rows(&state, &staff, &query, &channels).await {
        Ok(list) => list,
        Err(response) => return response,
    };
    let status = query.status();
    let statuses = ["open", "pending", "snoozed", "resolved", "bot", "all"]
        .into_iter()
        .map(|value| Choice {
            value: value.to_owned(),
            label: status_label(t, value).to_owned(),
            selected: value == status,
        })
        .collect();
    let assignee = query.assignee.as_deref().unwrap_or("");
    let assignees = [
        ("", t.conversations.anyone),
        ("me", t.conversations.mine),
        ("unassigned", t.conversations.unassigned),
    ]
    .into_iter()
    .map(|(value, label)| Choice {
        value: value.to_owned(),
        label: label.to_owned(),
        selected: value == assignee,
    })
    .collect();
    let channel = query.channel.as_deref().unwrap_or("");
    let channels = std::iter::once(Choice {
        value: String::new(),
        label: t.conversations.every_channel.to_owned(),
        selected: channel.is_empty(),
    })
    .chain(channels.into_iter().map(|(id, name)| Choice {
        selected: id.to_string() == channel,
        value: id.to_string(),
        label: name,
    }))
    .collect();
    let team = query.team.as_deref().unwrap_or("");
    let teams = match state.hilo.conversations().teams().await {
        Ok(teams) => std::iter::once(Choice {
            value: String::new(),
            label: t.conversations.every_team.to_owned(),
            selected: team.is_empty(),
        })
        .chain(teams.into_iter().map(|found| Choice {
            selected: found.name == team,
            value: found.name.clone(),
            label: found.name,
        }))
        .collect(),
        Err(error) => return failure(error, t),
    };
    let availability = match state.hilo.conversations().agents().await {
        Ok(agents) => agents.into_iter().find(|a| a.user == staff.user).map(|me| {
            [
                ("online", t.conversations.online),
                ("busy", t.conversations.busy),
                ("offline", t.conversations.offline),
            ]
            .into_iter()
            .map(|(value, label)| Choice {
                value: value.to_owned(),
                label: label.to_owned(),
                selected: availability_name(me.availability) == value,
            })
            .collect()
        }),
        Err(error) => return failure(error, t),
    };
    let page = InboxPage {
        t,
        shell: staff.shell(Area::Inbox),
        availability,
        list,
        statuses,
        assignees,
        channels,
        teams,
        label: query.label.clone().unwrap_or_default(),
        q: query.q.clone().unwrap_or_default(),
    };
    render(StatusCode::OK, &page)
}

async fn inbox_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<InboxQuery>,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::ReadConversations) {
        return refused;
    }
    let channels = match channel_names(&state).await {
        Ok(channels) => channels,
        Err(error) => return failure(error, staff.t),
    };
    match inbox_rows(&state, &staff, &query, &channels).await {
        Ok(list) => render(StatusCode::OK, &list),
        Err(response) => response,
    }
}

/// The list's rows; `channels` are every channel's name, read by the caller.
async fn inbox_rows(
    state: &AppState,
    staff: &Staff,
    query: &InboxQuery,
    channels: &[(ChannelId, String)],
) -> Result<InboxList, Response> {
    let t = staff.t;
    let Some(filter) = query.filter(staff.user) else {
        return Err(render(
            StatusCode::BAD_REQUEST,
            &InboxList {
                t,
                rows: Vec::new(),
                live: String::new(),
                next: None,
            },
        ));
    };
    let after = match query.after.as_deref().filter(|a| !a.is_empty()) {
        Some(text) => match hilo_domain::Cursor::decode(text) {
            Ok(cursor) => Some(cursor),
            Err(error) => return Err(failure(error.into(), t)),
        },
        None => None,
    };
    let page = PageRequest {
        limit: PAGE_SIZE,
        after,
    };
    let conversations = state.hilo.conversations();
    let found = conversations
        .list(filter, &page)
        .await
        .map_err(|e| failure(e, t))?;
    let ids: Vec<ConversationId> = found.items.iter().map(|c| c.id).collect();
    let unanswered = state
        .hilo
        .store()
        .unanswered_counts(&ids)
        .await
        .map_err(|e| failure(e.into(), t))?;
    let channels: HashMap<ChannelId, String> = channels.iter().cloned().collect();
    let users = user_names(state).await.map_err(|e| failure(e, t))?;
    let profiles: Vec<CustomerId> = found.items.iter().map(|c| c.profile_id).collect();
    let customers = state
        .hilo
        .customers()
        .many(&profiles)
        .await
        .map_err(|e| failure(e, t))?;
    // A conversation's profile may be a fragment merged into the customer since.
    let label_of = |profile: CustomerId| {
        customers
            .iter()
            .find(|c| c.id == profile || c.merged_ids.contains(&profile))
            .map_or_else(|| profile.to_string(), best_label)
    };
    let rows = found
        .items
        .iter()
        .map(|c| InboxRow {
            id: c.id.to_string(),
            customer: label_of(c.profile_id),
            channel: c
                .last_channel
                .and_then(|id| channels.get(&id).cloned())
                .unwrap_or_default(),
            status: c.status.as_str(),
            status_label: status_label(t, c.status.as_str()),
            assignee: c
                .assignee
                .and_then(|id| users.get(&id).cloned())
                .unwrap_or_default(),
            subject: c.subject.clone().unwrap_or_default(),
            at: short_time(c.last_message_at),
            unanswered: unanswered.get(&c.id).copied().unwrap_or(0),
        })
        .collect();
    let encoded = query.encoded();
    Ok(InboxList {
        t,
        rows,
        live: format!("/console/inbox/list?{encoded}"),
        next: found.next.map(|cursor| {
            format!(
                "/console/inbox?{encoded}&after={}",
                super::shell::encode(&cursor.encode())
            )
        }),
    })
}

#[derive(Template)]
#[template(path = "conversations/conversation.html")]
struct ConversationPage {
    t: &'static Texts,
    shell: Shell,
    id: String,
    customer_id: String,
    customer: String,
    thread: Thread,
    status: &'static str,
    status_label: &'static str,
    statuses: Vec<Choice>,
    assignees: Vec<Choice>,
    teams: Vec<Choice>,
    labels: String,
    /// When a snoozed conversation opens again, for the form (`datetime-local`, UTC).
    snoozed_until: String,
    channels: Vec<Choice>,
    identities: Vec<(String, String)>,
    traits: Vec<(String, String)>,
    /// The current consent: `(channel · purpose, granted)`.
    consent: Vec<(String, bool)>,
    others: Vec<OtherConversation>,
    /// The customer's orders on every channel, newest first.
    orders: Vec<OrderRow>,
    /// What the cart holds: `(quantity, name, sku)`.
    cart: Vec<(i64, String, String)>,
    /// Whether the agent may act on orders for the customer.
    may_shop: bool,
    may_work: bool,
    /// Canned replies, `(shortcut, text filled for this customer and agent)`.
    canned: Vec<(String, String)>,
    notice: Option<String>,
    draft: String,
}

/// An order beside the conversation.
struct OrderRow {
    id: String,
    number: String,
    status: String,
    channel: String,
    total: String,
    /// What it holds: `quantity × name`, joined.
    items: String,
    /// Where it is: each fulfilment's kind and status.
    progress: String,
    cancellable: bool,
}

fn order_row(order: &hilo_app::commerce::OrderView) -> OrderRow {
    let o = &order.record;
    OrderRow {
        id: o.id.to_string(),
        number: o.number.to_string(),
        status: o.status.clone(),
        channel: o.channel.clone(),
        total: super::amount_text(o.total, &o.currency),
        items: o
            .lines
            .iter()
            .map(|l| format!("{} × {}", l.quantity, l.name))
            .collect::<Vec<_>>()
            .join(", "),
        progress: o
            .fulfillments
            .iter()
            .map(|f| format!("{} · {}", f.kind, f.status))
            .collect::<Vec<_>>()
            .join(", "),
        cancellable: o.fulfillments.iter().any(|f| {
            matches!(
                f.status.as_str(),
                "placed" | "allocated" | "picking" | "ready_for_pickup"
            )
        }),
    }
}

#[derive(Template)]
#[template(path = "conversations/thread.html")]
struct Thread {
    t: &'static Texts,
    messages: Vec<MessageRow>,
    live: String,
}

struct MessageRow {
    /// inbound, outbound or note: the bubble's side and colour.
    direction: &'static str,
    who: String,
    channel: String,
    /// The kind of channel, shown as its own mark (sms, whatsapp, email, voice, …).
    channel_kind: String,
    content: String,
    subject: Option<String>,
    quoted: Option<String>,
    attachments: Vec<(String, String)>,
    media: Vec<String>,
    call: Option<String>,
    status: &'static str,
    error: Option<String>,
    at: String,
    datetime: String,
}

struct OtherConversation {
    id: String,
    status_label: &'static str,
    at: String,
}

async fn conversation(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    conversation_page(&state, &staff, &id, StatusCode::OK, None, String::new()).await
}

async fn conversation_page(
    state: &AppState,
    staff: &Staff,
    id: &str,
    status_code: StatusCode,
    notice: Option<String>,
    draft: String,
) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::ReadConversations) {
        return refused;
    }
    let t = staff.t;
    let Ok(id) = id.parse::<ConversationId>() else {
        return failure(hilo_app::AppError::NotFound, t);
    };
    let view = match state.hilo.conversations().get(id).await {
        Ok(view) => view,
        Err(error) => return failure(error, t),
    };
    let channels = match channel_names(state).await {
        Ok(channels) => channels,
        Err(error) => return failure(error, t),
    };
    let users = match user_names(state).await {
        Ok(users) => users,
        Err(error) => return failure(error, t),
    };
    let team_names: Vec<String> = match state.hilo.conversations().teams().await {
        Ok(teams) => teams.into_iter().map(|team| team.name).collect(),
        Err(error) => return failure(error, t),
    };
    let customer = state.hilo.customers().get(view.customer).await.ok();
    let others = {
        let filter = ConversationFilter {
            customer: Some(view.customer),
            ..ConversationFilter::default()
        };
        let page = PageRequest {
            limit: 10,
            after: None,
        };
        match state.hilo.conversations().list(filter, &page).await {
            Ok(found) => found
                .items
                .into_iter()
                .filter(|c| c.id != id)
                .map(|c| OtherConversation {
                    id: c.id.to_string(),
                    status_label: status_label(t, c.status.as_str()),
                    at: short_time(c.last_message_at),
                })
                .collect(),
            Err(error) => return failure(error, t),
        }
    };
    let may_work = staff.principal.allows(Permission::WorkConversations);
    let canned = if may_work {
        match state
            .hilo
            .conversations()
            .canned_replies("", Some(id), &staff.principal)
            .await
        {
            Ok(replies) => replies
                .into_iter()
                .map(|c| {
                    let text = c.rendered.unwrap_or_else(|| c.reply.content.clone());
                    (c.reply.shortcut, text)
                })
                .collect(),
            Err(error) => return failure(error, t),
        }
    } else {
        Vec::new()
    };
    let c = &view.conversation;
    let channel_map: HashMap<ChannelId, String> = channels.iter().cloned().collect();
    // A conversation with the bot keeps that status unless the agent picks another:
    // the form sends the status with every change.
    let bot = (c.status == hilo_domain::conversations::ConversationStatus::Bot).then_some("bot");
    let statuses = ["open", "pending", "snoozed", "resolved"]
        .into_iter()
        .chain(bot)
        .map(|value| Choice {
            value: value.to_owned(),
            label: status_label(t, value).to_owned(),
            selected: value == c.status.as_str(),
        })
        .collect();
    let mut assignees = vec![Choice {
        value: String::new(),
        label: t.conversations.nobody.to_owned(),
        selected: c.assignee.is_none(),
    }];
    let mut people: Vec<_> = users.iter().collect();
    people.sort_by(|a, b| a.1.cmp(b.1));
    assignees.extend(people.into_iter().map(|(user, name)| Choice {
        value: user.to_string(),
        label: name.clone(),
        selected: c.assignee == Some(*user),
    }));
    let mut teams = vec![Choice {
        value: String::new(),
        label: t.conversations.no_team.to_owned(),
        selected: c.team.is_none(),
    }];
    let mut team_names = team_names;
    // A team given before teams were kept (or since deleted) stays choosable.
    if let Some(current) = &c.team
        && !team_names.contains(current)
    {
        team_names.push(current.clone());
    }
    teams.extend(team_names.into_iter().map(|name| Choice {
        selected: c.team.as_deref() == Some(name.as_str()),
        value: name.clone(),
        label: name,
    }));
    let reply_channels = channels
        .iter()
        .map(|(channel, name)| Choice {
            value: channel.to_string(),
            label: name.clone(),
            selected: c.last_channel == Some(*channel),
        })
        .collect();
    let consent = customer
        .as_ref()
        .map(|customer| {
            customer
                .consent
                .iter()
                .map(|((channel, purpose), state)| {
                    (format!("{channel} · {purpose}"), state.granted)
                })
                .collect()
        })
        .unwrap_or_default();
    let (identities, traits, customer_name) = match &customer {
        Some(customer) => (
            customer
                .identities
                .iter()
                .map(|i| (i.kind.clone(), i.value.clone()))
                .collect(),
            customer
                .traits
                .iter()
                .take(12)
                .map(|(k, v)| (k.clone(), trait_text(v)))
                .collect(),
            best_label(customer),
        ),
        None => (Vec::new(), Vec::new(), view.customer.to_string()),
    };
    // The customer's orders and cart, as every channel sees them.
    let commerce = state.hilo.commerce();
    let who = hilo_app::commerce::CustomerRef::Id(view.customer);
    let may_shop = staff.principal.allows(Permission::ShopForCustomers);
    let (orders, cart) = if staff.principal.allows(Permission::ReadOrders) {
        match (
            commerce.orders_of(&who, None, 5).await,
            commerce
                .list(&who, hilo_app::commerce::ListKind::Cart)
                .await,
        ) {
            (Ok(orders), Ok(cart)) => (
                orders.iter().map(order_row).collect(),
                cart.lines
                    .iter()
                    .map(|(line, variant)| {
                        let name = variant
                            .as_ref()
                            .map(|v| {
                                if t.lang == "es" {
                                    v.name_es.clone()
                                } else {
                                    v.name_en.clone()
                                }
                            })
                            .unwrap_or_default();
                        (line.quantity, name, line.sku.clone())
                    })
                    .collect(),
            ),
            (Err(error), _) | (_, Err(error)) => return failure(error, t),
        }
    } else {
        (Vec::new(), Vec::new())
    };
    let page = ConversationPage {
        t,
        shell: staff.shell(Area::Inbox),
        id: id.to_string(),
        customer_id: view.customer.to_string(),
        customer: customer_name,
        thread: thread_of(t, &view, &channel_map, &users),
        status: c.status.as_str(),
        status_label: status_label(t, c.status.as_str()),
        statuses,
        assignees,
        teams,
        labels: view.labels.join(", "),
        snoozed_until: c
            .snoozed_until
            .map(|at| at.to_rfc3339().chars().take(16).collect())
            .unwrap_or_default(),
        channels: reply_channels,
        identities,
        traits,
        consent,
        others,
        orders,
        cart,
        may_shop,
        may_work,
        canned,
        notice,
        draft,
    };
    render(status_code, &page)
}

async fn thread(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    if let Some(refused) = staff.refused_unless(Permission::ReadConversations) {
        return refused;
    }
    let t = staff.t;
    let Ok(id) = id.parse::<ConversationId>() else {
        return failure(hilo_app::AppError::NotFound, t);
    };
    let view = match state.hilo.conversations().get(id).await {
        Ok(view) => view,
        Err(error) => return failure(error, t),
    };
    let (channels, users) = match (channel_names(&state).await, user_names(&state).await) {
        (Ok(channels), Ok(users)) => (channels.into_iter().collect(), users),
        (Err(error), _) | (_, Err(error)) => return failure(error, t),
    };
    render(StatusCode::OK, &thread_of(t, &view, &channels, &users))
}

fn thread_of(
    t: &'static Texts,
    view: &ConversationView,
    channels: &HashMap<ChannelId, String>,
    users: &HashMap<UserId, String>,
) -> Thread {
    let calls: HashMap<_, _> = view.calls.iter().map(|c| (c.message_id, c)).collect();
    let messages = view
        .messages
        .iter()
        .map(|m| message_row(t, m, calls.get(&m.id).copied(), channels, users))
        .collect();
    Thread {
        t,
        messages,
        live: format!("/console/conversations/{}/thread", view.conversation.id),
    }
}

fn message_row(
    t: &'static Texts,
    m: &MessageRecord,
    call: Option<&hilo_store::conversations::CallRecord>,
    channels: &HashMap<ChannelId, String>,
    users: &HashMap<UserId, String>,
) -> MessageRow {
    let who = match m.direction {
        Direction::Inbound => t.conversations.customer.to_owned(),
        _ => m
            .author
            .strip_prefix("user:")
            .and_then(|id| id.parse::<UserId>().ok())
            .and_then(|id| users.get(&id).cloned())
            .unwrap_or_else(|| m.author.clone()),
    };
    let channel_kind = m
        .channel_type
        .map(channel_mark)
        .unwrap_or("note")
        .to_owned();
    let channel = m
        .channel_id
        .and_then(|id| channels.get(&id).cloned())
        .unwrap_or_default();
    let email = m.email.as_ref();
    let call = call.map(|c| {
        let mut text = format!("{} · {}", t.conversations.call, c.status.as_str());
        if let Some(seconds) = c.duration_seconds {
            text.push_str(&format!(" · {}:{:02}", seconds / 60, seconds % 60));
        }
        if let Some(from) = &c.from_number {
            text.push_str(&format!(" · {from}"));
        }
        text
    });
    let media = m
        .media
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get("url").and_then(|u| u.as_str()))
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    MessageRow {
        direction: m.direction.as_str(),
        who,
        channel,
        channel_kind,
        content: m.content.clone(),
        subject: email.and_then(|e| e.subject.clone()),
        quoted: email.and_then(|e| e.quoted.clone()),
        attachments: email
            .map(|e| {
                e.attachments
                    .iter()
                    .filter_map(|a| {
                        a.id.as_ref()
                            .map(|id| (a.filename.clone(), format!("/api/v1/attachments/{id}")))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        media,
        call,
        status: if m.direction == Direction::Outbound {
            m.status.as_str()
        } else {
            ""
        },
        error: m
            .error_message
            .clone()
            .or_else(|| m.error_code.clone())
            .filter(|_| m.direction == Direction::Outbound),
        at: short_time(m.created_at),
        datetime: m.created_at.to_rfc3339(),
    }
}

fn availability_name(availability: Availability) -> &'static str {
    match availability {
        Availability::Online => "online",
        Availability::Busy => "busy",
        Availability::Offline => "offline",
    }
}

#[derive(Deserialize)]
struct AvailabilityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    availability: String,
}

/// An agent says whether they take conversations now; going offline gives theirs back
/// to the queue.
async fn set_availability(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<AvailabilityForm>,
) -> Response {
    if let Some(refused) = staff.refused_form(Permission::WorkConversations, &form.csrf) {
        return refused;
    }
    let availability = match form.availability.as_str() {
        "online" => Availability::Online,
        "busy" => Availability::Busy,
        "offline" => Availability::Offline,
        _ => return failure(hilo_app::AppError::NotFound, staff.t),
    };
    let change = hilo_app::conversations::assignment::AgentChange {
        availability: Some(availability),
        capacity: None,
    };
    match state
        .hilo
        .conversations()
        .change_agent(staff.user, change, &staff.principal)
        .await
    {
        Ok(_) => Redirect::to("/console/inbox").into_response(),
        Err(error) => failure(error, staff.t),
    }
}

#[derive(Deserialize)]
struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    channel_id: String,
    #[serde(default)]
    private: Option<String>,
}

async fn reply(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Response {
    let conversation: ConversationId =
        match staff.form_target(Permission::WorkConversations, &form.csrf, &id) {
            Ok(conversation) => conversation,
            Err(refused) => return *refused,
        };
    let t = staff.t;
    let channel = match form.channel_id.as_str() {
        "" => None,
        text => match text.parse::<ChannelId>() {
            Ok(channel) => Some(channel),
            Err(_) => {
                let notice = t.conversations.no_such_channel.to_owned();
                return unprocessable(&state, &staff, &id, notice, form.content).await;
            }
        },
    };
    let reply = Reply {
        content: &form.content,
        channel,
        private: form.private.is_some(),
        template: None,
    };
    match state
        .hilo
        .conversations()
        .reply(conversation, &reply, &staff.principal)
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/console/conversations/{conversation}#composer")).into_response()
        }
        Err(error) => {
            let prefix = t.conversations.not_sent;
            refused_change(&state, &staff, &id, prefix, error, form.content).await
        }
    }
}

#[derive(Deserialize)]
struct WorkForm {
    #[serde(default)]
    csrf: String,
    status: Option<String>,
    /// A browser's `datetime-local` (`2026-12-08T09:00`), read as UTC.
    snoozed_until: Option<String>,
    assignee: Option<String>,
    team: Option<String>,
    labels: Option<String>,
}

async fn work(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<WorkForm>,
) -> Response {
    let conversation: ConversationId =
        match staff.form_target(Permission::WorkConversations, &form.csrf, &id) {
            Ok(conversation) => conversation,
            Err(refused) => return *refused,
        };
    let t = staff.t;
    let not_changed = || t.conversations.not_changed.to_owned();
    let mut change = WorkChange::default();
    if let Some(status) = form.status.as_deref().filter(|s| !s.is_empty()) {
        match hilo_app::conversations::Conversations::parse_status(status) {
            Ok(status) => change.status = Some(status),
            Err(_) => {
                return unprocessable(&state, &staff, &id, not_changed(), String::new()).await;
            }
        }
    }
    if change.status == Some(hilo_domain::conversations::ConversationStatus::Snoozed) {
        let until = form.snoozed_until.as_deref().unwrap_or("").trim();
        let text = match until.len() {
            16 => format!("{until}:00Z"),
            19 => format!("{until}Z"),
            _ => until.to_owned(),
        };
        match hilo_domain::Timestamp::parse_rfc3339(&text) {
            Ok(at) => change.snoozed_until = Some(at),
            Err(_) => {
                let notice = t.conversations.snooze_until_needed.to_owned();
                return unprocessable(&state, &staff, &id, notice, String::new()).await;
            }
        }
    }
    if let Some(assignee) = &form.assignee {
        change.assignee = Some(match assignee.as_str() {
            "" => None,
            text => match text.parse::<UserId>() {
                Ok(user) => Some(user),
                Err(_) => {
                    return unprocessable(&state, &staff, &id, not_changed(), String::new()).await;
                }
            },
        });
    }
    if let Some(team) = &form.team {
        change.team = Some(
            Some(team.trim())
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        );
    }
    if let Some(labels) = &form.labels {
        change.labels = Some(
            labels
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
        );
    }
    match state
        .hilo
        .conversations()
        .change(conversation, &change, &staff.principal)
        .await
    {
        Ok(_) => Redirect::to(&format!("/console/conversations/{conversation}")).into_response(),
        Err(error) => {
            let prefix = t.conversations.not_changed;
            refused_change(&state, &staff, &id, prefix, error, String::new()).await
        }
    }
}

/// The conversation again, with what was wrong with the form and the draft kept.
async fn unprocessable(
    state: &AppState,
    staff: &Staff,
    id: &str,
    notice: String,
    draft: String,
) -> Response {
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    conversation_page(state, staff, id, status, Some(notice), draft).await
}

/// A refused reply or change: the conversation again with the reason when it is the
/// user's to fix (a closed WhatsApp window, an unreachable channel), a bare error page
/// otherwise.
async fn refused_change(
    state: &AppState,
    staff: &Staff,
    id: &str,
    prefix: &str,
    error: hilo_app::AppError,
    draft: String,
) -> Response {
    let reason = refusal_text(staff.t, &error);
    let api = crate::ApiError::from(error);
    if api.status.is_client_error() && api.status != StatusCode::NOT_FOUND {
        let notice = format!("{prefix} {}", reason.unwrap_or(&api.message));
        conversation_page(state, staff, id, api.status, Some(notice), draft).await
    } else {
        super::shell::failure_page(api, staff.t)
    }
}

/// What the agent is told, in their language, for the refusals they meet most.
fn refusal_text(t: &'static Texts, error: &hilo_app::AppError) -> Option<&'static str> {
    use hilo_app::{AppError, ReplyRefusal};
    let texts = &t.conversations;
    Some(match error {
        AppError::ReplyRefused(ReplyRefusal::NoChannel) => texts.refused_no_channel,
        AppError::ReplyRefused(ReplyRefusal::NotSentByHilo(_)) => texts.refused_not_sent_by_hilo,
        AppError::ReplyRefused(ReplyRefusal::NoAddress(_)) => texts.refused_no_address,
        AppError::ReplyRefused(ReplyRefusal::OutsideWhatsappWindow) => {
            texts.refused_whatsapp_window
        }
        AppError::Invalid(invalid) if invalid.field == "content" => texts.refused_length,
        AppError::Invalid(invalid) if invalid.field == "team" => texts.refused_team,
        _ => return None,
    })
}

/// Every channel's name, in the order they were made.
async fn channel_names(state: &AppState) -> hilo_app::AppResult<Vec<(ChannelId, String)>> {
    let page = PageRequest {
        limit: PageRequest::MAX_LIMIT,
        after: None,
    };
    let channels = state.hilo.channels().list(&page).await?;
    Ok(channels.items.into_iter().map(|c| (c.id, c.name)).collect())
}

/// Console users' names, for assignees and authors.
async fn user_names(state: &AppState) -> hilo_app::AppResult<HashMap<UserId, String>> {
    let page = PageRequest {
        limit: PageRequest::MAX_LIMIT,
        after: None,
    };
    let users = state.hilo.access().list_users(&page).await?;
    Ok(users
        .items
        .into_iter()
        .map(|u| {
            let name = if u.name.is_empty() {
                u.email.to_string()
            } else {
                u.name
            };
            (u.id, name)
        })
        .collect())
}

/// How a customer is called in a list: their name, else an email or a phone, else
/// their id.
pub(super) fn best_label(customer: &hilo_app::customers::CustomerView) -> String {
    let text = |key: &str| {
        customer
            .traits
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some(name) = text("name") {
        return name;
    }
    let full = [text("first_name"), text("last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !full.is_empty() {
        return full;
    }
    for kind in ["email", "phone", "whatsapp"] {
        if let Some(identity) = customer.identities.iter().find(|i| i.kind == kind) {
            return identity.value.clone();
        }
    }
    customer
        .identities
        .first()
        .map(|i| i.value.clone())
        .unwrap_or_else(|| customer.id.to_string())
}

pub(super) fn trait_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A channel type's mark in the thread.
fn channel_mark(kind: ChannelType) -> &'static str {
    hilo_app::conversations::timeline_channel(kind)
}

pub(super) fn status_label(t: &'static Texts, status: &str) -> &'static str {
    let c = &t.conversations;
    match status {
        "open" => c.open,
        "pending" => c.pending,
        "snoozed" => c.snoozed,
        "resolved" => c.resolved,
        "bot" => c.bot,
        "all" => c.all,
        _ => "",
    }
}

/// `2026-12-07 09:30` (UTC), for lists and bubbles.
pub(super) fn short_time(at: hilo_domain::Timestamp) -> String {
    let text = at.to_rfc3339();
    text.get(..16).unwrap_or(&text).replacen('T', " ", 1)
}

#[derive(Deserialize)]
struct CancelOrderForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    order_id: String,
}

/// Cancels one of the customer's orders from beside the conversation, on the customer's
/// behalf (the agent is the actor, the call center the channel); back to the
/// conversation with a notice.
async fn cancel_order(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<CancelOrderForm>,
) -> Response {
    let conversation =
        match staff.form_target::<ConversationId>(Permission::ShopForCustomers, &form.csrf, &id) {
            Ok(conversation) => conversation,
            Err(refused) => return *refused,
        };
    let Ok(order) = form.order_id.parse::<hilo_domain::OrderId>() else {
        return failure(hilo_app::AppError::NotFound, staff.t);
    };
    // Only an order of this conversation's customer.
    let view = match state.hilo.conversations().get(conversation).await {
        Ok(view) => view,
        Err(error) => return failure(error, staff.t),
    };
    let commerce = state.hilo.commerce();
    match commerce.order(order).await {
        Ok(found) if found.customer_id == view.customer => {}
        Ok(_) => return failure(hilo_app::AppError::NotFound, staff.t),
        Err(error) => return failure(error, staff.t),
    }
    let notice = match commerce
        .cancel_order(order, "call_center", "", &staff.principal)
        .await
    {
        Ok(_) => staff.t.conversations.order_cancelled.to_owned(),
        Err(hilo_app::AppError::Conflict(message)) => message,
        Err(error) => return failure(error, staff.t),
    };
    conversation_page(
        &state,
        &staff,
        &conversation.to_string(),
        StatusCode::OK,
        Some(notice),
        String::new(),
    )
    .await
}
