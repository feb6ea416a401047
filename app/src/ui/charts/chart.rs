//! Live line charts: a view's buckets drawn with plotters into SVG, with a legend.

use std::collections::BTreeMap;

use leptos::prelude::*;
use plotters::prelude::*;

use crate::live::View;
use crate::ui::charts::scene::{INK, Scene, SceneBackend, SvgLayer};

/// Line colours, chosen to stay apart on light and dark backgrounds.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x3b, 0x82, 0xf6),
    RGBColor(0xf9, 0x73, 0x16),
    RGBColor(0x10, 0xb9, 0x81),
    RGBColor(0xe1, 0x1d, 0x48),
    RGBColor(0x8b, 0x5c, 0xf6),
    RGBColor(0xea, 0xb3, 0x08),
    RGBColor(0x06, 0xb6, 0xd4),
    RGBColor(0xdb, 0x27, 0x77),
];

/// The CSS colour of line `index`.
#[must_use]
pub fn line_color(index: usize) -> String {
    let RGBColor(r, g, b) = PALETTE[index % PALETTE.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// A line's name in the legend: its labels, or the metric when it has none.
#[must_use]
pub fn line_name(labels: &BTreeMap<String, String>, metric: &str) -> String {
    if labels.is_empty() {
        return metric.to_owned();
    }
    labels
        .iter()
        // Real labels always have a name; an unnamed one is a line livedash derived (a
        // percentile), shown by its value alone.
        .map(|(name, value)| {
            if name.is_empty() {
                value.clone()
            } else {
                format!("{name}={value}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a chart draws its lines.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ChartStyle {
    /// Lines; a gap of more than one step breaks a line, so missing data shows as missing.
    Lines,
    /// One bar per bucket and line, side by side.
    Bars,
}

/// The value axis for `lines`: their span with a little room, from zero for bars.
#[must_use]
pub fn value_bounds(lines: &[Vec<(i64, f64)>], style: ChartStyle) -> (f64, f64) {
    let values = lines.iter().flatten().map(|(_, value)| *value);
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (low, high) = if style == ChartStyle::Bars && low.is_finite() {
        (low.min(0.0), high.max(0.0))
    } else {
        (low, high)
    };
    match (low.is_finite(), high.is_finite()) {
        (true, true) if high > low => {
            let pad = (high - low) * 0.08;
            (
                if low >= 0.0 {
                    (low - pad).max(0.0)
                } else {
                    low - pad
                },
                high + pad,
            )
        }
        (true, true) => (low - 1.0, high + 1.0),
        _ => (0.0, 1.0),
    }
}

/// Draws `lines` over `[from, to]` ms in `style` on `size` pixels, with axes in the theme's
/// ink: the axes' shapes, then the series'.
#[must_use]
pub fn render_chart(
    lines: &[Vec<(i64, f64)>],
    step_ms: i64,
    window: (i64, i64),
    size: (u32, u32),
    style: ChartStyle,
) -> Scene {
    let bounds = value_bounds(lines, style);
    let mut chart = render_axes(window, bounds, size);
    let series = render_series(lines, &[], step_ms, window, bounds, size, style);
    chart.shapes.extend(series.shapes);
    chart
}

/// Sets up the plot of `window` × `bounds` inside `size` (the same for axes and series, so
/// their layers line up) and lets `draw` draw on it.
fn plot(
    window: (i64, i64),
    (low, high): (f64, f64),
    size: (u32, u32),
    draw: impl FnOnce(
        &mut ChartContext<
            '_,
            SceneBackend<'_>,
            Cartesian2d<
                plotters::coord::types::RangedCoordi64,
                plotters::coord::types::RangedCoordf64,
            >,
        >,
    ) -> crate::ui::charts::scene::Drawn,
) -> Scene {
    let (from, to) = (window.0, window.1.max(window.0 + 1));
    Scene::draw(size, |root| {
        let plot = root.margin(MARGIN, MARGIN + X_LABEL_AREA, MARGIN + Y_LABEL_AREA, MARGIN);
        let mut chart = ChartBuilder::on(&plot).build_cartesian_2d(from..to, low..high)?;
        draw(&mut chart)
    })
}

/// The axes, grid and labels of a chart of `window` × `bounds`. They change only when the
/// window moves or the bounds change, so a live chart redraws them far less often than its
/// series.
#[must_use]
pub fn render_axes(window: (i64, i64), bounds: (f64, f64), size: (u32, u32)) -> Scene {
    let (from, to) = (window.0, window.1.max(window.0 + 1));
    let (low, high) = bounds;
    let mut labels = Vec::new();
    // Axes and labels are drawn here rather than by plotters' mesh: in the browser, its label
    // layout measures each text by adding it to the page, forcing a reflow every time.
    let mut axes = plot(window, bounds, size, |chart| {
        let grid = INK.mix(0.12);
        let value_ticks = value_ticks(low, high, 5);
        let time_ticks = time_ticks(from, to, 6);
        chart.draw_series(
            value_ticks
                .iter()
                .map(|&y| PathElement::new(vec![(from, y), (to, y)], grid)),
        )?;
        chart.draw_series(
            time_ticks
                .iter()
                .map(|&x| PathElement::new(vec![(x, low), (x, high)], grid)),
        )?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(from, high), (from, low), (to, low)],
            INK.mix(0.4),
        )))?;
        for &y in &value_ticks {
            let (px, py) = chart.backend_coord(&(from, y));
            labels.push(((px - 6, py), "end", crate::format::axis(y)));
        }
        for &x in &time_ticks {
            let (px, py) = chart.backend_coord(&(x, low));
            labels.push(((px, py + 16), "middle", time_of_day(x, to - from)));
        }
        Ok(())
    });
    if !axes.shapes.is_empty() {
        for (at, anchor, text) in labels {
            axes.label(at, anchor, text);
        }
    }
    axes
}

/// The lines (or bars) of a chart, on a transparent layer the size of its axes'.
#[must_use]
pub fn render_series(
    lines: &[Vec<(i64, f64)>],
    bands: &[Vec<(i64, f64, f64)>],
    step_ms: i64,
    window: (i64, i64),
    bounds: (f64, f64),
    size: (u32, u32),
    style: ChartStyle,
) -> Scene {
    plot(window, bounds, size, |chart| {
        let step = step_ms.max(1);
        // Bands under the lines: each a polygon from its maxima forward and its minima back,
        // broken where a step is missing.
        for (index, band) in bands.iter().enumerate() {
            let fill = PALETTE[index % PALETTE.len()].mix(0.18).filled();
            for segment in band.chunk_by(|a, b| b.0 - a.0 <= step) {
                if segment.len() < 2 {
                    continue;
                }
                let outline: Vec<(i64, f64)> = segment
                    .iter()
                    .map(|(t, _, high)| (*t, *high))
                    .chain(segment.iter().rev().map(|(t, low, _)| (*t, *low)))
                    .collect();
                chart.draw_series(std::iter::once(Polygon::new(outline, fill)))?;
            }
        }
        let count = i64::try_from(lines.len()).unwrap_or(1).max(1);
        for (index, points) in lines.iter().enumerate() {
            let colour = PALETTE[index % PALETTE.len()];
            if style == ChartStyle::Bars {
                // Each line gets its slot of the bucket, with a gap between buckets.
                let slot = (step * 8 / 10 / count).max(1);
                let offset = step / 10 + slot * i64::try_from(index).unwrap_or(0);
                chart.draw_series(points.iter().map(|&(start, value)| {
                    Rectangle::new(
                        [(start + offset, 0.0), (start + offset + slot, value)],
                        colour.filled(),
                    )
                }))?;
                continue;
            }
            let line_style = colour.stroke_width(2);
            let mut segment: Vec<(i64, f64)> = Vec::new();
            for &(start, value) in points {
                if segment.last().is_some_and(|(last, _)| start - last > step) {
                    chart.draw_series(LineSeries::new(segment.drain(..), line_style))?;
                }
                segment.push((start, value));
            }
            if segment.len() == 1 {
                chart.draw_series(std::iter::once(Circle::new(
                    segment[0],
                    2,
                    line_style.filled(),
                )))?;
            } else {
                chart.draw_series(LineSeries::new(segment, line_style))?;
            }
        }
        Ok(())
    })
}

/// About `count` round values between `low` and `high` (steps of 1, 2 or 5 times a power of
/// ten).
#[must_use]
pub fn value_ticks(low: f64, high: f64, count: u32) -> Vec<f64> {
    let span = high - low;
    if !(span.is_finite() && span > 0.0) || count == 0 {
        return Vec::new();
    }
    let rough = span / f64::from(count);
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|factor| factor * magnitude)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * magnitude);
    let first = (low / step).ceil();
    (0..=count * 2)
        .map(|i| (first + f64::from(i)) * step)
        .take_while(|value| *value <= high + step * 1e-9)
        .collect()
}

/// At most `count` times between `from` and `to` on round clock values (whole seconds,
/// minutes, hours or days, in UTC).
#[must_use]
pub fn time_ticks(from: i64, to: i64, count: i64) -> Vec<i64> {
    const STEPS: [i64; 17] = [
        1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
        1_800_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
    ];
    let span = to - from;
    if span <= 0 || count <= 0 {
        return Vec::new();
    }
    let step = STEPS
        .iter()
        .copied()
        .find(|step| span / step <= count)
        .unwrap_or_else(|| (span / count / 86_400_000 + 1) * 86_400_000);
    let first = from.div_euclid(step) * step + if from.rem_euclid(step) == 0 { 0 } else { step };
    (0..)
        .map(|i| first + i * step)
        .take_while(|tick| *tick <= to)
        .collect()
}

/// Space around a chart's plot, in pixels; the hover overlay maps the pointer with them.
pub const MARGIN: u32 = 10;
/// Height of the time axis' labels.
pub const X_LABEL_AREA: u32 = 26;
/// Width of the value axis' labels.
pub const Y_LABEL_AREA: u32 = 56;

/// A sparkline: one line, no axes, filling `width` × `height`.
#[must_use]
pub fn render_sparkline(
    points: &[(i64, f64)],
    (from, to): (i64, i64),
    (width, height): (u32, u32),
    colour: RGBColor,
) -> Scene {
    let (low, high) = value_bounds(&[points.to_vec()], ChartStyle::Lines);
    Scene::draw((width, height), |root| {
        let mut chart =
            ChartBuilder::on(root).build_cartesian_2d(from..to.max(from + 1), low..high)?;
        chart.draw_series(LineSeries::new(
            points.iter().copied(),
            colour.stroke_width(2),
        ))?;
        Ok(())
    })
}

/// A gauge: a half ring from the left, filled to `fraction` (0 to 1) in `colour`, over a
/// track in the theme's ink.
#[must_use]
pub fn render_gauge(fraction: f64, colour: RGBColor, (width, height): (u32, u32)) -> Scene {
    Scene::draw((width, height), |root| {
        let centre = (f64::from(width) / 2.0, f64::from(height) - 6.0);
        let radius = (f64::from(width) / 2.0 - 14.0)
            .min(f64::from(height) - 20.0)
            .max(8.0);
        let thickness = (radius / 4.0).clamp(6.0, 28.0);
        let arc = |upto: f64| -> Vec<(i32, i32)> {
            let steps = 64;
            (0..=steps)
                .map(|i| {
                    let angle =
                        std::f64::consts::PI * (1.0 - upto * f64::from(i) / f64::from(steps));
                    (
                        (centre.0 + radius * angle.cos()).round() as i32,
                        (centre.1 - radius * angle.sin()).round() as i32,
                    )
                })
                .collect()
        };
        let width_px = thickness.round() as u32;
        root.draw(&PathElement::new(
            arc(1.0),
            INK.mix(0.15).stroke_width(width_px),
        ))?;
        if fraction > 0.0 {
            root.draw(&PathElement::new(
                arc(fraction.clamp(0.0, 1.0)),
                colour.stroke_width(width_px),
            ))?;
        }
        Ok(())
    })
}

/// `#rrggbb` as a colour; the first palette colour when it is not one.
#[must_use]
pub fn parse_colour(text: &str) -> RGBColor {
    let channel = |at: usize| u8::from_str_radix(text.get(at..at + 2)?, 16).ok();
    match (text.starts_with('#') && text.len() == 7)
        .then(|| Some(RGBColor(channel(1)?, channel(3)?, channel(5)?)))
        .flatten()
    {
        Some(colour) => colour,
        None => PALETTE[0],
    }
}

/// `HH:MM` (UTC), or `HH:MM:SS` when the span is under ten minutes.
fn time_of_day(ms: i64, span_ms: i64) -> String {
    let seconds = ms.div_euclid(1000).rem_euclid(86_400);
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if span_ms < 600_000 {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}")
    }
}

/// A live chart of `view` over the `window_ms` up to `now`, with a legend.
#[component]
pub fn LiveChart(
    view: RwSignal<View>,
    metric: String,
    window_ms: i64,
    now: RwSignal<i64>,
) -> impl IntoView {
    let chart = Memo::new(move |_| {
        let now = now.get();
        view.with(|view| {
            let lines: Vec<Vec<(i64, f64)>> = view
                .lines
                .values()
                .map(|points| {
                    points
                        .range(now - window_ms..)
                        .map(|(t, v)| (*t, *v))
                        .collect()
                })
                .collect();
            render_chart(
                &lines,
                view.step_ms,
                (now - window_ms, now),
                (880, 320),
                ChartStyle::Lines,
            )
        })
    });
    let points = move || view.with(|view| view.lines.values().map(BTreeMap::len).sum::<usize>());
    let line_count = move || view.with(|view| view.lines.len());
    let legend = move || {
        view.with(|view| {
            view.lines
                .keys()
                .enumerate()
                .map(|(index, labels)| (line_color(index), line_name(labels, &metric)))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <figure class="chart" data-testid="chart" data-points=points data-lines=line_count>
            <SvgLayer class="chart-plot" scene=chart />
            <Legend entries=Signal::derive(legend) />
        </figure>
    }
}

/// A chart's legend: a colour swatch and a name per line.
#[component]
pub fn Legend(entries: Signal<Vec<(String, String)>>) -> impl IntoView {
    view! {
        <figcaption class="legend">
            <For each=move || entries.get() key=|entry| entry.clone() let:entry>
                <span class="legend-item">
                    <span class="swatch" style=format!("background:{}", entry.0)></span>
                    {entry.1}
                </span>
            </For>
        </figcaption>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside() {
        assert_eq!(value_ticks(0.0, 10.0, 5), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(value_ticks(-3.0, 47.0, 5), [0.0, 10.0, 20.0, 30.0, 40.0]);
        assert!(value_ticks(1.0, 1.0, 5).is_empty());
        let hour = time_ticks(90_000, 3_690_000, 6);
        assert_eq!(hour.first(), Some(&600_000));
        assert!(hour.windows(2).all(|pair| pair[1] - pair[0] == 600_000));
        assert!(hour.iter().all(|tick| (90_000..=3_690_000).contains(tick)));
        assert_eq!(
            time_ticks(0, 10_000, 5),
            [0, 2_000, 4_000, 6_000, 8_000, 10_000]
        );
    }

    /// A chart with two lines draws both, with theme-following axes.
    #[test]
    fn renders_lines_as_svg() {
        let lines = vec![
            vec![(0, 1.0), (1000, 3.0), (2000, 2.0)],
            vec![(0, 5.0), (1000, 4.0)],
        ];
        let svg = render_chart(&lines, 1000, (0, 3000), (400, 200), ChartStyle::Lines).to_svg();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert_eq!(svg.matches(r##"stroke="#3B82F6""##).count(), 1, "{svg}");
        assert_eq!(svg.matches(r##"stroke="#F97316""##).count(), 1, "{svg}");
        assert!(svg.contains("currentColor"));
        assert!(!svg.contains("#010203"));
        assert!(svg.contains(">00:00:01</text>"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
    }

    /// A missing bucket breaks the line; a lone bucket is a dot.
    #[test]
    fn gaps_break_lines() {
        let lines = vec![vec![(0, 1.0), (1000, 2.0), (5000, 3.0)]];
        let svg = render_chart(&lines, 1000, (0, 6000), (400, 200), ChartStyle::Lines).to_svg();
        assert_eq!(
            svg.matches(r##"<polyline fill="none" opacity="1" stroke="#3B82F6""##)
                .count(),
            1,
            "{svg}"
        );
        assert_eq!(svg.matches("<circle").count(), 1, "{svg}");
    }

    #[test]
    fn times_are_short() {
        assert_eq!(time_of_day(3_723_000, 60_000), "01:02:03");
        assert_eq!(time_of_day(3_723_000, 3_600_000), "01:02");
    }
}
