//! Randomized kill -9 runs (default 100; `TALLY_CRASH_RUNS=n`): each picks a set of formats,
//! a crash point that set reaches and one of its visits, kills the server there while it
//! records, restarts it and checks that no file was lost. Prints one JSON line per run and a summary; exits non-zero
//! if any promise broke. `cargo bench -p tally-server --bench crash_soak`.

#[path = "../tests/common/crash.rs"]
mod crash;

use std::path::Path;

#[tokio::main]
async fn main() {
    let runs: u32 = std::env::var("TALLY_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let bin = Path::new(env!("CARGO_BIN_EXE_tally-server"));
    let formats = ["flv", "mp4", "hls", "flv,mp4", "flv,mp4,hls"];
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut next = move |n: u64| {
        // xorshift: enough to spread the runs, no dependency.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let (mut failed, mut crashed) = (0, 0);
    for i in 0..runs {
        let f = formats[next(formats.len() as u64) as usize];
        // Only points this run reaches: fragment fsyncs and the remux are MP4's; the others
        // come once per file closed (one file per format here).
        let points: Vec<&str> = tally_media::crashpoint::POINTS
            .iter()
            .copied()
            .filter(|p| f.contains("mp4") || !["after_part_fsync", "mid_finalize"].contains(p))
            .collect();
        let point = points[next(points.len() as u64) as usize];
        let visits = match point {
            "after_part_fsync" => 3,
            "mid_finalize" => 1,
            _ => f.split(',').count() as u64,
        };
        let nth = 1 + next(visits) as u32;
        let seconds = 3 + next(4) as u32;
        let run = crash::crash_run(bin, point, nth, f, seconds).await;
        crashed += u32::from(run.crashed);
        if !run.problems.is_empty() {
            failed += 1;
        }
        println!(
            "{}",
            serde_json::json!({"run": i, "crash_at": run.crash_at, "formats": f, "seconds": seconds,
                "crashed": run.crashed, "files": run.files, "problems": run.problems})
        );
    }
    println!(
        "{}",
        serde_json::json!({"runs": runs, "crashed": crashed, "failed": failed})
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
