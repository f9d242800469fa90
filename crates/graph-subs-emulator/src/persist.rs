//! `--state FILE`: the emulator's subscriptions, clock and signing key across restarts,
//! safe against a crash at any moment (kill -9), with no acknowledged write lost.
//!
//! Two files:
//! - `FILE`, a snapshot (one JSON document: format, version, clock offset, signing key,
//!   every subscription with its tenant). It is only ever replaced whole: written to
//!   `FILE.tmp`, synced, renamed over `FILE`, and the directory synced. A crash leaves the
//!   old snapshot or the new one, never a mix.
//! - `FILE.journal`, one JSON line per change since the snapshot (`put` a subscription
//!   whole, `remove` an id, `clock` offset). A change is appended and synced to disk
//!   **before** the request that made it is answered; a write the emulator acknowledged
//!   is on disk. Changes waiting together are written and synced together (group commit),
//!   so concurrent clients share each `fsync`.
//!
//! Loading reads the snapshot, then replays the journal. Each journal entry holds a
//! subscription's whole state (or its removal), so replaying an entry the snapshot
//! already holds changes nothing: the snapshot can be taken while entries are still on
//! their way to the journal. A last line cut short by a crash (it was never acknowledged)
//! is dropped with a warning; any other unreadable line stops the start with an error
//! naming the file and line, since guessing would lose data.
//!
//! The journal is folded into a new snapshot when it grows past the number of stored
//! subscriptions (at least [`COMPACT_AFTER`] entries), at start and at shutdown.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use graph_subs_core::subscription::Subscription;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::Shared;
use crate::store::Store;

/// The journal is folded into the snapshot after at least this many entries.
pub(crate) const COMPACT_AFTER: usize = 100_000;

const FORMAT: &str = "graph-subs-emulator-state";
const VERSION: u32 = 1;

/// One change, as journaled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub(crate) enum Change {
    /// A subscription, created or updated, whole.
    Put {
        tenant: String,
        subscription: Box<Subscription>,
    },
    /// A subscription deleted (or removed by a lifecycle event).
    Remove { id: String },
    /// The clock's offset from the wall clock, in milliseconds.
    Clock { offset_millis: i64 },
}

/// The snapshot file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    format: String,
    version: u32,
    clock_offset_millis: i64,
    /// The RS256 signing key, PKCS#1 DER, base64: tokens outlive a restart.
    signing_key: String,
    subscriptions: Vec<StoredSubscription>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredSubscription {
    tenant: String,
    subscription: Subscription,
}

/// Borrowed form of [`Snapshot`], so that writing one does not copy the store.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotRef<'a> {
    format: &'static str,
    version: u32,
    clock_offset_millis: i64,
    signing_key: String,
    subscriptions: Vec<StoredRef<'a>>,
}

#[derive(Serialize)]
struct StoredRef<'a> {
    tenant: &'a str,
    subscription: &'a Subscription,
}

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file could not be read or written.
    #[error("cannot {action} the state file {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file is not an emulator state, or is damaged.
    #[error(
        "the state file {path} is not a readable graph-subs emulator state ({reason}); move it away to start empty, or point --state at another file"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        reason: String,
    },
}

/// What a state file held.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) store: Store,
    pub(crate) clock_offset_millis: i64,
    pub(crate) signing_key: Option<Vec<u8>>,
}

fn journal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StateError {
    let path = path.to_owned();
    move |source| StateError::Io {
        action,
        path,
        source,
    }
}

/// Reads the snapshot and replays the journal; an absent file is an empty state.
pub(crate) fn load(path: &Path) -> Result<Loaded, StateError> {
    let mut loaded = Loaded {
        store: Store::default(),
        clock_offset_millis: 0,
        signing_key: None,
    };
    match File::open(path) {
        Ok(file) => {
            let snapshot: Snapshot =
                serde_json::from_reader(BufReader::new(file)).map_err(|e| StateError::Corrupt {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })?;
            if snapshot.format != FORMAT || snapshot.version != VERSION {
                return Err(StateError::Corrupt {
                    path: path.to_owned(),
                    reason: format!(
                        "format {:?} version {}, expected {FORMAT:?} version {VERSION}",
                        graph_subs_core::quote::shortened(&snapshot.format),
                        snapshot.version
                    ),
                });
            }
            let key = STANDARD
                .decode(snapshot.signing_key.as_bytes())
                .map_err(|e| StateError::Corrupt {
                    path: path.to_owned(),
                    reason: format!("signingKey: {e}"),
                })?;
            loaded.signing_key = Some(key);
            loaded.clock_offset_millis = snapshot.clock_offset_millis;
            for s in snapshot.subscriptions {
                loaded.store.insert(&s.tenant, s.subscription);
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error("read", path)(e)),
    }
    let journal = journal_path(path);
    let file = match File::open(&journal) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(loaded),
        Err(e) => return Err(io_error("read", &journal)(e)),
    };
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(io_error("read", &journal))?;
        if read == 0 {
            break;
        }
        number += 1;
        let complete = line.last() == Some(&b'\n');
        match serde_json::from_slice::<Change>(&line) {
            Ok(change) if complete => apply(&mut loaded, change),
            result => {
                // Past this line there must be nothing: a crash cuts only the last one.
                let mut rest = Vec::new();
                let more = io::Read::read_to_end(&mut reader, &mut rest)
                    .map_err(io_error("read", &journal))?;
                if more == 0 && !complete {
                    tracing::warn!(
                        journal = %journal.display(),
                        line = number,
                        "the journal's last line was cut short by a crash; it was never acknowledged and is dropped"
                    );
                    break;
                }
                let reason = match result {
                    Err(e) => e.to_string(),
                    Ok(_) => "a line without its end".to_owned(),
                };
                return Err(StateError::Corrupt {
                    path: journal,
                    reason: format!("line {number}: {reason}"),
                });
            }
        }
    }
    Ok(loaded)
}

fn apply(loaded: &mut Loaded, change: Change) {
    match change {
        Change::Put {
            tenant,
            subscription,
        } => {
            loaded.store.remove(&subscription.id);
            loaded.store.insert(&tenant, *subscription);
        }
        Change::Remove { id } => {
            loaded.store.remove(&id);
        }
        Change::Clock { offset_millis } => loaded.clock_offset_millis = offset_millis,
    }
}

/// Writes a snapshot of `store` atomically, then empties the journal.
pub(crate) fn write_snapshot(
    path: &Path,
    store: &Store,
    clock_offset_millis: i64,
    signing_key: &[u8],
) -> Result<(), StateError> {
    let temporary = temporary_path(path);
    let snapshot = SnapshotRef {
        format: FORMAT,
        version: VERSION,
        clock_offset_millis,
        signing_key: STANDARD.encode(signing_key),
        subscriptions: store
            .entries()
            .map(|e| StoredRef {
                tenant: &e.tenant,
                subscription: &e.subscription,
            })
            .collect(),
    };
    let file = private_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temporary)
        .map_err(io_error("write", &temporary))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    serde_json::to_writer(&mut writer, &snapshot)
        .map_err(io::Error::from)
        .and_then(|()| writer.write_all(b"\n"))
        .map_err(io_error("write", &temporary))?;
    let file = writer
        .into_inner()
        .map_err(|e| io_error("write", &temporary)(e.into_error()))?;
    file.sync_all().map_err(io_error("sync", &temporary))?;
    drop(file);
    fs::rename(&temporary, path).map_err(io_error("replace", path))?;
    sync_directory(path)?;
    let journal = journal_path(path);
    let file = private_options()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&journal)
        .map_err(io_error("empty", &journal))?;
    file.sync_all().map_err(io_error("sync", &journal))?;
    Ok(())
}

/// Options for files only the emulator's user may read: they hold the signing key and
/// every subscription's `clientState`.
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}

/// Makes a rename durable: the directory entry is synced too.
fn sync_directory(path: &Path) -> Result<(), StateError> {
    let directory = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    // Opening a directory for reading works on Unix, where it matters; elsewhere the
    // rename is as durable as the platform makes it.
    if let Ok(dir) = File::open(&directory) {
        dir.sync_all().map_err(io_error("sync", &directory))?;
    }
    Ok(())
}

type Pending = (Change, oneshot::Sender<Result<(), String>>);

/// The journal writer: one thread, fed through a channel in the order the store changed.
#[derive(Debug)]
pub(crate) struct Journal {
    sender: std_mpsc::Sender<Pending>,
}

impl Journal {
    /// Starts the writer thread for the state at `path` (whose snapshot was just
    /// written). `shared` is reached weakly, to fold the journal into snapshots.
    pub(crate) fn start(
        path: PathBuf,
        shared: std::sync::Weak<Shared>,
    ) -> Result<Journal, StateError> {
        let journal = journal_path(&path);
        let file = private_options()
            .create(true)
            .append(true)
            .open(&journal)
            .map_err(io_error("open", &journal))?;
        let (sender, receiver) = std_mpsc::channel::<Pending>();
        // The thread ends when the emulator is dropped (its sender with it).
        std::thread::Builder::new()
            .name("emulator-state".into())
            .spawn(move || writer(path, file, receiver, shared))
            .map_err(io_error("start the writer of", &journal))?;
        Ok(Journal { sender })
    }

    /// Queues a change; the receiver completes once it is on disk. Call it while the
    /// store is locked, so that the journal's order is the store's.
    pub(crate) fn record(&self, change: Change) -> oneshot::Receiver<Result<(), String>> {
        let (done, wait) = oneshot::channel();
        if let Err(std_mpsc::SendError((_, done))) = self.sender.send((change, done)) {
            let _ = done.send(Err("the state writer has stopped".into()));
        }
        wait
    }
}

fn writer(
    path: PathBuf,
    file: File,
    receiver: std_mpsc::Receiver<Pending>,
    shared: std::sync::Weak<Shared>,
) {
    let journal = journal_path(&path);
    let mut file = BufWriter::with_capacity(1 << 16, file);
    let mut entries = 0usize;
    let mut batch: Vec<Pending> = Vec::new();
    while let Ok(first) = receiver.recv() {
        batch.push(first);
        while batch.len() < 4096 {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut result = Ok(());
        for (change, _) in &batch {
            result = result.and_then(|()| {
                serde_json::to_writer(&mut file, change)?;
                file.write_all(b"\n")
            });
        }
        let result = result
            .and_then(|()| file.flush())
            .and_then(|()| file.get_ref().sync_data())
            .map_err(|e| {
                tracing::error!(journal = %journal.display(), error = %e, "cannot write the state journal");
                format!("cannot write the state journal {}: {e}", journal.display())
            });
        entries += batch.len();
        for (_, done) in batch.drain(..) {
            let _ = done.send(result.clone());
        }
        if result.is_err() {
            continue;
        }
        if entries < COMPACT_AFTER {
            continue;
        }
        let Some(shared) = shared.upgrade() else {
            break;
        };
        let store = shared.store.blocking_lock();
        if entries >= store.len() {
            match write_snapshot(
                &path,
                &store,
                shared.clock.offset_millis(),
                shared.identity.key_der(),
            ) {
                Ok(()) => {
                    entries = 0;
                    tracing::info!(state = %path.display(), subscriptions = store.len(), "journal folded into the snapshot");
                }
                Err(e) => tracing::error!(error = %e, "cannot fold the journal into the snapshot"),
            }
        }
    }
}

/// The state of a running emulator, when it has one.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) path: PathBuf,
    pub(crate) journal: Journal,
}

/// Writes a final snapshot (at shutdown).
pub(crate) fn flush(shared: &Arc<Shared>) -> Result<(), StateError> {
    match shared.state.get() {
        Some(state) => flush_to(shared, &state.path),
        None => Ok(()),
    }
}

/// Writes a snapshot of the running emulator to `path` and empties its journal.
pub(crate) fn flush_to(shared: &Arc<Shared>, path: &Path) -> Result<(), StateError> {
    let store = shared.store.blocking_lock();
    write_snapshot(
        path,
        &store,
        shared.clock.offset_millis(),
        shared.identity.key_der(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_state_is_empty_and_a_damaged_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.store.len(), 0);
        assert!(loaded.signing_key.is_none());

        fs::write(&path, b"{\"format\": \"something else\"").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(
            e.contains("state.json") && e.contains("move it away"),
            "{e}"
        );

        write_snapshot(&path, &Store::default(), 1500, b"key").unwrap();
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.clock_offset_millis, 1500);
        assert_eq!(loaded.signing_key.as_deref(), Some(&b"key"[..]));

        // A line cut short at the end is dropped; one in the middle is an error.
        let journal = journal_path(&path);
        fs::write(
            &journal,
            b"{\"clock\":{\"offsetMillis\":7}}\n{\"clock\":{\"offs",
        )
        .unwrap();
        assert_eq!(load(&path).unwrap().clock_offset_millis, 7);
        fs::write(
            &journal,
            b"{\"clock\":{\"offs\n{\"clock\":{\"offsetMillis\":7}}\n",
        )
        .unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("journal"), "{e}");
    }
}
