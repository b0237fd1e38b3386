//! Scheduler.
use crate::state::AppState;
pub async fn run(_s: AppState, _i: std::time::Duration, _stop: tokio::sync::watch::Receiver<bool>) {
}
