//! Browser assets compiled into the binary. They come from npm packages, vendored by
//! `scripts/vendor-assets.sh`; nothing is fetched at build or run time.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/app.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/app.js"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/console.js"),
    },
    Asset {
        name: "display.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/display.js"),
    },
    Asset {
        name: "chime.wav",
        content_type: "audio/wav",
        body: include_bytes!("../assets/chime.wav"),
    },
    Asset {
        name: "charts.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/charts.js"),
    },
    Asset {
        name: "vendor/Vazirmatn-Variable.woff2",
        content_type: "font/woff2",
        body: include_bytes!("../assets/vendor/Vazirmatn-Variable.woff2"),
    },
    Asset {
        name: "vendor/htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/vendor/htmx.min.js"),
    },
    Asset {
        name: "vendor/echarts.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/vendor/echarts.min.js"),
    },
    Asset {
        name: "vendor/echarts-LICENSE.txt",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("../assets/vendor/echarts-LICENSE.txt"),
    },
    Asset {
        name: "vendor/echarts-NOTICE.txt",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("../assets/vendor/echarts-NOTICE.txt"),
    },
    Asset {
        name: "vendor/Vazirmatn-OFL.txt",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("../assets/vendor/Vazirmatn-OFL.txt"),
    },
    Asset {
        name: "vendor/htmx-LICENSE.txt",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("../assets/vendor/htmx-LICENSE.txt"),
    },
];

pub fn router() -> Router<AppState> {
    Router::new().route("/static/{*path}", get(asset))
}

async fn asset(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == path) {
        Some(a) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(a.content_type),
                ),
                // Assets change only with the binary; a day of caching is safe and cheap.
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=86400"),
                ),
            ],
            a.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
