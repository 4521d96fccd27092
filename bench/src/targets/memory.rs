//! Resident memory per idle user in copilot-sdk's `ClientPool`: RSS (from `/proc/self/statm`) before and after
//! adding 10,000 users, divided by 10,000. "Idle" means a client made for the user and kept in the pool, not
//! started (no token exchanged yet, no session): the state a multi-user server keeps for users between requests.

use copilot_sdk::ClientPool;

use super::{Settings, mock_host, reqwest_transport};
use crate::BenchError;
use crate::mock::MockProcess;
use crate::probe;
use crate::report::{Report, Row, Verdict};

const USERS: usize = 10_000;

/// A distinct, well-formed fake OAuth token for user `i`.
fn token(i: usize) -> String {
    format!("gho_bench{i:031}")
}

/// Adds the row.
pub async fn run(
    report: &mut Report,
    _settings: Settings,
    mock: &MockProcess,
) -> Result<(), BenchError> {
    let pool = ClientPool::builder()
        .host(mock_host(mock)?)
        .transport(reqwest_transport()?)
        .build()
        .map_err(|e| BenchError::contender("ClientPool", e))?;
    // One user first, so one-time allocations (the pool's map, lazily initialised statics) are not counted.
    pool.client_for("warm-up", token(USERS))
        .await
        .map_err(|e| BenchError::contender("ClientPool", e))?;
    let before = probe::rss_bytes()
        .ok_or_else(|| BenchError::contender("ClientPool", "no /proc/self/statm"))?;
    for i in 0..USERS {
        pool.client_for(&format!("user-{i}"), token(i))
            .await
            .map_err(|e| BenchError::contender("ClientPool", e))?;
    }
    let after = probe::rss_bytes().unwrap_or(before);
    let users = pool.len() - 1;
    let per_user = after.saturating_sub(before) as f64 / users as f64 / 1024.0;
    report.row(Row {
        name: format!("RSS per idle user, ClientPool of {users} users (KiB)"),
        ours: format!("{per_user:.2} KiB"),
        baselines: format!(
            "RSS {:.1} → {:.1} MiB",
            probe::mib(before),
            probe::mib(after)
        ),
        ratio: "–".into(),
        goal: "≤ 16 KiB".into(),
        verdict: Verdict::from_bool(per_user <= 16.0),
    });
    drop(pool);
    Ok(())
}
