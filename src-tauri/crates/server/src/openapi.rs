//! The OpenAPI document of the HTTP API (`/v1/openapi.json`), generated from the handlers'
//! annotations and the `api` crate's types.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
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
        crate::http::usage,
        crate::http::live_events,
        crate::http::metrics,
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
    modifiers(&BearerToken),
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
