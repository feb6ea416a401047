//! `GET /api/v1/live`: admits a live socket (its address's cap, its credential or share link)
//! and hands it to the live socket loop ([`crate::live::socket`]).

use std::net::SocketAddr;

use app::auth::Principal;
use app::live::{CLOSE_ACCESS_ENDED, CLOSE_TRY_AGAIN_LATER};
use axum::Extension;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Query, State};
use axum::response::Response;

use crate::http::state::AppState;
use crate::live::socket::{MAX_CLIENT_MESSAGE, Services, serve};
use crate::storage::shares::{SHARE_LINK_ENDED, ShareScope};

/// Query parameters of the live endpoint.
#[derive(serde::Deserialize)]
pub struct LiveParams {
    /// A share link's token: the socket may then show that dashboard only.
    share: Option<String>,
}

/// `GET /api/v1/live`: upgrades to the live protocol.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: axum::http::HeaderMap,
    Query(params): Query<LiveParams>,
) -> Response {
    // Many sockets from one address are one client misbehaving (or attacking), not many users.
    let admitted = match (state.config.limits.sockets_per_address, peer) {
        (Some(limit), Some(Extension(ConnectInfo(peer)))) => {
            let client = state.config.trusted_proxies.client(peer.ip(), &headers);
            match state.hub.admit(client, limit) {
                Some(guard) => Ok(Some(guard)),
                None => Err((
                    CLOSE_TRY_AGAIN_LATER,
                    "too many live sockets from your address (LIVEDASH_LIVE_SOCKETS_PER_ADDRESS)",
                )),
            }
        }
        _ => Ok(None),
    };
    // The authentication layer let this through with a credential that may read, or a share
    // link; the socket closes when that credential is revoked.
    let revocation_names = principal
        .and_then(|Extension(principal)| principal.credential)
        .map(|credential| credential.revocation_names())
        .unwrap_or_default();
    // A share link that does not stand still gets a socket, to be closed with the reason.
    let share = match (&admitted, params.share) {
        (Err(refused), _) => Some(Err(*refused)),
        (Ok(_), Some(token)) => Some(share_scope(&state, &token).await),
        (Ok(_), None) => None,
    };
    let services = Services {
        store: state.store.clone(),
        hub: state.hub.clone(),
        shutdown: state.shutdown.clone(),
    };
    // Small buffers: thousands of idle viewers must stay cheap.
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(MAX_CLIENT_MESSAGE)
        // Refused by the frame's header, before its payload is buffered.
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| async move {
            let _admitted = admitted;
            serve(socket, services, share, revocation_names).await;
        })
}

/// The scope of `token`; `Err` with the close code and reason when it grants nothing now.
async fn share_scope(state: &AppState, token: &str) -> Result<ShareScope, (u16, &'static str)> {
    match state.store.share_scope(token, app::clock::now_ms()).await {
        Ok(Some(scope)) => Ok(scope),
        Ok(None) => Err((CLOSE_ACCESS_ENDED, SHARE_LINK_ENDED)),
        Err(error) => {
            tracing::warn!(%error, "checking a share link failed");
            Err((
                CLOSE_TRY_AGAIN_LATER,
                "storage is unavailable, try again shortly",
            ))
        }
    }
}
