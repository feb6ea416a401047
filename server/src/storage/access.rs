//! Credentials: API tokens, signed-in browser sessions and one-time sign-in links.
//!
//! Every secret is 128 random bits and is stored only as its hash (the id), so a copy of the
//! database grants nothing. Revoking a token or a session deletes it and announces its
//! revocation name on the revocation channel, where every process closes the sockets opened
//! with it; a session also ends with the token it signed in with.

use crate::failure::{Classify, Failure};
use app::auth::{
    CreatedLoginLink, CreatedToken, LOGIN_LINK_PATH, Role, SessionInfo, TokenInfo, TokenScope,
    session_revocation, token_revocation,
};
use serde::{Deserialize, Serialize};

use super::keys::{random_hex, secret_id};
use super::slots::Batch;
use super::{StorageError, Store};

/// How long a browser stays signed in.
pub const SESSION_MS: i64 = app::auth::SESSION_SECONDS * 1000;
/// How long a one-time sign-in link works.
pub const LOGIN_LINK_MS: i64 = 24 * 3_600_000;
/// What every API token starts with, so secret scanners and people recognise one.
pub const TOKEN_PREFIX: &str = "ldt_";

/// What a credential request can fail with.
#[derive(thiserror::Error, Debug)]
pub enum AccessError {
    /// The request is unusable; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// No such token or session (any more).
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<redis::RedisError> for AccessError {
    fn from(error: redis::RedisError) -> Self {
        Self::Storage(error.into())
    }
}

impl Classify for AccessError {
    fn failure(&self) -> Failure {
        match self {
            Self::Storage(error) => error.failure(),
            Self::Invalid(_) => Failure::Invalid,
            Self::NotFound(_) => Failure::NotFound,
        }
    }
}

/// A session as stored: what the list shows, and its CSRF token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub info: SessionInfo,
    pub csrf: String,
}

/// A new session: the cookie values and what it is.
#[derive(Clone, Debug)]
pub struct NewSession {
    /// The session cookie's value.
    pub secret: String,
    pub record: SessionRecord,
}

/// What a one-time sign-in link grants, until it is used or expires.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LoginGrant {
    pub role: Role,
    pub label: String,
}

/// The scope a new `role` token gets: ingest tokens the one asked for (both by default); admin
/// and viewer tokens have none of their own, as their role decides what they may do.
fn check_scope(role: Role, scope: Option<TokenScope>) -> Result<TokenScope, AccessError> {
    match (role, scope) {
        (Role::Ingest, scope) => Ok(scope.unwrap_or_default()),
        (_, None | Some(TokenScope::Both)) => Ok(TokenScope::Both),
        (_, Some(scope)) => Err(AccessError::Invalid(format!(
            "scope: only ingest tokens have a scope (here {}); {} token may do what its role allows",
            scope.name(),
            role.with_article()
        ))),
    }
}

/// Whether `id` has the form of an id this module makes (32 lowercase hex digits).
fn is_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Store {
    /// Makes an API token for `role`; an ingest token writes what `scope` allows (both when
    /// `None`). The secret is in the answer only.
    ///
    /// # Errors
    /// A bad label, a scope for a role that has none, or Redis failed.
    pub async fn create_token(
        &self,
        role: Role,
        scope: Option<TokenScope>,
        label: &str,
        created_by: &str,
        now_ms: i64,
    ) -> Result<CreatedToken, AccessError> {
        let scope = check_scope(role, scope)?;
        let label = app::auth::check_label(label).map_err(AccessError::Invalid)?;
        let token = format!("{TOKEN_PREFIX}{}", random_hex::<16>("API token")?);
        let info = self
            .store_token(&token, role, scope, label, created_by, now_ms)
            .await?;
        Ok(CreatedToken { token, info })
    }

    /// Stores `token` (one made here, or the configured admin token) for `role`.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn store_token(
        &self,
        token: &str,
        role: Role,
        scope: TokenScope,
        label: String,
        created_by: &str,
        now_ms: i64,
    ) -> Result<TokenInfo, AccessError> {
        let info = TokenInfo {
            id: secret_id(token),
            role,
            scope,
            label,
            created_at: now_ms,
            created_by: created_by.to_owned(),
            last_used_at: None,
        };
        let json = serde_json::to_string(&info).expect("tokens encode as JSON");
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        batch.ignored("SET", &self.keys.token(&info.id)).arg(json);
        batch.ignored("SADD", &self.keys.tokens()).arg(&info.id);
        let () = batch.query(&connection).await?;
        Ok(info)
    }

    /// What `token` is, unless it was revoked (or never existed); notes its use.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn resolve_token(
        &self,
        token: &str,
        now_ms: i64,
    ) -> Result<Option<TokenInfo>, AccessError> {
        let id = secret_id(token);
        let json: Option<String> = redis::cmd("GET")
            .arg(self.keys.token(&id))
            .query_async(&mut self.connection())
            .await?;
        let Some(json) = json else {
            return Ok(None);
        };
        let info: TokenInfo = self.decode(&self.keys.token(&id), &json)?;
        if self.usage.should_record(&id, now_ms) {
            let _: () = redis::cmd("HSET")
                .arg(self.keys.token_last_used())
                .arg(&id)
                .arg(now_ms)
                .query_async(&mut self.connection())
                .await?;
        }
        Ok(Some(info))
    }

    /// Every token, newest first, with when it was last used.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, AccessError> {
        let (ids, stored) = self
            .members_and_records(self.keys.tokens(), |id| self.keys.token(id))
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let used: Vec<Option<i64>> = redis::cmd("HMGET")
            .arg(self.keys.token_last_used())
            .arg(&ids)
            .query_async(&mut self.connection())
            .await?;
        let mut tokens = Vec::with_capacity(ids.len());
        for ((id, json), last_used_at) in ids.iter().zip(stored).zip(used) {
            if let Some(json) = json {
                let mut info: TokenInfo = self.decode(&self.keys.token(id), &json)?;
                info.last_used_at = last_used_at;
                tokens.push(info);
            }
        }
        tokens.sort_by_key(|token| std::cmp::Reverse(token.created_at));
        Ok(tokens)
    }

    /// Revokes token `id`: it stops working at once, the browsers signed in with it are signed
    /// out, and every process closes the sockets opened with either.
    ///
    /// # Errors
    /// No such token, or Redis failed.
    pub async fn revoke_token(&self, id: &str) -> Result<(), AccessError> {
        let missing = || AccessError::NotFound(format!("there is no token {id:?}"));
        if !is_id(id) {
            return Err(missing());
        }
        let removed: i64 = redis::cmd("DEL")
            .arg(self.keys.token(id))
            .query_async(&mut self.connection())
            .await?;
        let sessions: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.token_sessions(id))
            .query_async(&mut self.connection())
            .await?;
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        batch.ignored("SREM", &self.keys.tokens()).arg(id);
        batch.ignored("HDEL", &self.keys.token_last_used()).arg(id);
        batch.ignored("DEL", &self.keys.token_sessions(id));
        for session in &sessions {
            batch.ignored("DEL", &self.keys.session(session));
            batch.ignored("SREM", &self.keys.sessions()).arg(session);
        }
        let () = batch.query(&connection).await?;
        // Published once the deletions are done (on a cluster they may be on other nodes).
        let _: i64 = redis::cmd("PUBLISH")
            .arg(self.keys.revocations())
            .arg(token_revocation(id))
            .query_async(&mut connection.clone())
            .await?;
        if removed == 0 {
            return Err(missing());
        }
        Ok(())
    }

    /// Signs a browser in as `role`, through `via` (a token's or login link's label).
    ///
    /// # Errors
    /// Redis failed.
    pub async fn create_session(
        &self,
        role: Role,
        via: &str,
        token_id: Option<String>,
        now_ms: i64,
    ) -> Result<NewSession, AccessError> {
        let secret = random_hex::<16>("session id")?;
        let record = SessionRecord {
            info: SessionInfo {
                id: secret_id(&secret),
                role,
                via: via.to_owned(),
                token_id,
                created_at: now_ms,
                expires_at: now_ms + SESSION_MS,
            },
            csrf: random_hex::<16>("CSRF token")?,
        };
        let json = serde_json::to_string(&record).expect("sessions encode as JSON");
        let key = self.keys.session(&record.info.id);
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        batch
            .ignored("SET", &key)
            .arg(json)
            .arg("PXAT")
            .arg(record.info.expires_at);
        batch
            .ignored("SADD", &self.keys.sessions())
            .arg(&record.info.id);
        if let Some(token) = &record.info.token_id {
            batch
                .ignored("SADD", &self.keys.token_sessions(token))
                .arg(&record.info.id);
        }
        let () = batch.query(&connection).await?;
        Ok(NewSession { secret, record })
    }

    /// The session whose cookie is `secret`, unless it ended.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn resolve_session(
        &self,
        secret: &str,
    ) -> Result<Option<SessionRecord>, AccessError> {
        let key = self.keys.session(&secret_id(secret));
        let json: Option<String> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut self.connection())
            .await?;
        json.map(|json| self.decode(&key, &json)).transpose()
    }

    /// Every signed-in browser, newest first.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>, AccessError> {
        let (ids, stored) = self
            .members_and_records(self.keys.sessions(), |id| self.keys.session(id))
            .await?;
        let mut sessions = Vec::new();
        let mut ended = Vec::new();
        for (id, json) in ids.iter().zip(stored) {
            match json {
                Some(json) => {
                    let record: SessionRecord = self.decode(&self.keys.session(id), &json)?;
                    sessions.push(record.info);
                }
                None => ended.push(id),
            }
        }
        if !ended.is_empty() {
            let _: () = redis::cmd("SREM")
                .arg(self.keys.sessions())
                .arg(ended)
                .query_async(&mut self.connection())
                .await?;
        }
        sessions.sort_by_key(|session| std::cmp::Reverse(session.created_at));
        Ok(sessions)
    }

    /// Signs session `id` out, in every process.
    ///
    /// # Errors
    /// No such session, or Redis failed.
    pub async fn revoke_session(&self, id: &str) -> Result<(), AccessError> {
        let missing = || AccessError::NotFound(format!("there is no signed-in browser {id:?}"));
        if !is_id(id) {
            return Err(missing());
        }
        let key = self.keys.session(id);
        let json: Option<String> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut self.connection())
            .await?;
        let record: SessionRecord = match json {
            Some(json) => self.decode(&key, &json)?,
            None => return Err(missing()),
        };
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        batch.ignored("DEL", &key);
        batch.ignored("SREM", &self.keys.sessions()).arg(id);
        if let Some(token) = &record.info.token_id {
            batch
                .ignored("SREM", &self.keys.token_sessions(token))
                .arg(id);
        }
        let () = batch.query(&connection).await?;
        // Published once the deletions are done (on a cluster they may be on other nodes).
        let _: i64 = redis::cmd("PUBLISH")
            .arg(self.keys.revocations())
            .arg(session_revocation(id))
            .query_async(&mut connection.clone())
            .await?;
        Ok(())
    }

    /// Makes a one-time sign-in link for `role`, working for [`LOGIN_LINK_MS`].
    ///
    /// # Errors
    /// A bad label or role, or Redis failed.
    pub async fn create_login_link(
        &self,
        role: Role,
        label: &str,
        now_ms: i64,
    ) -> Result<CreatedLoginLink, AccessError> {
        if !role.can_sign_in() {
            return Err(AccessError::Invalid(format!(
                "role: {} tokens are for machines and cannot sign in",
                role.name()
            )));
        }
        let label = app::auth::check_label(label).map_err(AccessError::Invalid)?;
        let code = random_hex::<16>("sign-in code")?;
        let grant = LoginGrant { role, label };
        let json = serde_json::to_string(&grant).expect("sign-in links encode as JSON");
        let expires_at = now_ms + LOGIN_LINK_MS;
        let _: () = redis::cmd("SET")
            .arg(self.keys.login_link(&secret_id(&code)))
            .arg(json)
            .arg("PXAT")
            .arg(expires_at)
            .query_async(&mut self.connection())
            .await?;
        Ok(CreatedLoginLink {
            path: format!("{LOGIN_LINK_PATH}?code={code}"),
            role,
            expires_at,
        })
    }

    /// Uses the one-time sign-in link with `code`: what it grants, once; `None` if it was
    /// already used, has expired or never existed.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn use_login_link(&self, code: &str) -> Result<Option<LoginGrant>, AccessError> {
        let key = self.keys.login_link(&secret_id(code));
        let json: Option<String> = redis::cmd("GETDEL")
            .arg(&key)
            .query_async(&mut self.connection())
            .await?;
        json.map(|json| self.decode(&key, &json)).transpose()
    }

    /// The ids in set `set` and the record each names (`None` once it expired or was deleted),
    /// in two round trips.
    async fn members_and_records(
        &self,
        set: String,
        record: impl Fn(&str) -> String,
    ) -> Result<(Vec<String>, Vec<Option<String>>), AccessError> {
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(set)
            .query_async(&mut self.connection())
            .await?;
        if ids.is_empty() {
            return Ok((ids, Vec::new()));
        }
        let connection = self.connection();
        let mut batch = Batch::new(&connection);
        for id in &ids {
            batch.cmd("GET", &record(id));
        }
        let stored = batch.query(&connection).await?;
        Ok((ids, stored))
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        json: &str,
    ) -> Result<T, AccessError> {
        serde_json::from_str(json).map_err(|error| {
            AccessError::Storage(StorageError::Corrupt {
                key: key.to_owned(),
                reason: error.to_string(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ingest_tokens_are_scoped() {
        assert_eq!(
            check_scope(Role::Ingest, Some(TokenScope::Events)).unwrap(),
            TokenScope::Events
        );
        assert_eq!(check_scope(Role::Ingest, None).unwrap(), TokenScope::Both);
        assert_eq!(check_scope(Role::Admin, None).unwrap(), TokenScope::Both);
        let refused = check_scope(Role::Viewer, Some(TokenScope::Metrics)).unwrap_err();
        assert!(refused.to_string().starts_with("scope: "), "{refused}");
    }

    #[test]
    fn ids_are_checked_before_they_reach_a_key() {
        assert!(is_id(&secret_id("anything")));
        assert!(!is_id("../../etc"));
        assert!(!is_id("ABCDEF0123456789abcdef0123456789"));
    }
}
