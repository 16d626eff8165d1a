//! Keystone's router accepts `/v3/users/` and `/v3//users` as `/v3/users`:
//! actix's `NormalizePath` trims trailing slashes and merges repeated ones.
//! It also runs a regex and allocates a new path on every request, about
//! 1 % of a hot route's time. [`TrimSlashes`] hands it only the requests
//! whose path it would change.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::middleware::{NormalizePath, TrailingSlash};

/// `NormalizePath::new(TrailingSlash::Trim)` for the paths it would change;
/// every other request goes straight to the service.
pub struct TrimSlashes;

/// True when `NormalizePath` in `Trim` mode would change `path`: a trailing
/// slash after something, or two slashes in a row. `/` alone stays `/`.
fn needs_trimming(path: &str) -> bool {
    (path.len() > 1 && path.ends_with('/')) || path.contains("//")
}

type Normalizer<S> = <NormalizePath as Transform<Rc<S>, ServiceRequest>>::Transform;

pub struct TrimSlashesService<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
{
    inner: Rc<S>,
    normalizer: Normalizer<S>,
}

impl<S, B> Transform<S, ServiceRequest> for TrimSlashes
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = TrimSlashesService<S, B>;
    type InitError = ();
    type Future = Pin<Box<dyn Future<Output = Result<Self::Transform, ()>>>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let inner = Rc::new(service);
        let normalizer = NormalizePath::new(TrailingSlash::Trim).new_transform(Rc::clone(&inner));
        Box::pin(async move {
            Ok(TrimSlashesService {
                inner,
                normalizer: normalizer.await?,
            })
        })
    }
}

impl<S, B> Service<ServiceRequest> for TrimSlashesService<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = S::Future;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if needs_trimming(req.path()) {
            self.normalizer.call(req)
        } else {
            self.inner.call(req)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use actix_web::test as actix_test;
    use actix_web::{web, App, HttpRequest};

    /// Exactly the paths NormalizePath's Trim mode rewrites.
    #[test]
    fn only_paths_that_change_are_normalized() {
        for path in ["/", "/v3", "/v3/users", "/v3/auth/tokens", "", "/a/b.c"] {
            assert!(!needs_trimming(path), "{path}");
        }
        for path in ["//", "/v3/", "/v3//users", "//v3", "/v3/users///", "/a//"] {
            assert!(needs_trimming(path), "{path}");
        }
    }

    /// The path a handler sees is the one NormalizePath would give it, for
    /// every path of up to five characters made of `/`, `a` and `.`, with
    /// and without a query.
    #[actix_web::test]
    async fn handlers_see_what_normalize_path_gives_them() {
        async fn echo(req: HttpRequest) -> String {
            format!("{} ? {}", req.path(), req.query_string())
        }
        let ours =
            actix_test::init_service(App::new().default_service(web::to(echo)).wrap(TrimSlashes))
                .await;
        let theirs = actix_test::init_service(
            App::new()
                .default_service(web::to(echo))
                .wrap(NormalizePath::new(TrailingSlash::Trim)),
        )
        .await;
        let mut level = vec![String::from("/")];
        let mut paths = level.clone();
        for _ in 0..4 {
            level = level
                .iter()
                .flat_map(|p| ["/", "a", "."].map(|c| format!("{p}{c}")))
                .collect();
            paths.extend(level.iter().cloned());
        }
        assert_eq!(paths.len(), 121);
        for path in paths {
            for uri in [path.clone(), format!("{path}?x=/")] {
                let ask = |uri: &str| actix_test::TestRequest::get().uri(uri).to_request();
                let a =
                    actix_test::read_body(actix_test::call_service(&ours, ask(&uri)).await).await;
                let b =
                    actix_test::read_body(actix_test::call_service(&theirs, ask(&uri)).await).await;
                assert_eq!(a, b, "{uri}");
            }
        }
    }
}
