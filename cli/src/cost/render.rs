//! Projections as Markdown: a summary row per cloud, then a table per cloud (each line's
//! quantity, price, gross, free tier and net), its notes and the source of every price used.

use std::fmt::Write as _;

use super::prices::{AS_OF, Verification};
use super::{Estimate, Line};

/// `usd` as money: two decimals, thousands grouped; a non-zero amount that would round to
/// `$0.00` keeps four decimals, so that it does not read as free.
///
/// ```
/// use cloudport_cli::cost::money;
/// assert_eq!(money(1234.5), "$1,234.50");
/// assert_eq!(money(0.0032), "$0.0032");
/// assert_eq!(money(0.0), "$0.00");
/// assert_eq!(money(-2.5), "−$2.50");
/// ```
pub fn money(usd: f64) -> String {
    let sign = if usd < 0.0 { "−" } else { "" };
    let a = usd.abs();
    if a > 0.0 && a < 0.005 {
        return format!("{sign}${a:.4}");
    }
    let cents = (a * 100.0).round() as u64;
    format!("{sign}${}.{:02}", group(cents / 100), cents % 100)
}

/// `n` with its thousands grouped: `1,234,567`.
pub(crate) fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A quantity: whole numbers grouped, small fractions with up to four decimals.
fn quantity(q: f64) -> String {
    if q >= 100.0 || q.fract() == 0.0 {
        group(q.round() as u64)
    } else {
        let s = format!("{q:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn mark(line: &Line) -> &'static str {
    match line.price.verification {
        Verification::Seen | Verification::Corroborated(_) => "",
        Verification::AsPublished => " †",
    }
}

fn cloud_table(out: &mut String, e: &Estimate) {
    let _ = writeln!(
        out,
        "### {} — {} ({})\n",
        e.cloud.name(),
        e.platform,
        e.region
    );
    out.push_str("| Category | Item | Quantity | Price | Gross | Free tier | Net |\n");
    out.push_str("|---|---|---:|---|---:|---:|---:|\n");
    for l in &e.lines {
        let free = if l.free > 0.0 {
            format!(
                "{} {}: {}",
                quantity(l.free),
                l.price.unit,
                money(-l.free_usd())
            )
        } else {
            "—".to_owned()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} {} | {}{} | {} | {} | {} |",
            l.category.label(),
            l.price.what,
            quantity(l.quantity),
            l.price.unit,
            l.price.shown,
            mark(l),
            money(l.gross_usd()),
            free,
            money(l.net_usd())
        );
    }
    let _ = writeln!(
        out,
        "| **Total** | | | | {} | {} | **{} / month** |\n",
        money(e.gross_usd()),
        money(-e.free_usd()),
        money(e.total_usd())
    );
    for n in &e.notes {
        let _ = writeln!(out, "- {n}");
    }
    out.push_str("\nPrices (list prices, first tier):\n\n");
    for l in &e.lines {
        let how = match l.price.verification {
            Verification::Seen => format!("seen {AS_OF}"),
            Verification::Corroborated(page) => format!("seen {AS_OF} on <{page}>"),
            Verification::AsPublished => format!("as published on {AS_OF}; verify"),
        };
        let _ = writeln!(
            out,
            "- {}: {} — free: {} — <{}> ({how})",
            l.price.what, l.price.shown, l.price.free_terms, l.price.source
        );
    }
    out.push('\n');
}

/// The projections as Markdown: a summary table (one row per cloud), the volumes and the rules
/// that derived them, then each cloud's table, notes and price sources. `†` marks a price that
/// was not re-read on its page on the date the prices were collected.
pub fn render(estimates: &[Estimate]) -> String {
    let mut out = String::new();
    let Some(first) = estimates.first() else {
        return "No cloud to project.\n".to_owned();
    };
    let v = &first.volumes;
    let _ = writeln!(
        out,
        "Workload: {} invocations a month, {} ms each, {} MB; {} messages sent and {} delivered; {} objects written and {} read; {} KV reads and {} writes.\n",
        group(v.invocations),
        v.duration_ms,
        v.memory_mb,
        group(v.messages_sent),
        group(v.messages_delivered),
        group(v.objects_written),
        group(v.objects_read),
        group(v.kv_reads),
        group(v.kv_writes)
    );
    out.push_str("| Cloud | Platform | Region | Gross | Free tiers | Monthly total |\n");
    out.push_str("|---|---|---|---:|---:|---:|\n");
    for e in estimates {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | **{}** |",
            e.cloud.name(),
            e.platform,
            e.region,
            money(e.gross_usd()),
            money(-e.free_usd()),
            money(e.total_usd())
        );
    }
    let _ = writeln!(
        out,
        "\nList prices collected {AS_OF}; † = as published, confirmed on no page read: verify. USD, before tax, without discounts or credits.\n"
    );
    if !v.rules.is_empty() {
        out.push_str("How the volumes were obtained:\n\n");
        for r in &v.rules {
            let _ = writeln!(out, "- {r}");
        }
        out.push('\n');
    }
    for e in estimates {
        cloud_table(&mut out, e);
    }
    out
}
