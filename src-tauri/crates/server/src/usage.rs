//! Monthly usage from the index's file rows: the peak of concurrent recording channels (what
//! the service bills by), per month and per UTC day, with the bytes and files recorded.

use std::collections::BTreeMap;

use tally_api::usage::{DayUsage, Usage};

/// Price of one peak channel for a month.
pub const PRICE_PER_CHANNEL_CNY: i64 = 30;

const DAY_MS: i64 = 86_400_000;

/// One indexed file, as usage needs it.
#[derive(Debug, Clone)]
pub struct FileSpan {
    /// The recording the file belongs to: `(stream_code, record_id)`. Channel mode's
    /// `record_id` is the task id, so one task is one channel; the formats a recording writes
    /// share the key and so count once.
    pub channel: (String, String),
    pub start_ms: i64,
    pub end_ms: i64,
    pub size: i64,
}

/// A `YYYY-MM` month as `[start, end)` in unix ms (UTC), or `None` if it is not one.
pub fn month_bounds(month: &str) -> Option<(i64, i64)> {
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
    if !(1..=12).contains(&m) {
        return None;
    }
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Some((
        days_from_civil(y, m, 1) * DAY_MS,
        days_from_civil(ny, nm, 1) * DAY_MS,
    ))
}

/// The `YYYY-MM` month (UTC) of a unix ms instant.
pub fn month_of(ms: i64) -> String {
    civil_date(ms.div_euclid(DAY_MS))[..7].to_owned()
}

/// The usage of `month` (`[from, to)` from [`month_bounds`]) given every file that overlaps it.
pub fn compute(month: &str, (from, to): (i64, i64), files: &[FileSpan]) -> Usage {
    let mut by_channel: BTreeMap<&(String, String), Vec<(i64, i64)>> = BTreeMap::new();
    for f in files {
        by_channel
            .entry(&f.channel)
            .or_default()
            .push((f.start_ms, f.end_ms));
    }
    let channels: Vec<Vec<(i64, i64)>> = by_channel.into_values().map(union).collect();

    let started: Vec<&FileSpan> = files
        .iter()
        .filter(|f| (from..to).contains(&f.start_ms))
        .collect();
    // A file's bytes count on the UTC day it started, as they count in the month it started.
    let mut day_bytes = vec![0_i64; ((to - from) / DAY_MS) as usize];
    for f in &started {
        if let Some(bytes) = day_bytes.get_mut(((f.start_ms - from) / DAY_MS) as usize) {
            *bytes += f.size;
        }
    }
    let days = (from..to)
        .step_by(DAY_MS as usize)
        .zip(day_bytes)
        .map(|(day, bytes)| DayUsage {
            date: civil_date(day / DAY_MS),
            peak_channels: peak(&channels, day, day + DAY_MS),
            bytes,
        })
        .collect();
    let peak_channels = peak(&channels, from, to);
    Usage {
        month: month.to_owned(),
        peak_channels,
        price_per_channel_cny: PRICE_PER_CHANNEL_CNY,
        price_cny: peak_channels * PRICE_PER_CHANNEL_CNY,
        bytes: started.iter().map(|f| f.size).sum(),
        files: started.len() as i64,
        days,
    }
}

/// The union of one channel's intervals, as disjoint sorted intervals. Without it a
/// recording writing FLV and MP4 at once would count as two channels.
fn union(mut spans: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    spans.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// Most channels open at once within `[from, to)`. Intervals are half-open: one ending at the
/// instant another starts does not overlap it.
fn peak(channels: &[Vec<(i64, i64)>], from: i64, to: i64) -> i64 {
    let mut edges: Vec<(i64, i64)> = Vec::new();
    for &(start, end) in channels.iter().flatten() {
        let (start, end) = (start.max(from), end.min(to));
        if start < end {
            edges.push((start, 1));
            edges.push((end, -1));
        }
    }
    // At equal times the -1 sorts first, so touching intervals never count together.
    edges.sort_unstable();
    let (mut open, mut most) = (0, 0);
    for (_, delta) in edges {
        open += delta;
        most = most.max(open);
    }
    most
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` of a day number since 1970-01-01.
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV: &str = "2026-11";

    fn nov() -> (i64, i64) {
        month_bounds(NOV).unwrap()
    }

    fn file(channel: &str, start_ms: i64, end_ms: i64) -> FileSpan {
        FileSpan {
            channel: (channel.to_owned(), String::new()),
            start_ms,
            end_ms,
            size: 1000,
        }
    }

    #[test]
    fn months_are_utc_calendar_months() {
        assert_eq!(month_bounds("1970-01"), Some((0, 31 * DAY_MS)));
        let (from, to) = month_bounds("2024-02").unwrap();
        assert_eq!((to - from) / DAY_MS, 29, "leap February");
        assert_eq!(
            month_bounds("2026-12").unwrap().1,
            month_bounds("2027-01").unwrap().0
        );
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-11",
            "2026/11",
            "",
            "2026-11-01",
            "abcd-ef",
        ] {
            assert_eq!(month_bounds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn three_overlapping_channels_and_one_apart_peak_at_three() {
        let (from, _) = nov();
        let h = 3_600_000;
        let files = [
            file("a", from + h, from + 4 * h),
            file("b", from + 2 * h, from + 5 * h),
            file("c", from + 3 * h, from + 6 * h),
            file("d", from + 10 * h, from + 11 * h),
        ];
        let usage = compute(NOV, nov(), &files);
        assert_eq!(usage.peak_channels, 3);
        assert_eq!(usage.price_cny, 90);
        assert_eq!((usage.files, usage.bytes), (4, 4000));
        assert_eq!(usage.days.len(), 30);
        assert_eq!(usage.days[0].date, "2026-11-01");
        assert_eq!(usage.days[0].peak_channels, 3);
        assert_eq!(usage.days[29].date, "2026-11-30");
        assert_eq!(usage.days[1].peak_channels, 0);
    }

    #[test]
    fn touching_intervals_do_not_overlap() {
        let (from, _) = nov();
        let files = [
            file("a", from, from + 1000),
            file("b", from + 1000, from + 2000),
        ];
        assert_eq!(compute(NOV, nov(), &files).peak_channels, 1);
    }

    #[test]
    fn formats_of_one_recording_count_as_one_channel() {
        let (from, _) = nov();
        let files = [
            file("a", from, from + 5000),
            file("a", from + 10, from + 4990),
        ];
        assert_eq!(compute(NOV, nov(), &files).peak_channels, 1);
    }

    #[test]
    fn each_day_has_the_bytes_of_the_files_that_started_on_it() {
        let (from, to) = nov();
        let sized = |start_ms: i64, end_ms: i64, size: i64| FileSpan {
            size,
            ..file("a", start_ms, end_ms)
        };
        let files = [
            // Started in October: neither a November day's nor the month's.
            sized(from - 5_000, from + 5_000, 7),
            sized(from, from + 1_000, 100),
            // The last millisecond of November 1st, running into the 2nd: the 1st's.
            sized(from + DAY_MS - 1, from + DAY_MS + 60_000, 20),
            sized(from + DAY_MS, from + DAY_MS + 1_000, 3),
            sized(to - 1, to + 1_000, 4_000),
        ];
        let usage = compute(NOV, nov(), &files);
        assert_eq!(usage.days[0].bytes, 120);
        assert_eq!(usage.days[1].bytes, 3);
        assert_eq!(usage.days[29].bytes, 4_000);
        assert!(usage.days[2..29].iter().all(|d| d.bytes == 0));
        let by_day: i64 = usage.days.iter().map(|d| d.bytes).sum();
        assert_eq!((by_day, usage.bytes), (4_123, 4_123));
    }

    #[test]
    fn recordings_crossing_the_month_boundary_count_only_inside_it() {
        let (from, to) = nov();
        // Both overlap each other only in October; in November they follow one another.
        let files = [
            file("a", from - 10_000, from + 5_000),
            file("b", from - 5_000, from),
            file("c", to - 1_000, to + 60_000),
            file("d", to, to + 60_000),
        ];
        let usage = compute(NOV, nov(), &files);
        assert_eq!(usage.peak_channels, 1);
        // Only the files that started in November are counted as stored in it.
        assert_eq!(usage.files, 1);
        assert_eq!(usage.days[0].peak_channels, 1);
        assert_eq!(usage.days[29].peak_channels, 1);
    }
}
