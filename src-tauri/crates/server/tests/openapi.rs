//! The OpenAPI document is served and covers every route; with a token set, every route it
//! lists refuses callers without the token.

mod common;

use common::start_server;
use serde_json::Value;

/// Every route of the API, as (method, path).
const ROUTES: [(&str, &str); 16] = [
    ("delete", "/v1/recordings/{file_id}"),
    ("delete", "/v1/rooms/{room_id}/members/{user_id}"),
    ("get", "/metrics"),
    ("get", "/v1/events"),
    ("get", "/v1/play-info"),
    ("get", "/v1/recordings"),
    ("get", "/v1/recordings/{file_id}"),
    ("get", "/v1/recordings/{file_id}/callbacks"),
    ("get", "/v1/rooms"),
    ("get", "/v1/rooms/{room_id}"),
    ("get", "/v1/streams/{stream_code}/preview"),
    ("get", "/v1/usage"),
    ("get", "/v1/version"),
    ("post", "/v1/record"),
    ("post", "/v1/rooms"),
    ("post", "/v1/rooms/{room_id}/members"),
];

fn documented_routes(doc: &Value) -> Vec<(String, String)> {
    let mut routes: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "delete", "put", "patch"].contains(&k.as_str()))
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    routes.sort();
    routes
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_covers_every_route_and_every_route_needs_the_token() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path(), &["--token", "s3cret"]);
    let http = reqwest::Client::new();
    let doc: Value = http
        .get(format!("{}/v1/openapi.json", server.http))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let expected: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented_routes(&doc), expected);
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in [
        "ApiError",
        "Recording",
        "RecordRequest",
        "LiveEvent",
        "Usage",
    ] {
        assert!(schemas.contains_key(schema), "{schema} is described");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    for (method, path) in ROUTES {
        let url = format!(
            "{}{}",
            server.http,
            path.replace(['{', '}'], "").replace("_id", "1")
        );
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        for (token, lang, message) in [
            (None, "en", "The request is not authenticated."),
            (Some("wrong"), "zh-CN", "请求未通过认证。"),
        ] {
            let mut request = http
                .request(method.clone(), &url)
                .header("Accept-Language", lang)
                .header("Content-Type", "application/json");
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let res = request.send().await.unwrap();
            assert_eq!(res.status(), 401, "{method} {path}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["code"], 30000506, "{method} {path}");
            assert_eq!(body["message"], message, "{method} {path}");
        }
        let with_token = http
            .request(method.clone(), &url)
            .header("Content-Type", "application/json")
            .bearer_auth("s3cret")
            .timeout(std::time::Duration::from_secs(2))
            .send()
            .await;
        // The event stream stays open; every other route answers, and not with 401.
        if let Ok(res) = with_token {
            assert_ne!(res.status(), 401, "{method} {path}");
        }
    }
}
