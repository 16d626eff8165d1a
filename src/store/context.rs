//! Who and what a request is, carried from the async request to the
//! blocking thread its transaction runs on, so that what a transaction
//! stages for after its commit (notifications) can name the request's
//! initiator without every store function taking it.
//!
//! The server opens a [`scope`] per request; the token check fills in the
//! caller ([`set_caller`]); [`super::Database`] hands a copy to the
//! transaction's thread ([`current`], [`on_this_thread`]).

use std::cell::RefCell;
use std::future::Future;

/// The request as notifications describe their initiator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// Keystone's `x-openstack-request-id` (`req-…`).
    pub request_id: String,
    pub remote_addr: Option<String>,
    pub user_agent: Option<String>,
    /// The authenticated caller, once its token is checked.
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub project_id: Option<String>,
    pub domain_id: Option<String>,
}

tokio::task_local! {
    static REQUEST: RefCell<RequestContext>;
}

thread_local! {
    static ON_THREAD: RefCell<RequestContext> = RefCell::new(RequestContext::default());
}

/// Runs `f` (a request's handling) with `context` as its request.
pub async fn scope<F: Future>(context: RequestContext, f: F) -> F::Output {
    REQUEST.scope(RefCell::new(context), f).await
}

/// Records the authenticated caller of the current request, if any.
pub fn set_caller(
    user_id: &str,
    user_name: &str,
    project_id: Option<&str>,
    domain_id: Option<&str>,
) {
    let _ = REQUEST.try_with(|c| {
        let mut c = c.borrow_mut();
        c.user_id = Some(user_id.to_string());
        c.user_name = Some(user_name.to_string());
        c.project_id = project_id.map(str::to_string);
        c.domain_id = domain_id.map(str::to_string);
    });
}

/// The current request (in async code), or an empty one outside any
/// request (the CLI, background tasks).
pub fn current() -> RequestContext {
    REQUEST.try_with(|c| c.borrow().clone()).unwrap_or_default()
}

/// Runs `f` with `context` as this thread's request (a blocking thread
/// running one transaction).
pub fn on_this_thread<T>(context: RequestContext, f: impl FnOnce() -> T) -> T {
    let before = ON_THREAD.with(|c| c.replace(context));
    let out = f();
    ON_THREAD.with(|c| c.replace(before));
    out
}

/// This thread's request, as [`on_this_thread`] set it.
pub fn of_this_thread() -> RequestContext {
    ON_THREAD.with(|c| c.borrow().clone())
}
