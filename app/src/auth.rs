//! Who may do what: roles, API tokens, signed-in browsers, and the access each request needs.
//!
//! Shared by the server (which enforces it) and the browser (which hides what the role may not
//! do, and sends the CSRF token with every server function call).

use serde::{Deserialize, Serialize};

/// The cookie that carries a signed-in browser's session id (HttpOnly: scripts never see it).
pub const SESSION_COOKIE: &str = "livedash_session";
/// The cookie that carries the session's CSRF token, readable by the page's script so it can
/// repeat it in [`CSRF_HEADER`]; a page of another site cannot read it.
pub const CSRF_COOKIE: &str = "livedash_csrf";
/// The header every state-changing request made with a session cookie must carry.
pub const CSRF_HEADER: &str = "x-livedash-csrf";
/// Longest label of a token or login link.
pub const MAX_LABEL_CHARS: usize = 200;

/// What a credential lets its holder do.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything: edit dashboards, manage share links, experiments and tokens, read, write.
    Admin,
    /// Read dashboards, metrics and analytics; change nothing.
    Viewer,
    /// Write metrics and events, nothing else (what services and tracking snippets hold).
    Ingest,
}

impl Role {
    /// Every role, in the order the UI offers them.
    pub const ALL: [Self; 3] = [Self::Admin, Self::Viewer, Self::Ingest];

    /// The name used in the API and the UI.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Viewer => "viewer",
            Self::Ingest => "ingest",
        }
    }

    /// The role named `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.name() == name)
    }

    /// Whether this role may make a request that needs `access`.
    #[must_use]
    pub fn allows(self, access: Access) -> bool {
        match access {
            Access::Public => true,
            Access::Read => matches!(self, Self::Admin | Self::Viewer),
            Access::Ingest => matches!(self, Self::Admin | Self::Ingest),
            Access::Admin => self == Self::Admin,
        }
    }

    /// Whether this role may sign in to the UI (ingest tokens are for machines only).
    #[must_use]
    pub fn can_sign_in(self) -> bool {
        self != Self::Ingest
    }

    /// The name with its article, for messages ("an ingest token may not …").
    #[must_use]
    pub fn with_article(self) -> &'static str {
        match self {
            Self::Admin => "an admin",
            Self::Viewer => "a viewer",
            Self::Ingest => "an ingest token",
        }
    }
}

/// What an ingest token may write. The tracking snippet's token is visible in web pages, so it
/// should be [`TokenScope::Events`]: it can then neither write metrics (nor create their series)
/// nor touch what services send.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Analytics events (`POST /api/v1/events`) and experiment assignments: what a web page
    /// needs.
    Events,
    /// Metrics: JSON ingest and the InfluxDB write endpoints.
    Metrics,
    /// Both. Tokens made before scopes existed have this scope, as do admin and viewer tokens
    /// (whose role decides what they may do).
    #[default]
    Both,
}

impl TokenScope {
    /// Every scope, in the order the UI offers them.
    pub const ALL: [Self; 3] = [Self::Both, Self::Metrics, Self::Events];

    /// The name used in the API.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Events => "events",
            Self::Metrics => "metrics",
            Self::Both => "both",
        }
    }

    /// The scope named `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.name() == name)
    }

    /// How the token list and the picker show it.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Events => "events only",
            Self::Metrics => "metrics only",
            Self::Both => "metrics and events",
        }
    }

    /// What a token of this scope may write, for refusals ("… it may {allows}").
    #[must_use]
    pub fn allows_text(self) -> &'static str {
        match self {
            Self::Events => {
                "send analytics events (POST /api/v1/events) and ask for experiment assignments"
            }
            Self::Metrics => {
                "write metrics (POST /api/v1/ingest, the InfluxDB endpoints /write and /api/v2/write)"
            }
            Self::Both => "write metrics and send analytics events",
        }
    }

    /// Whether a token of this scope may do what needs `needed` (itself events or metrics).
    #[must_use]
    pub fn covers(self, needed: Self) -> bool {
        self == Self::Both || self == needed
    }
}

/// What a request needs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Anyone (health checks, static files, the sign-in page, share links with their token).
    Public,
    /// Reading dashboards, metrics and analytics.
    Read,
    /// Writing metrics and events.
    Ingest,
    /// Changing dashboards, share links, funnels, experiments, tokens.
    Admin,
}

impl Access {
    /// What a request needing this is, for error messages ("… may not {describe}").
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Public => "do this",
            Self::Read => "read dashboards and metrics",
            Self::Ingest => "write metrics or events",
            Self::Admin => "change dashboards, share links, analytics definitions or tokens",
        }
    }
}

/// An API token as listed (the token itself is shown once, at creation, and stored hashed).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// The hash of the token, which names it in revocations.
    pub id: String,
    pub role: Role,
    /// What an ingest token may write (absent in tokens stored before scopes: both).
    #[serde(default)]
    pub scope: TokenScope,
    pub label: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Who made it: a label of the credential used, or "configuration".
    pub created_by: String,
    /// When it was last used, to the minute; `None` when never.
    pub last_used_at: Option<i64>,
}

/// A token just made: the secret, which is shown only now.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreatedToken {
    pub token: String,
    pub info: TokenInfo,
}

/// A signed-in browser.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The hash of the session id (the id itself lives only in the browser's cookie).
    pub id: String,
    pub role: Role,
    /// How it signed in: the token's or login link's label.
    pub via: String,
    /// The token it signed in with, if any: revoking that token signs it out too.
    pub token_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A one-time sign-in link made by an admin (or printed on the console at start).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreatedLoginLink {
    /// The path with its one-time code: `/login/link?code=…`.
    pub path: String,
    pub role: Role,
    pub expires_at: i64,
}

/// The path of one-time sign-in links.
pub const LOGIN_LINK_PATH: &str = "/login/link";

/// What the browser knows of itself.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct WhoAmI {
    /// `None` when not signed in.
    pub role: Option<Role>,
    /// False when the server runs with `LIVEDASH_AUTH=off` (everyone is an admin).
    pub auth_enabled: bool,
    /// The current session's id hash, to mark "this browser" in the list.
    pub session: Option<String>,
}

impl WhoAmI {
    /// Whether the user may do what needs `access`.
    #[must_use]
    pub fn allows(&self, access: Access) -> bool {
        access == Access::Public || self.role.is_some_and(|role| role.allows(access))
    }
}

/// Who made a request, as the server worked it out (put in the request's extensions by the
/// authentication layer, read by server functions and the live socket).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    /// What signed the request in; `None` with `LIVEDASH_AUTH=off`.
    pub credential: Option<Credential>,
}

/// The credential behind a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// An API token in the `Authorization` header.
    Token { id: String, label: String },
    /// A session cookie (and the token it signed in with, if any).
    Session {
        id: String,
        via: String,
        token_id: Option<String>,
    },
}

impl Credential {
    /// The revocation names that end this credential: its own, and its token's.
    #[must_use]
    pub fn revocation_names(&self) -> Vec<String> {
        match self {
            Self::Token { id, .. } => vec![token_revocation(id)],
            Self::Session { id, token_id, .. } => {
                let mut names = vec![session_revocation(id)];
                names.extend(token_id.iter().map(|id| token_revocation(id)));
                names
            }
        }
    }

    /// A short description of who this is, for "created by".
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Token { label, .. } => format!("token “{label}”"),
            Self::Session { via, .. } => format!("browser signed in with “{via}”"),
        }
    }
}

/// The name under which a token's revocation is announced to every process.
#[must_use]
pub fn token_revocation(id: &str) -> String {
    format!("token:{id}")
}

/// The name under which a session's revocation is announced to every process.
#[must_use]
pub fn session_revocation(id: &str) -> String {
    format!("session:{id}")
}

/// Checks a label for a token or login link: trimmed, at most [`MAX_LABEL_CHARS`].
///
/// # Errors
/// The label is empty or too long; the message says which.
pub fn check_label(label: &str) -> Result<String, String> {
    let label = label.trim();
    if label.is_empty() {
        return Err("label: give it a name, so it can be told apart in the list".into());
    }
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(format!("label: at most {MAX_LABEL_CHARS} characters"));
    }
    Ok(label.to_owned())
}

/// How long a browser stays signed in, in seconds.
pub const SESSION_SECONDS: i64 = 30 * 24 * 3600;

/// The `Set-Cookie` values that sign a browser in with `(session id, CSRF token)`, or with
/// `None` out; `secure` when it reached livedash over HTTPS.
#[must_use]
pub fn session_cookies(session: Option<(&str, &str)>, secure: bool) -> [String; 2] {
    let secure = if secure { "; Secure" } else { "" };
    let (session, csrf, max_age) = match session {
        Some((session, csrf)) => (session, csrf, SESSION_SECONDS),
        None => ("", "", 0),
    };
    [
        format!(
            "{SESSION_COOKIE}={session}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        ),
        // Scripts of this site read it to repeat it in a header; other sites cannot.
        format!("{CSRF_COOKIE}={csrf}; Path=/; Max-Age={max_age}; SameSite=Strict{secure}"),
    ]
}

/// The value of cookie `name` in a `Cookie` header (or `document.cookie`).
#[must_use]
pub fn cookie_value<'a>(cookies: &'a str, name: &str) -> Option<&'a str> {
    cookies.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_allow_exactly_their_access() {
        let table = [
            (Role::Admin, [true, true, true, true]),
            (Role::Viewer, [true, true, false, false]),
            (Role::Ingest, [true, false, true, false]),
        ];
        let accesses = [Access::Public, Access::Read, Access::Ingest, Access::Admin];
        for (role, expected) in table {
            for (access, allowed) in accesses.into_iter().zip(expected) {
                assert_eq!(role.allows(access), allowed, "{role:?} {access:?}");
            }
        }
        assert!(!Role::Ingest.can_sign_in());
        assert_eq!(Role::Ingest.with_article(), "an ingest token");
        assert_eq!(Role::from_name("viewer"), Some(Role::Viewer));
        assert_eq!(Role::from_name("root"), None);
    }

    #[test]
    fn scopes_cover_themselves_and_both_covers_all() {
        use TokenScope::{Both, Events, Metrics};
        assert!(Events.covers(Events) && !Events.covers(Metrics));
        assert!(Metrics.covers(Metrics) && !Metrics.covers(Events));
        assert!(Both.covers(Events) && Both.covers(Metrics));
        for scope in TokenScope::ALL {
            assert_eq!(TokenScope::from_name(scope.name()), Some(scope));
        }
        // Tokens stored before scopes existed keep working for both.
        let old = r#"{"id":"x","role":"ingest","label":"l","created_at":1,"created_by":"c","last_used_at":null}"#;
        let info: TokenInfo = serde_json::from_str(old).unwrap();
        assert_eq!(info.scope, Both);
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let header = "a=1; livedash_csrf_old=x; livedash_csrf=abc; b=2";
        assert_eq!(cookie_value(header, CSRF_COOKIE), Some("abc"));
        assert_eq!(cookie_value(header, "b"), Some("2"));
        assert_eq!(cookie_value(header, "c"), None);
    }

    #[test]
    fn sessions_end_with_their_token() {
        let session = Credential::Session {
            id: "s1".into(),
            via: "laptop".into(),
            token_id: Some("t1".into()),
        };
        assert_eq!(
            session.revocation_names(),
            vec!["session:s1".to_owned(), "token:t1".to_owned()]
        );
        assert!(check_label("  ").is_err());
        assert_eq!(check_label(" ci ").as_deref(), Ok("ci"));
    }
}
