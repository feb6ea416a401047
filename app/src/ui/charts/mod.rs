//! Drawing: plotters scenes kept as SVG shapes, and the charts, sparklines and gauges drawn
//! with them.

pub mod chart;
pub mod scene;
