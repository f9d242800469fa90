//! What `graph-subs keep run --listen` serves for operators: `/healthz` (the process
//! answers), `/readyz` (the store answers and every tenant has had a successful round
//! since the start: before that, or when the store is down, 503) and `/metrics`
//! (Prometheus text, [`crate::metrics`]). Merge it with a receiver's router to serve
//! both on one port.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::run::Keeper;

/// The routes, for `keeper`.
pub fn router(keeper: Arc<Keeper>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(keeper)
}

async fn ready(State(keeper): State<Arc<Keeper>>) -> impl IntoResponse {
    if keeper.store().schema_version().await.is_err() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the store does not answer\n",
        );
    }
    if !keeper.ready() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not every tenant has had a successful round yet\n",
        );
    }
    (StatusCode::OK, "ready\n")
}

async fn metrics(State(keeper): State<Arc<Keeper>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        keeper.metrics().render(keeper.graph_now()),
    )
}
