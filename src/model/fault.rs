//! Owns the domain faults: every documented condition vCenter can answer with, in model words.

/// Why a file-related fault happened; rendered as vCenter's `ErrorReason` in `data.reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileReason {
    /// The path names something that is not a regular file.
    NotAFile,
    /// The path names something that is not a directory.
    NotADirectory,
    /// The path, or one of its names, is longer than the guest allows.
    PathTooLong,
    /// Nothing exists at the path.
    FileNotFound,
    /// The file is larger than the operation allows.
    FileTooLarge,
    /// The guest disk has no room.
    NoDiskSpace,
    /// The directory still has entries.
    DirectoryNotEmpty,
}

impl FileReason {
    /// vCenter's enum value for this reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAFile => "NOT_A_FILE",
            Self::NotADirectory => "NOT_A_DIRECTORY",
            Self::PathTooLong => "PATH_TOO_LONG",
            Self::FileNotFound => "FILE_NOT_FOUND",
            Self::FileTooLarge => "FILE_TOO_LARGE",
            Self::NoDiskSpace => "NO_DISK_SPACE",
            Self::DirectoryNotEmpty => "DIRECTORY_NOT_EMPTY",
        }
    }
}

/// Why a `/guestFile` token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// No transfer has that id, or the token does not match it.
    Unknown,
    /// The transfer was already redeemed.
    Used,
    /// Ten minutes have passed since it was issued.
    Expired,
    /// Its VM changed power state, was unregistered or migrated.
    Revoked,
    /// Another request is redeeming it right now.
    InProgress,
}

impl Refusal {
    /// The word used in messages, logs and the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Used => "used",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::InProgress => "in_progress",
        }
    }
}

/// Every condition the emulated vCenter reports as an error.
///
/// The `vapi` catalogue maps each variant to vCenter's error type, HTTP status and message in one
/// exhaustive match, so a new variant does not compile without its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    // ----- vCenter session and privileges -----
    /// No session id, or one that is unknown or expired.
    SessionRequired,
    /// `POST /api/session` with a wrong or missing user name or password.
    LoginFailed,
    /// The vCenter user's role lacks `privilege`.
    PrivilegeMissing {
        /// The privilege the operation needs, e.g. `VirtualMachine.GuestOperations.Modify`.
        privilege: &'static str,
    },

    // ----- request shape -----
    /// The body or query could not be read as the operation's input.
    InvalidInput {
        /// What was wrong, in words.
        detail: String,
    },
    /// A required field is absent.
    MissingField {
        /// The field's name.
        field: String,
        /// The structure that should carry it.
        structure: &'static str,
    },
    /// The request body exceeds the configured limit.
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The request body stopped arriving before it was complete.
    BodyStalled {
        /// How long it stood still, in seconds.
        seconds: u64,
    },
    /// No route matches the URL.
    UnknownRoute {
        /// The request path.
        path: String,
    },
    /// The route exists but not with this method.
    MethodNotAllowed {
        /// The request method.
        method: String,
    },
    /// A JSON-RPC call names a service or operation vcmock does not serve.
    OperationNotFound {
        /// `serviceId.operationId`.
        operation: String,
    },
    /// The handler panicked or failed unexpectedly.
    Internal {
        /// A short description.
        detail: String,
    },

    // ----- inventory and power -----
    /// No VM has this id.
    VmNotFound {
        /// The id asked for.
        vm: String,
    },
    /// More VMs match a list filter than vCenter returns at once (4000).
    TooManyVms {
        /// How many matched.
        count: usize,
    },
    /// A power operation found the VM already in the state asked for.
    AlreadyInPowerState {
        /// The VM.
        vm: String,
        /// The state, as vCenter's enum value.
        state: &'static str,
    },
    /// A power operation is not allowed from the VM's current power state.
    PowerOpNotAllowed {
        /// The VM.
        vm: String,
        /// The operation.
        op: &'static str,
        /// The current state, as vCenter's enum value.
        state: &'static str,
    },

    // ----- guest operations: the common checks, in vCenter's order -----
    /// The VM is not powered on.
    VmNotRunning {
        /// The VM.
        vm: String,
    },
    /// VMware Tools is not running in the guest.
    ToolsNotRunning {
        /// The VM.
        vm: String,
    },
    /// The guest's Tools are too old for guest operations.
    ToolsTooOld {
        /// The VM.
        vm: String,
    },
    /// Guest operations are disabled by the guest's Tools configuration.
    GuestOpsDisabled {
        /// The VM.
        vm: String,
    },
    /// The guest credentials are wrong (unknown user, wrong password, unknown SAML token).
    GuestAuthFailed,
    /// `interactive_session` was asked for, but that user has no interactive session in the guest.
    NoInteractiveSession {
        /// The guest user.
        user: String,
    },
    /// The guest user may not do this to `path`.
    GuestAccessDenied {
        /// The path, as the guest spells it.
        path: String,
    },
    /// The VM or the path is held by a conflicting operation.
    GuestBusy {
        /// The VM.
        vm: String,
    },

    // ----- guest processes and environment -----
    /// No process has this pid (running, a system process, or started by `create` and
    /// finished less than five minutes ago); rendered with `ProcessErrorDetails {pid}`.
    ProcessNotFound {
        /// The pid asked for.
        pid: i64,
    },
    /// The guest user may not terminate this process.
    ProcessTerminateDenied {
        /// The pid.
        pid: i64,
    },
    /// `start_minimized` was set for a guest that is not Windows.
    StartMinimizedNotWindows,
    /// The program could not start: a declared failure, a Windows file that is not a
    /// program, or the guest's cap on running processes.
    ProgramFailedToStart {
        /// The program path.
        path: String,
        /// Why, in words.
        why: String,
    },
    /// The program path is not a valid absolute path for the guest.
    ProgramPathInvalid {
        /// The path, as given.
        path: String,
    },
    /// The program exists but the guest user may not run it (no execute permission on
    /// Linux, no read access on Windows).
    ProgramNotRunnable {
        /// The program path.
        path: String,
    },
    /// The guest user already holds the most credential tickets a guest hands out.
    TooManyGuestLogons {
        /// The guest user.
        user: String,
    },
    /// The environment variable is not set for the guest user.
    EnvironmentVariableNotFound {
        /// The variable's name.
        name: String,
    },

    // ----- guest filesystem conditions -----
    /// A file-related failure with vCenter's `FileErrorDetails`.
    File {
        /// Which error type the operation documents for this case.
        kind: FileFaultKind,
        /// The reason.
        reason: FileReason,
        /// The path concerned.
        path: String,
    },
    /// A path that is not absolute, or has bytes the guest cannot take.
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it is invalid.
        why: &'static str,
    },
    /// A name the client gave (a temporary name's prefix or suffix) that would not stay one name
    /// inside its directory, or that the guest forbids.
    InvalidName {
        /// Which input it came from.
        field: &'static str,
        /// The value (NUL bytes shown as `\0`).
        value: String,
        /// Why it is refused.
        why: &'static str,
    },
    /// Something already exists where the operation would create something.
    AlreadyExists {
        /// The path.
        path: String,
    },
    /// A directory has content and `recursive` is not set.
    DirectoryInUse {
        /// The path.
        path: String,
    },
    /// The guest disk has no room for the file.
    NoSpace {
        /// The path being written.
        path: String,
        /// Bytes needed.
        needed: u64,
        /// Bytes free.
        free: u64,
    },
    /// A file's content is too large to hold in memory for what was asked (a state dump, the
    /// library's `read_file`); streaming reads (downloads, the admin file read) have no limit.
    ContentTooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
        /// The most that fits.
        limit: u64,
    },
    /// Attributes for the other guest family (e.g. `windows` on a POSIX guest).
    AttributesNotApplicable {
        /// The attribute group given.
        given: &'static str,
    },

    // ----- transfers -----
    /// A `/guestFile` token was refused.
    TransferRefused {
        /// Why.
        refusal: Refusal,
    },
    /// A `/guestFile` request used the wrong method for its transfer's direction.
    TransferWrongMethod {
        /// The method the transfer answers.
        expected: &'static str,
    },
    /// An upload body's length differs from the size declared at creation.
    UploadLengthMismatch {
        /// Declared size.
        expected: u64,
        /// Bytes received (or announced by Content-Length).
        received: u64,
    },
    /// An empty upload, which ESXi answers with 500.
    EmptyUpload,
    /// The transfer was cut off because its VM changed state.
    TransferAborted,

    // ----- the SOAP wire (vim25) -----
    /// A managed object reference names nothing (or another session's object).
    ObjectNotFound {
        /// The managed object type, e.g. `ContainerView`.
        ty: String,
        /// The id as sent.
        id: String,
    },
    /// The method is not served on objects of that type.
    MethodNotFound {
        /// The receiver's type.
        ty: String,
        /// The receiver's id.
        id: String,
        /// The method.
        method: String,
    },
    /// A property path does not exist.
    InvalidProperty {
        /// The path or name.
        name: String,
    },
    /// A property retrieval passes one of the bounds on what one retrieval may reach or answer.
    RetrievalTooLarge {
        /// What is counted, e.g. `bytes in one answer`.
        what: &'static str,
        /// The bound.
        limit: u64,
    },
    /// `WaitForUpdates` got a version its collector never returned.
    InvalidCollectorVersion,
    /// A wait was cancelled by `CancelWaitForUpdates`.
    RequestCanceled,
    /// The request is not a SOAP envelope with one method call (not XML, no Body, ...).
    MalformedRequest {
        /// What was wrong.
        detail: String,
    },
    /// A guest power operation (shutdown, reboot, standby) needs VMware Tools, which is not
    /// running.
    ToolsUnavailable {
        /// The VM.
        vm: String,
    },

    // ----- the test-double toolkit -----
    /// An error injected by a fault rule.
    Injected {
        /// vCenter error type, e.g. `RESOURCE_BUSY`.
        error_type: String,
        /// The message to send.
        message: String,
    },
    /// The admin API needs the admin token.
    AdminTokenRequired,
    /// An admin request named something that does not exist (fault rule, transfer).
    AdminNotFound {
        /// What was missing.
        what: String,
    },
}

/// Which documented error a file fault maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFaultKind {
    /// 400 `INVALID_ARGUMENT` (not a file, not a directory, path too long).
    InvalidArgument,
    /// 404 `NOT_FOUND` (path, or its parent, not found).
    NotFound,
}

impl Fault {
    /// A 404 with `FILE_NOT_FOUND` for `path`.
    pub fn not_found(path: impl Into<String>) -> Self {
        Self::File {
            kind: FileFaultKind::NotFound,
            reason: FileReason::FileNotFound,
            path: path.into(),
        }
    }

    /// A 400 `INVALID_ARGUMENT` with file details.
    pub fn invalid(reason: FileReason, path: impl Into<String>) -> Self {
        Self::File {
            kind: FileFaultKind::InvalidArgument,
            reason,
            path: path.into(),
        }
    }
}
