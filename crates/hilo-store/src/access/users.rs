//! Console users, their sessions, and failed logins (kept in the database so the login
//! rate limit holds across every node).

use hilo_domain::access::throttle::Failures;
use hilo_domain::{EmailAddress, PageRequest, Role, Timestamp, UserId};

use crate::{Store, StoreResult, corrupt, on_pool};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    pub email: EmailAddress,
    pub name: String,
    pub role: Role,
    pub created_at: Timestamp,
    /// The console's language they chose (`en`, `es`); `None`: their browser's.
    pub language: Option<String>,
}

/// A live console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: UserRecord,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    email: String,
    name: String,
    role: String,
    created_at: i64,
    language: Option<String>,
}

/// Failed console sign-ins, as [`Store::login_failures_since`] counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginFailures {
    pub pair: Failures,
    pub account: Failures,
    pub address: u64,
}

impl TryFrom<UserRow> for UserRecord {
    type Error = crate::StoreError;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id.parse().map_err(|e| corrupt("user id", e))?,
            email: row.email.parse().map_err(|e| corrupt("user email", e))?,
            name: row.name,
            role: row.role.parse().map_err(|e| corrupt("user role", e))?,
            created_at: Timestamp::from_millis(row.created_at),
            language: row.language,
        })
    }
}

#[derive(sqlx::FromRow)]
struct UserWithSecretRow {
    #[sqlx(flatten)]
    user: UserRow,
    secret: String,
}

/// `SELECT` of a user's columns and `extra`, followed by the rest of the statement.
macro_rules! select_users {
    ($extra:literal, $rest:literal) => {
        concat!(
            "SELECT id, email, name, role, created_at, language",
            $extra,
            " FROM users ",
            $rest
        )
    };
}

impl Store {
    pub async fn insert_user(&self, user: &UserRecord, password_hash: &str) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO users \
            (id, email, name, role, password_hash, created_at, password_changed_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $6)";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(user.id.to_string())
            .bind(user.email.as_str())
            .bind(&user.name)
            .bind(user.role.as_str())
            .bind(password_hash)
            .bind(user.created_at.millis())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// The user with this address and their password hash.
    pub async fn user_with_password(
        &self,
        email: &EmailAddress,
    ) -> StoreResult<Option<(UserRecord, String)>> {
        const SQL: &str = select_users!(", password_hash AS secret", "WHERE email = $1");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, UserWithSecretRow>(SQL)
            .bind(email.as_str())
            .fetch_optional(pool)
            .await?);
        row.map(|r| Ok((UserRecord::try_from(r.user)?, r.secret)))
            .transpose()
    }

    pub async fn list_users(&self, page: &PageRequest) -> StoreResult<Vec<UserRecord>> {
        const SQL: &str = select_users!("", "WHERE id > $1 ORDER BY id LIMIT $2");
        let after = page.after.as_ref().map_or("", |c| c.as_str()).to_owned();
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, UserRow>(SQL)
            .bind(&after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(UserRecord::try_from).collect()
    }

    /// The user with this id.
    pub async fn user(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
        const SQL: &str = select_users!("", "WHERE id = $1");
        let row = on_pool!(self, |pool| sqlx::query_as::<_, UserRow>(SQL)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?);
        row.map(UserRecord::try_from).transpose()
    }

    /// Sets a user's language (`None`: their browser's).
    pub async fn set_user_language(&self, id: UserId, language: Option<&str>) -> StoreResult<()> {
        on_pool!(self, |pool| sqlx::query(
            "UPDATE users SET language = $1 WHERE id = $2"
        )
        .bind(language)
        .bind(id.to_string())
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Gives a user another role, unless that would leave no admin: `false` then (or
    /// when there is no such user). One statement, so two admins demoting each other
    /// at once cannot both succeed.
    pub async fn set_user_role(&self, id: UserId, role: Role) -> StoreResult<bool> {
        const SQL: &str = "UPDATE users SET role = $1 WHERE id = $2 \
            AND ($1 = 'admin' OR EXISTS (SELECT 1 FROM users o WHERE o.role = 'admin' AND o.id <> $2))";
        let changed = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(role.as_str())
            .bind(id.to_string())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(changed == 1)
    }

    pub async fn count_users(&self) -> StoreResult<i64> {
        Ok(on_pool!(self, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM users"
        )
        .fetch_one(pool)
        .await?))
    }

    /// Replaces a user's password and ends all their sessions, in one transaction.
    /// `false` when there is no such user.
    pub async fn set_password(
        &self,
        email: &EmailAddress,
        password_hash: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        const UPDATE: &str =
            "UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE email = $3";
        const END_SESSIONS: &str =
            "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE email = $1)";
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(UPDATE)
                .bind(password_hash)
                .bind(at.millis())
                .bind(email.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query(END_SESSIONS)
                .bind(email.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(changed == 1)
        })
    }

    pub async fn insert_session(
        &self,
        token_hash: &str,
        user: UserId,
        csrf_token: &str,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO sessions \
            (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            // Sessions are opened far less often than used: a fine moment to forget
            // expired ones.
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(created_at.millis())
                .execute(&mut *tx)
                .await?;
            sqlx::query(SQL)
                .bind(token_hash)
                .bind(user.to_string())
                .bind(csrf_token)
                .bind(created_at.millis())
                .bind(expires_at.millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The session with this token digest, if it has not expired by `now`.
    pub async fn session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<SessionRecord>> {
        const SQL: &str = "SELECT u.id, u.email, u.name, u.role, u.created_at, u.language, \
            s.csrf_token AS secret, s.expires_at \
            FROM sessions s JOIN users u ON u.id = s.user_id \
            WHERE s.token_hash = $1 AND s.expires_at > $2";
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            inner: UserWithSecretRow,
            expires_at: i64,
        }
        let row = on_pool!(self, |pool| sqlx::query_as::<_, Row>(SQL)
            .bind(token_hash)
            .bind(now.millis())
            .fetch_optional(pool)
            .await?);
        row.map(|r| {
            Ok(SessionRecord {
                user: UserRecord::try_from(r.inner.user)?,
                csrf_token: r.inner.secret,
                expires_at: Timestamp::from_millis(r.expires_at),
            })
        })
        .transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        on_pool!(self, |pool| sqlx::query(
            "DELETE FROM sessions WHERE token_hash = $1"
        )
        .bind(token_hash)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Records a failed login and forgets failures older than `forget_before`.
    pub async fn record_login_failure(
        &self,
        email: &str,
        ip: &str,
        at: Timestamp,
        forget_before: Timestamp,
    ) -> StoreResult<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM login_failures WHERE at < $1")
                .bind(forget_before.millis())
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO login_failures (email, ip, at) VALUES ($1, $2, $3)")
                .bind(email)
                .bind(ip)
                .bind(at.millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Failed logins since `since`: of this account from this address of origin, of
    /// this account from anywhere, and from this address for any account.
    pub async fn login_failures_since(
        &self,
        email: &str,
        ip: &str,
        since: Timestamp,
    ) -> StoreResult<LoginFailures> {
        const PAIR: &str = "SELECT COUNT(*), MAX(at) FROM login_failures \
            WHERE email = $1 AND ip = $2 AND at >= $3";
        const ACCOUNT: &str =
            "SELECT COUNT(*), MAX(at) FROM login_failures WHERE email = $1 AND at >= $2";
        const ADDRESS: &str = "SELECT COUNT(*) FROM login_failures WHERE ip = $1 AND at >= $2";
        let failures = |(count, last_at): (i64, Option<i64>)| Failures {
            count: u64::try_from(count).unwrap_or(0),
            last_at,
        };
        on_pool!(self, |pool| {
            let pair = sqlx::query_as::<_, (i64, Option<i64>)>(PAIR)
                .bind(email)
                .bind(ip)
                .bind(since.millis())
                .fetch_one(pool)
                .await?;
            let account = sqlx::query_as::<_, (i64, Option<i64>)>(ACCOUNT)
                .bind(email)
                .bind(since.millis())
                .fetch_one(pool)
                .await?;
            let address = sqlx::query_scalar::<_, i64>(ADDRESS)
                .bind(ip)
                .bind(since.millis())
                .fetch_one(pool)
                .await?;
            Ok(LoginFailures {
                pair: failures(pair),
                account: failures(account),
                address: u64::try_from(address).unwrap_or(0),
            })
        })
    }

    /// Forgets the failures for an address after a successful login.
    pub async fn clear_login_failures(&self, email: &str) -> StoreResult<()> {
        on_pool!(self, |pool| sqlx::query(
            "DELETE FROM login_failures WHERE email = $1"
        )
        .bind(email)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }
}
