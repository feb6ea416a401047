//! Drawing: plotters scenes kept as SVG shapes, and the charts, sparklines and gauges drawn
//! with them, and the alert marks over charts.

pub mod chart;
pub mod marks;
pub mod scene;
