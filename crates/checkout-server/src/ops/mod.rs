//! Running the server: the accept loop, the signals that stop it, the background
//! sweeper, metrics, traces and online backups.

pub mod backup;
pub mod metrics;
pub mod serve;
pub mod signals;
pub mod sweeper;
pub mod telemetry;
