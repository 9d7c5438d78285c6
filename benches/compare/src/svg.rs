//! Hand-written SVG plots (no plotting dependency): a diverging bar chart of the ratios against
//! Go on a log axis, and log-log line plots of the scaling runs.

use std::fmt::Write;

use crate::workload::System;

/// Each system's colour (Go's is the Go gopher blue).
pub fn colour(s: System) -> &'static str {
    match s {
        System::Go => "#00add8",
        System::Gort => "#d1495b",
        System::May => "#8e6cbf",
        System::Tokio => "#2e8b57",
        System::Std => "#808080",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One bar of the ratio chart.
pub enum Bar {
    /// A ratio against Go; `approx` marks a run whose semantics differ from Go's.
    Ratio { value: f64, approx: bool },
    /// Not run or failed: the short text shown instead of the bar.
    Missing(&'static str),
}

/// One group of bars: a row of the table (workload and metric).
pub struct Group {
    pub label: String,
    /// A second, smaller line under the label (the unit).
    pub sublabel: String,
    pub bars: Vec<(System, Bar)>,
}

/// One panel of the ratio chart (one GOMAXPROCS).
pub struct Panel {
    pub title: String,
    pub groups: Vec<Group>,
}

const FONT: &str = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"";

/// Log ticks (1, 2, 5 per decade) covering [lo, hi].
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut t = Vec::new();
    let mut d = 10f64.powf(lo.log10().floor());
    while d <= hi * 1.0001 {
        for m in [1.0, 2.0, 5.0] {
            let v = d * m;
            if v >= lo * 0.9999 && v <= hi * 1.0001 {
                t.push(v);
            }
        }
        d *= 10.0;
    }
    t
}

fn tick_label(v: f64) -> String {
    if v >= 1e6 && v % 1e6 == 0.0 {
        format!("{}M", v / 1e6)
    } else if v >= 1000.0 && v % 1000.0 == 0.0 {
        format!("{}k", v / 1000.0)
    } else if v >= 1000.0 {
        crate::report::thousands(v)
    } else {
        format!("{v}")
    }
}

/// A horizontal bar chart of ratios against Go, one panel per GOMAXPROCS side by side, bars
/// drawn from 1.0 on a log axis (left of 1.0: better than Go for every row, whatever its unit).
pub fn ratio_chart(title: &str, subtitle: &str, panels: &[Panel], systems: &[System]) -> String {
    let bar_h = 9.0;
    let group_gap = 10.0;
    let label_w = 260.0;
    let panel_w = 400.0;
    let panel_gap = 40.0;
    let top = 78.0;
    let n_groups = panels.iter().map(|p| p.groups.len()).max().unwrap_or(0);
    let group_h = bar_h * systems.len() as f64 + group_gap;
    let plot_h = group_h * n_groups as f64;
    let width = label_w + panels.len() as f64 * (panel_w + panel_gap) + 10.0;
    let height = top + plot_h + 60.0;

    // The axis covers every ratio, and at least 0.1 to 10.
    let (mut lo, mut hi) = (0.1f64, 10.0f64);
    for p in panels {
        for g in &p.groups {
            for (_, b) in &g.bars {
                if let Bar::Ratio { value, .. } = b {
                    if *value > 0.0 {
                        lo = lo.min(*value);
                        hi = hi.max(*value);
                    }
                }
            }
        }
    }
    let lo = 10f64.powf(lo.log10().floor());
    let hi = 10f64.powf(hi.log10().ceil());
    let x_of =
        |v: f64, x0: f64| x0 + (v.log10() - lo.log10()) / (hi.log10() - lo.log10()) * panel_w;

    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" {FONT} font-size=\"11\">"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{}</text>",
        esc(title)
    );
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"38\" fill=\"#444\">{}</text>",
        esc(subtitle)
    );
    // Legend.
    let mut lx = 10.0;
    for &sys in systems {
        let _ = writeln!(
            s,
            "<rect x=\"{lx}\" y=\"48\" width=\"12\" height=\"10\" fill=\"{}\"/>",
            colour(sys)
        );
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"57\">{}</text>",
            lx + 16.0,
            esc(sys.title())
        );
        lx += 30.0 + 7.0 * sys.title().len() as f64;
    }
    let _ = writeln!(
        s,
        "<text x=\"{lx}\" y=\"57\" fill=\"#444\">pale bar, ≈: not the same semantics as Go (see the table's notes)</text>"
    );

    for (pi, p) in panels.iter().enumerate() {
        let x0 = label_w + pi as f64 * (panel_w + panel_gap);
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>",
            x0 + panel_w / 2.0,
            top - 6.0,
            esc(&p.title)
        );
        // Grid and ticks.
        for t in ticks(lo, hi) {
            let x = x_of(t, x0);
            let (stroke, w) = if (t - 1.0).abs() < 1e-9 {
                ("#000", 1.2)
            } else {
                ("#ddd", 0.8)
            };
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{stroke}\" stroke-width=\"{w}\"/>",
                top + plot_h
            );
            let _ = writeln!(
                s,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444\">{}</text>",
                top + plot_h + 14.0,
                tick_label(t)
            );
        }
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444\">ratio vs Go (log scale; left of 1 = better than Go)</text>",
            x0 + panel_w / 2.0,
            top + plot_h + 30.0
        );
        for (gi, g) in p.groups.iter().enumerate() {
            let gy = top + gi as f64 * group_h + group_gap / 2.0;
            if pi == 0 {
                let mid = gy + bar_h * systems.len() as f64 / 2.0;
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                    label_w - 8.0,
                    mid - 1.0,
                    esc(&g.label)
                );
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"9\" fill=\"#555\">{}</text>",
                    label_w - 8.0,
                    mid + 10.0,
                    esc(&g.sublabel)
                );
            }
            for (bi, &sys) in systems.iter().enumerate() {
                let y = gy + bi as f64 * bar_h;
                let Some((_, bar)) = g.bars.iter().find(|(s2, _)| *s2 == sys) else {
                    continue;
                };
                let x1 = x_of(1.0, x0);
                match bar {
                    Bar::Ratio { value, approx } => {
                        let x2 = x_of(value.clamp(lo, hi), x0);
                        let (a, b) = if x2 < x1 { (x2, x1) } else { (x1, x2) };
                        let opacity = if *approx { 0.4 } else { 1.0 };
                        let _ = writeln!(
                            s,
                            "<rect x=\"{a:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\" fill-opacity=\"{opacity}\"><title>{}: {}{:.2}</title></rect>",
                            y,
                            (b - a).max(0.8),
                            bar_h - 1.5,
                            colour(sys),
                            esc(sys.title()),
                            if *approx { "≈ " } else { "" },
                            value
                        );
                        let label = format!(
                            "{}{}",
                            if *approx { "≈" } else { "" },
                            crate::report::ratio_text(*value)
                        );
                        let (tx, anchor) = if x2 < x1 {
                            (a - 3.0, "end")
                        } else {
                            (b + 3.0, "start")
                        };
                        let _ = writeln!(
                            s,
                            "<text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" font-size=\"8\" fill=\"#333\">{}</text>",
                            y + bar_h - 2.5,
                            esc(&label)
                        );
                    }
                    Bar::Missing(why) => {
                        let _ = writeln!(
                            s,
                            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"8\" fill=\"{}\">{} {}</text>",
                            x1 + 3.0,
                            y + bar_h - 2.5,
                            colour(sys),
                            esc(sys.title()),
                            esc(why)
                        );
                    }
                }
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

/// One line of a scaling plot: a system's points (x, y).
pub struct Series {
    pub system: System,
    pub points: Vec<(f64, f64)>,
    /// Shown after the line's last point (why it stops early), if any.
    pub end_note: Option<String>,
}

/// One log-log panel.
pub struct LinePanel {
    pub title: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

/// Log-log line plots side by side, x = task count.
pub fn scaling_chart(
    title: &str,
    subtitle: &str,
    panels: &[LinePanel],
    x_range: (f64, f64),
) -> String {
    let panel_w = 430.0;
    let panel_h = 300.0;
    let left = 70.0;
    let gap = 90.0;
    let top = 90.0;
    let width = left + panels.len() as f64 * (panel_w + gap);
    let height = top + panel_h + 55.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" {FONT} font-size=\"11\">"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{}</text>",
        esc(title)
    );
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"38\" fill=\"#444\">{}</text>",
        esc(subtitle)
    );
    let mut systems: Vec<System> = panels
        .iter()
        .flat_map(|p| p.series.iter().map(|x| x.system))
        .collect();
    systems.sort();
    systems.dedup();
    let mut lx = 10.0;
    for &sys in &systems {
        let _ = writeln!(
            s,
            "<rect x=\"{lx}\" y=\"48\" width=\"12\" height=\"10\" fill=\"{}\"/>",
            colour(sys)
        );
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"57\">{}</text>",
            lx + 16.0,
            esc(sys.title())
        );
        lx += 30.0 + 7.0 * sys.title().len() as f64;
    }
    let (xlo, xhi) = x_range;
    for (pi, p) in panels.iter().enumerate() {
        let x0 = left + pi as f64 * (panel_w + gap);
        let ys: Vec<f64> = p
            .series
            .iter()
            .flat_map(|x| x.points.iter().map(|pt| pt.1))
            .filter(|v| *v > 0.0)
            .collect();
        let ylo = ys.iter().copied().fold(f64::INFINITY, f64::min);
        let yhi = ys.iter().copied().fold(0.0, f64::max);
        let (ylo, yhi) = if ys.is_empty() {
            (1.0, 10.0)
        } else {
            (
                10f64.powf(ylo.log10().floor()),
                10f64
                    .powf(yhi.log10().ceil())
                    .max(10f64.powf(ylo.log10().floor() + 1.0)),
            )
        };
        let xp = |v: f64| x0 + (v.log10() - xlo.log10()) / (xhi.log10() - xlo.log10()) * panel_w;
        let yp = |v: f64| {
            top + panel_h - (v.log10() - ylo.log10()) / (yhi.log10() - ylo.log10()) * panel_h
        };
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>",
            x0 + panel_w / 2.0,
            top - 8.0,
            esc(&p.title)
        );
        let _ = writeln!(
            s,
            "<rect x=\"{x0}\" y=\"{top}\" width=\"{panel_w}\" height=\"{panel_h}\" fill=\"none\" stroke=\"#999\"/>"
        );
        for t in ticks(xlo, xhi) {
            let x = xp(t);
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#e5e5e5\"/>",
                top + panel_h
            );
            let _ = writeln!(
                s,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444\">{}</text>",
                top + panel_h + 14.0,
                tick_label(t)
            );
        }
        for t in ticks(ylo, yhi) {
            let y = yp(t);
            let _ = writeln!(
                s,
                "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/>",
                x0 + panel_w
            );
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#444\">{}</text>",
                x0 - 4.0,
                y + 4.0,
                tick_label(t)
            );
        }
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444\">tasks parked at once (log scale)</text>",
            x0 + panel_w / 2.0,
            top + panel_h + 32.0
        );
        let _ = writeln!(
            s,
            "<text transform=\"translate({:.1},{:.1}) rotate(-90)\" text-anchor=\"middle\" fill=\"#444\">{}</text>",
            x0 - 50.0,
            top + panel_h / 2.0,
            esc(&p.y_label)
        );
        let mut notes_drawn = 0;
        for ser in &p.series {
            let pts: Vec<(f64, f64)> = ser.points.iter().copied().filter(|p| p.1 > 0.0).collect();
            if pts.is_empty() {
                continue;
            }
            let c = colour(ser.system);
            let path: Vec<String> = pts
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", xp(x), yp(y)))
                .collect();
            let _ = writeln!(
                s,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\"/>",
                path.join(" ")
            );
            for &(x, y) in &pts {
                let _ = writeln!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{c}\"><title>{}: {} tasks, {}</title></circle>",
                    xp(x),
                    yp(y),
                    esc(ser.system.title()),
                    crate::report::thousands(x),
                    crate::report::thousands(y)
                );
            }
            if let Some(note) = &ser.end_note {
                let &(x, y) = pts.last().expect("non-empty");
                // Alternate above and below the point, so that two lines ending close
                // together keep their notes apart.
                let dy = if notes_drawn % 2 == 0 { -6.0 } else { 13.0 };
                notes_drawn += 1;
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"{c}\">{}</text>",
                    xp(x) + 5.0,
                    yp(y) + dy,
                    esc(note)
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}
