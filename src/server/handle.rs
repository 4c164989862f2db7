//! Owns the handle of a running server ([`MockVcenter`]) and of one of its VMs ([`VmHandle`]),
//! through which a test acts as a vSphere administrator and reads what clients did.

use std::net::SocketAddr;

use crate::clock::SwitchableClock;
use crate::fixtures::Fixture;
use crate::injection::{Injection, InjectionRule};
use crate::journal::JournalEntry;
use crate::model::{Fault, PowerState};
use crate::state::AppState;

use super::Builder;

/// A running mock vCenter, served by vcmock's own runtime. Dropping it stops the server.
///
/// See the crate documentation for an example.
#[derive(Debug)]
pub struct MockVcenter {
    pub(super) state: AppState,
    pub(super) addr: SocketAddr,
    pub(super) base_url: String,
    pub(super) shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Closed by the serving task when it has stopped and released the listener.
    pub(super) stopped: Option<std::sync::mpsc::Receiver<()>>,
}

impl MockVcenter {
    /// A builder starting from the built-in fixture.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Starts a server on the built-in fixture with defaults (HTTPS, 127.0.0.1, a free port).
    pub fn start() -> Result<Self, super::StartError> {
        Self::builder().start()
    }

    /// The listener's address.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT` (or `http://` with TLS off).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The served certificate in PEM, when TLS is on.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.state.cert().map(|c| c.pem.as_str())
    }

    /// SHA-1 thumbprint of the certificate (`AA:BB:...`), when TLS is on.
    pub fn thumbprint_sha1(&self) -> Option<&str> {
        self.state.cert().map(|c| c.sha1.as_str())
    }

    /// SHA-256 thumbprint of the certificate, when TLS is on.
    pub fn thumbprint_sha256(&self) -> Option<&str> {
        self.state.cert().map(|c| c.sha256.as_str())
    }

    /// How many vCenter sessions are open.
    pub fn session_count(&self) -> usize {
        self.state.vcenter().session_count()
    }

    /// How many transfer URLs are live (issued and not yet used, expired or revoked, or in
    /// flight).
    pub fn live_transfer_count(&self) -> usize {
        self.state.vcenter().live_transfer_count()
    }

    /// The directory uploads above the spill threshold are written to while they arrive (made
    /// on first use, removed when the server stops).
    pub fn spill_dir(&self) -> std::io::Result<std::path::PathBuf> {
        self.state.spill_dir().map(std::path::Path::to_path_buf)
    }

    /// Puts everything back to the loaded fixture: VMs, files, sessions; transfers are
    /// revoked, and the seeded generator goes on with its next epoch, so that nothing issued
    /// before the reset is honoured or issued again after it. The port and certificate stay.
    pub fn reset(&self) {
        self.state.reset(None);
    }

    /// A fixture describing the current state (loads back with [`MockVcenter::load_state`]).
    /// Refused with [`Fault::ContentTooLarge`] when the guests hold more file content than a
    /// snapshot carries (16 MiB a file, 64 MiB in all; generated content counts by size only).
    pub fn snapshot(&self) -> Result<Fixture, Fault> {
        self.state.snapshot()
    }

    /// Replaces the state with `fixture` (which reset then restores).
    pub fn load_state(&self, fixture: Fixture) {
        self.state.reset(Some(fixture));
    }

    /// Controls one VM as a vSphere administrator would.
    pub fn vm(&self, id: &str) -> VmHandle<'_> {
        VmHandle::new(&self.state, id)
    }

    /// The clock (advance it, set it, or switch it between system and manual).
    pub fn clock(&self) -> &SwitchableClock {
        self.state.clock()
    }

    /// The request journal.
    pub fn journal(&self) -> &crate::journal::Journal {
        self.state.journal()
    }

    /// Installs a failure-injection rule.
    pub fn inject(&self, spec: InjectionRule) -> Result<Injection, String> {
        self.state.injections().add(spec)
    }

    /// The installed failure-injection rules with their counters.
    pub fn injections(&self) -> Vec<Injection> {
        self.state.injections().list()
    }

    /// Removes every failure-injection rule.
    pub fn clear_injections(&self) {
        self.state.injections().clear();
    }

    /// Every transfer issued, with its state.
    pub fn transfers(&self) -> Vec<crate::model::transfer::Transfer> {
        self.state.vcenter().transfers()
    }

    /// Requests seen so far (shorthand for `journal().requests()`).
    pub fn requests(&self) -> Vec<JournalEntry> {
        self.state.journal().requests()
    }

    /// A `reqwest` client that trusts this server's certificate.
    #[cfg(feature = "client")]
    pub fn client(&self) -> reqwest::Client {
        let mut b = reqwest::Client::builder().use_rustls_tls();
        if let Some(pem) = self.certificate_pem() {
            if let Ok(cert) = reqwest::Certificate::from_pem(pem.as_bytes()) {
                b = b.add_root_certificate(cert);
            }
        }
        b.build().expect("a reqwest client with rustls")
    }

    /// Stops the server and waits until it has let go of its port.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(stopped) = self.stopped.take() {
            // Returns once the serving task is gone, whether it ended or panicked.
            let _ = stopped.recv();
        }
    }
}

impl Drop for MockVcenter {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

/// One VM of a running server, changed as a vSphere administrator would (no vCenter session,
/// no guest credentials). Power changes revoke the VM's transfer URLs.
#[derive(Debug, Clone)]
pub struct VmHandle<'a> {
    state: &'a AppState,
    id: String,
}

impl<'a> VmHandle<'a> {
    pub(crate) fn new(state: &'a AppState, id: &str) -> Self {
        Self {
            state,
            id: id.into(),
        }
    }

    fn power(&self, to: PowerState) -> Result<(), Fault> {
        self.state
            .vcenter()
            .set_power_state(&self.id, to, self.state.now())
    }

    /// Powers the VM on.
    pub fn power_on(&self) -> Result<(), Fault> {
        self.power(PowerState::PoweredOn)
    }

    /// Powers the VM off.
    pub fn power_off(&self) -> Result<(), Fault> {
        self.power(PowerState::PoweredOff)
    }

    /// Suspends the VM.
    pub fn suspend(&self) -> Result<(), Fault> {
        self.power(PowerState::Suspended)
    }

    /// Lets guest time pass up to the server's now: processes run what became due.
    fn settle(&self) {
        self.state.vcenter().settle(&self.id, self.state.now());
    }

    /// The VM's power state.
    pub fn power_state(&self) -> Result<PowerState, Fault> {
        self.settle();
        self.state.vcenter().with_vm(&self.id, |v| v.power)
    }

    /// The guest's processes (system ones included) with their own output, as
    /// `GET /_mock/vms/{vm}/processes` reports them.
    pub fn processes(&self) -> Result<Vec<crate::model::ProcessReport>, Fault> {
        self.state
            .vcenter()
            .process_report(&self.id, self.state.now())
    }

    /// Declares a program the guest can run (after those declared before); its path gets an
    /// executable file if nothing is there.
    pub fn declare_program(&self, program: crate::model::shell::Program) -> Result<(), Fault> {
        self.state
            .vcenter()
            .declare_programs(&self.id, vec![program], false, self.state.now())
    }

    /// Starts or stops Tools (only running while the VM is on).
    pub fn set_tools_running(&self, running: bool) -> Result<(), Fault> {
        self.state.vcenter().set_tools_running(&self.id, running)
    }

    /// Makes every guest operation answer `RESOURCE_BUSY` (or stops doing so).
    pub fn set_busy(&self, busy: bool) -> Result<(), Fault> {
        self.state
            .vcenter()
            .with_vm_mut(&self.id, |v| v.busy = busy)
    }

    /// Moves the VM to another host (revokes transfers).
    pub fn migrate(&self, host: &str) -> Result<(), Fault> {
        self.state
            .vcenter()
            .migrate(&self.id, host, self.state.now())
    }

    /// Unregisters the VM (revokes transfers).
    pub fn unregister(&self) -> Result<(), Fault> {
        self.state.vcenter().unregister(&self.id, self.state.now())
    }

    /// Writes a guest file (creating parents), without permission checks.
    pub fn put_file(&self, path: &str, content: impl AsRef<[u8]>) -> Result<(), Fault> {
        let bytes = bytes::Bytes::copy_from_slice(content.as_ref());
        let now = self.state.now();
        self.state.vcenter().with_vm_mut(&self.id, |v| {
            let p = v.fs.path(path)?;
            let meta = crate::model::guest_fs::Meta {
                modified: now,
                accessed: now,
                created: now,
                owner: 0,
                group: 0,
                mode: 0o644,
                hidden: false,
                read_only: false,
                acl: None,
            };
            v.fs.insert_ignoring_permissions(
                &p,
                crate::model::guest_fs::NodeKind::File(crate::model::guest_fs::Blob::Bytes(bytes)),
                meta,
            )
        })?
    }

    /// Reads a guest file's bytes, without permission checks (`None` if there is no file).
    /// Content over 256 MiB is refused with [`Fault::ContentTooLarge`] rather than read into
    /// memory (a download streams any size).
    pub fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, Fault> {
        self.settle();
        let blob = self.state.vcenter().with_vm(&self.id, |v| {
            let p = v.fs.path(path)?;
            Ok::<_, Fault>(v.fs.read_ignoring_permissions(&p))
        })??;
        let Some(blob) = blob else {
            return Ok(None);
        };
        if blob.len() > crate::model::guest_fs::IN_MEMORY_MAX {
            return Err(Fault::ContentTooLarge {
                path: path.to_owned(),
                size: blob.len(),
                limit: crate::model::guest_fs::IN_MEMORY_MAX,
            });
        }
        blob.to_vec().map(Some).map_err(|e| Fault::Internal {
            detail: format!("cannot read {path}: {e}"),
        })
    }

    /// Whether anything exists at `path`.
    pub fn exists(&self, path: &str) -> Result<bool, Fault> {
        self.settle();
        self.state.vcenter().with_vm(&self.id, |v| {
            let p = v.fs.path(path)?;
            Ok(v.fs.stat_ignoring_permissions(&p).is_some())
        })?
    }

    /// Removes a guest file or directory, without permission checks.
    pub fn remove(&self, path: &str) -> Result<bool, Fault> {
        self.state.vcenter().with_vm_mut(&self.id, |v| {
            let p = v.fs.path(path)?;
            Ok(v.fs.remove_ignoring_permissions(&p))
        })?
    }

    /// Guest disk: (capacity, used) in bytes.
    pub fn disk(&self) -> Result<(u64, u64), Fault> {
        self.state
            .vcenter()
            .with_vm(&self.id, |v| (v.fs.capacity(), v.fs.used()))
    }
}
