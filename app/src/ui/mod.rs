//! The shell, the router and the pages.

mod access;
mod analytics_page;
mod analytics_widgets;
mod chart;
mod dashboard_page;
mod dashboards;
mod editor;
mod explore;
#[cfg(feature = "hydrate")]
mod live_socket;
mod live_values;
mod share_panel;
mod side_panel;
mod status;
mod widgets;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::{ParamSegment, StaticSegment};

pub use dashboards::DashboardsPage;
pub use explore::ExplorePage;
pub use live_values::LiveValuesPage;
pub use status::ConnectionStatus;

/// A task that an event handler starts in the browser, as a `Callback`. (`Action::new_local`
/// would do, but it holds a `SendWrapper` that panics when the server, which renders these
/// components too, drops it on another thread: leptos-rs/leptos#3746.)
pub fn browser_task<I: 'static, F: Future<Output = ()> + 'static>(
    task: impl Fn(I) -> F + Send + Sync + 'static,
) -> Callback<I> {
    Callback::new(move |input| leptos::task::spawn_local(task(input)))
}

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The app: header plus routed pages.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    access::provide_identity();
    view! {
        <Stylesheet id="leptos" href="/pkg/livedash.css" />
        <Title text="livedash" />
        <Router>
            <header class="topbar">
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true"></span>
                    "livedash"
                </a>
                <nav class="nav">
                    <A href="/">"Values"</A>
                    <A href="/dashboards">"Dashboards"</A>
                    <A href="/explore">"Explore"</A>
                    <A href="/analytics">"Analytics"</A>
                </nav>
                <access::AccountMenu />
            </header>
            <main class="page">
                <access::AuthOffBanner />
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    <Route path=StaticSegment("") view=LiveValuesPage />
                    <Route path=StaticSegment("dashboards") view=DashboardsPage />
                    <Route path=StaticSegment("explore") view=ExplorePage />
                    <Route path=StaticSegment("analytics") view=analytics_page::AnalyticsPage />
                    <Route path=(StaticSegment("d"), ParamSegment("id")) view=dashboard_page::DashboardViewPage />
                    <Route
                        path=(StaticSegment("d"), ParamSegment("id"), StaticSegment("edit"))
                        view=editor::DashboardEditPage
                    />
                    <Route path=(StaticSegment("s"), ParamSegment("token")) view=dashboard_page::SharedDashboardPage />
                    <Route path=StaticSegment("login") view=access::LoginPage />
                    <Route path=StaticSegment("access") view=access::AccessPage />
                </Routes>
            </main>
        </Router>
    }
}
