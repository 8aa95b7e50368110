use std::fmt;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Why a request was not answered with a prediction. Each kind has one HTTP status, and its
/// response body is KServe's error shape, `{"error": "<the Display text>"}`, also for the TF
/// Serving endpoint (whose error shape is the same).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// 400: the body is not valid JSON, does not follow the protocol, or its values do not fit
    /// the model (wrong count, shape that disagrees with the data, a non-number, a value outside
    /// FP32's range). The text says which.
    BadRequest(String),
    /// 404: no model of this name is served.
    ModelNotFound {
        /// The name in the request's path.
        requested: String,
        /// The name this server serves.
        served: String,
    },
    /// 404: no endpoint at this path.
    NotFound(String),
    /// 405: the path exists, the method does not.
    MethodNotAllowed {
        /// The request's method.
        method: String,
        /// The request's path.
        path: String,
    },
    /// 408: the request was not complete (body received and answered) within the timeout.
    Timeout(Duration),
    /// 413: the body is longer than the limit.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 503: as many requests as the queue holds are waiting for or in inference already.
    Overloaded {
        /// The queue's bound.
        queue: usize,
    },
    /// 500: the inference failed (it did not finish, or produced a non-finite output).
    Internal(String),
}

impl Error {
    /// The HTTP status this error is answered with.
    ///
    /// ```
    /// use constnet_serve::Error;
    /// assert_eq!(Error::TooLarge { limit: 1024 }.status().as_u16(), 413);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::ModelNotFound { .. } | Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Error::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            Error::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadRequest(msg) | Error::Internal(msg) => f.write_str(msg),
            Error::ModelNotFound { requested, served } => {
                write!(
                    f,
                    "unknown model '{requested}'; this server serves '{served}'"
                )
            }
            Error::NotFound(path) => write!(f, "no endpoint at '{path}'"),
            Error::MethodNotAllowed { method, path } => {
                write!(f, "method {method} is not allowed on '{path}'")
            }
            Error::Timeout(limit) => {
                write!(
                    f,
                    "request not completed within {:.3} s",
                    limit.as_secs_f64()
                )
            }
            Error::TooLarge { limit } => {
                write!(f, "request body larger than the limit of {limit} bytes")
            }
            Error::Overloaded { queue } => write!(
                f,
                "server overloaded: {queue} requests are already queued for inference; retry later"
            ),
        }
    }
}

impl std::error::Error for Error {}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() }).to_string();
        let mut response = (self.status(), body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Error::Overloaded { .. } = self {
            // A hint for well-behaved clients; the queue drains in milliseconds.
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
