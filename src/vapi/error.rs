//! Owns how faults look on the vAPI wires: the `/api` body, the legacy `/rest` body and status,
//! and the JSON-RPC error value, all rendered from the catalogue.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::catalogue::{Entry, describe};
pub use crate::catalogue::{ErrorType, Row};
use crate::model::Fault;

/// A localizable message, as vCenter sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Message id.
    pub id: String,
    /// English text with arguments substituted.
    pub default_message: String,
    /// The arguments, in order.
    pub args: Vec<String>,
}

/// A fault rendered for the wire: error type, messages, `data`, and status.
#[derive(Debug, Clone, PartialEq)]
pub struct VapiError {
    /// The catalogue row.
    pub row: Row,
    /// The first (and usually only) message, arguments substituted.
    pub messages: Vec<Message>,
    /// Operation-specific data (`FileErrorDetails` for file faults).
    pub data: Option<Value>,
    /// A status other than the error type's, for faults outside the vAPI mapping (405, 413...).
    pub status: StatusCode,
}

impl VapiError {
    /// Renders a fault through the catalogue.
    pub fn from_fault(fault: &Fault) -> Self {
        let entry: Entry = describe(fault);
        Self {
            status: entry.status,
            messages: vec![Message {
                id: entry.row.message_id.into(),
                default_message: entry.message(),
                args: entry.args,
            }],
            data: entry.data,
            row: entry.row,
        }
    }

    /// The error type.
    pub fn error_type(&self) -> ErrorType {
        self.row.error_type
    }

    /// The `/api` body: `{"error_type", "messages", "data"?}`.
    pub fn api_body(&self) -> Value {
        let mut body = json!({
            "error_type": self.row.error_type.as_str(),
            "messages": self.messages,
        });
        if let Some(d) = &self.data {
            body["data"] = d.clone();
        }
        body
    }

    /// The legacy `/rest` body: `{"type": "com.vmware.vapi.std.errors.x", "value": {...}}`.
    pub fn rest_body(&self) -> Value {
        json!({"type": self.row.error_type.vapi_id(), "value": self.api_body()})
    }

    /// The JSON-RPC error value: `{"ERROR": {"com.vmware.vapi.std.errors.x": {messages, data,
    /// error_type}}}`, fields typed as the vAPI runtime encodes them.
    pub fn jsonrpc_error(&self) -> Value {
        use super::jsonrpc::{Ty, encode, ty};
        let messages = encode(
            &serde_json::to_value(&self.messages).unwrap_or_default(),
            &Ty::List(Box::new(ty("com.vmware.vapi.std.localizable_message"))),
        );
        let data = match &self.data {
            Some(d) if d.get("reason").is_some() && d.get("file_path").is_some() => encode(
                d,
                &Ty::Opt(Box::new(ty(
                    "com.vmware.vcenter.vm.guest.filesystem.file_error_details",
                ))),
            ),
            Some(d) if d.get("pid").is_some() => encode(
                d,
                &Ty::Opt(Box::new(ty(
                    "com.vmware.vcenter.vm.guest.processes.process_error_details",
                ))),
            ),
            Some(d) => encode(d, &Ty::Opt(Box::new(Ty::Dynamic))),
            None => json!({"OPTIONAL": null}),
        };
        let mut fields = json!({
            "messages": messages,
            "data": data,
            "error_type": {"OPTIONAL": self.row.error_type.as_str()},
        });
        if self.row.error_type == ErrorType::Unauthenticated {
            fields["challenge"] = json!({"OPTIONAL": null});
        }
        json!({"ERROR": {self.row.error_type.vapi_id(): fields}})
    }

    /// The legacy `/rest` status for this error.
    pub fn rest_status(&self) -> StatusCode {
        if self.status == self.row.error_type.api_status() {
            self.row.error_type.rest_status()
        } else {
            self.status
        }
    }
}

/// A JSON response with `Content-Type: application/json` exactly (no charset: Ansible's modules
/// reject anything else).
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        bytes,
    )
        .into_response()
}

/// A fault on its way out of a handler. Renders in `/api` shape and carries the rendered error
/// in the response extensions, so the `/rest` layer, the journal and the metrics can read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError(pub Fault);

impl From<Fault> for ApiError {
    fn from(f: Fault) -> Self {
        Self(f)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let err = VapiError::from_fault(&self.0);
        let mut resp = json_response(err.status, &err.api_body());
        resp.extensions_mut().insert(err);
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_fault_carries_file_error_details() {
        let e = VapiError::from_fault(&Fault::not_found("/tmp/x"));
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert_eq!(
            e.api_body()["data"],
            json!({"reason": "FILE_NOT_FOUND", "file_path": "/tmp/x"})
        );
        assert_eq!(
            e.messages[0].default_message,
            "File or directory '/tmp/x' was not found."
        );
    }
}
