//! Lines a transaction hands on once it commits, and only then: the audit
//! trail's copy to a file or syslog must never show an event whose
//! transaction rolled back. A use case stages lines on its thread (the
//! transaction runs on one blocking thread from start to end); the
//! database delivers them after the commit and drops them otherwise.

use std::cell::RefCell;
use std::sync::Arc;

/// Where committed lines go.
pub type Delivery = Arc<dyn Fn(Vec<String>) + Send + Sync>;

thread_local! {
    static STAGED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Stages `line` for delivery when the running transaction commits.
pub fn stage(line: &str) {
    STAGED.with(|s| s.borrow_mut().push(line.to_string()));
}

/// Takes what is staged on this thread.
pub(super) fn take() -> Vec<String> {
    STAGED.with(|s| std::mem::take(&mut *s.borrow_mut()))
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
                got.extend(lines)
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
