//! Starts the vcmock binary as a user would (port 0, the ready line on stdout, logs on stderr)
//! and stops it with SIGTERM; shared by the binary tests (`cli.rs`, `logs.rs`, `shutdown.rs`).
#![allow(
    dead_code,
    reason = "each test binary includes this file and uses a different part of it"
)]

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_vcmock");

/// A `vcmock` command with no `VCMOCK_*` variable inherited from the test's environment, so
/// that only what a test sets reaches the binary.
pub fn command() -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("VCMOCK_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Runs `vcmock ARGS...` to completion (a subcommand, or a start that must be refused).
pub fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    command().args(args).output().expect("the binary runs")
}

/// Runs `vcmock ARGS...` with `env` set, to completion.
pub fn run_with_env<I, S>(args: I, env: &[(&str, &str)]) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = command();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

/// What a finished run printed, as text.
pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// How to start the server: `vcmock --listen 127.0.0.1:0` plus what the test adds.
#[derive(Debug)]
pub struct Launch {
    cmd: Command,
}

/// Starts configuring a server on a free port of 127.0.0.1.
pub fn launch() -> Launch {
    let mut cmd = command();
    cmd.args(["--listen", "127.0.0.1:0"]);
    Launch { cmd }
}

/// Starts configuring a server with no flag at all (the test chooses the address, e.g. through
/// `VCMOCK_LISTEN`).
pub fn launch_bare() -> Launch {
    Launch { cmd: command() }
}

impl Launch {
    /// Adds one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Gives the server `dir` as its temporary directory (spilled uploads, the default
    /// certificate path).
    pub fn tmpdir(self, dir: &Path) -> Self {
        self.env("TMPDIR", dir)
    }

    /// Starts the binary and waits for its ready line; panics with its stderr if it exits
    /// first.
    pub fn start(self) -> Server {
        match self.try_start() {
            Ok(server) => server,
            Err(out) => panic!(
                "the server did not start ({}): {}",
                out.status,
                stderr_of(&out)
            ),
        }
    }

    /// Starts the binary: the server once it has printed its ready line, or everything the
    /// process printed when it exits without one.
    pub fn try_start(mut self) -> Result<Server, Output> {
        let mut child = self
            .cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        // Drained while the server runs, so that a chatty log level cannot fill the pipe.
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let logs = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        if line.is_empty() {
            let status = child.wait().expect("the binary is waited for");
            let mut rest = Vec::new();
            let _ = stdout.read_to_end(&mut rest);
            return Err(Output {
                status,
                stdout: rest,
                stderr: logs.join().unwrap_or_default().into_bytes(),
            });
        }
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the ready line is JSON ({e}): {line}"));
        Ok(Server {
            child: Some(child),
            ready,
            line,
            _stdout: stdout,
            logs: Some(logs),
        })
    }
}

/// A running binary. Dropping it sends SIGTERM (so that it cleans up after itself: its
/// certificate at the default path, its spill directory) and kills it if it lingers.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    /// The parsed ready line.
    pub ready: Value,
    /// The ready line as printed.
    pub line: String,
    _stdout: BufReader<ChildStdout>,
    logs: Option<JoinHandle<String>>,
}

/// How a stopped server ended.
#[derive(Debug)]
pub struct Stopped {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it wrote to stderr.
    pub logs: String,
}

impl Server {
    /// The ready line's `base_url`.
    pub fn base_url(&self) -> String {
        self.ready["base_url"]
            .as_str()
            .expect("a base_url")
            .to_owned()
    }

    /// The ready line's `address` (`127.0.0.1:PORT`).
    pub fn address(&self) -> String {
        self.ready["address"]
            .as_str()
            .expect("an address")
            .to_owned()
    }

    /// The ready line's `certificate_path`.
    pub fn certificate_path(&self) -> PathBuf {
        PathBuf::from(
            self.ready["certificate_path"]
                .as_str()
                .expect("a certificate_path"),
        )
    }

    /// A client that trusts the certificate the server wrote (any client, with TLS off).
    pub fn client(&self) -> reqwest::Client {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(Duration::from_secs(30));
        if self.ready["tls"] == true {
            let pem = std::fs::read(self.certificate_path()).expect("the certificate file");
            b = b.add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM"));
        }
        b.build().expect("a client")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("not yet stopped").id()
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        // SAFETY: kill(2) with the pid of a child we have not reaped, and a valid signal.
        let rc = unsafe { libc::kill(self.pid() as i32, libc::SIGTERM) };
        assert_eq!(rc, 0, "SIGTERM was delivered");
    }

    /// Waits for the process to exit (polling every 10 ms), at most `within`; kills it and
    /// panics when it does not.
    pub fn wait_exit(&mut self, within: Duration) -> Stopped {
        let mut child = self.child.take().expect("not yet stopped");
        for _ in 0..within.as_millis().div_ceil(10) {
            if let Some(status) = child.try_wait().expect("try_wait") {
                let logs = self
                    .logs
                    .take()
                    .map(|l| l.join().unwrap_or_default())
                    .unwrap_or_default();
                return Stopped { status, logs };
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server did not exit within {within:?}");
    }

    /// SIGTERM, then waits (at most 10 s) for the exit.
    pub fn stop(mut self) -> Stopped {
        self.sigterm();
        self.wait_exit(Duration::from_secs(10))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: kill(2) with the pid of a child we have not reaped, and a valid signal.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        for _ in 0..500 {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
