//! What runs only once a page is in the browser: tasks that event handlers start, and the
//! marker that tells tests and scripts the page is interactive.

use leptos::prelude::*;

/// A task that an event handler starts in the browser, as a `Callback`. (`Action::new_local`
/// would do, but it holds a `SendWrapper` that panics when the server, which renders these
/// components too, drops it on another thread: leptos-rs/leptos#3746.)
pub fn browser_task<I: 'static, F: Future<Output = ()> + 'static>(
    task: impl Fn(I) -> F + Send + Sync + 'static,
) -> Callback<I> {
    Callback::new(move |input| leptos::task::spawn_local(task(input)))
}

/// "true" once the page is interactive in the browser (tests and scripts wait for it).
pub fn hydrated() -> Signal<&'static str> {
    let (ready, set_ready) = signal(false);
    Effect::new(move |_| set_ready.set(true));
    Signal::derive(move || if ready.get() { "true" } else { "false" })
}
