//! A test binary's whole `tracing` output, captured so that a test can search it (for a
//! secret that must not be there).

use std::sync::{Arc, Mutex, OnceLock};

/// Everything logged in this process that `filter` (an `EnvFilter` directive such as
/// `graph_subs_emulator=trace`) lets through, from the first call on. The subscriber is
/// the process's global one, installed by the first call: a test binary gives one
/// filter.
pub fn captured(filter: &str) -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_ansi(false)
            .with_writer(move || Capture(writer.clone()))
            .finish();
        // Another subscriber set first (by the code under test) would capture nothing:
        // the tests that read the log say so when it is empty.
        let _ = tracing::subscriber::set_global_default(subscriber);
        log
    })
    .clone()
}

/// The captured text so far.
pub fn text(log: &Arc<Mutex<Vec<u8>>>) -> String {
    let bytes = log.lock().unwrap_or_else(|e| e.into_inner()).clone();
    String::from_utf8_lossy(&bytes).into_owned()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
