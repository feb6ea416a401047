//! The WASM entry point: hydrates the page the server rendered. Everything else lives in `app`.
#![recursion_limit = "256"]

use leptos::prelude::document;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let body = document().body().expect("the page has a body");
    // Asynchronous because most pages are lazy routes: hydration waits for the page's chunk,
    // and for those of the widget kinds it shows.
    wasm_bindgen_futures::spawn_local(async move {
        app::ui::load_kinds_shown().await;
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        // The page is interactive from here on; end-to-end tests wait for this before they act.
        let _ = body.set_attribute("data-hydrated", "");
    });
}
