//! The editor's side panel for the selected widget: title, kind, query (a metric picker with
//! autocomplete from the catalog, label filters, aggregation, step, group-by), display (unit,
//! decimals, thresholds, min and max, legend, rows) or the note's text.

use leptos::prelude::*;

use crate::dashboard::{AnalyticsSource, Threshold, Widget, WidgetKind};
use crate::events::AnalyticsDefinitions;
use crate::query::{Aggregation, Selector, parse_duration_ms};
use crate::ui::editor::state::Editor;
use crate::ui::shared::json;
use crate::ui::shared::metric_picker::{MetricPicker, join_selector, split_selector};
use crate::ui::widgets::fresh::new_widget;

/// Steps offered besides "auto".
const STEPS: [&str; 9] = ["1s", "5s", "10s", "30s", "1m", "5m", "15m", "1h", "1d"];
/// Colours a new threshold cycles through.
const THRESHOLD_COLOURS: [&str; 3] = ["#eab308", "#f97316", "#e11d48"];

#[component]
pub fn SidePanel(editor: Editor, id: String) -> impl IntoView {
    let widget = {
        let id = id.clone();
        Memo::new(move |_| {
            editor
                .draft
                .with(|draft| draft.widgets.iter().find(|widget| widget.id == id).cloned())
        })
    };
    let change = {
        let id = id.clone();
        move |field: &'static str, apply: Box<dyn FnOnce(&mut Widget)>| {
            editor.edit_widget(&id, field, apply);
        }
    };
    let change = StoredValue::new(change);
    let set = move |field: &'static str, apply: Box<dyn FnOnce(&mut Widget)>| {
        change.with_value(|change| change(field, apply));
    };
    let read = move |f: fn(&Widget) -> String| {
        move || widget.with(|w| w.as_ref().map(f).unwrap_or_default())
    };
    let kind = move || widget.with(|w| w.as_ref().map_or(WidgetKind::Text, |w| w.kind));
    let has_query = move || kind().uses_query();
    let selector = move || {
        widget.with(|w| {
            w.as_ref()
                .and_then(|w| w.query.as_ref())
                .map(|q| q.selector.clone())
                .unwrap_or_default()
        })
    };
    let selector_problem = move || {
        let text = selector();
        (has_query() && !text.trim().is_empty())
            .then(|| Selector::parse(&text).err().map(|error| error.to_string()))
            .flatten()
    };
    let set_selector = move |name: String, filters: String| {
        set(
            "selector",
            Box::new(move |w: &mut Widget| {
                if let Some(query) = w.query.as_mut() {
                    query.selector = join_selector(&name, &filters);
                }
            }),
        );
    };
    let on_pick = Callback::new(move |name: String| {
        let (_, filters) = split_selector(&selector());
        set_selector(name, filters);
    });
    let metric = Signal::derive(move || split_selector(&selector()).0);
    // How many rows a top-N list or a ranking shows.
    let rows_field = move || {
        view! {
            <NumberField label="Rows" testid="widget-limit"
                value=Signal::derive(move || widget.with(|w| w.as_ref().and_then(|w| w.display.limit).map(f64::from)))
                on_change=Callback::new(move |value: Option<f64>| {
                    let limit = value.map(|v| v.clamp(1.0, 100.0) as u32);
                    set("limit", Box::new(move |w: &mut Widget| w.display.limit = limit));
                }) />
        }
    };

    view! {
        <aside class="side-panel" aria-label="Widget settings" data-testid="side-panel">
            <div class="side-head">
                <h2>"Widget"</h2>
                <button type="button" class="icon-button" aria-label="Close settings"
                    on:click=move |_| editor.selected.set(None)>"✕"</button>
            </div>
            <label class="field">
                <span>"Title"</span>
                <input type="text" maxlength="200" data-testid="widget-title-input"
                    prop:value=read(|w| w.title.clone())
                    on:input=move |event| {
                        let title = event_target_value(&event);
                        set("title", Box::new(move |w: &mut Widget| w.title = title));
                    } />
            </label>
            <label class="field">
                <span>"Kind"</span>
                <select data-testid="widget-kind" on:change=move |event| {
                    let Ok(kind) = json::from_text::<WidgetKind>(&format!("\"{}\"", event_target_value(&event))) else { return };
                    set("", Box::new(move |w: &mut Widget| {
                        w.kind = kind;
                        let fresh = new_widget(&w.id, kind, w.layout);
                        if kind.uses_query() && w.query.is_none() {
                            w.query = fresh.query;
                        }
                        if kind.uses_source() && w.source.is_none() {
                            w.source = fresh.source;
                        }
                    }));
                }>
                    {move || WidgetKind::ALL.iter().map(|option| {
                        let name = serde_json::to_string(option).unwrap_or_default().trim_matches('"').to_owned();
                        view! { <option value=name selected=*option == kind()>{option.label()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <Show when=has_query>
                <fieldset class="group">
                    <legend>"Query"</legend>
                    <MetricPicker value=metric on_change=on_pick />
                    <label class="field">
                        <span>"Label filters"</span>
                        <input type="text" placeholder="host=\"a\", region=~\"eu-.*\"" spellcheck="false"
                            data-testid="label-filters"
                            prop:value=move || split_selector(&selector()).1
                            on:input=move |event| {
                                let filters = event_target_value(&event);
                                set_selector(split_selector(&selector()).0, filters);
                            } />
                    </label>
                    {move || selector_problem().map(|problem| view! {
                        <p class="error" role="alert" data-testid="selector-problem">{problem}</p>
                    })}
                    // Percentiles and heatmaps show the distribution itself.
                    <Show when=move || !matches!(kind(), WidgetKind::Percentiles | WidgetKind::Heatmap)>
                    <label class="field">
                        <span>"Aggregation"</span>
                        <select data-testid="widget-aggregation" on:change=move |event| {
                            if let Some(aggregation) = Aggregation::from_name(&event_target_value(&event)) {
                                set("", Box::new(move |w: &mut Widget| if let Some(q) = w.query.as_mut() { q.aggregation = aggregation }));
                            }
                        }>
                            {move || {
                                let current = widget.with(|w| w.as_ref().and_then(|w| w.query.as_ref()).map(|q| q.aggregation));
                                Aggregation::NAMES.iter().map(|(name, aggregation)| {
                                    view! { <option value=*name selected=Some(*aggregation) == current>{*name}</option> }
                                }).collect_view()
                            }}
                        </select>
                    </label>
                    </Show>
                    <label class="field">
                        <span>"Step"</span>
                        <select data-testid="widget-step" on:change=move |event| {
                            let step = parse_duration_ms(&event_target_value(&event)).ok();
                            set("", Box::new(move |w: &mut Widget| if let Some(q) = w.query.as_mut() { q.step_ms = step }));
                        }>
                            {move || {
                                let current = widget.with(|w| w.as_ref().and_then(|w| w.query.as_ref()).and_then(|q| q.step_ms));
                                let auto = view! { <option value="auto" selected=current.is_none()>"Auto"</option> };
                                let fixed = STEPS.iter().map(|step| {
                                    let selected = parse_duration_ms(step).ok() == current;
                                    view! { <option value=*step selected=selected>{*step}</option> }
                                }).collect_view();
                                (auto, fixed)
                            }}
                        </select>
                    </label>
                    <Show when=move || matches!(kind(), WidgetKind::Line | WidgetKind::Bar)>
                        <label class="field">
                            <span>"Group by (labels, comma-separated)"</span>
                            <input type="text" placeholder="one line per series" data-testid="widget-group-by"
                                prop:value=move || widget.with(|w| w.as_ref().and_then(|w| w.query.as_ref()).and_then(|q| q.group_by.clone()).map(|g| g.join(", ")).unwrap_or_default())
                                on:input=move |event| {
                                    let text = event_target_value(&event);
                                    let labels: Vec<String> = text.split(',').map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
                                    set("group_by", Box::new(move |w: &mut Widget| if let Some(q) = w.query.as_mut() {
                                        q.group_by = (!labels.is_empty()).then_some(labels);
                                    }));
                                } />
                        </label>
                    </Show>
                </fieldset>
                <fieldset class="group">
                    <legend>"Display"</legend>
                    <div class="field-row">
                        <label class="field">
                            <span>"Unit"</span>
                            <input type="text" maxlength="32" placeholder="ms, %, req/s" data-testid="widget-unit"
                                prop:value=read(|w| w.display.unit.clone())
                                on:input=move |event| {
                                    let unit = event_target_value(&event);
                                    set("unit", Box::new(move |w: &mut Widget| w.display.unit = unit));
                                } />
                        </label>
                        <label class="field">
                            <span>"Decimals"</span>
                            <select data-testid="widget-decimals" on:change=move |event| {
                                let digits = event_target_value(&event).parse::<u8>().ok();
                                set("", Box::new(move |w: &mut Widget| w.display.decimals = digits));
                            }>
                                {move || {
                                    let current = widget.with(|w| w.as_ref().and_then(|w| w.display.decimals));
                                    let auto = view! { <option value="auto" selected=current.is_none()>"Auto"</option> };
                                    (auto, (0..=6u8).map(|digits| view! {
                                        <option value=digits.to_string() selected=current == Some(digits)>{digits.to_string()}</option>
                                    }).collect_view())
                                }}
                            </select>
                        </label>
                    </div>
                    <div class="field-row">
                        <NumberField label="Min" testid="widget-min"
                            value=Signal::derive(move || widget.with(|w| w.as_ref().and_then(|w| w.display.min)))
                            on_change=Callback::new(move |value| set("min", Box::new(move |w: &mut Widget| w.display.min = value))) />
                        <NumberField label="Max" testid="widget-max"
                            value=Signal::derive(move || widget.with(|w| w.as_ref().and_then(|w| w.display.max)))
                            on_change=Callback::new(move |value| set("max", Box::new(move |w: &mut Widget| w.display.max = value))) />
                    </div>
                    <Show when=move || matches!(kind(), WidgetKind::Line | WidgetKind::Bar)>
                        <label class="check">
                            <input type="checkbox" data-testid="widget-legend"
                                prop:checked=move || widget.with(|w| w.as_ref().is_some_and(|w| w.display.legend))
                                on:change=move |event| {
                                    let shown = event_target_checked(&event);
                                    set("", Box::new(move |w: &mut Widget| w.display.legend = shown));
                                } />
                            " Legend"
                        </label>
                    </Show>
                    <Show when=move || kind() == WidgetKind::Line>
                        <label class="check">
                            <input type="checkbox" data-testid="widget-band"
                                prop:checked=move || widget.with(|w| w.as_ref().is_some_and(|w| w.display.band))
                                on:change=move |event| {
                                    let shown = event_target_checked(&event);
                                    set("", Box::new(move |w: &mut Widget| w.display.band = shown));
                                } />
                            " Min/max band (each step's smallest to largest value)"
                        </label>
                    </Show>
                    <Show when=move || kind() == WidgetKind::TopN>{rows_field()}</Show>
                    <Thresholds widget set=Callback::new(move |thresholds: Vec<Threshold>| {
                        set("thresholds", Box::new(move |w: &mut Widget| w.display.thresholds = thresholds));
                    }) />
                </fieldset>
            </Show>
            <Show when=move || kind() == WidgetKind::TopValues>{rows_field()}</Show>
            <Show when=move || kind().uses_source()>
                <SourceFields widget kind=Signal::derive(kind) set=Callback::new(move |(field, apply): SourceChange| {
                    set(field, Box::new(move |w: &mut Widget| apply(w.source.get_or_insert_with(AnalyticsSource::default))));
                }) />
            </Show>
            <Show when=move || kind() == WidgetKind::Text>
                <label class="field">
                    <span>"Note (markdown: # heading, **bold**, *italic*, `code`, - lists)"</span>
                    <textarea rows="10" maxlength="20000" data-testid="widget-text"
                        prop:value=read(|w| w.text.clone())
                        on:input=move |event| {
                            let text = event_target_value(&event);
                            set("text", Box::new(move |w: &mut Widget| w.text = text));
                        }></textarea>
                </label>
            </Show>
            <div class="side-actions">
                <button type="button" class="button secondary" data-testid="panel-duplicate"
                    on:click={ let id = id.clone(); move |_| editor.duplicate(&id) }>"Duplicate"</button>
                <button type="button" class="button danger" data-testid="panel-delete"
                    on:click={ let id = id.clone(); move |_| editor.remove(&id) }>"Delete"</button>
            </div>
        </aside>
    }
}

/// A change to an analytics widget's source, with the field it edits (for undo coalescing).
type SourceChange = (
    &'static str,
    Box<dyn FnOnce(&mut AnalyticsSource) + Send + Sync>,
);

/// What an analytics widget shows: a funnel or experiment picked from those defined on the
/// Analytics page, or an event (and the property ranked).
#[component]
fn SourceFields(
    widget: Memo<Option<Widget>>,
    kind: Signal<WidgetKind>,
    set: Callback<SourceChange>,
) -> impl IntoView {
    let definitions = RwSignal::new(AnalyticsDefinitions::default());
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        if let Ok(found) = crate::api::list_analytics().await {
            definitions.try_set(found);
        }
    });
    let source = move || {
        widget.with(|w| {
            w.as_ref()
                .and_then(|w| w.source.clone())
                .unwrap_or_default()
        })
    };
    let picker = move |testid: &'static str, options: Vec<(String, String)>| {
        let current = source().id;
        view! {
            <select data-testid=testid on:change=move |event| {
                let id = event_target_value(&event);
                set.run(("", Box::new(move |source: &mut AnalyticsSource| source.id = id)));
            }>
                <option value="" selected=current.is_empty()>"Choose…"</option>
                {options.into_iter().map(|(id, name)| {
                    let selected = id == current;
                    view! { <option value=id selected=selected>{name}</option> }
                }).collect_view()}
            </select>
        }
    };
    let text_field = move |label: &'static str,
                           testid: &'static str,
                           placeholder: &'static str,
                           read: fn(&AnalyticsSource) -> String,
                           write: fn(&mut AnalyticsSource, String)| {
        view! {
            <label class="field">
                <span>{label}</span>
                <input type="text" maxlength="200" placeholder=placeholder data-testid=testid spellcheck="false"
                    prop:value=move || read(&source())
                    on:input=move |event| {
                        let text = event_target_value(&event);
                        set.run((testid, Box::new(move |source: &mut AnalyticsSource| write(source, text))));
                    } />
            </label>
        }
    };
    view! {
        <fieldset class="group">
            <legend>"Shows"</legend>
            {move || match kind.get() {
                WidgetKind::Funnel => {
                    let options = definitions.with(|d| d.funnels.iter().map(|f| (f.id.clone(), f.name.clone())).collect());
                    view! {
                        <label class="field"><span>"Funnel"</span>{picker("source-funnel", options)}</label>
                        <a class="small" href="/analytics">"Define funnels on the Analytics page"</a>
                    }.into_any()
                }
                WidgetKind::Experiment => {
                    let options = definitions.with(|d| d.experiments.iter().map(|x| (x.id.clone(), x.name.clone())).collect());
                    view! {
                        <label class="field"><span>"Experiment"</span>{picker("source-experiment", options)}</label>
                        <a class="small" href="/analytics">"Define experiments on the Analytics page"</a>
                    }.into_any()
                }
                WidgetKind::WebStats => text_field("Site", "source-site", "events without a site", |s| s.id.clone(), |s, v| s.id = v).into_any(),
                WidgetKind::WebRanking => {
                    let current = source().property;
                    view! {
                        {text_field("Site", "source-site", "events without a site", |s| s.id.clone(), |s, v| s.id = v)}
                        <label class="field">
                            <span>"Ranking"</span>
                            <select data-testid="source-ranking" on:change=move |event| {
                                let ranking = event_target_value(&event);
                                set.run(("source-ranking", Box::new(move |source: &mut AnalyticsSource| source.property = ranking)));
                            }>
                                {crate::web::RANKINGS.iter().map(|(name, label)| {
                                    view! { <option value=*name selected=current == *name>{*label}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                    }.into_any()
                }
                WidgetKind::TopValues => view! {
                    {text_field("Event", "source-event", "every event", |s| s.event.clone(), |s, v| s.event = v)}
                    {text_field("Property ranked", "source-property", "empty ranks event names", |s| s.property.clone(), |s, v| s.property = v)}
                }.into_any(),
                _ => text_field("Event", "source-event", "every event", |s| s.event.clone(), |s, v| s.event = v).into_any(),
            }}
        </fieldset>
    }
}

/// A number input that may be left empty.
#[component]
fn NumberField(
    label: &'static str,
    testid: &'static str,
    value: Signal<Option<f64>>,
    on_change: Callback<Option<f64>>,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <input type="number" step="any" data-testid=testid
                prop:value=move || value.get().map(|v| v.to_string()).unwrap_or_default()
                on:input=move |event| {
                    let text = event_target_value(&event);
                    let parsed = text.trim().parse::<f64>().ok().filter(|v| v.is_finite());
                    if text.trim().is_empty() || parsed.is_some() {
                        on_change.run(parsed);
                    }
                } />
        </label>
    }
}

/// Colour thresholds: from a value upwards, values take a colour.
#[component]
fn Thresholds(widget: Memo<Option<Widget>>, set: Callback<Vec<Threshold>>) -> impl IntoView {
    let current = move || {
        widget.with(|w| {
            w.as_ref()
                .map(|w| w.display.thresholds.clone())
                .unwrap_or_default()
        })
    };
    view! {
        <div class="thresholds" data-testid="thresholds">
            <span class="field-label">"Thresholds"</span>
            {move || current().into_iter().enumerate().map(|(index, threshold)| view! {
                <div class="threshold" data-testid="threshold">
                    <input type="number" step="any" aria-label="From value" value=threshold.value.to_string()
                        on:change=move |event| {
                            if let Ok(value) = event_target_value(&event).parse::<f64>() && value.is_finite() {
                                let mut all = current();
                                all[index].value = value;
                                all.sort_by(|a, b| a.value.total_cmp(&b.value));
                                set.run(all);
                            }
                        } />
                    <input type="color" aria-label="Colour" value=threshold.color.clone()
                        on:change=move |event| {
                            let mut all = current();
                            all[index].color = event_target_value(&event);
                            set.run(all);
                        } />
                    <button type="button" class="icon-button" aria-label="Remove threshold"
                        on:click=move |_| {
                            let mut all = current();
                            all.remove(index);
                            set.run(all);
                        }>"✕"</button>
                </div>
            }).collect_view()}
            <button type="button" class="button secondary" data-testid="add-threshold" on:click=move |_| {
                let mut all = current();
                let value = all.last().map_or(50.0, |last| last.value + 10.0);
                let color = THRESHOLD_COLOURS[all.len() % THRESHOLD_COLOURS.len()].to_owned();
                all.push(Threshold { value, color });
                set.run(all);
            }>"Add threshold"</button>
        </div>
    }
}
