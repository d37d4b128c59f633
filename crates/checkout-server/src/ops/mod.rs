//! Running the server: the accept loop, the background sweeper, metrics, traces and
//! online backups.

pub mod backup;
pub mod metrics;
pub mod serve;
pub mod sweeper;
pub mod telemetry;
