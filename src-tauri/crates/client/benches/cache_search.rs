//! Benchmark of the console's recordings cache at scale (not a test): fills a cache with N rows
//! (default 1,000,000) and times typical searches. Prints one JSON object.
//!
//! `cargo bench -p tally-client --bench cache_search -- [rows] [runs]`
//!
//! Set `TALLY_BENCH_CACHE=<file>` to keep the filled cache in that file and reuse it on the next
//! run (a file holding another number of rows is refused); reported numbers come from a fresh
//! fill (the variable unset).

use std::time::Instant;
use tally_api::recordings::{FileFormat, Recording};

use tally_client::cache::{SearchQuery, Sort};
use tally_client::{CachedRecording, RecordingCache};

const SUBJECTS: [&str; 8] = [
    "数学", "物理", "化学", "英语", "语文", "历史", "地理", "生物",
];
const SHOWS: [&str; 4] = ["Morning show", "Evening news", "Lab session", "Q&A"];
const T0: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;

/// A deterministic pseudo-random sequence, so runs are comparable.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn row(server_id: i64, n: i64, rng: &mut Lcg) -> CachedRecording {
    let file_name = if n % 3 == 0 {
        format!("{} ep{}", SHOWS[(n % 4) as usize], n / 12)
    } else {
        format!(
            "{}课第{}讲 {}班",
            SUBJECTS[(n % 8) as usize],
            rng.next() % 200,
            rng.next() % 50
        )
    };
    let code = format!(
        "8888_{:08x}{:08x}{:08x}{:08x}",
        rng.next(),
        rng.next(),
        rng.next(),
        rng.next()
    );
    let start_ms = T0 + n * MINUTE / 2;
    CachedRecording {
        server_id,
        recording: Recording {
            file_id: (9_000_000_000_000 + n).to_string(),
            video_id: format!("1400_{n:032x}"),
            record_file_id: (9_000_000_000_000 + n).to_string(),
            channel_id: code.clone(),
            stream_code: code,
            room_id: format!("room-{}", rng.next() % 5_000),
            user_id: format!("user{}", rng.next() % 20_000),
            record_id: format!("r{}", n / 4),
            file_name,
            tags: vec!["lesson".into(), "live".into()],
            format: [FileFormat::Mp4, FileFormat::Flv, FileFormat::Hls][(n % 3) as usize],
            url: format!("http://127.0.0.1:8080/vod/live/{n}.mp4"),
            size: (rng.next() % 2_000_000_000) as i64,
            start_ms,
            end_ms: start_ms + 90 * MINUTE,
            duration_ms: 90 * MINUTE,
            video_codec: Some("h264".into()),
            audio_codec: Some("aac".into()),
            width: Some(1280),
            height: Some(720),
            created_ms: start_ms + 91 * MINUTE,
            updated_ms: start_ms + 91 * MINUTE,
            callback_state: tally_api::recordings::CallbackState::Delivered,
            recovered: false,
            deleted: false,
            thumbnail_url: None,
            missing: false,
        },
        download_state: "none".into(),
        download_path: None,
        downloaded_bytes: 0,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn time_case(
    cache: &RecordingCache,
    runs: usize,
    mut make: impl FnMut(usize) -> SearchQuery,
) -> serde_json::Value {
    let mut ms = Vec::with_capacity(runs);
    let mut hits = 0usize;
    for i in 0..runs {
        let query = make(i);
        let start = Instant::now();
        let page = cache.search(&query).await.expect("search");
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
        hits += page.rows.len();
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    serde_json::json!({
        "runs": runs,
        "p50_ms": (percentile(&ms, 0.5) * 1000.0).round() / 1000.0,
        "p95_ms": (percentile(&ms, 0.95) * 1000.0).round() / 1000.0,
        "max_ms": (ms[ms.len() - 1] * 1000.0).round() / 1000.0,
        "mean_rows_per_page": hits as f64 / runs as f64,
    })
}

/// Fills an empty `cache` with `rows` synthetic rows, in start order.
async fn fill_cache(cache: &RecordingCache, server: i64, rows: i64) {
    let mut rng = Lcg(42);
    let mut batch = Vec::with_capacity(10_000);
    for n in 0..rows {
        batch.push(row(server, n, &mut rng));
        if batch.len() == 10_000 {
            cache.upsert(&batch).await.expect("insert");
            batch.clear();
        }
    }
    cache.upsert(&batch).await.expect("insert");
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let rows: i64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);

    let dir = tempfile::tempdir().expect("temp dir");
    let path = std::env::var_os("TALLY_BENCH_CACHE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("cache.db"));
    let (cache, _) = RecordingCache::open(&path).await.expect("open");
    let server = cache
        .server_id("http://127.0.0.1:8080")
        .await
        .expect("server");

    let fill = Instant::now();
    match cache.count().await.expect("count") {
        0 => fill_cache(&cache, server, rows).await,
        n if n == rows => {}
        n => panic!("{} holds {n} rows, not {rows}: delete it", path.display()),
    }
    let fill_s = fill.elapsed().as_secs_f64();
    let db_bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    let span_ms = rows * MINUTE / 2;
    let mut rng = Lcg(7);
    let first_page = time_case(&cache, runs, |_| SearchQuery {
        limit: 50,
        ..Default::default()
    })
    .await;
    let latin_prefix = time_case(&cache, runs, |i| SearchQuery {
        text: format!("{} ep{}", SHOWS[i % 4], rng.next() % 1_000),
        limit: 50,
        ..Default::default()
    })
    .await;
    let mut rng = Lcg(8);
    let stream_code_prefix = time_case(&cache, runs, |_| SearchQuery {
        text: format!("8888_{:04x}", rng.next() % 0x8000),
        limit: 50,
        ..Default::default()
    })
    .await;
    let mut rng = Lcg(9);
    let chinese_substring = time_case(&cache, runs, |i| SearchQuery {
        text: format!("{}课第{}讲", SUBJECTS[i % 8], rng.next() % 200),
        limit: 50,
        ..Default::default()
    })
    .await;
    let chinese_short = time_case(&cache, runs, |i| SearchQuery {
        text: SUBJECTS[i % 8].into(),
        limit: 50,
        ..Default::default()
    })
    .await;
    let rare_two_chars = time_case(&cache, runs.min(20), |_| SearchQuery {
        text: "鲸鱼".into(),
        limit: 50,
        ..Default::default()
    })
    .await;
    let mut rng = Lcg(10);
    let by_date = time_case(&cache, runs, |_| {
        let from = T0 + (rng.next() as i64 % span_ms.max(1));
        SearchQuery {
            format: Some("mp4".into()),
            from_ms: Some(from),
            to_ms: Some(from + 24 * 60 * MINUTE),
            sort: Sort::NewestFirst,
            limit: 50,
            ..Default::default()
        }
    })
    .await;

    let report = serde_json::json!({
        "benchmark": "recordings_cache_search",
        "rows": rows,
        "fill_seconds": (fill_s * 10.0).round() / 10.0,
        "db_bytes": db_bytes,
        "cases": {
            "first_page": first_page,
            "latin_text": latin_prefix,
            "stream_code_prefix": stream_code_prefix,
            "chinese_substring": chinese_substring,
            "chinese_two_chars": chinese_short,
            "rare_two_chars_bounded_scan": rare_two_chars,
            "filtered_by_date_and_format": by_date,
        },
        "target_p95_ms": 20,
    });
    println!("{}", serde_json::to_string_pretty(&report).expect("json"));
}
