//! `--plot`: per trace, warm hits and system allocations against the
//! budget, as an SVG, with legacy as one point.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use std::path::Path;

/// One replay: at `bytes` (the budget, or legacy's peak cached bytes).
#[derive(Clone, Copy, Debug)]
pub struct Point {
    pub bytes: f64,
    pub warm_percent: f64,
    pub system_allocs: f64,
}

/// The budgets the sweep tries: 16K to 4M, two steps per doubling.
pub fn budgets() -> Vec<usize> {
    (0..=16).map(|i| ((16384.0 * 2f64.powf(i as f64 / 2.0)) as usize + 15) & !15).collect()
}

const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(214, 39, 40);

/// Writes `path`: two panels sharing the budget axis.
pub fn write_svg(path: &Path, title: &str, sweep: &[Point], legacy: Point) -> Result<(), String> {
    let root = SVGBackend::new(path, (900, 760)).into_drawing_area();
    let err = |e: DrawingAreaErrorKind<_>| format!("{}: {e}", path.display());
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 22)).map_err(err)?;
    let (top, bottom) = root.split_vertically(370);
    let xs = sweep.iter().chain([&legacy]).map(|p| p.bytes);
    let (lo, hi) = xs.fold((f64::MAX, 0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    // Gridlines every quadrupling from 4K, so the labels read 16K, 64K, 256K...
    let grid: Vec<f64> = (0..12).map(|i| 4096.0 * 4f64.powi(i)).filter(|x| (lo / 1.3..hi * 1.3).contains(x)).collect();
    let x_range = || (lo / 1.3..hi * 1.3).log_scale().with_key_points(grid.clone());
    let most = sweep.iter().chain([&legacy]).map(|p| p.system_allocs).fold(0f64, f64::max);
    let warm_low = sweep.iter().chain([&legacy]).map(|p| p.warm_percent).fold(100f64, f64::min);
    let warm_range = (warm_low - 5.0).max(0.0)..100.0;
    panel(&top, x_range(), warm_range, "warm hits (%)", sweep, legacy, |p| p.warm_percent).map_err(err)?;
    panel(&bottom, x_range(), 0.0..most * 1.1 + 1.0, "system allocations (fresh + realloc)", sweep, legacy, |p| {
        p.system_allocs
    })
    .map_err(err)?;
    root.present().map_err(err)
}

/// One panel: the per-code curve and the legacy point, `y` of each.
fn panel<DB: DrawingBackend, X>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    x_range: X,
    y_range: std::ops::Range<f64>,
    y_name: &str,
    sweep: &[Point],
    legacy: Point,
    y: impl Fn(&Point) -> f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    // Whole numbers, unless the range is too short for distinct ones.
    let decimals = usize::from(y_range.end - y_range.start < 10.0);
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(x_range, y_range)?;
    chart
        .configure_mesh()
        .x_desc("budget_bytes (log scale); legacy at its peak cached bytes")
        .y_desc(y_name)
        .x_label_formatter(&|b| human(*b))
        .y_label_formatter(&|v| format!("{v:.decimals$}"))
        .max_light_lines(2)
        .draw()?;
    let curve = sweep.iter().map(|p| (p.bytes, y(p)));
    chart
        .draw_series(LineSeries::new(curve.clone(), BLUE.stroke_width(2)))?
        .label("per-code")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart.draw_series(curve.map(|xy| Circle::new(xy, 3, BLUE.filled())))?;
    chart
        .draw_series([Cross::new((legacy.bytes, y(&legacy)), 7, ORANGE.stroke_width(3))])?
        .label("legacy (CPython's scheme)")
        .legend(|(x, y)| Cross::new((x + 10, y), 5, ORANGE.stroke_width(2)));
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()
}

/// 16384 -> "16K", 1572864 -> "1.5M".
fn human(bytes: f64) -> String {
    let (v, unit) = match bytes {
        b if b >= 1048576.0 => (b / 1048576.0, "M"),
        b if b >= 1024.0 => (b / 1024.0, "K"),
        b => (b, ""),
    };
    let text = format!("{v:.1}");
    format!("{}{unit}", text.trim_end_matches(".0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_spans_16k_to_4m_in_half_doublings() {
        let b = budgets();
        assert_eq!((b.len(), b[0], b[2], b[16]), (17, 16384, 32768, 4 << 20));
        assert!(b.windows(2).all(|w| w[0] < w[1]));
        assert_eq!([human(16384.0), human(1572864.0), human(100.0)], ["16K", "1.5M", "100"]);
    }
}
