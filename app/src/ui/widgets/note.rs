//! A text note: its markdown shown as text (user text never becomes HTML).

use leptos::either::{EitherOf4, EitherOf5};
use leptos::prelude::*;

use crate::dashboard::Widget;
use crate::markdown::{Block, Inline, markdown};

/// A markdown note, as text.
#[component]
pub fn Note(widget: Signal<Widget>) -> impl IntoView {
    let spans = |inlines: Vec<Inline>| {
        inlines
            .into_iter()
            .map(|inline| match inline {
                Inline::Text(text) => EitherOf4::A(view! { <span>{text}</span> }),
                Inline::Strong(text) => EitherOf4::B(view! { <strong>{text}</strong> }),
                Inline::Emphasis(text) => EitherOf4::C(view! { <em>{text}</em> }),
                Inline::Code(text) => EitherOf4::D(view! { <code>{text}</code> }),
            })
            .collect_view()
    };
    let blocks = move || {
        widget.with(|widget| markdown(&widget.text))
            .into_iter()
            .map(|block| match block {
                Block::Heading { level: 1, text } => EitherOf5::A(view! { <h3>{spans(text)}</h3> }),
                Block::Heading { text, .. } => EitherOf5::B(view! { <h4>{spans(text)}</h4> }),
                Block::Paragraph(text) => EitherOf5::C(view! { <p>{spans(text)}</p> }),
                Block::List(items) => EitherOf5::D(view! {
                    <ul>{items.into_iter().map(|item| view! { <li>{spans(item)}</li> }).collect_view()}</ul>
                }),
                Block::Code(text) => EitherOf5::E(view! { <pre>{text}</pre> }),
            })
            .collect_view()
    };
    view! { <div class="note-text" data-testid="widget-note">{blocks}</div> }
}
