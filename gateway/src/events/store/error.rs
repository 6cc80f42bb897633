//! The store's one error type. Every failure is classified once, here, into a
//! [`StoreErrorKind`] a caller can act on; the error keeps the file, SQLite's extended result
//! code and the original error for the log. It is `Clone` (the source is shared), so one
//! failed batch answers every raiser in it with the same error.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rusqlite::ErrorCode;

/// What went wrong, as far as a caller can act on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreErrorKind {
    /// No space left: the disk (`ENOSPC`, `EDQUOT`) or the database's page limit
    /// (`SQLITE_FULL`). Nothing more is stored until space is freed; what is stored is sound.
    DiskFull,
    /// Reading or writing the file failed (`SQLITE_IOERR*`, `SQLITE_CANTOPEN`,
    /// `SQLITE_PERM`, `SQLITE_READONLY`, or a `std::io` error).
    Io,
    /// The file is damaged (`SQLITE_CORRUPT*`, `SQLITE_NOTADB`, a failed integrity check,
    /// or a column holding what the schema never writes).
    Corrupt,
    /// The writer has stopped: the store was closed (shutdown).
    Closed,
    /// The file was written by a newer railgate (found at open).
    TooNew,
    /// Any other SQLite failure (busy beyond the timeout, out of memory, misuse): a bug or
    /// a passing condition.
    Other,
}

impl StoreErrorKind {
    /// A short, stable name (for logs and messages).
    pub fn as_str(self) -> &'static str {
        match self {
            StoreErrorKind::DiskFull => "disk full",
            StoreErrorKind::Io => "I/O error",
            StoreErrorKind::Corrupt => "database corrupt",
            StoreErrorKind::Closed => "closed",
            StoreErrorKind::TooNew => "schema too new",
            StoreErrorKind::Other => "SQLite error",
        }
    }

    /// The kind of a rusqlite error: the one place SQLite result codes are classified.
    fn of_sqlite(e: &rusqlite::Error) -> StoreErrorKind {
        use rusqlite::Error as E;
        match e {
            E::SqliteFailure(f, _) => match f.code {
                ErrorCode::DiskFull => StoreErrorKind::DiskFull,
                ErrorCode::SystemIoFailure
                | ErrorCode::CannotOpen
                | ErrorCode::PermissionDenied
                | ErrorCode::ReadOnly
                | ErrorCode::NoLargeFileSupport => StoreErrorKind::Io,
                ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreErrorKind::Corrupt,
                _ => StoreErrorKind::Other,
            },
            // Only railgate writes the file, and never these: the row is damaged.
            E::FromSqlConversionFailure(..)
            | E::InvalidColumnType(..)
            | E::IntegralValueOutOfRange(..) => StoreErrorKind::Corrupt,
            _ => StoreErrorKind::Other,
        }
    }

    /// The kind of an I/O error: no space is [`StoreErrorKind::DiskFull`].
    fn of_io(e: &std::io::Error) -> StoreErrorKind {
        match e.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                StoreErrorKind::DiskFull
            }
            _ => StoreErrorKind::Io,
        }
    }
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// A failed store operation: its kind, the file, SQLite's extended result code and the
/// original error. Cheap to clone.
#[derive(Clone, Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
    path: Option<Arc<Path>>,
    sqlite_code: Option<i32>,
    /// What was being done, when that is not obvious from the kind ("start the writer").
    doing: Option<&'static str>,
    detail: Option<Arc<str>>,
    source: Option<Source>,
}

impl StoreError {
    fn new(kind: StoreErrorKind, path: Option<&Path>) -> Self {
        StoreError {
            kind,
            path: path.map(Arc::from),
            sqlite_code: None,
            doing: None,
            detail: None,
            source: None,
        }
    }

    /// The writer has stopped (shutdown).
    pub fn closed() -> Self {
        Self::new(StoreErrorKind::Closed, None)
    }

    /// A SQLite failure on `path`, classified by its result code.
    pub fn sqlite(path: &Path, e: rusqlite::Error) -> Self {
        let mut error = Self::new(StoreErrorKind::of_sqlite(&e), Some(path));
        error.sqlite_code = e.sqlite_error().map(|f| f.extended_code);
        error.source = Some(Arc::new(e));
        error
    }

    /// An I/O failure on `path` (no space left is [`StoreErrorKind::DiskFull`]).
    pub fn io(path: &Path, e: std::io::Error) -> Self {
        let mut error = Self::new(StoreErrorKind::of_io(&e), Some(path));
        error.source = Some(Arc::new(e));
        error
    }

    /// The file is damaged; `detail` says how (e.g. the integrity check's first finding).
    pub fn corrupt(path: &Path, detail: impl Into<Arc<str>>) -> Self {
        let mut error = Self::new(StoreErrorKind::Corrupt, Some(path));
        error.detail = Some(detail.into());
        error
    }

    /// The file's schema version `found` is newer than the `known` one.
    pub fn too_new(path: &Path, found: usize, known: usize) -> Self {
        let mut error = Self::new(StoreErrorKind::TooNew, Some(path));
        error.detail =
            Some(format!("schema version {found} is newer than this railgate ({known})").into());
        error
    }

    /// Says what was being done when it failed (for the message).
    pub fn doing(mut self, what: &'static str) -> Self {
        self.doing = Some(what);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// The file concerned, when there is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// SQLite's extended result code (e.g. 13 `SQLITE_FULL`, 266 `SQLITE_IOERR_READ`,
    /// 26 `SQLITE_NOTADB`), when SQLite reported the failure.
    pub fn sqlite_code(&self) -> Option<i32> {
        self.sqlite_code
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == StoreErrorKind::Closed {
            return f.write_str("the event store is closed");
        }
        f.write_str("event store")?;
        if let Some(path) = &self.path {
            write!(f, " {}", path.display())?;
        }
        if let Some(doing) = self.doing {
            write!(f, ": cannot {doing}")?;
        }
        write!(f, ": {}", self.kind)?;
        if let Some(code) = self.sqlite_code {
            write!(f, " (SQLite code {code})")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn sqlite_codes_are_classified_by_their_primary_code() {
        let path = Path::new("/data/events.db");
        let cases = [
            (13, StoreErrorKind::DiskFull),           // SQLITE_FULL
            (10, StoreErrorKind::Io),                 // SQLITE_IOERR
            (10 | (3 << 8), StoreErrorKind::Io),      // SQLITE_IOERR_WRITE
            (10 | (4 << 8), StoreErrorKind::Io),      // SQLITE_IOERR_FSYNC
            (14, StoreErrorKind::Io),                 // SQLITE_CANTOPEN
            (11, StoreErrorKind::Corrupt),            // SQLITE_CORRUPT
            (11 | (1 << 8), StoreErrorKind::Corrupt), // SQLITE_CORRUPT_VTAB
            (26, StoreErrorKind::Corrupt),            // SQLITE_NOTADB
            (5, StoreErrorKind::Other),               // SQLITE_BUSY
            (19, StoreErrorKind::Other),              // SQLITE_CONSTRAINT
        ];
        for (code, kind) in cases {
            let e = StoreError::sqlite(path, failure(code));
            assert_eq!(e.kind(), kind, "code {code}");
            assert_eq!(e.sqlite_code(), Some(code));
            assert_eq!(e.path(), Some(path));
        }
        let full = StoreError::sqlite(path, failure(13));
        let text = full.clone().doing("commit").to_string();
        assert!(
            text.starts_with(
                "event store /data/events.db: cannot commit: disk full (SQLite code 13)"
            ),
            "{text}"
        );
        assert!(std::error::Error::source(&full).is_some());
    }

    #[test]
    fn io_errors_without_space_are_disk_full() {
        let path = Path::new("/data");
        let enospc = std::io::Error::from_raw_os_error(28);
        assert_eq!(
            StoreError::io(path, enospc).kind(),
            StoreErrorKind::DiskFull
        );
        let eio = std::io::Error::from_raw_os_error(5);
        assert_eq!(StoreError::io(path, eio).kind(), StoreErrorKind::Io);
        assert_eq!(
            StoreError::closed().to_string(),
            "the event store is closed"
        );
    }
}
