//! The OpenAPI document of the HTTP API (`/v1/openapi.json`), generated from the handlers'
//! annotations and the `api` crate's types.

use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tally recording service",
        description = "Live-stream recording: rooms, channel-mode recording, recorded files, \
            signed callbacks, live events, usage. Errors are `{code, message, advice, retryable}` \
            in the language of `Accept-Language` (en, zh-CN)."
    ),
    paths(
        crate::http::list_recordings,
        crate::http::get_recording,
        crate::http::delete_recording,
        crate::http::recording_callbacks,
        crate::http::play_info,
        crate::http::stream_preview,
        crate::http::usage,
        crate::http::live_events,
        crate::http::metrics,
        crate::http::version,
        crate::rooms_api::create_room,
        crate::rooms_api::list_rooms,
        crate::rooms_api::get_room,
        crate::rooms_api::join_room,
        crate::rooms_api::leave_room,
        crate::rooms_api::record,
    ),
    components(schemas(
        tally_api::events::StreamState,
        tally_api::events::TaskState,
        tally_api::events::SegmentStatus,
    )),
    modifiers(&BearerToken, &GateResponses, &EventStream),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

/// Every route needs `Authorization: Bearer <token>` when the server has a token.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// The answers of the access checks (`access.rs`), on every operation they guard.
struct GateResponses;

impl Modify for GateResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ApiError")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations: [(&mut Option<Operation>, bool); 4] = [
                (&mut item.get, false),
                (&mut item.post, true),
                (&mut item.put, true),
                (&mut item.delete, false),
            ];
            for (operation, has_body) in operations {
                let Some(operation) = operation else { continue };
                let mut gates = vec![
                    ("401", "No token or a wrong one (30000506)"),
                    ("403", "A web page on another origin (30000520)"),
                    ("421", "A Host this server does not answer to (30000519)"),
                ];
                if has_body {
                    gates.push(("415", "The body is not `application/json` (30000521)"));
                }
                for (status, description) in gates {
                    operation
                        .responses
                        .responses
                        .insert(status.to_owned(), RefOr::T(error(description)));
                }
            }
        }
    }
}

/// `/v1/events` as Open API 3.1 describes a server-sent event stream: the schema is one event,
/// whose `data` is a JSON `LiveEvent`. (utoipa has no `contentSchema`; it rides in the
/// schema's extension map, which is written out as is.)
struct EventStream;

impl Modify for EventStream {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(content) = openapi
            .paths
            .paths
            .get_mut("/v1/events")
            .and_then(|item| item.get.as_mut())
            .and_then(|get| get.responses.responses.get_mut("200"))
            .and_then(|ok| match ok {
                RefOr::T(response) => response.content.get_mut("text/event-stream"),
                RefOr::Ref(_) => None,
            })
            .and_then(|content| match content {
                RefOr::T(content) => Some(content),
                RefOr::Ref(_) => None,
            })
        else {
            return;
        };
        let data = ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("One `LiveEvent` as JSON"))
            .extensions(Some(Extensions::from_iter([
                ("contentMediaType", serde_json::json!("application/json")),
                (
                    "contentSchema",
                    serde_json::json!({"$ref": "#/components/schemas/LiveEvent"}),
                ),
            ])));
        let event = ObjectBuilder::new()
            .property("data", data)
            .required("data")
            .property(
                "id",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("Send back as `Last-Event-ID` to resume")),
            )
            .property("event", ObjectBuilder::new().schema_type(Type::String))
            .property("retry", ObjectBuilder::new().schema_type(Type::Integer));
        content.schema = Some(RefOr::T(event.into()));
    }
}
