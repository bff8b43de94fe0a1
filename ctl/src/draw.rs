//! Listening patterns drawn in the terminal: bars of Unicode eighth blocks for
//! the timeline and the clock, shades for the heatmap and the calendar, fitted
//! to the width, in colour only when stdout is a terminal.

use std::io::{self, IsTerminal, Write};

use musique_api::{CalendarAnswer, ClockAnswer, HeatmapAnswer, Measure, Span, Step, Timeline};

use crate::output::{self, nothing_in};

/// Where the drawing goes: how wide it may be and whether to colour it.
pub(crate) struct Canvas {
    /// Columns to fit.
    pub(crate) width: usize,
    /// Whether to colour (stdout is a terminal and `NO_COLOR` is unset).
    pub(crate) colour: bool,
    /// The width tables fit, as `output::terminal_width`: none for a file or a pipe.
    pub(crate) tables: Option<u16>,
}

/// Width assumed when stdout is not a terminal and `COLUMNS` is unset.
const DEFAULT_WIDTH: usize = 80;

/// Eighths of a block, for bars.
const EIGHTHS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
/// Shades from empty to full, for the heatmap and the calendar.
const SHADES: [char; 5] = ['·', '░', '▒', '▓', '█'];
/// Weekday labels, Monday first.
pub(crate) const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// Month labels.
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

impl Canvas {
    /// The canvas of stdout.
    pub(crate) fn stdout() -> Canvas {
        let width = output::terminal_width().map_or(DEFAULT_WIDTH, usize::from);
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Canvas { width: width.max(20), colour, tables: output::terminal_width() }
    }

    pub(crate) fn paint(&self, text: &str) -> String {
        if self.colour { console::style(text).green().force_styling(true).to_string() } else { text.to_owned() }
    }
}

/// The timeline: one line per bucket, its start, a bar and its value.
pub(crate) fn timeline(out: &mut impl Write, timeline: &Timeline, canvas: &Canvas) -> io::Result<()> {
    if timeline.buckets.iter().all(|bucket| bucket.plays == 0) {
        return writeln!(out, "{}", nothing_in(&timeline.span));
    }
    writeln!(out, "{} per {}, {}", timeline.by, timeline.step, heading(&timeline.span))?;
    let rows: Vec<(String, u64)> = timeline
        .buckets
        .iter()
        .map(|bucket| (label(&bucket.start, timeline.step), value(bucket.plays, bucket.ms, timeline.by)))
        .collect();
    bars(out, &rows, timeline.by, canvas)?;
    known(out, timeline.by, timeline.time_known, timeline.time_from_length)
}

/// The clock: one line per hour of the day.
pub(crate) fn clock(out: &mut impl Write, clock: &ClockAnswer, canvas: &Canvas) -> io::Result<()> {
    if clock.plays.iter().all(|plays| *plays == 0) {
        return writeln!(out, "{}", nothing_in(&clock.span));
    }
    writeln!(out, "{} per hour of the day, {}", clock.by, heading(&clock.span))?;
    let rows: Vec<(String, u64)> = (0..24)
        .map(|hour| {
            let (plays, ms) = (clock.plays.get(hour).copied(), clock.ms.get(hour).copied());
            (format!("{hour:02}h"), value(plays.unwrap_or(0), ms.unwrap_or(0), clock.by))
        })
        .collect();
    bars(out, &rows, clock.by, canvas)?;
    known(out, clock.by, clock.time_known, clock.time_from_length)
}

/// The heatmap: a row per weekday, a shaded cell per hour (two columns each when they fit).
pub(crate) fn heatmap(out: &mut impl Write, heatmap: &HeatmapAnswer, canvas: &Canvas) -> io::Result<()> {
    if heatmap.plays.iter().flatten().all(|plays| *plays == 0) {
        return writeln!(out, "{}", nothing_in(&heatmap.span));
    }
    writeln!(out, "{} per weekday and hour, {}", heatmap.by, heading(&heatmap.span))?;
    let cell = if canvas.width >= 4 + 48 { 2 } else { 1 };
    let values = match heatmap.by {
        Measure::Plays => &heatmap.plays,
        Measure::Time => &heatmap.ms,
    };
    let max = values.iter().flatten().copied().max().unwrap_or(0);
    let mut header = String::from("    ");
    for hour in (0..24).step_by(6) {
        header.push_str(&format!("{hour:<width$}", width = 6 * cell));
    }
    writeln!(out, "{}", header.trim_end())?;
    for (weekday, hours) in values.iter().enumerate().take(7) {
        let mut line = String::new();
        for value in hours {
            let shade = shade(*value, max);
            line.extend(std::iter::repeat_n(shade, cell));
        }
        writeln!(out, "{} {}", WEEKDAYS[weekday], canvas.paint(&line))?;
    }
    legend(out, heatmap.by, max)?;
    known(out, heatmap.by, heatmap.time_known, heatmap.time_from_length)
}

/// The calendar: weeks as columns and weekdays as rows when the year fits the
/// width, else a row per month.
pub(crate) fn calendar(out: &mut impl Write, calendar: &CalendarAnswer, canvas: &Canvas) -> io::Result<()> {
    if calendar.plays.iter().all(|plays| *plays == 0) {
        return writeln!(out, "{}", nothing_in(&calendar.span));
    }
    writeln!(out, "{} per day, {}", calendar.by, heading(&calendar.span))?;
    let values = match calendar.by {
        Measure::Plays => &calendar.plays,
        Measure::Time => &calendar.ms,
    };
    let max = values.iter().copied().max().unwrap_or(0);
    let first = weekday_of(calendar.year, 1, 1);
    let weeks = (first + values.len()).div_ceil(7);
    let leap = values.len() == 366;
    // The day of the year each month starts on.
    let mut month_starts = [0usize; 12];
    for month in 1..12 {
        month_starts[month] = month_starts[month - 1] + month_length(month, leap);
    }
    if canvas.width >= 4 + weeks {
        let mut rows = vec![vec![' '; weeks]; 7];
        let mut months = vec![' '; weeks + 3];
        for (index, value) in values.iter().enumerate() {
            let slot = first + index;
            rows[slot % 7][slot / 7] = shade(*value, max);
        }
        for (month, start) in month_starts.iter().enumerate() {
            let column = (first + start).div_ceil(7).min(weeks);
            for (offset, letter) in MONTHS[month].chars().enumerate() {
                months[column + offset] = letter;
            }
        }
        writeln!(out, "    {}", months.iter().collect::<String>().trim_end())?;
        for (weekday, row) in rows.iter().enumerate() {
            writeln!(out, "{} {}", WEEKDAYS[weekday], canvas.paint(&row.iter().collect::<String>()))?;
        }
    } else {
        for (month, name) in MONTHS.iter().enumerate() {
            let start = month_starts[month];
            let days = values.iter().skip(start).take(month_length(month + 1, leap));
            let line: String = days.map(|value| shade(*value, max)).collect();
            writeln!(out, "{name} {}", canvas.paint(&line))?;
        }
    }
    legend(out, calendar.by, max)?;
    known(out, calendar.by, calendar.time_known, calendar.time_from_length)
}

/// Lines of `label  bar  value`, the bars scaled to the largest value and the width.
pub(crate) fn bars(out: &mut impl Write, rows: &[(String, u64)], by: Measure, canvas: &Canvas) -> io::Result<()> {
    let max = rows.iter().map(|(_, value)| *value).max().unwrap_or(0);
    let label_width = rows.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0);
    let texts: Vec<String> = rows.iter().map(|(_, value)| show(*value, by)).collect();
    let value_width = texts.iter().map(String::len).max().unwrap_or(0);
    let bar_width = canvas.width.saturating_sub(label_width + value_width + 2).max(1);
    for ((label, value), text) in rows.iter().zip(&texts) {
        let bar = bar(*value, max, bar_width);
        let padding = bar_width - bar.chars().count();
        writeln!(out, "{label:<label_width$} {}{} {text:>value_width$}", canvas.paint(&bar), " ".repeat(padding))?;
    }
    Ok(())
}

/// A bar of `value / max` of `cells` cells, in eighths.
fn bar(value: u64, max: u64, cells: usize) -> String {
    if max == 0 || value == 0 {
        return String::new();
    }
    let eighths = ((value as u128 * cells as u128 * 8) / max as u128).max(1) as usize;
    let mut bar: String = std::iter::repeat_n('█', eighths / 8).collect();
    if !eighths.is_multiple_of(8) {
        bar.push(EIGHTHS[eighths % 8 - 1]);
    }
    bar
}

/// Levels of a sparkline, lowest first.
const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A sparkline of `values`, `cell` columns each: a space for nothing, else a block as
/// high as the value's share of the largest.
pub(crate) fn spark(values: &[u64], cell: usize) -> String {
    let max = values.iter().copied().max().unwrap_or(0);
    let mut line = String::new();
    for value in values {
        let level = if *value == 0 || max == 0 {
            ' '
        } else {
            SPARKS[((*value as u128 * 8).div_ceil(max as u128) as usize).clamp(1, 8) - 1]
        };
        line.extend(std::iter::repeat_n(level, cell));
    }
    line
}

/// The hours of the day (24 values) as a sparkline over an axis labelled every six hours,
/// two columns an hour when they fit `canvas`, the lines indented by `indent`.
pub(crate) fn hours(out: &mut impl Write, values: &[u64], indent: &str, canvas: &Canvas) -> io::Result<()> {
    let cell = if canvas.width >= indent.len() + 48 { 2 } else { 1 };
    let mut axis = String::new();
    for hour in (0..24).step_by(6) {
        axis.push_str(&format!("{hour:<width$}", width = 6 * cell));
    }
    let max = values.iter().copied().max().unwrap_or(0);
    writeln!(out, "{indent}{}", canvas.paint(spark(values, cell).trim_end()))?;
    writeln!(out, "{indent}{}  (most: {max})", axis.trim_end())
}

/// The shade of `value` among values up to `max`: empty only for nothing.
fn shade(value: u64, max: u64) -> char {
    if value == 0 || max == 0 {
        return SHADES[0];
    }
    let level = (value * 4).div_ceil(max).clamp(1, 4);
    SHADES[level as usize]
}

fn legend(out: &mut impl Write, by: Measure, max: u64) -> io::Result<()> {
    writeln!(out, "{} none  {} most ({})", SHADES[0], SHADES[1..].iter().collect::<String>(), show(max, by))
}

fn known(out: &mut impl Write, by: Measure, time_known: u64, from_length: u64) -> io::Result<()> {
    if by == Measure::Time {
        writeln!(out, "{}", time_note(time_known, from_length))?;
    }
    Ok(())
}

/// What time listened counted: the listens with a time, and how many took their track's length.
pub(crate) fn time_note(time_known: u64, from_length: u64) -> String {
    match from_length {
        0 => format!("time counts the {time_known} listens with a known duration"),
        _ => format!(
            "time counts the {time_known} listens with a known duration ({from_length} by their track's length)"
        ),
    }
}

pub(crate) fn heading(span: &Span) -> String {
    match (&span.first_day, &span.last_day) {
        (Some(first), Some(last)) if first == last => format!("{first} ({})", span.tz),
        (Some(first), Some(last)) => format!("{first} to {last} ({})", span.tz),
        _ => format!("all time ({})", span.tz),
    }
}

/// Days in a month (1–12).
fn month_length(month: usize, leap: bool) -> usize {
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn value(plays: u64, ms: u64, by: Measure) -> u64 {
    match by {
        Measure::Plays => plays,
        Measure::Time => ms,
    }
}

fn show(value: u64, by: Measure) -> String {
    match by {
        Measure::Plays => value.to_string(),
        Measure::Time => output::time_listened(value),
    }
}

/// A bucket's label from its start (`2024-05-23T14:00:00+02:00`), as long as its step needs.
fn label(start: &str, step: Step) -> String {
    let keep = match step {
        Step::Hour => 16,
        Step::Day | Step::Week => 10,
        Step::Month => 7,
        Step::Year => 4,
    };
    let label: String = start.chars().take(keep).collect();
    label.replace('T', " ")
}

/// Day of the week of a date, Monday = 0.
fn weekday_of(year: i32, month: usize, day: usize) -> usize {
    const OFFSETS: [i32; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let year = if month < 3 { year - 1 } else { year };
    let sunday_first = (year + year / 4 - year / 100 + year / 400 + OFFSETS[month - 1] + day as i32).rem_euclid(7);
    ((sunday_first + 6) % 7) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_in_eighths() {
        assert_eq!(bar(10, 10, 4), "████");
        assert_eq!(bar(5, 10, 4), "██");
        assert_eq!(bar(1, 10, 4), "▍", "3.2 eighths");
        assert_eq!(bar(1, 1000, 4), "▏", "a play always shows");
        assert_eq!(bar(0, 10, 4), "");
    }

    #[test]
    fn sparklines_rise_with_the_values() {
        assert_eq!(spark(&[0, 1, 4, 8], 1), " ▁▄█");
        assert_eq!(spark(&[0, 2], 2), "  ██");
        assert_eq!(spark(&[0, 0], 1), "  ", "nothing is blank");
    }

    #[test]
    fn shades_and_weekdays() {
        assert_eq!([0, 1, 3, 5, 8].map(|value| shade(value, 8)), ['·', '░', '▒', '▓', '█']);
        assert_eq!(weekday_of(2024, 1, 1), 0, "a Monday");
        assert_eq!(weekday_of(2021, 1, 1), 4, "a Friday");
        assert_eq!(weekday_of(2023, 12, 31), 6, "a Sunday");
    }
}
