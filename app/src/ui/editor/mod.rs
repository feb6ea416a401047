//! The dashboard editor: its state (draft, undo and redo, edits of the grid), the page, the
//! editable grid and palette, the side panel for the selected widget, version history, drafts
//! kept in the browser, and the window's shortcuts.

pub mod drafts;
pub mod grid;
pub mod history;
pub mod page;
pub mod side_panel;
pub mod state;
pub mod window_events;
