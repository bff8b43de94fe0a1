//! The daemon's one error type, split by who has to act: the caller
//! ([`UserError`]), nobody but time ([`Error::Unavailable`]: a remote service
//! is down or asks to slow down) or the operator and developers ([`InternalError`]).
//! Each has its own JSON-RPC code and HTTP status.

use std::io;
use std::path::PathBuf;

/// Everything that can fail in the daemon library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller asked for something wrong; the message says what and how to fix it.
    #[error(transparent)]
    User(#[from] UserError),
    /// Unavailable for now: a remote service is down, slow or rate limited; try again later.
    #[error("{message} (try again later)")]
    Unavailable {
        /// What is unavailable and why.
        message: String,
        /// How long the remote service asked to wait, when it said.
        retry_after_ms: Option<u64>,
    },
    /// Something broke inside; the message names the place.
    #[error("internal: {0}")]
    Internal(#[from] InternalError),
    /// The daemon cannot start as configured.
    #[error(transparent)]
    Startup(#[from] StartupError),
}

/// Errors the caller can fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserError {
    /// A parameter is malformed or out of range.
    #[error("{0}")]
    InvalidParams(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
}

/// Failures inside the daemon.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InternalError {
    /// A redb operation failed.
    #[error("store: {context}: {source}")]
    Store {
        /// What was being done.
        context: &'static str,
        /// The redb error.
        source: Box<redb::Error>,
    },
    /// A stored value could not be decoded.
    #[error("store: cannot decode a value of table {table}: {message}")]
    Decode {
        /// The table.
        table: &'static str,
        /// The decoder's message.
        message: String,
    },
    /// A tantivy operation failed.
    #[error("index: {context}: {source}")]
    Index {
        /// What was being done.
        context: &'static str,
        /// The tantivy error.
        source: Box<tantivy::TantivyError>,
    },
    /// A file operation failed.
    #[error("{context} {path}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A group commit failed; nothing of it was stored.
    #[error("write failed: {0}")]
    WriteFailed(String),
    /// A worker thread is gone (the daemon is shutting down or a thread panicked).
    #[error("{0} is not running")]
    WorkerGone(&'static str),
    /// An adapter broke its contract: it answered a call with something that is not the reply.
    #[error("the {adapter} adapter answered `{method}` wrongly: {message}")]
    AdapterReply {
        /// The adapter.
        adapter: String,
        /// The method called.
        method: String,
        /// What was wrong with the answer.
        message: String,
    },
    /// An adapter failed inside (a panic, a timeout, its own internal error).
    #[error("the {adapter} adapter failed: {message}")]
    AdapterFailed {
        /// The adapter.
        adapter: String,
        /// What happened.
        message: String,
    },
}

/// Reasons the daemon refuses to start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// Another daemon has the data directory open.
    #[error("the data directory {0} is in use by another musiqued; stop it first (musiquectl status shows it)")]
    DataDirInUse(PathBuf),
    /// Another daemon answers on the socket.
    #[error("another musiqued is already listening on {0}")]
    AlreadyRunning(PathBuf),
    /// The store was written by a newer musiqued.
    #[error(
        "the store {path} has schema version {found}, newer than this musiqued supports ({supported}); \
         upgrade musiqued (downgrades are not supported)"
    )]
    DowngradeNotSupported {
        /// The store file.
        path: PathBuf,
        /// The version on disk.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// The data directory is not this user's to keep private.
    #[error("data directory {path}: {message}")]
    DataDir {
        /// The data directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The socket path is unusable.
    #[error("socket {path}: {message}")]
    Socket {
        /// The socket path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Result with the daemon's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An invalid-params user error.
    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::User(UserError::InvalidParams(message.into()))
    }

    /// An unavailable-for-now error.
    pub(crate) fn unavailable(message: impl Into<String>, retry_after_ms: Option<u64>) -> Error {
        Error::Unavailable { message: message.into(), retry_after_ms }
    }

    /// A not-found user error.
    pub(crate) fn not_found(message: impl Into<String>) -> Error {
        Error::User(UserError::NotFound(message.into()))
    }
}

/// Wraps any redb error with what was being done.
pub(crate) fn store_err<E: Into<redb::Error>>(context: &'static str) -> impl FnOnce(E) -> Error {
    move |source| Error::Internal(InternalError::Store { context, source: Box::new(source.into()) })
}

/// Wraps a tantivy error with what was being done.
pub(crate) fn index_err(context: &'static str) -> impl FnOnce(tantivy::TantivyError) -> Error {
    move |source| Error::Internal(InternalError::Index { context, source: Box::new(source) })
}

/// Wraps an I/O error with what was being done and to which file.
pub(crate) fn io_err(context: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
    let path = path.into();
    move |source| Error::Internal(InternalError::Io { context, path, source })
}
