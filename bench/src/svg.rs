//! results.svg: every workload, with the spread of its repetitions.
//!
//! Top: IOPS by queue depth for the O_DIRECT random read cells, one panel per thread count,
//! one line per contender through the medians, and a vertical whisker from the smallest to
//! the largest repetition at each point.  Below: one small panel per cell (every workload),
//! a horizontal bar per contender for the median and a whisker for min..max.

use crate::{kfmt, CellResult, Machine, CONTENDERS, SWEEP_DEPTHS};
use std::fmt::Write as _;

fn nice_max(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    for m in [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if m * p >= x {
            return m * p;
        }
    }
    10.0 * p
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Dash pattern of a contender's line: dashed for a forced aio-rs engine, dotted for the
/// io_uring-forbidden rows.
fn dash(ci: usize) -> &'static str {
    let c = &CONTENDERS[ci];
    if c.nouring {
        " stroke-dasharray=\"2,3\""
    } else if c.preload && c.backend.is_some() {
        " stroke-dasharray=\"5,3\""
    } else {
        ""
    }
}

const WIDTH: f64 = 1200.0;

pub fn chart(res: &[CellResult], m: &Machine) -> String {
    let mut body = String::new();
    let mut y = 0.0;
    let _ = writeln!(body, "<text x=\"20\" y=\"24\" font-size=\"15\" font-weight=\"bold\">aio-rs benchmark: medians and the spread (min..max) of the repetitions</text>");
    let _ = writeln!(
        body,
        "<text x=\"20\" y=\"42\" font-size=\"11\" fill=\"#555\">{} | {} cores | kernel {} | {} | glibc {} | load {}</text>",
        xml(&m.cpu),
        m.cores,
        xml(&m.kernel),
        xml(&m.fstype),
        xml(&m.glibc),
        xml(&m.load_start)
    );
    y += 56.0;
    if res.iter().any(|c| c.cell.workload == "randread" && c.cell.kind == crate::Kind::Std) {
        y = sweep(&mut body, res, y);
    }
    y = panels(&mut body, res, y);
    let height = y + 20.0;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{body}</svg>\n"
    )
}

/// The depth sweep of the O_DIRECT random reads; returns the y below it.
fn sweep(s: &mut String, res: &[CellResult], top: f64) -> f64 {
    let (pw, ph) = (400.0, 280.0); // plot area of one panel
    let (ml, gap) = (70.0, 90.0);
    let mt = top + 40.0;
    let legend_w = 250.0;
    let cells: Vec<&CellResult> = res.iter().filter(|c| c.cell.workload == "randread" && c.cell.kind == crate::Kind::Std).collect();
    let mut ymax: f64 = 0.0;
    for cr in &cells {
        for r in &cr.per {
            if r.median.is_some() {
                ymax = ymax.max(if r.max_iops.is_finite() { r.max_iops } else { 0.0 });
            }
        }
    }
    let ymax = nice_max(ymax * 1.05);
    let xpos = |d: u32| (d as f64).log2() / 256f64.log2() * pw;
    let ypos = |v: f64| ph - v / ymax * ph;
    let _ = writeln!(s, "<text x=\"{ml}\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">O_DIRECT 4 KiB random read: IOPS by queue depth</text>", top + 8.0);
    for (pi, threads) in [1u32, 2].iter().enumerate() {
        let ox = ml + pi as f64 * (pw + gap);
        let _ = writeln!(s, "<g transform=\"translate({ox},{mt})\">");
        for k in 0..=5 {
            let v = ymax * k as f64 / 5.0;
            let yy = ypos(v);
            let _ = writeln!(s, "<line x1=\"0\" y1=\"{yy:.1}\" x2=\"{pw}\" y2=\"{yy:.1}\" stroke=\"#e5e5e5\"/>");
            let _ = writeln!(s, "<text x=\"-8\" y=\"{:.1}\" text-anchor=\"end\">{}</text>", yy + 4.0, kfmt(v));
        }
        for d in SWEEP_DEPTHS {
            let x = xpos(d);
            let _ = writeln!(s, "<line x1=\"{x:.1}\" y1=\"{ph}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#333\"/>", ph + 5.0);
            let _ = writeln!(s, "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{d}</text>", ph + 19.0);
        }
        let _ = writeln!(s, "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"{ph}\" stroke=\"#333\"/>");
        let _ = writeln!(s, "<line x1=\"0\" y1=\"{ph}\" x2=\"{pw}\" y2=\"{ph}\" stroke=\"#333\"/>");
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">queue depth{} (log scale)</text>",
            pw / 2.0,
            ph + 38.0,
            if *threads > 1 { " per thread" } else { "" }
        );
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"-10\" text-anchor=\"middle\" font-weight=\"bold\">{} submitting thread{}</text>",
            pw / 2.0,
            threads,
            if *threads > 1 { "s" } else { "" }
        );
        if pi == 0 {
            let _ = writeln!(s, "<text transform=\"translate(-55,{}) rotate(-90)\" text-anchor=\"middle\">IOPS</text>", ph / 2.0);
        }
        for (ci, c) in CONTENDERS.iter().enumerate() {
            // (x, median y, min y, max y); a small sideways offset per contender keeps the
            // whiskers apart.
            let off = (ci as f64 - CONTENDERS.len() as f64 / 2.0) * 1.5;
            let pts: Vec<(f64, f64, f64, f64)> = cells
                .iter()
                .filter(|cr| cr.cell.threads == *threads && cr.per[ci].part)
                .filter_map(|cr| {
                    let r = &cr.per[ci];
                    r.median.as_ref().map(|sm| (xpos(cr.cell.depth) + off, ypos(sm.iops), ypos(r.min_iops), ypos(r.max_iops)))
                })
                .collect();
            if pts.is_empty() {
                continue;
            }
            if pts.len() > 1 {
                let p: Vec<String> = pts.iter().map(|(x, y, _, _)| format!("{x:.1},{y:.1}")).collect();
                let _ = writeln!(s, "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>", p.join(" "), c.color, dash(ci));
            }
            for (x, yy, lo, hi) in pts {
                if lo.is_finite() && hi.is_finite() && (lo - hi).abs() > 0.5 {
                    let _ = writeln!(s, "<line x1=\"{x:.1}\" y1=\"{lo:.1}\" x2=\"{x:.1}\" y2=\"{hi:.1}\" stroke=\"{}\" stroke-width=\"1\"/>", c.color);
                    for e in [lo, hi] {
                        let _ = writeln!(s, "<line x1=\"{:.1}\" y1=\"{e:.1}\" x2=\"{:.1}\" y2=\"{e:.1}\" stroke=\"{}\"/>", x - 3.0, x + 3.0, c.color);
                    }
                }
                let _ = writeln!(s, "<circle cx=\"{x:.1}\" cy=\"{yy:.1}\" r=\"3\" fill=\"{}\"><title>{}</title></circle>", c.color, xml(c.label));
            }
        }
        let _ = writeln!(s, "</g>");
    }
    // Legend: the contenders with data in these cells.
    let present: Vec<usize> = (0..CONTENDERS.len()).filter(|&i| cells.iter().any(|cr| cr.per[i].median.is_some())).collect();
    let lx = ml + 2.0 * pw + gap + 30.0;
    let _ = writeln!(s, "<g transform=\"translate({lx},{mt})\">");
    let _ = writeln!(s, "<rect x=\"-8\" y=\"-14\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#ccc\"/>", legend_w, present.len() as f64 * 20.0 + 44.0);
    for (k, &i) in present.iter().enumerate() {
        let c = &CONTENDERS[i];
        let yy = k as f64 * 20.0;
        let _ = writeln!(s, "<line x1=\"0\" y1=\"{yy}\" x2=\"24\" y2=\"{yy}\" stroke=\"{}\" stroke-width=\"2\"{}/>", c.color, dash(i));
        let _ = writeln!(s, "<text x=\"30\" y=\"{}\">{}</text>", yy + 4.0, xml(c.label));
    }
    let yy = present.len() as f64 * 20.0;
    let _ = writeln!(s, "<text x=\"0\" y=\"{}\" font-size=\"10\" fill=\"#555\">pread: depth 1 only; whiskers: min..max</text>", yy + 6.0);
    let _ = writeln!(s, "<text x=\"0\" y=\"{}\" font-size=\"10\" fill=\"#555\">dotted: io_uring forbidden (seccomp)</text>", yy + 20.0);
    let _ = writeln!(s, "</g>");
    mt + ph + 60.0
}

/// One panel per cell; returns the y below them.
fn panels(s: &mut String, res: &[CellResult], top: f64) -> f64 {
    const COLS: usize = 3;
    const ROW_H: f64 = 15.0;
    let pw = (WIDTH - 40.0) / COLS as f64; // panel width incl. its gap
    let (label_w, bar_w) = (185.0, pw - 185.0 - 60.0);
    let mut y = top;
    if res.is_empty() {
        return y;
    }
    let _ = writeln!(s, "<text x=\"20\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">Every workload: median (bar) and min..max of the repetitions (whisker)</text>", y + 8.0);
    y += 30.0;
    for chunk in res.chunks(COLS) {
        let nrows = chunk.iter().map(|cr| cr.per.iter().filter(|r| r.part).count()).max().unwrap_or(0);
        let ph = 34.0 + nrows as f64 * ROW_H;
        for (k, cr) in chunk.iter().enumerate() {
            let ox = 20.0 + k as f64 * pw;
            let _ = writeln!(s, "<g transform=\"translate({ox:.1},{y:.1})\">");
            let _ = writeln!(s, "<rect x=\"0\" y=\"0\" width=\"{:.1}\" height=\"{ph:.1}\" fill=\"#fafafa\" stroke=\"#ddd\"/>", pw - 10.0);
            let _ = writeln!(
                s,
                "<text x=\"6\" y=\"15\" font-weight=\"bold\">{}</text><text x=\"{:.1}\" y=\"15\" text-anchor=\"end\" font-size=\"10\" fill=\"#555\">{}</text>",
                xml(&cr.cell.id),
                pw - 16.0,
                cr.cell.unit()
            );
            let _ = writeln!(s, "<title>{}</title>", xml(&cr.cell.title));
            let vmax = nice_max(
                cr.per.iter().filter(|r| r.part && r.median.is_some()).map(|r| r.max_iops).filter(|x| x.is_finite()).fold(0.0, f64::max) * 1.02,
            );
            let xs = |v: f64| label_w + v / vmax * bar_w;
            let mut row = 0.0;
            for (ci, r) in cr.per.iter().enumerate() {
                if !r.part {
                    continue;
                }
                let c = &CONTENDERS[ci];
                let ry = 26.0 + row * ROW_H;
                row += 1.0;
                let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\">{}</text>", label_w - 4.0, ry + 9.0, xml(c.label));
                match &r.median {
                    Some(sm) => {
                        let op = if c.nouring { " fill-opacity=\"0.55\"" } else { "" };
                        let _ = writeln!(
                            s,
                            "<rect x=\"{label_w}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"{op}/>",
                            ry + 1.0,
                            (xs(sm.iops) - label_w).max(0.5),
                            ROW_H - 4.0,
                            c.color
                        );
                        if r.min_iops.is_finite() && r.max_iops.is_finite() {
                            let (a, b, m) = (xs(r.min_iops), xs(r.max_iops), ry + ROW_H / 2.0 - 1.0);
                            let _ = writeln!(s, "<line x1=\"{a:.1}\" y1=\"{m:.1}\" x2=\"{b:.1}\" y2=\"{m:.1}\" stroke=\"#222\"/>");
                            for e in [a, b] {
                                let _ = writeln!(s, "<line x1=\"{e:.1}\" y1=\"{:.1}\" x2=\"{e:.1}\" y2=\"{:.1}\" stroke=\"#222\"/>", m - 3.0, m + 3.0);
                            }
                        }
                        let v = if cr.cell.unit() == "IOPS" { kfmt((sm.iops / 100.0).round() * 100.0) } else { format!("{:.0}", sm.iops) };
                        let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{}</text>", label_w + bar_w + 6.0, ry + 9.0, v);
                    }
                    None => {
                        let why = if r.skipped.is_some() { "skipped" } else { "failed" };
                        let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#999\">{why}</text>", label_w + 4.0, ry + 9.0);
                    }
                }
            }
            let _ = writeln!(s, "</g>");
        }
        y += ph + 12.0;
    }
    y
}
