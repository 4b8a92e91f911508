//! Attacks on the HTTP surface: every route of the OpenAPI document refuses a foreign Host
//! (DNS rebinding), a foreign Origin (a web page), a `text/plain` state change (a form post
//! that needs no preflight) and a missing token; `/vod` serves no in-progress file and nothing
//! without the token or a valid signed link, answers CORS for players and the right HLS type.

mod common;

use std::time::Duration;

use common::{spawn_publisher, start_server, ServerProcess};
use reqwest::{Client, Method};
use serde_json::Value;

const TOKEN: &str = "s3cret";

/// Every (method, path) the document lists, with sample ids in the path.
async fn documented_routes(server: &ServerProcess) -> Vec<(Method, String)> {
    let doc = server.get_json("/v1/openapi.json").await;
    let mut routes = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            if let Ok(m) = Method::from_bytes(method.to_uppercase().as_bytes()) {
                routes.push((m, path.replace(['{', '}'], "").replace("_id", "1")));
            }
        }
    }
    assert!(routes.len() >= 14, "{routes:?}");
    routes
}

async fn send(
    http: &Client,
    server: &ServerProcess,
    method: &Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = http
        .request(method.clone(), format!("{}{path}", server.http))
        .timeout(Duration::from_secs(2))
        .bearer_auth(TOKEN);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    if *method == Method::POST {
        request = request.body("{}");
    }
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    let cors = res.headers().get("access-control-allow-origin").cloned();
    assert!(cors.is_none(), "the API answers no CORS: {method} {path}");
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_refuses_foreign_hosts_foreign_origins_and_non_json_state_changes() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &["--token", TOKEN]);
    let http = Client::new();
    let routes = documented_routes(&server).await;
    for (method, path) in &routes {
        let json = [("Content-Type", "application/json")];
        // DNS rebinding: the page's own name arrives as Host.
        let (status, body) = send(
            &http,
            &server,
            method,
            path,
            &[("Host", "evil.example:18080"), json[0]],
        )
        .await;
        assert_eq!(
            (status, body["code"].as_i64()),
            (421, Some(30000519)),
            "{method} {path}"
        );
        // A page on another origin.
        let (status, body) = send(
            &http,
            &server,
            method,
            path,
            &[("Origin", "http://evil.example"), json[0]],
        )
        .await;
        assert_eq!(
            (status, body["code"].as_i64()),
            (403, Some(30000520)),
            "{method} {path}"
        );
        let (status, _) = send(&http, &server, method, path, &[("Origin", "null"), json[0]]).await;
        assert_eq!(status, 403, "Origin: null, {method} {path}");
        if *method == Method::POST {
            for kind in [
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
            ] {
                let (status, body) =
                    send(&http, &server, method, path, &[("Content-Type", kind)]).await;
                assert_eq!(
                    (status, body["code"].as_i64()),
                    (415, Some(30000521)),
                    "{kind} {method} {path}"
                );
            }
        }
    }
    // The server's own callers still get through: same-origin, JSON, the token.
    let own = server.http.trim_start_matches("http://").to_owned();
    let origin = server.http.clone();
    for (method, path) in &routes {
        let mut request = http
            .request(method.clone(), format!("{}{path}", server.http))
            .timeout(Duration::from_secs(2))
            .header("Host", own.as_str())
            .header("Origin", origin.as_str())
            .header("Content-Type", "application/json")
            .bearer_auth(TOKEN);
        if *method == Method::POST {
            request = request.body("{}");
        }
        // The event stream stays open (a timeout); every other route answers, past the gate.
        if let Ok(res) = request.send().await {
            assert!(
                ![401, 403, 415, 421].contains(&res.status().as_u16()),
                "{method} {path}: {}",
                res.status()
            );
        }
    }
    // Health and the document answer anyone who names the server, nobody who does not.
    for path in ["/healthz", "/v1/openapi.json"] {
        let (status, _) = send(
            &http,
            &server,
            &Method::GET,
            path,
            &[("Host", "evil.example")],
        )
        .await;
        assert_eq!(status, 421, "{path}");
        let (status, _) = send(
            &http,
            &server,
            &Method::GET,
            path,
            &[("Host", "localhost:1")],
        )
        .await;
        assert_eq!(status, 200, "{path}");
    }
}

fn vod_url(server: &ServerProcess, rel: &str) -> String {
    format!("{}/vod/{}", server.http, rel.trim_start_matches("vod/"))
}

#[tokio::test(flavor = "multi_thread")]
async fn vod_serves_finished_files_only_to_the_token_or_a_valid_signed_link() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &["--token", TOKEN]);
    let http = Client::new();
    let push = format!("{}/live/8888_vod?record=flv,mp4,hls", server.rtmp);
    let mut publisher = spawn_publisher(&push, 4);
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // While recording: nothing in progress is served, even with the token.
    let open: Vec<String> = tally_testkit::walk(&data.path().join("vod"))
        .into_iter()
        .map(|p| {
            p.strip_prefix(data.path())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(open.iter().any(|p| p.ends_with(".part.json")), "{open:?}");
    for rel in &open {
        let res = http
            .get(vod_url(&server, rel))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "in progress: {rel}");
    }
    tokio::task::spawn_blocking(move || publisher.wait().unwrap())
        .await
        .unwrap();
    let mut rows = Vec::new();
    for _ in 0..100 {
        let page: Value = http
            .get(format!("{}/v1/recordings", server.http))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        rows = page["recordings"].as_array().unwrap().clone();
        if rows.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rows.len(), 3);
    // Manifests and sidecar leftovers are never served.
    for row in &rows {
        let rel = common::vod_path(row["url"].as_str().unwrap());
        for suffix in [".meta.json", ".part", ".part.json", ".tmp"] {
            let res = http
                .get(format!("{}/vod/{rel}{suffix}", server.http))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 404, "{rel}{suffix}");
        }
    }
    let signer = tally_server::signing::UrlSigner::for_data_dir(data.path()).unwrap();
    for row in &rows {
        let signed = row["url"].as_str().unwrap();
        let bare = signed.split('?').next().unwrap();
        let path = bare.trim_start_matches(&server.http);
        // No token, no link: refused.
        let res = http.get(bare).send().await.unwrap();
        assert_eq!(res.status(), 401, "{bare}");
        // The token opens it; so does the signed link, with no token.
        assert_eq!(
            http.get(bare)
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        let res = http
            .get(signed)
            .header("Origin", "https://shop.example")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{signed}");
        assert_eq!(res.headers()["access-control-allow-origin"], "*");
        assert!(res.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("Content-Range"));
        let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
        // Tampered and expired links are refused.
        let tampered = signed.replace("sig=", "sig=00");
        assert_eq!(http.get(&tampered).send().await.unwrap().status(), 403);
        let other = format!("{bare}x?{}", signed.split('?').nth(1).unwrap());
        assert_ne!(http.get(&other).send().await.unwrap().status(), 200);
        let expired = format!("{bare}?{}", signer.query(path, 1_000));
        let res = http.get(&expired).send().await.unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(res.json::<Value>().await.unwrap()["code"], 30000522);
        match row["format"].as_str().unwrap() {
            "hls" => {
                assert_eq!(kind, "application/vnd.apple.mpegurl");
                // Each chunk of a signed playlist carries its own link.
                let playlist = res_text(&http, signed).await;
                let chunk = playlist
                    .lines()
                    .find(|l| l.contains(".ts?"))
                    .unwrap_or_else(|| panic!("{playlist}"));
                let dir = bare.rsplit_once('/').unwrap().0;
                let res = http.get(format!("{dir}/{chunk}")).send().await.unwrap();
                assert_eq!(res.status(), 200);
                assert_eq!(res.headers()["content-type"], "video/mp2t");
                let unsigned = chunk.split('?').next().unwrap();
                assert_eq!(
                    http.get(format!("{dir}/{unsigned}"))
                        .send()
                        .await
                        .unwrap()
                        .status(),
                    401
                );
            }
            "mp4" => {
                assert_eq!(kind, "video/mp4");
                let part = http
                    .get(signed)
                    .header("Range", "bytes=0-99")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(part.status(), 206);
                assert!(part.headers().contains_key("content-range"));
            }
            _ => assert_eq!(kind, "video/x-flv"),
        }
    }
    // A player's preflight for a Range request is answered.
    let preflight = http
        .request(Method::OPTIONS, rows[0]["url"].as_str().unwrap())
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "range")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert!(preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("Range"));
}

async fn res_text(http: &Client, url: &str) -> String {
    http.get(url).send().await.unwrap().text().await.unwrap()
}

#[test]
fn an_open_api_on_a_public_address_is_refused() {
    let data = tempfile::tempdir().unwrap();
    for token in [None, Some("")] {
        let mut cmd = std::process::Command::new(common::server_bin());
        cmd.args([
            "serve",
            "--http",
            "0.0.0.0:0",
            "--rtmp",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(data.path())
        .env_remove("TALLY_TOKEN");
        if let Some(t) = token {
            cmd.env("TALLY_TOKEN", t);
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("set a token"), "{err}");
    }
}
