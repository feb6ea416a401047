//! Drawings made with plotters, kept as SVG shapes: written out as markup for the server's first
//! paint, and applied in place in the browser, so that a live update changes the attributes that
//! moved instead of making the browser parse new markup and build new elements.

use std::convert::Infallible;
use std::fmt::Write as _;

use leptos::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, IntoDrawingArea, RGBColor};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, DrawingBackend, DrawingErrorKind,
};

/// Drawn for axes and labels, and written as `currentColor`, so a drawing follows the theme.
pub const INK: RGBColor = RGBColor(0x01, 0x02, 0x03);

/// One SVG element: its tag, its attributes (always the same names, in the same order, for one
/// tag) and a text element's text.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    pub tag: &'static str,
    pub attributes: Vec<(&'static str, String)>,
    pub text: Option<String>,
}

/// A drawing of `size` pixels: its shapes, bottom first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scene {
    pub size: (u32, u32),
    pub shapes: Vec<Shape>,
}

/// What drawing returns; plotters' errors all fit.
pub type Drawn = Result<(), Box<dyn std::error::Error>>;

impl Scene {
    /// The scene that `draw` draws on an area of `size`; empty when drawing fails.
    pub fn draw(
        size: (u32, u32),
        draw: impl FnOnce(&DrawingArea<SceneBackend<'_>, Shift>) -> Drawn,
    ) -> Self {
        let mut scene = Self {
            size,
            shapes: Vec::new(),
        };
        let drawn = {
            let root = SceneBackend { scene: &mut scene }.into_drawing_area();
            draw(&root).and_then(|()| root.present().map_err(Into::into))
        };
        if drawn.is_err() {
            scene.shapes.clear();
        }
        scene
    }

    /// Adds a label at `(x, y)`, anchored at its `anchor` ("start", "middle" or "end").
    pub fn label(&mut self, (x, y): (i32, i32), anchor: &'static str, text: String) {
        self.shapes.push(Shape {
            tag: "text",
            attributes: vec![
                ("x", x.to_string()),
                ("y", y.to_string()),
                ("text-anchor", anchor.to_owned()),
                ("dominant-baseline", "middle".to_owned()),
                ("font-family", "sans-serif".to_owned()),
                ("font-size", "12".to_owned()),
                ("fill", "currentColor".to_owned()),
                ("fill-opacity", "0.75".to_owned()),
            ],
            text: Some(text),
        });
    }

    /// The SVG document, as markup (the browser applies scenes instead: [`SvgLayer`]).
    #[cfg(not(feature = "hydrate"))]
    #[must_use]
    pub fn to_svg(&self) -> String {
        let (width, height) = self.size;
        let mut svg = String::with_capacity(128 + self.shapes.len() * 96);
        let _ = write!(
            svg,
            r#"<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">"#
        );
        for shape in &self.shapes {
            svg.push('<');
            svg.push_str(shape.tag);
            for (name, value) in &shape.attributes {
                let _ = write!(svg, r#" {name}=""#);
                escape_into(&mut svg, value);
                svg.push('"');
            }
            match &shape.text {
                Some(text) => {
                    svg.push('>');
                    escape_into(&mut svg, text);
                    let _ = write!(svg, "</{}>", shape.tag);
                }
                None => svg.push_str("/>"),
            }
        }
        svg.push_str("</svg>");
        svg
    }

    fn push(&mut self, tag: &'static str, attributes: Vec<(&'static str, String)>) {
        self.shapes.push(Shape {
            tag,
            attributes,
            text: None,
        });
    }
}

#[cfg(not(feature = "hydrate"))]
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            other => out.push(other),
        }
    }
}

/// A plotters backend that records what is drawn as SVG shapes, with the attributes plotters'
/// own SVG backend writes.
pub struct SceneBackend<'a> {
    scene: &'a mut Scene,
}

fn colour(colour: BackendColor) -> String {
    let (r, g, b) = colour.rgb;
    if RGBColor(r, g, b) == INK {
        "currentColor".to_owned()
    } else {
        format!("#{r:02X}{g:02X}{b:02X}")
    }
}

fn points(path: impl IntoIterator<Item = BackendCoord>) -> String {
    path.into_iter().fold(String::new(), |mut text, (x, y)| {
        let _ = write!(text, "{x},{y} ");
        text
    })
}

/// The stroke or fill and the other paint of a shape drawn filled or not.
fn paint(style: &impl BackendStyle, filled: bool) -> (String, String) {
    if filled {
        (colour(style.color()), "none".to_owned())
    } else {
        ("none".to_owned(), colour(style.color()))
    }
}

impl SceneBackend<'_> {
    /// Adds a `tag` shape, unless it is drawn fully transparent.
    fn add(
        &mut self,
        color: BackendColor,
        tag: &'static str,
        attributes: impl FnOnce() -> Vec<(&'static str, String)>,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        if color.alpha > 0.0 {
            self.scene.push(tag, attributes());
        }
        Ok(())
    }
}

impl DrawingBackend for SceneBackend<'_> {
    type ErrorType = Infallible;

    fn get_size(&self) -> (u32, u32) {
        self.scene.size
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Infallible>> {
        Ok(())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Infallible>> {
        Ok(())
    }

    fn draw_pixel(
        &mut self,
        (x, y): BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        self.add(color, "rect", || {
            vec![
                ("x", x.to_string()),
                ("y", y.to_string()),
                ("width", "1".to_owned()),
                ("height", "1".to_owned()),
                ("stroke", "none".to_owned()),
                ("opacity", color.alpha.to_string()),
                ("fill", colour(color)),
            ]
        })
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        self.draw_path([from, to], style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        (left, top): BackendCoord,
        (right, bottom): BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        self.add(style.color(), "rect", || {
            let (fill, stroke) = paint(style, fill);
            vec![
                ("x", left.to_string()),
                ("y", top.to_string()),
                ("width", (right - left).to_string()),
                ("height", (bottom - top).to_string()),
                ("opacity", style.color().alpha.to_string()),
                ("fill", fill),
                ("stroke", stroke),
            ]
        })
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        self.add(style.color(), "polyline", || {
            vec![
                ("fill", "none".to_owned()),
                ("opacity", style.color().alpha.to_string()),
                ("stroke", colour(style.color())),
                ("stroke-width", style.stroke_width().to_string()),
                ("points", points(path)),
            ]
        })
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        self.add(style.color(), "polygon", || {
            vec![
                ("opacity", style.color().alpha.to_string()),
                ("fill", colour(style.color())),
                ("points", points(path)),
            ]
        })
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        (x, y): BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        self.add(style.color(), "circle", || {
            let (fill, stroke) = paint(style, fill);
            vec![
                ("cx", x.to_string()),
                ("cy", y.to_string()),
                ("r", radius.to_string()),
                ("opacity", style.color().alpha.to_string()),
                ("fill", fill),
                ("stroke", stroke),
                ("stroke-width", style.stroke_width().to_string()),
            ]
        })
    }
}

/// A `<div class=…>` holding `scene` as SVG, kept up to date: the server writes the markup, the
/// browser then changes only the attributes and texts that differ from what it showed last,
/// and adds or removes elements only when the number or kind of shapes changes.
#[component]
pub fn SvgLayer(#[prop(into)] scene: Signal<Scene>, class: &'static str) -> impl IntoView {
    let host = NodeRef::<leptos::html::Div>::new();
    #[cfg(not(feature = "hydrate"))]
    let markup = scene.with_untracked(Scene::to_svg);
    // The browser builds the elements itself, or takes over the server's when it hydrates.
    #[cfg(feature = "hydrate")]
    let markup = String::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |shown: Option<Option<Scene>>| {
        let shown = shown.flatten();
        let host = host.get()?;
        scene.with(|next| {
            apply(&host, shown.as_ref(), next);
            Some(next.clone())
        })
    });
    view! { <div class=class node_ref=host inner_html=markup></div> }
}

/// Makes the `<svg>` in `host` show `next`, given that it shows `shown` (when known: otherwise
/// every attribute is written once).
#[cfg(feature = "hydrate")]
fn apply(host: &web_sys::Element, shown: Option<&Scene>, next: &Scene) {
    const SVG_NS: Option<&str> = Some("http://www.w3.org/2000/svg");
    let document = document();
    let svg = match host.first_element_child() {
        Some(svg) => svg,
        None => {
            let Ok(svg) = document.create_element_ns(SVG_NS, "svg") else {
                return;
            };
            let _ = host.append_child(&svg);
            svg
        }
    };
    if shown.is_none_or(|shown| shown.size != next.size) {
        let (width, height) = next.size;
        let _ = svg.set_attribute("width", &width.to_string());
        let _ = svg.set_attribute("height", &height.to_string());
        let _ = svg.set_attribute("viewBox", &format!("0 0 {width} {height}"));
    }
    let elements = svg.children();
    for (index, shape) in next.shapes.iter().enumerate() {
        let before = shown.and_then(|shown| shown.shapes.get(index));
        let existing = u32::try_from(index)
            .ok()
            .and_then(|index| elements.item(index));
        let reusable = existing.as_ref().filter(|element| match before {
            Some(before) => before.tag == shape.tag,
            None => element.tag_name() == shape.tag,
        });
        if let Some(element) = reusable {
            for (at, (name, value)) in shape.attributes.iter().enumerate() {
                let unchanged = before
                    .and_then(|before| before.attributes.get(at))
                    .is_some_and(|(was, had)| was == name && had == value);
                if !unchanged {
                    let _ = element.set_attribute(name, value);
                }
            }
            if before.is_none_or(|before| before.text != shape.text) {
                element.set_text_content(shape.text.as_deref());
            }
            continue;
        }
        let Ok(element) = document.create_element_ns(SVG_NS, shape.tag) else {
            continue;
        };
        for (name, value) in &shape.attributes {
            let _ = element.set_attribute(name, value);
        }
        element.set_text_content(shape.text.as_deref());
        let _ = match existing {
            Some(old) => svg.replace_child(&element, &old),
            None => svg.append_child(&element),
        };
    }
    while elements.length() as usize > next.shapes.len() {
        let Some(extra) = svg.last_element_child() else {
            break;
        };
        extra.remove();
    }
}

#[cfg(test)]
mod tests {
    use plotters::prelude::*;

    use super::{INK, Scene};

    /// Shapes come out as plotters' SVG backend writes them, ink as the theme's colour, and
    /// text escaped.
    #[test]
    fn writes_svg_markup() {
        let mut scene = Scene::draw((100, 50), |root| {
            root.draw(&PathElement::new(
                vec![(0, 0), (10, 20)],
                RGBColor(0x3b, 0x82, 0xf6).stroke_width(2),
            ))?;
            root.draw(&Circle::new((5, 5), 2, INK.mix(0.5).filled()))?;
            root.draw(&Rectangle::new([(1, 2), (4, 8)], INK.filled()))?;
            Ok(())
        });
        scene.label((3, 4), "end", "<1 & 2>".to_owned());
        let svg = scene.to_svg();
        assert!(
            svg.starts_with(r#"<svg width="100" height="50" viewBox="0 0 100 50""#),
            "{svg}"
        );
        assert!(
            svg.contains(r##"<polyline fill="none" opacity="1" stroke="#3B82F6" stroke-width="2" points="0,0 10,20 "/>"##),
            "{svg}"
        );
        assert!(
            svg.contains(
                r#"<circle cx="5" cy="5" r="2" opacity="0.5" fill="currentColor" stroke="none""#
            ),
            "{svg}"
        );
        assert!(
            svg.contains(r#"<rect x="1" y="2" width="3" height="6" opacity="1" fill="currentColor" stroke="none"/>"#),
            "{svg}"
        );
        assert!(svg.contains(">&lt;1 &amp; 2&gt;</text>"), "{svg}");
        assert!(svg.ends_with("</svg>"), "{svg}");
    }

    /// A drawing that fails leaves an empty scene of its size, not half a drawing.
    #[test]
    fn failed_drawings_are_empty() {
        let scene = Scene::draw((10, 10), |root| {
            root.draw(&PathElement::new(vec![(0, 0), (5, 5)], INK))?;
            Err("no".into())
        });
        assert_eq!(scene.size, (10, 10));
        assert!(scene.shapes.is_empty());
    }
}
