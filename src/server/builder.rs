//! Owns the [`Builder`] of in-process servers and the runtime they share.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::MockVcenter;
use super::accept::{Drain, Timeouts, app, serve_until};
use super::prepare::{Prepared, ServerSpec, StartError, TlsSource, prepare};
use crate::clock::{ManualClock, SwitchableClock};
use crate::fixtures::{Fixture, User, Vm};

/// Configures and starts a [`MockVcenter`].
#[derive(Debug, Clone)]
pub struct Builder {
    spec: ServerSpec,
    manual: Option<ManualClock>,
    vms: Vec<Vm>,
    users: Vec<User>,
    keep_default_vms: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            spec: ServerSpec::default(),
            manual: None,
            vms: Vec::new(),
            users: Vec::new(),
            keep_default_vms: true,
        }
    }
}

impl Builder {
    /// Seeds ids, tokens and temporary names, for reproducible runs.
    pub fn seed(mut self, seed: u64) -> Self {
        self.spec.seed = Some(seed);
        self
    }

    /// Drives time with `clock` (clones of it move the server's time).
    pub fn clock(mut self, clock: ManualClock) -> Self {
        self.manual = Some(clock);
        self
    }

    /// HTTPS (default) or plain HTTP.
    pub fn tls(mut self, on: bool) -> Self {
        self.spec.tls = if on {
            TlsSource::Generate(Vec::new())
        } else {
            TlsSource::Off
        };
        self
    }

    /// Serves this certificate and key (PEM) instead of a generated one.
    pub fn tls_pem(mut self, cert: impl Into<String>, key: impl Into<String>) -> Self {
        self.spec.tls = TlsSource::Pem {
            cert: cert.into(),
            key: key.into(),
        };
        self
    }

    /// Binds this address instead of `127.0.0.1:0`.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.spec.listen = addr;
        self
    }

    /// Starts from `fixture` instead of the built-in one.
    pub fn fixture(mut self, fixture: Fixture) -> Self {
        self.spec.fixture = Arc::new(fixture);
        self
    }

    /// Drops the built-in VMs (users and roles stay), keeping only VMs added with
    /// [`Builder::vm`].
    pub fn without_default_vms(mut self) -> Self {
        self.keep_default_vms = false;
        self
    }

    /// Adds a VM (replacing one with the same id).
    pub fn vm(mut self, vm: Vm) -> Self {
        self.vms.push(vm);
        self
    }

    /// Adds a vCenter user.
    pub fn user(mut self, user: User) -> Self {
        self.users.push(user);
        self
    }

    /// Replaces `*` in transfer URLs with `host` (or `host:port`).
    pub fn transfer_host(mut self, host: impl Into<String>) -> Self {
        self.spec.settings.transfer_host = Some(host.into());
        self
    }

    /// Requires `Authorization: Bearer TOKEN` on the admin API.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.spec.settings.admin_token = Some(token.into());
        self
    }

    /// Serves the admin API under `/_mock/` (default) or not (then those URLs answer 404).
    pub fn admin(mut self, on: bool) -> Self {
        self.spec.settings.admin_enabled = on;
        self
    }

    /// How many requests the journal keeps (default 1000).
    pub fn journal_size(mut self, n: usize) -> Self {
        self.spec.journal_size = n;
        self
    }

    /// Session idle timeout (default 30 minutes).
    pub fn session_idle_timeout(mut self, d: Duration) -> Self {
        self.spec.limits.session_idle = d;
        self
    }

    /// Most sessions kept at once (default 10,000; the oldest goes first).
    pub fn max_sessions(mut self, n: usize) -> Self {
        self.spec.limits.max_sessions = n;
        self
    }

    /// Uploads above this many bytes spill to a temporary file (default 8 MiB).
    pub fn spill_threshold(mut self, bytes: u64) -> Self {
        self.spec.settings.spill_threshold = bytes;
        self
    }

    /// Largest admin API request body (default 128 MiB).
    pub fn admin_body_limit(mut self, bytes: usize) -> Self {
        self.spec.settings.admin_body_limit = bytes;
        self
    }

    /// How long a client may take to send a request's head (default 30 s).
    pub fn header_timeout(mut self, d: Duration) -> Self {
        self.spec.settings.header_timeout = d;
        self
    }

    /// How long an idle connection with no request in flight stays open (default 120 s).
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.spec.settings.idle_timeout = d;
        self
    }

    /// How long a request body may stop moving before the request is given up (default 30 s).
    pub fn body_timeout(mut self, d: Duration) -> Self {
        self.spec.settings.body_timeout = d;
        self
    }

    /// Largest JSON request body (default 1 MiB).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.spec.settings.body_limit = bytes;
        self
    }

    /// The server spec this builder describes (fixture merged).
    pub fn into_spec(mut self) -> Result<ServerSpec, StartError> {
        if let Some(m) = self.manual.take() {
            self.spec.clock = SwitchableClock::manual(m);
        }
        let untouched = self.keep_default_vms && self.vms.is_empty() && self.users.is_empty();
        // The built-in fixture as it is was validated when it was parsed; anything else is
        // checked here, as a fixture file would be.
        if untouched && Arc::ptr_eq(&self.spec.fixture, &Fixture::shared_default()) {
            return Ok(self.spec);
        }
        let fx = Arc::make_mut(&mut self.spec.fixture);
        if !self.keep_default_vms {
            fx.vms.clear();
        }
        for vm in self.vms {
            let spec = vm.into_spec();
            fx.vms.retain(|v| v.id != spec.id);
            fx.vms.push(spec);
        }
        for u in self.users {
            let (role, user) = u.into_specs();
            if !fx.roles.iter().any(|r| r.name == role.name) {
                fx.roles.push(role);
            }
            fx.users
                .retain(|x| !x.login.eq_ignore_ascii_case(&user.login));
            fx.users.push(user);
        }
        fx.validate("builder")?;
        Ok(self.spec)
    }

    /// Binds the listener (so [`MockVcenter::base_url`] works at once) and starts serving on
    /// vcmock's own runtime, shared by the process's servers and separate from the caller's:
    /// works from plain `#[test]`s and from any tokio runtime, and a test's paused tokio time
    /// does not affect it.
    pub fn start(self) -> Result<MockVcenter, StartError> {
        let spec = self.into_spec()?;
        let prepared = prepare(spec)?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = prepared.state.clone();
        let addr = prepared.addr;
        let base_url = prepared.base_url();
        let (stopped_tx, stopped) = std::sync::mpsc::channel::<()>();
        server_runtime()
            .map_err(StartError::Runtime)?
            .spawn(async move {
                // Dropped last, after the listener and the connections: the handle's drop waits
                // for it.
                let _stopped = stopped_tx;
                let Prepared {
                    listener,
                    state,
                    tls,
                    ..
                } = prepared;
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                state.set_ready(true);
                let app = app(state.clone());
                let stop = async {
                    let _ = rx.await;
                };
                let timeouts = Timeouts::of(state.settings());
                let _ = serve_until(listener, app, tls, timeouts, stop, Drain::Handlers).await;
                state.vcenter().revoke_all("server stopped", state.now());
            });
        Ok(MockVcenter {
            state,
            addr,
            base_url,
            shutdown: Some(tx),
            stopped: Some(stopped),
        })
    }
}

/// The runtime that serves every in-process [`MockVcenter`], each server a task on it. It is
/// started by the first server and lives as long as the process, so that a server costs no
/// thread or runtime of its own; it is not the caller's runtime, so a test's runtime flavour
/// or paused time does not reach the servers.
fn server_runtime() -> std::io::Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: std::sync::OnceLock<Result<tokio::runtime::Runtime, String>> =
        std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .thread_name("vcmock-server")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the server runtime: {e}"))
        })
        .as_ref()
        .map_err(|e| std::io::Error::other(e.clone()))
}
