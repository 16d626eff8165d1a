//! Lines a transaction hands on once it commits, and only then: neither
//! the audit trail's copy to a file or syslog nor a notification to the
//! message bus may show an event whose transaction rolled back. A use case stages lines on its thread (the
//! transaction runs on one blocking thread from start to end); the
//! database delivers them after the commit and drops them otherwise.

use std::cell::RefCell;
use std::sync::Arc;

/// Which consumer a staged line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The audit trail's export (file, syslog).
    Audit,
    /// Keystone-style notifications (the message bus).
    Notification,
}

/// A line staged by a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    pub channel: Channel,
    pub line: String,
}

/// Where committed lines go. It runs on the transaction's thread, where
/// [`super::context::of_this_thread`] names the request.
pub type Delivery = Arc<dyn Fn(Vec<Staged>) + Send + Sync>;

thread_local! {
    static STAGED: RefCell<Vec<Staged>> = const { RefCell::new(Vec::new()) };
}

/// Stages an audit `line` for delivery when the running transaction
/// commits.
pub fn stage(line: &str) {
    stage_on(Channel::Audit, line.to_string());
}

/// Stages `line` for `channel` when the running transaction commits.
pub fn stage_on(channel: Channel, line: String) {
    STAGED.with(|s| s.borrow_mut().push(Staged { channel, line }));
}

/// Takes what is staged on this thread.
pub(super) fn take() -> Vec<Staged> {
    STAGED.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

/// Both deliveries, or whichever there is.
pub fn both(a: Option<Delivery>, b: Option<Delivery>) -> Option<Delivery> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Arc::new(move |staged: Vec<Staged>| {
            a(staged.clone());
            b(staged);
        })),
        (a, b) => a.or(b),
    }
}

/// Runs `transaction` and hands what it staged to `delivery` if it
/// committed.
pub(super) fn around<T, E>(
    delivery: Option<&Delivery>,
    transaction: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    take();
    let result = transaction();
    let staged = take();
    if let (Ok(_), Some(deliver)) = (&result, delivery) {
        if !staged.is_empty() {
            deliver(staged);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn only_committed_lines_are_delivered() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&got);
        let delivery: Delivery = Arc::new(move |lines| {
            if let Ok(mut got) = sink.lock() {
                got.extend(lines.into_iter().map(|s| s.line))
            }
        });
        let _ = around(Some(&delivery), || {
            stage("kept");
            Ok::<_, ()>(())
        });
        let _ = around(Some(&delivery), || {
            stage("rolled back");
            Err::<(), _>(())
        });
        assert_eq!(got.lock().map(|g| g.clone()).unwrap_or_default(), ["kept"]);
    }
}
