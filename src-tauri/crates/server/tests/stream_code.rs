//! Stream-code mode end to end: a real `tally-server`, a real ffmpeg publisher, a real HTTP
//! callback receiver; downloads checked byte for byte.

mod common;

use std::time::Duration;

use common::{callback_receiver, md5_hex, publish, start_server};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn stream_code_flow_calls_back_and_serves_identical_files() {
    let data = tempfile::tempdir().unwrap();
    let (cb_url, callbacks) = callback_receiver().await;
    let server = start_server(
        data.path(),
        &["--callback-url", &cb_url, "--callback-key", "k3y"],
    );
    let code = "8888_81265058829fd2e50c8ec2ac78d55127";
    let push = format!("{}/live/{code}?record=flv,mp4&recordId=r1", server.rtmp);
    tokio::task::spawn_blocking(move || publish(&push, 6))
        .await
        .unwrap();

    // Two files (flv + mp4), two callbacks of type 100, plus stream start (1) and end (0).
    let mut files = Vec::new();
    for _ in 0..100 {
        files = callbacks
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c["event_type"] == 100)
            .cloned()
            .collect::<Vec<_>>();
        if files.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(files.len(), 2, "callbacks: {:?}", callbacks.lock().unwrap());
    let types: Vec<i64> = callbacks
        .lock()
        .unwrap()
        .iter()
        .map(|c| c["event_type"].as_i64().unwrap())
        .collect();
    assert!(
        types.contains(&1) && types.contains(&0),
        "stream start and end callbacks: {types:?}"
    );

    let http = reqwest::Client::new();
    for cb in &files {
        for field in [
            "appid",
            "channel_id",
            "duration",
            "end_time",
            "event_type",
            "file_format",
            "file_id",
            "file_size",
            "record_file_id",
            "sign",
            "start_time",
            "stream_id",
            "stream_param",
            "t",
            "video_id",
            "video_url",
            "start_time_ms",
            "end_time_ms",
            "duration_ms",
            "room_id",
            "user_id",
            "file_name",
        ] {
            assert!(cb.get(field).is_some(), "callback lacks {field}: {cb}");
        }
        let t = cb["t"].as_i64().unwrap();
        assert_eq!(cb["sign"], md5_hex(&format!("k3y{t}")));
        assert_eq!(cb["stream_id"], code);
        assert_eq!(cb["appid"], 1400);
        assert!(
            cb["stream_param"]
                .as_str()
                .unwrap()
                .contains("cliRecoid=r1"),
            "{cb}"
        );
        assert!(cb["file_id"]
            .as_str()
            .unwrap()
            .bytes()
            .all(|b| b.is_ascii_digit()));
        let duration_ms = cb["duration_ms"].as_i64().unwrap();
        assert!(
            (5_000..=7_000).contains(&duration_ms),
            "duration {duration_ms}"
        );

        // The URL downloads exactly the file on disk, whole and by Range.
        let url = cb["video_url"].as_str().unwrap();
        let body = http.get(url).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(body.len() as i64, cb["file_size"].as_i64().unwrap());
        let rel = common::vod_path(url);
        assert_eq!(
            body,
            std::fs::read(data.path().join("vod").join(rel)).unwrap()
        );
        let part = http
            .get(url)
            .header("Range", "bytes=100-199")
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), 206);
        assert_eq!(part.bytes().await.unwrap(), body.slice(100..200));

        // Its poster: one JPEG per segment, the same for the FLV and the MP4, on a signed link.
        let thumb = cb["thumbnail_url"].as_str().expect("a thumbnail_url");
        let path = |url: &str| url.split('?').next().unwrap().to_owned();
        assert_eq!(
            path(thumb),
            path(files[0]["thumbnail_url"].as_str().unwrap())
        );
        let jpeg = http.get(thumb).send().await.unwrap();
        assert_eq!(jpeg.headers()["content-type"], "image/jpeg");
        assert!(jpeg.bytes().await.unwrap().starts_with(&[0xFF, 0xD8, 0xFF]));
    }

    // The seed's prefix query `<stream code>_<record id>` finds exactly these files.
    let page = server
        .get_json(&format!("/v1/recordings?prefix={code}_r1"))
        .await;
    let mut found: Vec<&str> = page["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["file_id"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = files
        .iter()
        .map(|c| c["file_id"].as_str().unwrap())
        .collect();
    found.sort();
    expected.sort();
    assert_eq!(found, expected);
    let other = server
        .get_json(&format!("/v1/recordings?prefix={code}_r2"))
        .await;
    assert!(other["recordings"].as_array().unwrap().is_empty());

    // Filters are bound parameters: SQL in them is text that matches nothing and harms nothing.
    for filter in ["prefix", "room_id", "user_id", "file_name", "format"] {
        for attack in [
            "x' OR '1'='1",
            "x%' OR 1=1 --",
            "x'; DROP TABLE recordings; --",
        ] {
            let encoded: String = attack.bytes().map(|b| format!("%{b:02X}")).collect();
            let res = http
                .get(format!("{}/v1/recordings?{filter}={encoded}", server.http))
                .send()
                .await
                .unwrap();
            let status = res.status();
            let page: Value = res.json().await.unwrap();
            let rows = page["recordings"].as_array().map_or(0, |r| r.len());
            assert!(
                status == 400 || (status == 200 && rows == 0),
                "{filter}={attack}: {status} {page}"
            );
        }
    }
    let again = server
        .get_json(&format!("/v1/recordings?prefix={code}_r1"))
        .await;
    assert_eq!(again["recordings"].as_array().unwrap().len(), files.len());

    // A format filter takes the formats there are and refuses any other, naming the parameter.
    let flv = server
        .get_json(&format!("/v1/recordings?prefix={code}_r1&format=flv"))
        .await;
    let flv = flv["recordings"].as_array().unwrap();
    let flv_files = files.iter().filter(|c| c["file_format"] == "flv").count();
    assert!(
        !flv.is_empty() && flv.iter().all(|r| r["format"] == "flv"),
        "{flv:?}"
    );
    assert_eq!(flv.len(), flv_files);
    let res = http
        .get(format!("{}/v1/recordings?format=avi", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["code"], 30000509, "{err}");
    assert!(err["message"].as_str().unwrap().contains("format"), "{err}");

    // Every delivery attempt is visible.
    let file_id = expected[0];
    let attempts = server
        .get_json(&format!("/v1/recordings/{file_id}/callbacks"))
        .await;
    assert_eq!(attempts[0]["status"], 200, "{attempts}");
}

#[tokio::test(flavor = "multi_thread")]
async fn vod_refuses_traversal() {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("secret.txt"), "outside vod").unwrap();
    let server = start_server(data.path(), &["--token", "s3cret"]);
    let http = reqwest::Client::new();
    for path in [
        "/vod/../secret.txt",
        "/vod/%2e%2e/secret.txt",
        "/vod/..%2fsecret.txt",
        "/vod/%2e%2e%2fsecret.txt",
    ] {
        let res = http
            .get(format!("{}{path}", server.http))
            .send()
            .await
            .unwrap();
        assert_ne!(res.status(), 200, "{path}");
        assert_ne!(res.text().await.unwrap(), "outside vod", "{path}");
    }
    let missing = http
        .get(format!("{}/v1/recordings/42", server.http))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.json::<Value>().await.unwrap()["code"], 30000508);
    let bad = http
        .get(format!("{}/v1/recordings?cursor=zz", server.http))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.json::<Value>().await.unwrap()["code"], 30000509);
}
