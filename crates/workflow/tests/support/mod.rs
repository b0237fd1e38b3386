//! Shared by the workflow tests that need a SQLite file (not `:memory:`): several connections, WAL.

/// A scratch SQLite file (removed with its WAL at the end).
pub struct ScratchFile(std::path::PathBuf);

impl ScratchFile {
    pub fn new(tag: &str) -> Self {
        Self(std::env::temp_dir().join(format!("sua_{tag}_{}.db", uuid::Uuid::now_v7().simple())))
    }
    pub fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.0.display())
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", self.0.display()));
        }
    }
}
