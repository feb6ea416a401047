//! What the editor listens for on the whole window: its keyboard shortcuts, and leaving with
//! unsaved edits.

use leptos::prelude::*;

use crate::ui::editor::state::Editor;

/// Ctrl+Z, Ctrl+Shift+Z (and Ctrl+Y), Ctrl+S. In a text field, undo is the field's own.
pub fn install_shortcuts(editor: Editor, save: Callback<Option<u64>>) {
    let handle = window_event_listener(leptos::ev::keydown, move |event| {
        if !(event.ctrl_key() || event.meta_key()) {
            return;
        }
        let key = event.key().to_lowercase();
        let in_field = event_target_is_field(&event);
        match key.as_str() {
            "z" if !in_field => {
                event.prevent_default();
                if event.shift_key() {
                    editor.redo();
                } else {
                    editor.undo();
                }
            }
            "y" if !in_field => {
                event.prevent_default();
                editor.redo();
            }
            "s" => {
                event.prevent_default();
                save.run(None);
            }
            _ => {}
        }
    });
    on_cleanup(move || handle.remove());
}

fn event_target_is_field(event: &leptos::ev::KeyboardEvent) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|element| {
                matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
            })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = event;
        false
    }
}

/// Leaving with unsaved edits asks first: closing or reloading the tab, and following a link
/// within livedash.
pub fn install_leave_guard(editor: Editor) {
    let unload = window_event_listener(leptos::ev::beforeunload, move |event| {
        if editor.dirty() {
            event.prevent_default();
            event.set_return_value("You have unsaved changes.");
        }
    });
    on_cleanup(move || unload.remove());
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;
        let guard =
            Closure::<dyn Fn(web_sys::MouseEvent)>::new(move |event: web_sys::MouseEvent| {
                let Some(link) = event
                    .target()
                    .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
                    .and_then(|element| element.closest("a[href]").ok().flatten())
                else {
                    return;
                };
                let stays = link
                    .get_attribute("href")
                    .is_some_and(|href| href.starts_with('#'));
                if stays || !editor.dirty() {
                    return;
                }
                let leave = web_sys::window()
                    .and_then(|window| {
                        window
                            .confirm_with_message("Leave without saving your changes?")
                            .ok()
                    })
                    .unwrap_or(true);
                if leave {
                    // Going on without asking again when the page unloads.
                    editor.saved.set(editor.draft.get_untracked());
                } else {
                    event.prevent_default();
                    event.stop_immediate_propagation();
                }
            });
        let document = || web_sys::window().and_then(|window| window.document());
        if let Some(document) = document() {
            let _ = document.add_event_listener_with_callback_and_bool(
                "click",
                guard.as_ref().unchecked_ref(),
                true,
            );
        }
        let guard = StoredValue::new_local(guard);
        on_cleanup(move || {
            if let Some(document) = document() {
                guard.with_value(|guard| {
                    let _ = document.remove_event_listener_with_callback_and_bool(
                        "click",
                        guard.as_ref().unchecked_ref(),
                        true,
                    );
                });
            }
        });
    }
}
