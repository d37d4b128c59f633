//! The SQLite side of [`Db`](super::Db): one writer connection with group commit, a few
//! read connections, and a checkpoint thread. Statements run in place on the calling
//! task's thread (rusqlite), never handed to another thread: SQLite answers in
//! microseconds, and a hand-off per statement costs more than the statement.
//!
//! **Group commit.** Writes are serialized; each write transaction of the API runs as a
//! savepoint inside a batch (one SQLite transaction). When a transaction ends and no
//! other writer is queued, it commits the batch at once; when others are queued, it
//! leaves the batch open for them and waits for the batch's commit before answering.
//! Under load a batch therefore holds the transactions of every writer that arrived
//! meanwhile (at most [`MAX_BATCH`]), which share one commit and, since consecutive
//! transactions touch the same pages, write far fewer WAL frames; with no load a
//! transaction commits alone, immediately. Nothing is answered before its batch has
//! committed, so a reply never reports a write that could still be lost.

use std::{
    path::Path,
    sync::{
        atomic::{AtomicUsize, Ordering},
        mpsc, Arc,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use tokio::sync::{watch, Mutex, OwnedMutexGuard};

use super::DbError;

/// How often the WAL is checkpointed into the database file.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// At most this many write transactions share one commit.
pub const MAX_BATCH: usize = 64;

/// Opens a connection with the server's settings. Automatic checkpoints are off: the
/// [`Checkpointer`] does them away from the requests. A WAL that grew past 64 MiB in a
/// burst is cut back to that size when it starts over. The page cache stays at SQLite's
/// default (2 MiB): a 32 MiB cache on every connection measured no faster (BENCHMARKS.md).
pub fn open(file: &Path) -> Result<rusqlite::Connection, String> {
    let fail = |e: rusqlite::Error| format!("cannot open {}: {e}", file.display());
    let conn = rusqlite::Connection::open(file).map_err(fail)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(fail)?;
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0; \
         PRAGMA journal_size_limit = 67108864;",
    )
    .map_err(fail)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// The open batch: its outcome is published once, when it commits or fails.
#[derive(Debug)]
struct Batch {
    outcome: watch::Sender<Option<Result<(), String>>>,
}

/// The writer connection and the batch open on it.
#[derive(Debug)]
pub struct Writer {
    conn: rusqlite::Connection,
    batch: Option<Arc<Batch>>,
    members: usize,
    /// Batches ended so far.
    batches: u64,
}

impl Writer {
    /// Commits the open batch (if any) and tells its members how it went.
    fn end_batch(&mut self) {
        let Some(batch) = self.batch.take() else {
            return;
        };
        crate::ops::metrics::sqlite_batch(self.members);
        self.members = 0;
        self.batches += 1;
        let started = Instant::now();
        let outcome = if self.conn.is_autocommit() {
            Err("SQLite rolled the transaction back".to_owned())
        } else {
            self.conn.execute_batch("COMMIT").map_err(|e| {
                if let Err(rollback) = self.conn.execute_batch("ROLLBACK") {
                    tracing::error!(error = %rollback, "SQLite rollback failed");
                }
                e.to_string()
            })
        };
        crate::ops::metrics::sqlite_writer_held("commit", started.elapsed());
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "SQLite commit failed; the batch is rolled back");
        }
        batch.outcome.send_replace(Some(outcome));
    }
}

/// The writer and how many tasks are queued for it.
#[derive(Debug, Clone)]
pub struct WriterHandle {
    writer: Arc<Mutex<Writer>>,
    queued: Arc<AtomicUsize>,
}

/// Counts a task as queued for the writer until it holds it (or gives up waiting).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn new(queued: &'a AtomicUsize) -> Self {
        queued.fetch_add(1, Ordering::SeqCst);
        Queued(queued)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl WriterHandle {
    /// The writer on `file`.
    pub fn open(file: &Path) -> Result<WriterHandle, String> {
        Ok(WriterHandle {
            writer: Arc::new(Mutex::new(Writer {
                conn: open(file)?,
                batch: None,
                members: 0,
                batches: 0,
            })),
            queued: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Starts a write transaction: waits for the writer, joins the open batch (or
    /// begins one with `BEGIN IMMEDIATE`, taking the database's write lock up front),
    /// and opens the transaction's savepoint.
    pub async fn begin(&self) -> Result<LiteTx, DbError> {
        let mut writer = {
            let _queued = Queued::new(&self.queued);
            Arc::clone(&self.writer).lock_owned().await
        };
        if writer.batch.is_some() && writer.conn.is_autocommit() {
            writer.end_batch();
        }
        let batch = match &writer.batch {
            Some(batch) => Arc::clone(batch),
            None => {
                writer.conn.execute_batch("BEGIN IMMEDIATE")?;
                let batch = Arc::new(Batch {
                    outcome: watch::Sender::new(None),
                });
                writer.batch = Some(Arc::clone(&batch));
                batch
            }
        };
        writer.members += 1;
        if let Err(e) = writer.conn.execute_batch("SAVEPOINT tx") {
            if writer.members == 1 {
                writer.end_batch();
            }
            return Err(e.into());
        }
        Ok(LiteTx {
            writer,
            batch,
            queued: Arc::clone(&self.queued),
            open: true,
            held_since: Instant::now(),
        })
    }

    /// Runs `f` while holding the writer, after committing its open batch: no write
    /// runs until `f` returns. For the checkpoint thread (it blocks).
    fn blocking_exclusive<R>(&self, f: impl FnOnce() -> R) -> R {
        let mut writer = {
            let _queued = Queued::new(&self.queued);
            self.writer.blocking_lock()
        };
        writer.end_batch();
        let started = Instant::now();
        let result = f();
        crate::ops::metrics::sqlite_writer_held("checkpoint", started.elapsed());
        result
    }
}

/// One write transaction: a savepoint in the writer's open batch. Holds the writer
/// until it commits or is dropped (which rolls its savepoint back).
#[derive(Debug)]
pub struct LiteTx {
    writer: OwnedMutexGuard<Writer>,
    batch: Arc<Batch>,
    queued: Arc<AtomicUsize>,
    open: bool,
    /// When it took the writer.
    held_since: Instant,
}

impl LiteTx {
    /// The connection to run statements on.
    pub fn conn(&mut self) -> &mut rusqlite::Connection {
        &mut self.writer.conn
    }

    /// Releases the savepoint into the batch, lets the writers queued behind join the
    /// batch, and returns once the batch has committed.
    pub async fn commit(mut self) -> Result<(), DbError> {
        if self.writer.conn.is_autocommit() {
            // SQLite already rolled everything back (an I/O error, say): drop reports it.
            return Err(DbError::Commit("SQLite rolled the transaction back".into()));
        }
        self.writer.conn.execute_batch("RELEASE tx")?;
        self.open = false;
        // Its own time, without the batch's commit (counted as "commit" below).
        crate::ops::metrics::sqlite_writer_held("transaction", self.held_since.elapsed());
        if self.queued.load(Ordering::SeqCst) == 0 || self.writer.members >= MAX_BATCH {
            self.writer.end_batch();
        }
        let mut outcome = self.batch.outcome.subscribe();
        drop(self);
        let outcome = outcome
            .wait_for(Option::is_some)
            .await
            .map_err(|_| DbError::Commit("the writer went away before committing".into()))?;
        match outcome.as_ref() {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(DbError::Commit(e.clone())),
            None => Err(DbError::Commit("no outcome".into())),
        }
    }
}

impl Drop for LiteTx {
    fn drop(&mut self) {
        if self.open {
            // Rolled back (a committed one was counted by `commit`).
            crate::ops::metrics::sqlite_writer_held("transaction", self.held_since.elapsed());
            let writer = &mut *self.writer;
            let rolled_back = !writer.conn.is_autocommit()
                && writer
                    .conn
                    .execute_batch("ROLLBACK TO tx; RELEASE tx")
                    .inspect_err(|e| tracing::error!(error = %e, "SQLite rollback failed"))
                    .is_ok();
            if !rolled_back {
                // The savepoint cannot be undone alone: the whole batch goes.
                if !writer.conn.is_autocommit() {
                    let _ = writer.conn.execute_batch("ROLLBACK");
                }
                writer.end_batch();
                return;
            }
        }
        // A batch is left open only for a writer that is queued right now, and every
        // writer that takes the lock either joins the batch or ends it.
        if self.writer.batch.is_some() && self.queued.load(Ordering::SeqCst) == 0 {
            self.writer.end_batch();
        }
    }
}

/// Read connections (`query_only`, reading the database file through a memory map
/// instead of a `pread` per page). A read runs in place on the task's thread and holds
/// its connection only while SQLite works (never across an `.await`), so a few
/// connections, two more than the machine has cores, are never all busy for long.
#[derive(Debug)]
pub struct Readers {
    conns: Vec<std::sync::Mutex<rusqlite::Connection>>,
    next: AtomicUsize,
}

impl Readers {
    /// Read connections on `file`: query-only, reading the database file through a memory
    /// map (up to 1 GiB) instead of copying pages into each connection's cache.
    pub fn open(file: &Path) -> Result<Readers, String> {
        let count = std::thread::available_parallelism().map_or(2, usize::from) + 2;
        let conns = (0..count)
            .map(|_| {
                let conn = open(file)?;
                conn.execute_batch("PRAGMA query_only = 1; PRAGMA mmap_size = 1073741824;")
                    .map_err(|e| e.to_string())?;
                Ok(std::sync::Mutex::new(conn))
            })
            .collect::<Result<_, String>>()?;
        Ok(Readers {
            conns,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `f` on a free connection (or waits for one, briefly).
    pub fn with<R>(&self, f: impl FnOnce(&rusqlite::Connection) -> R) -> R {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.conns.len();
        for i in 0..n {
            if let Ok(conn) = self.conns[(start + i) % n].try_lock() {
                return f(&conn);
            }
        }
        let conn = self.conns[start % n]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&conn)
    }
}

/// A thread that checkpoints the WAL every [`CHECKPOINT_EVERY`], and once more when
/// stopped. Each round copies the WAL into the database file while writers go on
/// (`PASSIVE`: it never waits for, nor blocks, anyone; repeated while much remains),
/// then holds the writer just long enough to copy the few frames written meanwhile.
/// With every frame copied, the next batch starts the WAL over from its beginning;
/// without that last step, a server that never stops writing grows the WAL forever.
#[derive(Debug)]
pub struct Checkpointer {
    stop: std::sync::Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
}

/// A checkpoint leaves at most this many frames for the step that holds the writer.
const LEFT_FOR_LOCKED_STEP: i64 = 512;

impl Checkpointer {
    /// Starts the thread.
    pub fn start(file: &Path, writer: WriterHandle) -> Result<Checkpointer, String> {
        let conn = open(file)?;
        let mut wal_file = file.as_os_str().to_owned();
        wal_file.push("-wal");
        // Opened once and kept for the thread's life. Closing any descriptor of a file
        // drops every POSIX lock the process holds on it, SQLite's included: a file
        // opened and closed per round left the server without its shared lock on the
        // database, and the next `sqlite3` shell or `checkout-server catalog export`
        // beside it took itself for the last connection and deleted the live write-ahead
        // log (the server went on writing to the unlinked file).
        let synced: Vec<std::fs::File> = [file.as_os_str(), &wal_file]
            .into_iter()
            .filter_map(|path| std::fs::File::open(path).ok())
            .collect();
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let passive = || {
                    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                    })
                };
                let round = || -> rusqlite::Result<()> {
                    for _ in 0..4 {
                        let (frames, copied) = passive()?;
                        if frames - copied <= LEFT_FOR_LOCKED_STEP {
                            break;
                        }
                    }
                    // Flush what the passes wrote now, so that the syncs of the step
                    // that holds the writer find next to nothing left to write.
                    for file in &synced {
                        if let Err(e) = file.sync_data() {
                            tracing::debug!(error = %e, "early sync skipped");
                        }
                    }
                    let (frames, copied) = writer.blocking_exclusive(passive)?;
                    tracing::debug!(frames, copied, "WAL checkpoint");
                    Ok(())
                };
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(CHECKPOINT_EVERY),
                        Err(mpsc::RecvTimeoutError::Timeout)
                    );
                    if let Err(e) = round() {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                    if last {
                        break;
                    }
                }
            })
            .map_err(|e| format!("cannot start the checkpoint thread: {e}"))?;
        Ok(Checkpointer {
            stop: std::sync::Mutex::new(Some((stop, thread))),
        })
    }

    /// Stops the thread after a last checkpoint (which also commits an open batch).
    pub fn stop(&self) {
        let running = self.stop.lock().map(|mut s| s.take()).unwrap_or(None);
        if let Some((stop, thread)) = running {
            drop(stop);
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Never blocks here (this may run on the async runtime): the thread sees the
        // channel close, checkpoints once more and ends by itself.
        if let Ok(mut running) = self.stop.lock() {
            running.take();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn database() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.db");
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT NOT NULL);",
        )
        .unwrap();
        (dir, file)
    }

    fn stored(file: &Path) -> BTreeSet<i64> {
        let conn = rusqlite::Connection::open(file).unwrap();
        let mut stmt = conn.prepare("SELECT id FROM t").unwrap();
        let ids = stmt.query_map([], |r| r.get(0)).unwrap();
        ids.map(Result::unwrap).collect()
    }

    fn insert(tx: &mut LiteTx, id: i64) {
        tx.conn()
            .execute("INSERT INTO t (id, who) VALUES (?1, 'w')", [id])
            .unwrap();
    }

    /// 200 concurrent writers, every third one rolling back: the commits share batches,
    /// and exactly the committed rows are in the file, visible to another connection as
    /// soon as `commit` returns.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_share_commits_and_rollbacks_stay_their_own() {
        let (_dir, file) = database();
        let writer = WriterHandle::open(&file).unwrap();
        let tasks: Vec<_> = (0..200i64)
            .map(|id| {
                let writer = writer.clone();
                let file = file.clone();
                tokio::spawn(async move {
                    let mut tx = writer.begin().await.unwrap();
                    insert(&mut tx, id);
                    tokio::task::yield_now().await;
                    if id % 3 == 0 {
                        drop(tx);
                        return false;
                    }
                    tx.commit().await.unwrap();
                    assert!(
                        stored(&file).contains(&id),
                        "{id} is committed once commit returns"
                    );
                    true
                })
            })
            .collect();
        let mut expected = BTreeSet::new();
        for (id, task) in (0..).zip(tasks) {
            if task.await.unwrap() {
                expected.insert(id);
            }
        }
        assert_eq!(stored(&file), expected);
        let batches = writer.writer.lock().await.batches;
        let committed = expected.len() as u64;
        assert!(
            (1..=committed / 2).contains(&batches),
            "transactions queued together share commits ({batches} for {committed})"
        );
    }

    /// A writer alone commits at once; a batch left open for a queued writer that then
    /// gives up is still committed (by the next writer, or the checkpoint thread).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_left_for_a_writer_that_gave_up_still_commits() {
        let (_dir, file) = database();
        let writer = WriterHandle::open(&file).unwrap();
        let checkpointer = Checkpointer::start(&file, writer.clone()).unwrap();

        let mut alone = writer.begin().await.unwrap();
        insert(&mut alone, 1);
        alone.commit().await.unwrap();
        assert_eq!(stored(&file), BTreeSet::from([1]));

        let mut first = writer.begin().await.unwrap();
        insert(&mut first, 2);
        let quitter = {
            let writer = writer.clone();
            tokio::spawn(async move {
                let mut tx = writer.begin().await.unwrap();
                insert(&mut tx, 3);
                std::future::pending::<()>().await;
            })
        };
        while writer.queued.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let committing = tokio::spawn(first.commit());
        tokio::time::sleep(Duration::from_millis(50)).await;
        quitter.abort();
        tokio::time::timeout(CHECKPOINT_EVERY * 3, committing)
            .await
            .expect("the open batch is committed")
            .unwrap()
            .unwrap();
        assert_eq!(
            stored(&file),
            BTreeSet::from([1, 2]),
            "the quitter's row is rolled back"
        );
        checkpointer.stop();
    }

    /// A transaction that SQLite itself rolled back cannot commit, and the next one
    /// starts clean.
    #[tokio::test]
    async fn a_transaction_sqlite_rolled_back_reports_it() {
        let (_dir, file) = database();
        let writer = WriterHandle::open(&file).unwrap();
        let mut tx = writer.begin().await.unwrap();
        insert(&mut tx, 1);
        tx.conn().execute_batch("ROLLBACK").unwrap();
        assert!(matches!(tx.commit().await, Err(DbError::Commit(_))));
        let mut next = writer.begin().await.unwrap();
        insert(&mut next, 2);
        next.commit().await.unwrap();
        assert_eq!(stored(&file), BTreeSet::from([2]));
    }
}
