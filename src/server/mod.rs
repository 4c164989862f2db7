//! Owns running the server: the accept loop, preparing a server (bind, TLS, state), the
//! [`MockVcenter`] handle with its [`VmHandle`], and the [`Builder`] that starts one.

mod accept;
mod builder;
mod handle;
mod prepare;

pub use accept::{Timeouts, app, serve};
pub use builder::Builder;
pub use handle::{MockVcenter, VmHandle};
pub use prepare::{Prepared, ServerSpec, StartError, TlsSource, prepare};
