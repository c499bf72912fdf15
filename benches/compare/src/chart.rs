//! The SVG chart: one horizontal bar per (metric, peer) showing the subject/peer ratio on a
//! log₂ axis centred on 1×, green where the subject does better, red where it does worse, with
//! the issue's target as a dashed tick. Hand-written SVG; no plotting crate.

use crate::report::{Ratio, Report};
use std::fmt::Write as _;

const WIDTH: f64 = 1060.0;
const LABEL_W: f64 = 400.0;
const PLOT_X0: f64 = LABEL_W + 20.0;
const PLOT_W: f64 = 560.0;
/// The axis spans 2^-LOG2_SPAN ..= 2^LOG2_SPAN.
const LOG2_SPAN: f64 = 4.0;
const BAR_H: f64 = 18.0;
const BAR_GAP: f64 = 4.0;
const GROUP_GAP: f64 = 18.0;
const TOP: f64 = 70.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn x_of(ratio: f64) -> f64 {
    let l = ratio.log2().clamp(-LOG2_SPAN, LOG2_SPAN);
    PLOT_X0 + PLOT_W / 2.0 + l / LOG2_SPAN * (PLOT_W / 2.0)
}

/// Render the ratio chart of a report.
pub fn svg(r: &Report) -> String {
    let mut metrics: Vec<&'static str> = Vec::new();
    for x in &r.ratios {
        if !metrics.contains(&x.metric) {
            metrics.push(x.metric);
        }
    }
    let peers_per_metric = |m: &str| r.ratios.iter().filter(|x| x.metric == m).count().max(1);
    let body_h: f64 = metrics
        .iter()
        .map(|m| peers_per_metric(m) as f64 * (BAR_H + BAR_GAP) + GROUP_GAP)
        .sum::<f64>()
        .max(40.0);
    let height = TOP + body_h + 60.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"##
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="white"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="10" y="22" font-size="16" font-weight="bold">{} / peer ratios — --size {}, {}</text>"##,
        esc(r.subject.label()),
        esc(&r.size),
        esc(&r.date_utc)
    );
    let _ = writeln!(
        s,
        r##"<text x="10" y="42" fill="#444">log₂ axis; right of 1× means {}'s figure is larger. Green: {} better, red: worse. Blue dashed tick: target from issue #7.</text>"##,
        esc(r.subject.label()),
        esc(r.subject.label())
    );
    // Grid.
    let grid_bottom = TOP + body_h;
    let mut e = -LOG2_SPAN as i32;
    while e <= LOG2_SPAN as i32 {
        let ratio = 2f64.powi(e);
        let x = x_of(ratio);
        let stroke = if e == 0 { "#000" } else { "#ddd" };
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{grid_bottom:.1}" stroke="{stroke}"/>"##
        );
        let label = if e >= 0 { format!("{}×", 1u32 << e) } else { format!("1/{}×", 1u32 << (-e)) };
        let _ = writeln!(
            s,
            r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#444">{label}</text>"##,
            grid_bottom + 16.0
        );
        e += 1;
    }
    if metrics.is_empty() {
        let _ = writeln!(
            s,
            r##"<text x="{PLOT_X0}" y="{:.1}">no ratios: {} was not part of this run</text>"##,
            TOP + 24.0,
            esc(r.subject.label())
        );
    }
    let mut y = TOP + GROUP_GAP / 2.0;
    for m in &metrics {
        let rows: Vec<&Ratio> = r.ratios.iter().filter(|x| x.metric == *m).collect();
        let better = rows
            .first()
            .map_or("", |x| if x.higher_is_better { "higher is better" } else { "lower is better" });
        let _ = writeln!(
            s,
            r##"<text x="10" y="{:.1}" font-weight="bold">{}</text><text x="10" y="{:.1}" fill="#666">{}</text>"##,
            y + 13.0,
            esc(m),
            y + 28.0,
            better
        );
        for x in rows {
            let cy = y;
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#444">vs {}</text>"##,
                PLOT_X0 - 6.0,
                cy + 13.0,
                esc(x.peer.label())
            );
            match x.ratio {
                Some(ratio) if ratio > 0.0 => {
                    let (x0, x1) = (x_of(1.0), x_of(ratio));
                    let good = if x.higher_is_better { ratio >= 1.0 } else { ratio <= 1.0 };
                    let color = if good { "#2e7d32" } else { "#c62828" };
                    let _ = writeln!(
                        s,
                        r##"<rect x="{:.1}" y="{cy:.1}" width="{:.1}" height="{BAR_H}" fill="{color}" opacity="0.85"/>"##,
                        x0.min(x1),
                        (x1 - x0).abs().max(1.0)
                    );
                    let (tx, anchor) = if ratio >= 1.0 { (x1 + 4.0, "start") } else { (x1 - 4.0, "end") };
                    let _ = writeln!(
                        s,
                        r##"<text x="{tx:.1}" y="{:.1}" text-anchor="{anchor}">{ratio:.2}×</text>"##,
                        cy + 13.0
                    );
                }
                _ => {
                    let _ = writeln!(
                        s,
                        r##"<text x="{:.1}" y="{:.1}" fill="#888">n/a</text>"##,
                        x_of(1.0) + 4.0,
                        cy + 13.0
                    );
                }
            }
            if let Some(t) = x.target {
                let tx = x_of(t);
                let _ = writeln!(
                    s,
                    r##"<line x1="{tx:.1}" y1="{:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#1565c0" stroke-width="2" stroke-dasharray="3,2"/>"##,
                    cy - 2.0,
                    cy + BAR_H + 2.0
                );
            }
            y += BAR_H + BAR_GAP;
        }
        y += GROUP_GAP;
    }
    let _ = writeln!(s, "</svg>");
    s
}
