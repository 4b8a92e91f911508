//! The recordings cache: search, paging, updates, and unusable files moved aside.

use tally_api::recordings::{CallbackState, FileFormat, Recording};
use tally_client::cache::{SearchQuery, Sort};
use tally_client::{CachedRecording, RecordingCache};

fn recording(server_id: i64, n: i64, file_name: &str, room: &str) -> CachedRecording {
    CachedRecording {
        server_id,
        recording: Recording {
            file_id: format!("{}", 9_000_000_000 + n),
            video_id: format!("1400_{n:032x}"),
            record_file_id: format!("{}", 9_000_000_000 + n),
            stream_code: format!("8888_{n:032x}"),
            channel_id: format!("8888_{n:032x}"),
            room_id: room.to_owned(),
            user_id: format!("user{}", n % 7),
            record_id: format!("r{n}"),
            file_name: file_name.to_owned(),
            tags: vec!["lesson".to_owned(), "math".to_owned()],
            format: if n % 2 == 0 {
                FileFormat::Mp4
            } else {
                FileFormat::Flv
            },
            url: format!("http://127.0.0.1:8080/vod/live/{n}.mp4"),
            size: 1_000 + n,
            start_ms: 1_700_000_000_000 + n * 60_000,
            end_ms: 1_700_000_000_000 + n * 60_000 + 30_000,
            duration_ms: 30_000,
            video_codec: Some("h264".into()),
            audio_codec: Some("aac".into()),
            width: Some(1280),
            height: Some(720),
            created_ms: 1_700_000_000_000 + n * 60_000 + 31_000,
            updated_ms: 1_700_000_000_000 + n * 60_000 + 31_000,
            callback_state: CallbackState::Delivered,
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

async fn cache_with(rows: &[CachedRecording]) -> (tempfile::TempDir, RecordingCache) {
    let dir = tempfile::tempdir().unwrap();
    let (cache, report) = RecordingCache::open(&dir.path().join("cache.db"))
        .await
        .unwrap();
    assert_eq!(report.moved_aside, None);
    let server = cache.server_id("http://127.0.0.1:8080").await.unwrap();
    assert_eq!(server, rows.first().map(|r| r.server_id).unwrap_or(server));
    cache.upsert(rows).await.unwrap();
    (dir, cache)
}

fn names(rows: &[CachedRecording]) -> Vec<&str> {
    rows.iter().map(|r| r.file_name.as_str()).collect()
}

#[tokio::test]
async fn chinese_substring_finds_the_file() {
    let (_dir, cache) = cache_with(&[
        recording(1, 1, "数学课第三讲录像", "room-a"),
        recording(1, 2, "English lesson", "room-a"),
        recording(1, 3, "物理课第一讲", "room-b"),
    ])
    .await;
    let query = |text: &str| SearchQuery {
        text: text.into(),
        ..Default::default()
    };
    assert_eq!(
        names(&cache.search(&query("第三讲")).await.unwrap().rows),
        ["数学课第三讲录像"]
    );
    // Two characters are below the trigram size: the LIKE fallback still finds substrings.
    assert_eq!(
        names(&cache.search(&query("物理")).await.unwrap().rows),
        ["物理课第一讲"]
    );
    assert_eq!(
        names(&cache.search(&query("nglish")).await.unwrap().rows),
        ["English lesson"]
    );
}

#[tokio::test]
async fn search_matches_stream_code_room_user_and_record_id() {
    let (_dir, cache) = cache_with(&[
        recording(1, 10, "a", "room-x"),
        recording(1, 11, "b", "room-y"),
    ])
    .await;
    let find = |text: String| {
        let cache = cache.clone();
        async move {
            let q = SearchQuery {
                text,
                ..Default::default()
            };
            names(&cache.search(&q).await.unwrap().rows)
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(find(format!("8888_{:032x}", 10)).await, ["a"]);
    // The seed's prefix form `<stream code>_<record id>`, and a bare stream code prefix.
    assert_eq!(find(format!("8888_{:032x}_r11", 11)).await, ["b"]);
    assert_eq!(find("8888_".into()).await.len(), 2);
    assert_eq!(find("room-y".into()).await, ["b"]);
    assert_eq!(find("r11".into()).await, ["b"]);
    assert_eq!(find("user4".into()).await, ["b"]);
}

#[tokio::test]
async fn typed_syntax_is_text_not_a_query() {
    let (_dir, cache) = cache_with(&[
        recording(1, 1, r#"say "hi" OR*"#, "r"),
        recording(1, 2, "100%_done", "r"),
    ])
    .await;
    for text in [r#""hi" OR*"#, "%_", "0%_d"] {
        let page = cache
            .search(&SearchQuery {
                text: text.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.rows.len(), 1, "{text}");
    }
    let none = cache
        .search(&SearchQuery {
            text: "%".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(names(&none.rows), ["100%_done"]);
}

#[tokio::test]
async fn filters_by_format_room_and_date() {
    let rows: Vec<_> = (0..20)
        .map(|n| recording(1, n, &format!("f{n}"), if n < 10 { "a" } else { "b" }))
        .collect();
    let (_dir, cache) = cache_with(&rows).await;
    let page = cache
        .search(&SearchQuery {
            format: Some("mp4".into()),
            room_id: Some("b".into()),
            from_ms: Some(rows[12].start_ms),
            to_ms: Some(rows[16].start_ms),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(names(&page.rows), ["f16", "f14", "f12"]);
}

#[tokio::test]
async fn paging_visits_every_row_once_in_order() {
    let rows: Vec<_> = (0..57)
        .map(|n| recording(1, n, &format!("f{n}"), "a"))
        .collect();
    let (_dir, cache) = cache_with(&rows).await;
    for sort in [Sort::NewestFirst, Sort::OldestFirst, Sort::LargestFirst] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = cache
                .search(&SearchQuery {
                    limit: 10,
                    after: after.clone(),
                    sort,
                    ..Default::default()
                })
                .await
                .unwrap();
            seen.extend(page.rows.iter().map(|r| r.start_ms));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let mut expected: Vec<i64> = rows.iter().map(|r| r.start_ms).collect();
        expected.sort();
        if sort != Sort::OldestFirst {
            expected.reverse();
        }
        assert_eq!(seen, expected, "{sort:?}");
    }
}

#[tokio::test]
async fn tags_with_spaces_and_the_recovered_and_missing_flags_come_back_as_the_server_gave_them() {
    let mut row = recording(1, 1, "第一课", "r");
    row.tags = vec!["grade 3".into(), "数学".into()];
    row.recovered = true;
    row.missing = true;
    row.thumbnail_url = Some("http://127.0.0.1:8080/vod/live/1.jpg".into());
    let (_dir, cache) = cache_with(std::slice::from_ref(&row)).await;
    let got = cache.get(1, &row.file_id).await.unwrap().unwrap();
    assert_eq!(got.tags, ["grade 3", "数学"]);
    assert!(got.recovered && got.missing);
    assert_eq!(got, row, "every field comes back as it went in");
    let found = cache
        .search(&SearchQuery {
            text: "grade 3".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(names(&found.rows), ["第一课"]);
}

#[tokio::test]
async fn bad_cursor_is_an_error() {
    let (_dir, cache) = cache_with(&[recording(1, 1, "a", "r")]).await;
    let err = cache
        .search(&SearchQuery {
            after: Some("nope".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("bad page cursor"), "{err}");
}

#[tokio::test]
async fn upsert_updates_changed_rows_and_hides_deleted_ones() {
    let mut row = recording(1, 1, "old name", "r");
    let (_dir, cache) = cache_with(&[row.clone()]).await;
    row.file_name = "新名字".into();
    row.callback_state = CallbackState::GaveUp;
    row.updated_ms += 1;
    cache.upsert(&[row.clone()]).await.unwrap();
    let got = cache.get(1, &row.file_id).await.unwrap().unwrap();
    assert_eq!(
        (got.file_name.as_str(), got.callback_state.as_str()),
        ("新名字", "gave_up")
    );
    assert!(cache
        .search(&SearchQuery {
            text: "old name".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .rows
        .is_empty());

    // An older copy of the row (a sync replaying a page) does not win over a newer one.
    let mut stale = row.clone();
    stale.file_name = "stale".into();
    stale.updated_ms -= 1;
    cache.upsert(&[stale]).await.unwrap();
    assert_eq!(
        cache.get(1, &row.file_id).await.unwrap().unwrap().file_name,
        "新名字"
    );

    row.deleted = true;
    row.updated_ms += 1;
    cache.upsert(&[row.clone()]).await.unwrap();
    assert!(cache
        .search(&SearchQuery::default())
        .await
        .unwrap()
        .rows
        .is_empty());
    let with_deleted = SearchQuery {
        include_deleted: true,
        ..Default::default()
    };
    assert_eq!(cache.search(&with_deleted).await.unwrap().rows.len(), 1);
    assert_eq!(cache.count().await.unwrap(), 1);
}

#[tokio::test]
async fn corrupt_cache_file_is_moved_aside_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    std::fs::write(
        &path,
        b"this is not a sqlite database, just some bytes on disk....",
    )
    .unwrap();
    let (cache, report) = RecordingCache::open(&path).await.unwrap();
    let status = cache.status(&report).await.unwrap();
    assert!(
        status.moved_aside.as_deref().unwrap().contains("unusable"),
        "{status:?}"
    );
    let (aside, reason) = report.moved_aside.expect("the bad file is moved aside");
    assert!(reason.contains("damaged or not a database"), "{reason}");
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        b"this is not a sqlite database, just some bytes on disk....",
        "the old file is kept, not dropped"
    );
    assert_eq!(cache.count().await.unwrap(), 0);
}

#[tokio::test]
async fn newer_schema_cache_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    {
        let (cache, _) = RecordingCache::open(&path).await.unwrap();
        cache
            .upsert(&[recording(cache.server_id("s").await.unwrap(), 1, "a", "r")])
            .await
            .unwrap();
        cache.close().await;
    }
    // Pretend a future Tally migrated it further.
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (9999, 'future', 1, x'00', 0)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    let (cache, report) = RecordingCache::open(&path).await.unwrap();
    let (_, reason) = report.moved_aside.expect("moved aside");
    assert!(reason.contains("newer Tally"), "{reason}");
    assert_eq!(cache.count().await.unwrap(), 0);
}

#[tokio::test]
async fn sync_page_and_cursor_are_stored_together() {
    let (_dir, cache) = cache_with(&[]).await;
    let server = cache.server_id("http://127.0.0.1:8080").await.unwrap();
    assert_eq!(cache.sync_cursor(server).await.unwrap(), None);
    assert_eq!(cache.last_synced(server).await.unwrap(), None);

    let page: Vec<_> = (0..3)
        .map(|n| recording(server, n, &format!("f{n}"), "r"))
        .collect();
    cache.apply_sync_page(server, &page, "c1").await.unwrap();
    // Replaying the same page (a sync cut before the next one started) adds nothing.
    cache.apply_sync_page(server, &page, "c1").await.unwrap();
    assert_eq!(cache.count().await.unwrap(), 3);
    assert_eq!(
        cache.sync_cursor(server).await.unwrap().as_deref(),
        Some("c1")
    );

    cache.mark_synced(server, 1_700_000_123_000).await.unwrap();
    assert_eq!(
        cache.last_synced(server).await.unwrap(),
        Some(1_700_000_123_000)
    );
}

#[tokio::test]
async fn servers_are_cached_side_by_side() {
    let (_dir, cache) = cache_with(&[]).await;
    let a = cache.server_id("http://a:8080").await.unwrap();
    let b = cache.server_id("http://b:8080").await.unwrap();
    assert_ne!(a, b);
    assert_eq!(cache.server_id("http://a:8080").await.unwrap(), a);
    // The same file id on two servers is two rows.
    cache
        .upsert(&[recording(a, 1, "on a", "r"), recording(b, 1, "on b", "r")])
        .await
        .unwrap();
    assert_eq!(
        cache.get(a, "9000000001").await.unwrap().unwrap().file_name,
        "on a"
    );
    assert_eq!(
        cache.get(b, "9000000001").await.unwrap().unwrap().file_name,
        "on b"
    );
    // A row leads back to its server.
    assert_eq!(
        cache.server_url(b).await.unwrap().as_deref(),
        Some("http://b:8080")
    );
    assert_eq!(cache.server_url(b + 100).await.unwrap(), None);
}

#[tokio::test]
async fn text_search_pages_in_time_order_when_start_times_tie() {
    // Pairs of files share a start (one recording written as FLV and MP4).
    let mut rows: Vec<_> = (0..9)
        .map(|n| {
            let mut r = recording(1, n, &format!("第{n}讲 lecture"), "a");
            r.start_ms = 1_700_000_000_000 + (n / 2) * 60_000;
            r
        })
        .collect();
    let (_dir, cache) = cache_with(&rows).await;
    // A corrected start moves a row to another place in time order.
    rows[0].start_ms = rows[8].start_ms + 1;
    rows[0].updated_ms += 1;
    cache.upsert(&rows[..1]).await.unwrap();

    for sort in [Sort::NewestFirst, Sort::OldestFirst] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = cache
                .search(&SearchQuery {
                    text: "lecture".into(),
                    limit: 2,
                    after: after.clone(),
                    sort,
                    ..Default::default()
                })
                .await
                .unwrap();
            seen.extend(page.rows.iter().map(|r| (r.start_ms, r.file_name.clone())));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), rows.len(), "{sort:?}: every row once");
        let mut names: Vec<_> = seen.iter().map(|(_, name)| name.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), rows.len(), "{sort:?}: no row twice");
        let starts: Vec<_> = seen.iter().map(|(start, _)| *start).collect();
        let mut expected = starts.clone();
        expected.sort();
        if sort == Sort::NewestFirst {
            expected.reverse();
        }
        assert_eq!(starts, expected, "{sort:?}");
    }

    // Other orders collect every match and sort it.
    let largest = cache
        .search(&SearchQuery {
            text: "lecture".into(),
            sort: Sort::LargestFirst,
            ..Default::default()
        })
        .await
        .unwrap();
    let sizes: Vec<_> = largest.rows.iter().map(|r| r.size).collect();
    assert_eq!(sizes, (0..9).rev().map(|n| 1_000 + n).collect::<Vec<_>>());

    let in_range = cache
        .search(&SearchQuery {
            text: "lecture".into(),
            from_ms: Some(rows[2].start_ms),
            to_ms: Some(rows[4].start_ms),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        names(&in_range.rows),
        [
            "第5讲 lecture",
            "第4讲 lecture",
            "第3讲 lecture",
            "第2讲 lecture"
        ]
    );
}

#[tokio::test]
async fn cache_of_the_first_schema_is_upgraded_and_still_found_by_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    {
        // A cache as the first release left it: only the first migration applied.
        let first = dir.path().join("first");
        std::fs::create_dir(&first).unwrap();
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/migrations/0001_recordings_cache.sql"
            ),
            first.join("0001_recordings_cache.sql"),
        )
        .unwrap();
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        sqlx::migrate::Migrator::new(first.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO servers (id, url) VALUES (1, 's')")
            .execute(&pool)
            .await
            .unwrap();
        for (n, name) in [(1, "数学课第三讲"), (2, "数学课第三讲 重播"), (3, "物理课")]
        {
            sqlx::query(
                "INSERT INTO recordings (server_id, file_id, stream_code, file_name, format,
                     start_ms, end_ms, duration_ms, created_ms, updated_ms)
                 VALUES (1, ?1, ?1, ?2, 'mp4', 1700000000000, 1700000001000, 1000, 0, 0)",
            )
            .bind(n.to_string())
            .bind(name)
            .execute(&pool)
            .await
            .unwrap();
        }
        // Tags were joined with spaces then; the server had been synced up to a cursor.
        sqlx::query("UPDATE recordings SET tags = 'grade 3 math' WHERE file_id = '3'")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("UPDATE servers SET sync_cursor = '1700000000000_3'")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let (cache, report) = RecordingCache::open(&path).await.unwrap();
    assert_eq!(report.moved_aside, None);
    // The joined text stays whole until the next sync, which starts over to bring every
    // row's exact tags.
    let physics = cache.get(1, "3").await.unwrap().unwrap();
    assert_eq!(physics.tags, ["grade 3 math"]);
    assert_eq!(
        cache.get(1, "1").await.unwrap().unwrap().tags,
        Vec::<String>::new()
    );
    assert_eq!(cache.sync_cursor(1).await.unwrap(), None);
    let found = cache
        .search(&SearchQuery {
            text: "第三讲".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(names(&found.rows), ["数学课第三讲 重播", "数学课第三讲"]);
    // New rows land after the upgraded ones in the same millisecond.
    let mut later = recording(1, 4, "数学课第三讲 补充", "r");
    later.start_ms = 1_700_000_000_000;
    cache.upsert(&[later]).await.unwrap();
    let found = cache
        .search(&SearchQuery {
            text: "第三讲".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        names(&found.rows),
        ["数学课第三讲 补充", "数学课第三讲 重播", "数学课第三讲"]
    );
}
