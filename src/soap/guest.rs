//! Owns vim25's guest operations managers on `/sdk`: `GuestAuthManager`, `GuestFileManager` and
//! `GuestProcessManager`. Each method reads its parameters into the input of the operation REST
//! runs for the same thing (`files.list`, `transfers.create`, ...), invokes it through the
//! operation layer (so the journal, fault rules and every vCenter check are the same on both
//! wires), and writes its output as vim25 data objects.

use time::OffsetDateTime;

use crate::model::guest_fs::{
    AttrUpdate, Family, FileInfo, FileType, ListEntry, ListPage, PosixAttrs, WindowsAttrs,
};
use crate::model::process::{ProcessInfo, StartSpec};
use crate::model::transfer::UploadSpec;
use crate::model::{Credentials, Fault, GuestAuth, TransferRequest};
use crate::ops::files::{NameFilter, PathSpec, TemporarySpec};
use crate::ops::processes::PidSpec;
use crate::ops::transfers::{TransferSpec, TransferUrl};
use crate::ops::{
    Call, Operation, Stop, directories, environment, files, guest_auth, processes, transfers,
};

use super::collector::{parse_bool, parse_moref};
use super::envelope::Answer;
use super::fault::not_found;
use super::value::{Array, Data, MoRef, Value};
use super::xml::Element;

/// The guest managers' singletons: (managed object type, id).
const MANAGERS: &[(&str, &str)] = &[
    ("GuestAuthManager", "guestOperationsAuthManager"),
    ("GuestFileManager", "guestOperationsFileManager"),
    ("GuestProcessManager", "guestOperationsProcessManager"),
];

/// Every guest method served, with the manager type it is served on.
pub const METHODS: &[(&str, &str)] = &[
    ("ValidateCredentialsInGuest", "GuestAuthManager"),
    ("AcquireCredentialsInGuest", "GuestAuthManager"),
    ("ReleaseCredentialsInGuest", "GuestAuthManager"),
    ("ListFilesInGuest", "GuestFileManager"),
    ("MakeDirectoryInGuest", "GuestFileManager"),
    ("DeleteFileInGuest", "GuestFileManager"),
    ("DeleteDirectoryInGuest", "GuestFileManager"),
    ("MoveFileInGuest", "GuestFileManager"),
    ("MoveDirectoryInGuest", "GuestFileManager"),
    ("CreateTemporaryFileInGuest", "GuestFileManager"),
    ("CreateTemporaryDirectoryInGuest", "GuestFileManager"),
    ("ChangeFileAttributesInGuest", "GuestFileManager"),
    ("InitiateFileTransferToGuest", "GuestFileManager"),
    ("InitiateFileTransferFromGuest", "GuestFileManager"),
    ("StartProgramInGuest", "GuestProcessManager"),
    ("ListProcessesInGuest", "GuestProcessManager"),
    ("TerminateProcessInGuest", "GuestProcessManager"),
    ("ReadEnvironmentVariableInGuest", "GuestProcessManager"),
];

/// `ListFilesInGuest`'s page size when `maxResults` is not given (vim25's documented default).
pub const LIST_DEFAULT_MAX: u64 = 50;

/// Whether `method` is a guest method served on objects of type `ty`.
pub fn serves(method: &str, ty: &str) -> bool {
    METHODS.iter().any(|(m, t)| *m == method && *t == ty)
}

/// The VM a guest method names, when it names one: faults about the call (a missing
/// privilege) are about it rather than about the manager.
pub fn entity(method: &str, body: &Element) -> Option<MoRef> {
    if !METHODS.iter().any(|(m, _)| *m == method) {
        return None;
    }
    body.child("vm").and_then(|v| parse_moref(v, "vm").ok())
}

/// A guest method's parameters, read into operation inputs.
struct Args<'a> {
    this: &'a MoRef,
    body: &'a Element,
}

fn arg(what: impl Into<String>) -> Fault {
    Fault::InvalidInput {
        detail: what.into(),
    }
}

impl<'a> Args<'a> {
    /// `_this` must be the manager singleton of its type (the type was checked on dispatch).
    fn manager(&self) -> Result<(), Fault> {
        if MANAGERS.contains(&(self.this.ty.as_str(), self.this.value.as_str())) {
            Ok(())
        } else {
            Err(not_found(self.this))
        }
    }

    /// The manager, then the VM and the guest credentials every guest method starts with.
    fn vm_auth(&self) -> Result<(String, Credentials), Fault> {
        self.vm_auth_named("auth")
    }

    /// [`Args::vm_auth`] with the credentials in parameter `name`.
    fn vm_auth_named(&self, name: &str) -> Result<(String, Credentials), Fault> {
        self.manager()?;
        let vm = self.body.child("vm").ok_or_else(|| arg("vm"))?;
        let vm = parse_moref(vm, "vm")?;
        if vm.ty != "VirtualMachine" {
            return Err(arg("vm"));
        }
        let auth = self.body.child(name).ok_or_else(|| arg(name))?;
        Ok((vm.value, credentials(auth)?))
    }

    /// A string parameter as sent (white space is part of a guest path or a name).
    fn string(&self, name: &str) -> Option<String> {
        self.body.child(name).map(|e| e.text.clone())
    }

    fn required(&self, name: &str) -> Result<String, Fault> {
        self.string(name).ok_or_else(|| arg(name))
    }

    /// An optional string parameter; an empty one is the same as none (govmomi sends
    /// `<directoryPath></directoryPath>` for "the default").
    fn optional(&self, name: &str) -> Option<String> {
        self.string(name).filter(|s| !s.trim().is_empty())
    }

    fn flag(&self, name: &str) -> Result<bool, Fault> {
        let el = self.body.child(name).ok_or_else(|| arg(name))?;
        parse_bool(el, name)
    }

    fn number(&self, name: &str) -> Result<Option<i64>, Fault> {
        self.body
            .child(name)
            .map(|e| e.trimmed().parse::<i64>().map_err(|_| arg(name)))
            .transpose()
    }

    fn validate(&self) -> Result<guest_auth::Validate, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        Ok(guest_auth::Validate { vm, credentials })
    }

    fn acquire(&self) -> Result<(guest_auth::Acquire, bool), Fault> {
        // `sessionID` names an interactive session to bind to; tickets do not need one here.
        let (vm, credentials) = self.vm_auth_named("requestedAuth")?;
        let interactive = credentials.interactive;
        Ok((guest_auth::Acquire { vm, credentials }, interactive))
    }

    fn release(&self) -> Result<guest_auth::Release, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        Ok(guest_auth::Release { vm, credentials })
    }

    fn list(&self) -> Result<files::List, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        let path = self.required("filePath")?;
        let index = match self.number("index")? {
            None => 0,
            Some(n) => u64::try_from(n).map_err(|_| arg("index"))?,
        };
        let size = match self.number("maxResults")? {
            None | Some(0) => LIST_DEFAULT_MAX,
            Some(n) => u64::try_from(n).map_err(|_| arg("maxResults"))?,
        };
        let filter =
            NameFilter::new(self.string("matchPattern").as_deref()).map_err(|f| match f {
                Fault::InvalidInput { detail } => Fault::InvalidInput {
                    detail: detail.replacen("filter.match_pattern", "matchPattern", 1),
                },
                other => other,
            })?;
        Ok(files::List {
            vm,
            credentials,
            path,
            index,
            size,
            filter,
            detailed: true,
        })
    }

    fn path_spec(&self, name: &str) -> Result<PathSpec, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        Ok(PathSpec {
            vm,
            credentials,
            path: self.required(name)?,
        })
    }

    fn make_directory(&self) -> Result<directories::Create, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        Ok(directories::Create {
            vm,
            credentials,
            path: self.required("directoryPath")?,
            create_parents: self.flag("createParentDirectories")?,
        })
    }

    fn delete_directory(&self) -> Result<directories::Delete, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        Ok(directories::Delete {
            vm,
            credentials,
            path: self.required("directoryPath")?,
            recursive: self.flag("recursive")?,
        })
    }

    fn move_file(&self) -> Result<files::Move, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        Ok(files::Move {
            vm,
            credentials,
            path: self.required("srcFilePath")?,
            new_path: self.required("dstFilePath")?,
            overwrite: self.flag("overwrite")?,
        })
    }

    fn move_directory(&self) -> Result<directories::Move, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        Ok(directories::Move {
            vm,
            credentials,
            path: self.required("srcDirectoryPath")?,
            new_path: self.required("dstDirectoryPath")?,
        })
    }

    fn temporary(&self) -> Result<TemporarySpec, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        Ok(TemporarySpec {
            vm,
            credentials,
            prefix: self.required("prefix")?,
            suffix: self.required("suffix")?,
            parent_path: self.optional("directoryPath"),
        })
    }

    fn change_attributes(&self) -> Result<files::Update, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        let path = self.required("guestFilePath")?;
        let el = self
            .body
            .child("fileAttributes")
            .ok_or_else(|| arg("fileAttributes"))?;
        Ok(files::Update {
            vm,
            credentials,
            path,
            attributes: attributes(el)?,
        })
    }

    fn transfer_from(&self) -> Result<transfers::FromGuest, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        Ok(transfers::FromGuest(TransferSpec {
            vm,
            credentials,
            request: TransferRequest {
                path: self.required("guestFilePath")?,
                upload: None,
            },
        }))
    }

    fn transfer_to(&self) -> Result<transfers::ToGuest, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        let path = self.required("guestFilePath")?;
        let el = self
            .body
            .child("fileAttributes")
            .ok_or_else(|| arg("fileAttributes"))?;
        let attrs = attributes(el)?;
        let size = self.number("fileSize")?.ok_or_else(|| arg("fileSize"))?;
        let size = u64::try_from(size).map_err(|_| arg("fileSize"))?;
        Ok(transfers::ToGuest(TransferSpec {
            vm,
            credentials,
            request: TransferRequest {
                path,
                upload: Some(UploadSpec {
                    size,
                    overwrite: self.flag("overwrite")?,
                    attrs,
                }),
            },
        }))
    }

    fn start_program(&self) -> Result<processes::Create, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        let spec = self.body.child("spec").ok_or_else(|| arg("spec"))?;
        Ok(processes::Create {
            vm,
            credentials,
            spec: program_spec(spec)?,
        })
    }

    fn list_processes(&self) -> Result<processes::List, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        let pids = self
            .body
            .all("pids")
            .map(|e| e.trimmed().parse::<i64>().map_err(|_| arg("pids")))
            .collect::<Result<_, _>>()?;
        Ok(processes::List {
            vm,
            credentials,
            pids,
        })
    }

    fn terminate(&self) -> Result<processes::Delete, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        let pid = self.number("pid")?.ok_or_else(|| arg("pid"))?;
        Ok(processes::Delete(PidSpec {
            vm,
            credentials,
            pid,
        }))
    }

    fn environment(&self) -> Result<environment::List, Fault> {
        let (vm, credentials) = self.vm_auth()?;
        Ok(environment::List {
            vm,
            credentials,
            names: self.body.all("names").map(|e| e.text.clone()).collect(),
        })
    }
}

/// Reads a `GuestProgramSpec` (or `GuestWindowsProgramSpec`, with `startMinimized`).
/// `envVariables` (`NAME=value` each) are the program's whole environment, as vim25 documents;
/// without them it gets the guest user's.
fn program_spec(el: &Element) -> Result<StartSpec, Fault> {
    let path = el
        .child("programPath")
        .map(|e| e.text.clone())
        .ok_or_else(|| arg("spec.programPath"))?;
    let environment = el
        .all("envVariables")
        .map(|e| {
            // A Windows variable may start with `=` (`=C:=C:\`): the name ends at the next one.
            let text = &e.text;
            let at = text
                .char_indices()
                .skip(1)
                .find(|(_, c)| *c == '=')
                .map(|(i, _)| i)
                .ok_or_else(|| arg("spec.envVariables: each is NAME=value"))?;
            Ok((text[..at].to_owned(), text[at + 1..].to_owned()))
        })
        .collect::<Result<Vec<_>, Fault>>()?;
    let start_minimized = match el.xsi_type() {
        Some("GuestWindowsProgramSpec") => el
            .child("startMinimized")
            .map(|e| parse_bool(e, "spec.startMinimized"))
            .transpose()?,
        None | Some("GuestProgramSpec") => None,
        Some(other) => return Err(arg(format!("spec: {other}"))),
    };
    Ok(StartSpec {
        path,
        arguments: el.child("arguments").map(|e| e.text.clone()),
        working_directory: el
            .child("workingDirectory")
            .map(|e| e.text.clone())
            .filter(|d| !d.is_empty()),
        environment: (!environment.is_empty()).then_some(environment),
        start_minimized,
    })
}

/// `GuestProcessInfo`: `endTime` and `exitCode` are set once the process has ended (govc
/// polls for `endTime`, Ansible for `exitCode`).
fn process_info(p: &ProcessInfo) -> Value {
    let exit_code = p
        .exit_code
        .map(|c| i32::try_from(c).unwrap_or(if c < 0 { i32::MIN } else { i32::MAX }));
    Data::new("GuestProcessInfo")
        .set("name", p.name.as_str())
        .set("pid", i64::try_from(p.pid).unwrap_or(i64::MAX))
        .set("owner", p.owner.as_str())
        .set("cmdLine", p.command.as_str())
        .set("startTime", p.started)
        .opt("endTime", p.finished)
        .opt("exitCode", exit_code)
        .into()
}

/// The processes `processes.list` answered, in pid order.
fn processes_answer(all: Vec<ProcessInfo>) -> Answer {
    let items: Vec<Value> = all.iter().map(process_info).collect();
    if items.is_empty() {
        return Answer::Void;
    }
    value(Array {
        of: "GuestProcessInfo",
        items,
    })
}

/// `TicketedSessionAuthentication`, declared as the base `GuestAuthentication`.
fn ticket_answer(ticket: String, interactive: bool) -> Answer {
    value(Value::any(
        Data::new("TicketedSessionAuthentication")
            .set("interactiveSession", interactive)
            .set("ticket", ticket),
    ))
}

/// The variables as `NAME=value` strings.
fn environment_answer(vars: Vec<(String, String)>) -> Answer {
    if vars.is_empty() {
        return Answer::Void;
    }
    value(Value::strings(
        vars.into_iter().map(|(k, v)| format!("{k}={v}")),
    ))
}

/// Reads guest authentication: `NamePasswordAuthentication` (username, password),
/// `SAMLTokenAuthentication` (token, optional username) or `TicketedSessionAuthentication` (a
/// ticket `AcquireCredentialsInGuest` gave), each with `interactiveSession`.
fn credentials(auth: &Element) -> Result<Credentials, Fault> {
    let interactive = match auth.child("interactiveSession") {
        Some(e) => parse_bool(e, "auth.interactiveSession")?,
        None => false,
    };
    let text = |name: &str| auth.child(name).map(|e| e.text.clone());
    let auth = match auth.xsi_type() {
        Some("NamePasswordAuthentication") => GuestAuth::Password {
            user: text("username").unwrap_or_default(),
            password: text("password").ok_or_else(|| arg("auth.password"))?,
        },
        Some("SAMLTokenAuthentication") => GuestAuth::Saml {
            token: text("token").ok_or_else(|| arg("auth.token"))?,
            user: text("username").filter(|u| !u.is_empty()),
        },
        Some("TicketedSessionAuthentication") => GuestAuth::Ticket {
            ticket: text("ticket").ok_or_else(|| arg("auth.ticket"))?,
        },
        Some(other) => {
            return Err(arg(format!(
                "auth: {other} is not served; use NamePasswordAuthentication, SAMLTokenAuthentication or TicketedSessionAuthentication"
            )));
        }
        None => return Err(arg("auth: the authentication type (xsi:type) is missing")),
    };
    Ok(Credentials { auth, interactive })
}

/// Reads an `xsd:dateTime`; one without a zone is taken as UTC.
fn datetime(el: &Element, what: &str) -> Result<OffsetDateTime, Fault> {
    let t = el.trimmed();
    crate::clock::parse_instant(t)
        .or_else(|_| crate::clock::parse_instant(&format!("{t}Z")))
        .map_err(|e| arg(format!("{what}: {e}")))
}

/// Reads `fileAttributes`, declared as the base `GuestFileAttributes`: the base itself (Ansible
/// sends it without `xsi:type`), `GuestPosixFileAttributes` or `GuestWindowsFileAttributes`.
/// `symlinkTarget` and `createTime` are not settable and are ignored.
fn attributes(el: &Element) -> Result<AttrUpdate, Fault> {
    let time = |name: &str| {
        el.child(name)
            .map(|e| datetime(e, &format!("fileAttributes.{name}")))
            .transpose()
    };
    let number = |name: &str| -> Result<Option<i64>, Fault> {
        el.child(name)
            .map(|e| {
                e.trimmed()
                    .parse::<i64>()
                    .map_err(|_| arg(format!("fileAttributes.{name}")))
            })
            .transpose()
    };
    let id = |name: &str| -> Result<Option<u32>, Fault> {
        number(name)?
            .map(|n| u32::try_from(n).map_err(|_| arg(format!("fileAttributes.{name}"))))
            .transpose()
    };
    let flag = |name: &str| {
        el.child(name)
            .map(|e| parse_bool(e, &format!("fileAttributes.{name}")))
            .transpose()
    };
    let mut update = AttrUpdate {
        modified: time("modificationTime")?,
        accessed: time("accessTime")?,
        ..AttrUpdate::default()
    };
    match el.xsi_type() {
        None | Some("GuestFileAttributes") => {}
        Some("GuestPosixFileAttributes") => {
            let mode = number("permissions")?
                .map(|m| {
                    u32::try_from(m)
                        .ok()
                        .filter(|m| *m <= 0o7777)
                        .ok_or_else(|| arg("fileAttributes.permissions: not a mode in 0..=0o7777"))
                })
                .transpose()?;
            update.posix = Some(PosixAttrs {
                owner: id("ownerId")?,
                group: id("groupId")?,
                mode,
            });
        }
        Some("GuestWindowsFileAttributes") => {
            update.windows = Some(WindowsAttrs {
                hidden: flag("hidden")?,
                read_only: flag("readOnly")?,
            });
        }
        Some(other) => return Err(arg(format!("fileAttributes: {other}"))),
    }
    Ok(update)
}

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::File => "file",
        FileType::Directory => "directory",
        FileType::Symlink => "symlink",
    }
}

fn clamp_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A file's attributes as vim25 has them: `GuestPosixFileAttributes` on Linux (owner, group and
/// permission bits always set: govc dereferences them), `GuestWindowsFileAttributes` on Windows.
fn file_attributes(info: &FileInfo) -> Data {
    let m = &info.meta;
    match info.family {
        Family::Linux => Data::new("GuestPosixFileAttributes")
            .set("modificationTime", m.modified)
            .set("accessTime", m.accessed)
            .opt("symlinkTarget", info.symlink_target.clone())
            .set("ownerId", clamp_i32(m.owner))
            .set("groupId", clamp_i32(m.group))
            .set("permissions", i64::from(m.mode & 0o7777)),
        Family::Windows => Data::new("GuestWindowsFileAttributes")
            .set("modificationTime", m.modified)
            .set("accessTime", m.accessed)
            .opt("symlinkTarget", info.symlink_target.clone())
            .set("hidden", m.hidden)
            .set("readOnly", m.read_only)
            .set("createTime", m.created),
    }
}

fn file_info(e: &ListEntry) -> Value {
    let attributes = match &e.info {
        Some(info) => file_attributes(info),
        None => Data::new("GuestFileAttributes"),
    };
    Data::new("GuestFileInfo")
        .set("path", e.filename.as_str())
        .set("type", type_name(e.file_type))
        .set("size", i64::try_from(e.size).unwrap_or(i64::MAX))
        .set("attributes", Value::any(attributes))
        .into()
}

/// `GuestListFileInfo`: the page, and exactly how many matching entries follow it (govc pages
/// until `remaining` is 0, so a wrong count loops it forever).
fn list_answer(page: &ListPage) -> Answer {
    let next = page.start_index.unwrap_or(0) + page.files.len() as u64;
    let remaining = if page.files.is_empty() {
        0
    } else {
        page.total.saturating_sub(next)
    };
    let files: Vec<Value> = page.files.iter().map(file_info).collect();
    let mut d = Data::new("GuestListFileInfo");
    d = if files.is_empty() {
        d.unset("files")
    } else {
        d.set(
            "files",
            Array {
                of: "GuestFileInfo",
                items: files,
            },
        )
    };
    value(d.set("remaining", i32::try_from(remaining).unwrap_or(i32::MAX)))
}

/// `FileTransferInformation`: the file's attributes and size, and the URL.
fn transfer_information(t: TransferUrl) -> Answer {
    let (attributes, size) = match &t.file {
        Some(info) => (
            file_attributes(info),
            i64::try_from(info.size).unwrap_or(i64::MAX),
        ),
        None => (Data::new("GuestFileAttributes"), 0),
    };
    value(
        Data::new("FileTransferInformation")
            .set("attributes", Value::any(attributes))
            .set("size", size)
            .set("url", t.url),
    )
}

fn value(v: impl Into<Value>) -> Answer {
    Answer::Value {
        value: v.into(),
        typed: false,
    }
}

/// Invokes `O` through the operation layer and writes its output with `render`.
async fn run<O: Operation>(
    on: &Call<'_>,
    input: Result<O, Fault>,
    render: impl FnOnce(O::Output) -> Answer,
) -> Result<Answer, Stop> {
    on.invoke(input).await.map(render)
}

/// Runs the guest method `method` (on `this`, with the method element `body`) through the
/// operation layer; `None` when it is not a guest method.
pub async fn invoke(
    on: &Call<'_>,
    method: &str,
    this: &MoRef,
    body: &Element,
) -> Option<Result<Answer, Stop>> {
    let a = Args { this, body };
    let void = |()| Answer::Void;
    Some(match method {
        "ValidateCredentialsInGuest" => run(on, a.validate(), void).await,
        "AcquireCredentialsInGuest" => match a.acquire() {
            Ok((op, interactive)) => {
                run(on, Ok(op), |ticket| ticket_answer(ticket, interactive)).await
            }
            Err(f) => run::<guest_auth::Acquire>(on, Err(f), |_| Answer::Void).await,
        },
        "ReleaseCredentialsInGuest" => run(on, a.release(), void).await,
        "ListFilesInGuest" => run(on, a.list(), |page| list_answer(&page)).await,
        "MakeDirectoryInGuest" => run(on, a.make_directory(), void).await,
        "DeleteFileInGuest" => run(on, a.path_spec("filePath").map(files::Delete), void).await,
        "DeleteDirectoryInGuest" => run(on, a.delete_directory(), void).await,
        "MoveFileInGuest" => run(on, a.move_file(), void).await,
        "MoveDirectoryInGuest" => run(on, a.move_directory(), void).await,
        "CreateTemporaryFileInGuest" => {
            run(on, a.temporary().map(files::CreateTemporary), value).await
        }
        "CreateTemporaryDirectoryInGuest" => {
            run(on, a.temporary().map(directories::CreateTemporary), value).await
        }
        "ChangeFileAttributesInGuest" => run(on, a.change_attributes(), void).await,
        "InitiateFileTransferToGuest" => run(on, a.transfer_to(), |t| value(t.url)).await,
        "InitiateFileTransferFromGuest" => run(on, a.transfer_from(), transfer_information).await,
        "StartProgramInGuest" => {
            run(on, a.start_program(), |pid| {
                value(i64::try_from(pid).unwrap_or(i64::MAX))
            })
            .await
        }
        "ListProcessesInGuest" => run(on, a.list_processes(), processes_answer).await,
        "TerminateProcessInGuest" => run(on, a.terminate(), void).await,
        "ReadEnvironmentVariableInGuest" => run(on, a.environment(), environment_answer).await,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::xml::{Bounds, parse};

    fn el(xml: &str) -> Element {
        let doc = format!(
            r#"<r xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{xml}</r>"#
        );
        parse(doc.as_bytes(), Bounds::default()).unwrap()
    }

    /// The one element `xml` holds.
    fn first(xml: &str) -> Element {
        el(xml).children.remove(0)
    }

    #[test]
    fn name_password_and_saml_authentication_become_model_credentials() {
        let c = credentials(&first(
            r#"<auth xsi:type="NamePasswordAuthentication"><interactiveSession>false</interactiveSession><username>root</username><password> pw </password></auth>"#,
        ))
        .unwrap();
        assert_eq!(
            c.auth,
            GuestAuth::Password {
                user: "root".into(),
                password: " pw ".into()
            }
        );
        assert!(!c.interactive);
        let c = credentials(&first(
            r#"<auth xsi:type="SAMLTokenAuthentication"><interactiveSession>true</interactiveSession><token>t</token></auth>"#,
        ))
        .unwrap();
        assert_eq!(
            c.auth,
            GuestAuth::Saml {
                token: "t".into(),
                user: None
            }
        );
        assert!(c.interactive);
    }

    #[test]
    fn authentication_without_a_served_type_or_a_password_is_an_invalid_argument() {
        for xml in [
            r#"<auth><username>root</username><password>x</password></auth>"#,
            r#"<auth xsi:type="SSPIAuthentication"><sspiToken>x</sspiToken></auth>"#,
            r#"<auth xsi:type="NamePasswordAuthentication"><username>root</username></auth>"#,
            r#"<auth xsi:type="NamePasswordAuthentication"><interactiveSession>maybe</interactiveSession><password>x</password></auth>"#,
        ] {
            assert!(
                matches!(credentials(&first(xml)), Err(Fault::InvalidInput { .. })),
                "{xml}"
            );
        }
    }

    #[test]
    fn file_attributes_read_the_base_posix_and_windows_types() {
        let a = attributes(&first(
            r#"<a><modificationTime>2024-01-02T03:04:05Z</modificationTime></a>"#,
        ))
        .unwrap();
        assert!(a.posix.is_none() && a.windows.is_none());
        assert_eq!(
            a.modified,
            Some(time::macros::datetime!(2024-01-02 03:04:05 UTC))
        );
        let p = attributes(&first(
            r#"<a xsi:type="GuestPosixFileAttributes"><ownerId>1000</ownerId><permissions>420</permissions></a>"#,
        ))
        .unwrap();
        assert_eq!(
            p.posix,
            Some(PosixAttrs {
                owner: Some(1000),
                group: None,
                mode: Some(0o644)
            })
        );
        let w = attributes(&first(
            r#"<a xsi:type="GuestWindowsFileAttributes"><hidden>true</hidden></a>"#,
        ))
        .unwrap();
        assert_eq!(
            w.windows,
            Some(WindowsAttrs {
                hidden: Some(true),
                read_only: None
            })
        );
        let zoneless = attributes(&first(
            r#"<a><accessTime>2024-01-02T03:04:05</accessTime></a>"#,
        ))
        .unwrap();
        assert_eq!(
            zoneless.accessed,
            Some(time::macros::datetime!(2024-01-02 03:04:05 UTC))
        );
    }

    #[test]
    fn out_of_range_ids_and_modes_and_bad_times_are_invalid_arguments() {
        for xml in [
            r#"<a xsi:type="GuestPosixFileAttributes"><permissions>65536</permissions></a>"#,
            r#"<a xsi:type="GuestPosixFileAttributes"><permissions>-1</permissions></a>"#,
            r#"<a xsi:type="GuestPosixFileAttributes"><ownerId>-5</ownerId></a>"#,
            r#"<a><modificationTime>yesterday</modificationTime></a>"#,
            r#"<a xsi:type="GuestFileInfo"/>"#,
        ] {
            assert!(
                matches!(attributes(&first(xml)), Err(Fault::InvalidInput { .. })),
                "{xml}"
            );
        }
    }

    #[test]
    fn remaining_counts_exactly_the_matching_entries_after_the_page() {
        let entry = |n: &str| ListEntry {
            filename: n.into(),
            file_type: FileType::File,
            size: 1,
            info: None,
        };
        let remaining = |page: &ListPage| match list_answer(page) {
            Answer::Value {
                value: Value::Data(d),
                ..
            } => d.field("remaining").flatten().cloned(),
            other => panic!("{other:?}"),
        };
        let page = |files: Vec<ListEntry>, total, start: Option<u64>| ListPage {
            more: false,
            end_index: None,
            start_index: start,
            total,
            files,
        };
        assert_eq!(
            remaining(&page(vec![entry("a")], 5, Some(2))),
            Some(Value::Int(2))
        );
        assert_eq!(
            remaining(&page(vec![entry("a"), entry("b")], 2, Some(0))),
            Some(Value::Int(0))
        );
        assert_eq!(remaining(&page(vec![], 5, None)), Some(Value::Int(0)));
    }

    #[test]
    fn linux_attributes_always_carry_owner_group_and_permission_bits() {
        let meta = crate::model::guest_fs::Meta {
            modified: crate::clock::DEFAULT_MANUAL_START,
            accessed: crate::clock::DEFAULT_MANUAL_START,
            created: crate::clock::DEFAULT_MANUAL_START,
            owner: 0,
            group: 0,
            mode: 0o100644,
            hidden: false,
            read_only: false,
            acl: None,
        };
        let info = FileInfo {
            file_type: FileType::File,
            size: 3,
            meta,
            symlink_target: None,
            family: Family::Linux,
        };
        let d = file_attributes(&info);
        assert_eq!(d.ty, "GuestPosixFileAttributes");
        assert_eq!(d.field("ownerId"), Some(Some(&Value::Int(0))));
        assert_eq!(d.field("groupId"), Some(Some(&Value::Int(0))));
        assert_eq!(d.field("permissions"), Some(Some(&Value::Long(0o644))));
        assert_eq!(d.field("symlinkTarget"), Some(None));
        let d = file_attributes(&FileInfo {
            family: Family::Windows,
            ..info
        });
        assert_eq!(d.ty, "GuestWindowsFileAttributes");
        assert_eq!(d.field("hidden"), Some(Some(&Value::Bool(false))));
    }
}
