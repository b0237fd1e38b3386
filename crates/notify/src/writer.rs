//! Where the worker's writes go. The service serialises every write of a SQLite database through its
//! one writer; the worker's claims and outcomes must take the same path, or an autocommit write of the
//! worker holds SQLite's write lock while the service's transactions wait in the busy handler.

use std::future::Future;
use std::pin::Pin;

use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};

/// A boxed future of a write step.
pub type WriteFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DbErr>> + Send + 'a>>;

/// Opens the write transactions of the worker (one per claim, one per chunk of outcomes).
pub trait Writer: Send + Sync + 'static {
    fn begin(&self) -> WriteFuture<'_, Box<dyn WriteSession>>;

    /// Write acts of the application begun and not yet ended: while there are many (a deadline rush),
    /// the worker gives way to them (`mail.worker.yield_max_ms`). `0` when unknown.
    fn pending(&self) -> usize {
        0
    }
}

/// One open write transaction: the worker writes in [`WriteSession::txn`], then commits; dropping it
/// rolls back.
pub trait WriteSession: Send {
    fn txn(&self) -> &DatabaseTransaction;
    fn commit(self: Box<Self>) -> WriteFuture<'static, ()>;
}

/// Plain transactions on the pool (the default: a database the worker has to itself, PostgreSQL).
impl Writer for DatabaseConnection {
    fn begin(&self) -> WriteFuture<'_, Box<dyn WriteSession>> {
        Box::pin(async move {
            let txn = TransactionTrait::begin(self).await?;
            Ok(Box::new(PlainSession(txn)) as Box<dyn WriteSession>)
        })
    }
}

struct PlainSession(DatabaseTransaction);

impl WriteSession for PlainSession {
    fn txn(&self) -> &DatabaseTransaction {
        &self.0
    }
    fn commit(self: Box<Self>) -> WriteFuture<'static, ()> {
        Box::pin(self.0.commit())
    }
}
