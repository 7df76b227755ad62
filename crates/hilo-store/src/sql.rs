//! Statements both kinds of transaction run, written once. `$n` placeholders are
//! understood by both drivers; each number first appears in order, so binding by
//! position is the same as binding by number.

/// The fragments of the live profile `$1`: itself and every fragment merged into it.
macro_rules! tree {
    ($rest:literal) => {
        concat!(
            "WITH tree (id) AS (SELECT id FROM profiles WHERE root_id = $1) ",
            $rest
        )
    };
}
pub(crate) use tree;

/// On SQLite, `tree` plus `items (seq)`: the customer's timeline rows, found through
/// both halves of the per-customer index (see migration 0008): the part already moved
/// into `timeline_by_customer` and the `timeline_tail` not moved yet. A row in both
/// while it is being moved counts once.
macro_rules! tree_items {
    ($rest:literal) => {
        concat!(
            "WITH tree (id) AS (SELECT id FROM profiles WHERE root_id = $1), ",
            "items (seq) AS (SELECT k.seq FROM timeline_by_customer k WHERE k.profile_id IN (SELECT id FROM tree) ",
            "UNION SELECT t.seq FROM timeline_tail t WHERE t.profile_id IN (SELECT id FROM tree)) ",
            $rest
        )
    };
}
pub(crate) use tree_items;

/// A live customer's event count, first and last time, on SQLite.
pub const SQLITE_ACTIVITY: &str = tree_items!(
    "SELECT COALESCE(SUM(CASE WHEN l.item_type = 'event' THEN 1 ELSE 0 END), 0), \
     MIN(l.at), MAX(l.at) FROM timeline l WHERE l.seq IN (SELECT seq FROM items)"
);
/// The channels a live customer was seen on, on SQLite.
pub const SQLITE_CHANNELS: &str = tree_items!(
    "SELECT DISTINCT l.channel FROM timeline l WHERE l.seq IN (SELECT seq FROM items) ORDER BY l.channel"
);
/// A page of a live customer's timeline on SQLite, newest first before `($2, $3)`: the
/// newest `$4` of both halves of the index, then their rows.
pub const SQLITE_TIMELINE_PAGE: &str = concat!(
    "WITH tree (id) AS (SELECT id FROM profiles WHERE root_id = $1), ",
    "items (at, seq) AS (",
    "SELECT k.at, k.seq FROM timeline_by_customer k WHERE k.profile_id IN (SELECT id FROM tree) ",
    "AND (k.at < $2 OR (k.at = $2 AND k.seq < $3)) ",
    "UNION SELECT t.at, t.seq FROM timeline_tail t WHERE t.profile_id IN (SELECT id FROM tree) ",
    "AND (t.at < $2 OR (t.at = $2 AND t.seq < $3))), ",
    "page (seq) AS (SELECT seq FROM items ORDER BY at DESC, seq DESC LIMIT $4) ",
    "SELECT l.seq, l.profile_id, l.item_type, l.kind, l.name, l.channel, l.source_id, ",
    "l.message_id, l.at, l.received_at, l.body FROM timeline l WHERE l.seq IN (SELECT seq FROM page) ",
    "ORDER BY l.at DESC, l.seq DESC"
);

pub const IDENTITY_OWNER: &str = "SELECT i.kind, i.value, i.profile_id, i.first_seen, \
    i.last_seen, i.sources, p.merged_into FROM identities i JOIN profiles p ON p.id = i.profile_id \
    WHERE i.kind = $1 AND i.value = $2";
pub const ROOT_OF: &str = "SELECT root_id FROM profiles WHERE id = $1";
/// The live profile of profile `$1` (itself when live); no row when there is no such
/// profile.
pub const LIVE_ROOT: &str = "SELECT COALESCE(root_id, id) FROM profiles WHERE id = $1";
/// The live profile holding the identifier `$1`:`$2`, in one statement: never torn by a
/// merge committed between two reads.
pub const ROOT_BY_IDENTIFIER: &str = "SELECT COALESCE(p.root_id, p.id) FROM identities i \
    JOIN profiles p ON p.id = i.profile_id WHERE i.kind = $1 AND i.value = $2";
pub const HOLDINGS: &str = tree!(
    "SELECT i.kind, i.first_seen FROM identities i WHERE i.profile_id IN (SELECT id FROM tree)"
);
pub const SEPARATIONS: &str = tree!(
    "SELECT s.a, s.b FROM separations s WHERE (s.a IN (SELECT id FROM tree) OR s.b IN (SELECT id FROM tree))"
);
pub const INSERT_PROFILE: &str = "INSERT INTO profiles (id, root_id, created_at, updated_at, \
    created_by) VALUES ($1, $1, $2, $2, $3)";
pub const MERGE_POINT: &str = "UPDATE profiles SET merged_into = $1, updated_at = $2 \
    WHERE id = $3 AND merged_into IS NULL";
/// Every fragment of the absorbed profile `$2` now belongs to the survivor `$1`.
pub const MERGE_REROOT: &str = "UPDATE profiles SET root_id = $1 WHERE root_id = $2";
/// After an unmerge, the separated fragment `$1` and everything merged into it, through
/// the merge tree, belong to `$1` again.
pub const UNMERGE_REROOT: &str = "WITH RECURSIVE sub (id) AS (SELECT id FROM profiles \
    WHERE id = $1 UNION ALL SELECT p.id FROM profiles p JOIN sub s ON p.merged_into = s.id) \
    UPDATE profiles SET root_id = $1 WHERE id IN (SELECT id FROM sub)";
pub const MERGE_RECORD: &str = "INSERT INTO merges (id, survivor_id, absorbed_id, \
    identifier_kind, identifier_value, message_id, source_id, at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub const ATTACH_IDENTITY: &str = "INSERT INTO identities (kind, value, profile_id, first_seen, \
    last_seen, sources) VALUES ($1, $2, $3, $4, $4, $5)";
pub const TOUCH_IDENTITY: &str = "UPDATE identities SET \
    last_seen = CASE WHEN last_seen < $1 THEN $1 ELSE last_seen END, \
    first_seen = CASE WHEN first_seen > $1 THEN $1 ELSE first_seen END, \
    sources = $2 WHERE kind = $3 AND value = $4";
pub const RECORD_CONFLICT: &str = "INSERT INTO identity_conflicts (id, at, reason, detail, \
    identifier_kind, identifier_value, profile_id, other_profile_id, message_id, source_id) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
pub const PROFILE: &str = "SELECT id, merged_into, created_at, updated_at, traits, first_seen, \
    last_seen, event_count, channels FROM profiles WHERE id = $1";
pub const SAVE_PROFILE: &str = "UPDATE profiles SET updated_at = $1, traits = $2, \
    first_seen = $3, last_seen = $4, event_count = $5, channels = $6 WHERE id = $7";
pub const RECORD_CHANGE: &str =
    "INSERT INTO changes (at, kind, profile_id, data) VALUES ($1, $2, $3, $4)";
pub const RECORD_CONSENT: &str = "INSERT INTO consents (id, profile_id, channel, purpose, \
    granted, at, via, source_id, actor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
pub const ANY_SUPPRESSION: &str = "SELECT 1 FROM suppressions LIMIT 1";
pub const SUPPRESSED: &str = "SELECT 1 FROM suppressions WHERE digest = $1";
/// On SQLite, puts the timeline rows appended after `seq` `$1` in the per-customer
/// index's unindexed tail (migration 0008). The writer holds the write lock, so those
/// rows are its own.
pub const SQLITE_APPEND_TAIL: &str = "INSERT INTO timeline_tail (seq, profile_id, at) \
    SELECT seq, profile_id, at FROM timeline WHERE seq > $1";
/// Where the timeline ends: the `seq` appends continue after.
pub const TIMELINE_END: &str = "SELECT COALESCE(MAX(seq), 0) FROM timeline";
pub const APPEND_TIMELINE: &str = "INSERT INTO timeline (profile_id, item_type, kind, name, \
    channel, source_id, message_id, at, received_at, body) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
    ON CONFLICT (source_id, message_id) WHERE item_type <> 'event' DO NOTHING";
pub const INSERT_IDENTITY: &str = "INSERT INTO identities (kind, value, profile_id, first_seen, \
    last_seen, sources) VALUES ($1, $2, $3, $4, $5, $6)";
pub const UPDATE_IDENTITY: &str = "UPDATE identities SET first_seen = $1, last_seen = $2, \
    sources = $3 WHERE kind = $4 AND value = $5";
