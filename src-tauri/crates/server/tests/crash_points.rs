//! kill -9 at each durable step of a file's life (TALLY_CRASH_AT): after the restart every
//! finished file has exactly one row, a delivered callback and plays. The randomized run of
//! 100+ crashes is `cargo bench -p tally-server --bench crash_soak`.

mod common;

#[path = "common/crash.rs"]
mod crash;

/// `point` or `point@n` (its n-th visit).
async fn survives(at: &str) {
    let (point, nth) = at.split_once('@').unwrap_or((at, "1"));
    let run = crash::crash_run(
        common::server_bin(),
        point,
        nth.parse().unwrap(),
        "flv,mp4,hls",
        4,
    )
    .await;
    assert!(run.crashed, "the server reached {point}: {run:?}");
    assert!(run.files >= 3, "{run:?}");
    assert!(run.problems.is_empty(), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_after_a_fragment_fsync_loses_no_file() {
    survives("after_part_fsync@3").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_in_the_middle_of_an_mp4_finalize_loses_no_file() {
    survives("mid_finalize").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_after_the_rename_loses_no_file() {
    survives("after_rename").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_after_the_manifest_loses_no_file() {
    survives("after_manifest").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_after_the_sidecar_removal_loses_no_file() {
    survives("after_sidecar_removal").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_after_the_row_commit_loses_no_file() {
    survives("after_row_commit").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_before_the_moov_room_is_given_back_loses_no_file() {
    survives("before_collapse").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_after_the_moov_room_is_given_back_loses_no_file() {
    survives("after_collapse").await;
}
