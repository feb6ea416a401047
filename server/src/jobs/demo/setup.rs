//! The demo's set-up, once per Redis: its funnel, its experiment and its dashboard.

use app::clock::now_ms;
use app::events::{AnalyticsChange, Experiment, Funnel, FunnelStep, PAGE_VIEW, Variant};

use crate::storage::{StorageError, Store};

use super::dashboard::dashboard;
use super::simulation::{EXPERIMENT_ID, PURCHASE_RATES, into_storage};

/// The demo funnel's name, by which it is found again after a restart.
const FUNNEL_NAME: &str = "Sign-up (demo)";

/// Makes the funnel, the experiment and the dashboard, once; returns the funnel's id.
pub(super) async fn prepare(store: &Store) -> Result<String, StorageError> {
    let definitions = store.definitions().await?;
    let funnel_id = match definitions.funnels.iter().find(|f| f.name == FUNNEL_NAME) {
        Some(funnel) => funnel.id.clone(),
        None => {
            let funnel = Funnel {
                id: String::new(),
                name: FUNNEL_NAME.into(),
                steps: vec![
                    FunnelStep {
                        event: PAGE_VIEW.into(),
                        filter: Some(("path".into(), "/pricing".into())),
                    },
                    FunnelStep {
                        event: "signup_started".into(),
                        filter: None,
                    },
                    FunnelStep {
                        event: "signup_completed".into(),
                        filter: None,
                    },
                ],
                window_ms: 30 * 60_000,
                created_ms: 0,
                counts_from_ms: None,
            };
            let after = store
                .change_analytics(
                    AnalyticsChange::CreateFunnel {
                        funnel,
                        backfill: false,
                    },
                    now_ms(),
                )
                .await
                .map_err(into_storage)?;
            after
                .funnels
                .iter()
                .find(|f| f.name == FUNNEL_NAME)
                .map(|f| f.id.clone())
                .unwrap_or_default()
        }
    };
    if !definitions
        .experiments
        .iter()
        .any(|x| x.id == EXPERIMENT_ID)
    {
        let experiment = Experiment {
            id: EXPERIMENT_ID.into(),
            name: "Checkout button colour (demo)".into(),
            variants: PURCHASE_RATES
                .iter()
                .map(|(name, _)| Variant {
                    name: (*name).into(),
                    weight: 50,
                })
                .collect(),
            goal_event: "purchase".into(),
            created_ms: 0,
        };
        store
            .change_analytics(AnalyticsChange::CreateExperiment { experiment }, now_ms())
            .await
            .map_err(into_storage)?;
    }
    let id = Store::new_dashboard_id().map_err(into_storage)?;
    if store.claim_demo(&id).await.map_err(into_storage)? {
        store
            .create_dashboard_as(
                id,
                dashboard(&funnel_id),
                "Created by --demo",
                "livedash",
                now_ms(),
            )
            .await
            .map_err(into_storage)?;
    }
    Ok(funnel_id)
}
