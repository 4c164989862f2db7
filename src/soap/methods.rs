//! Owns the vim25 methods `/sdk` serves: which methods exist on which managed object types,
//! the session and privilege checks in vCenter's order, and each method's reading of its
//! parameters and answer. Domain work goes to the model; these functions only translate.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::ids::IdGen;
use crate::model::inventory::{SYSTEM_READ, VALIDATE_SESSION, VcUser};
use crate::model::session::Session;
use crate::model::{Fault, Vcenter};

use super::collector::{self, FilterSpec, ObjectContent, opt_bool, parse_moref};
use super::envelope::Answer;
use super::fault::{method_not_found, not_found};
use super::inventory::{self, Config, Obj, Prop, World};
use super::retrieve::{self, Plan};
use super::store::Store;
use super::types;
use super::value::{Array, Data, MoRef, Value};
use super::xml::Element;

/// The longest a `WaitForUpdates[Ex]` call blocks, whatever it asks for.
pub const WAIT_CAP: Duration = Duration::from_secs(300);

/// Every method served, with the managed object types it is served on.
pub const METHODS: &[(&str, &[&str])] = &[
    ("RetrieveServiceContent", &["ServiceInstance"]),
    ("CurrentTime", &["ServiceInstance"]),
    ("Login", &["SessionManager"]),
    ("Logout", &["SessionManager"]),
    ("SessionIsActive", &["SessionManager"]),
    ("RetrievePropertiesEx", &["PropertyCollector"]),
    ("ContinueRetrievePropertiesEx", &["PropertyCollector"]),
    ("CancelRetrievePropertiesEx", &["PropertyCollector"]),
    ("RetrieveProperties", &["PropertyCollector"]),
    ("CreateFilter", &["PropertyCollector"]),
    ("WaitForUpdates", &["PropertyCollector"]),
    ("WaitForUpdatesEx", &["PropertyCollector"]),
    ("CheckForUpdates", &["PropertyCollector"]),
    ("CancelWaitForUpdates", &["PropertyCollector"]),
    ("CreatePropertyCollector", &["PropertyCollector"]),
    ("DestroyPropertyCollector", &["PropertyCollector"]),
    ("DestroyPropertyFilter", &["PropertyFilter"]),
    ("CreateContainerView", &["ViewManager"]),
    ("DestroyView", &["ContainerView"]),
    ("FindByUuid", &["SearchIndex"]),
    ("FindAllByUuid", &["SearchIndex"]),
    ("FindByInventoryPath", &["SearchIndex"]),
    ("FindByDnsName", &["SearchIndex"]),
    ("FindAllByDnsName", &["SearchIndex"]),
    ("FindByIp", &["SearchIndex"]),
    ("FindAllByIp", &["SearchIndex"]),
    ("FindChild", &["SearchIndex"]),
    ("PowerOnVM_Task", &["VirtualMachine"]),
    ("PowerOffVM_Task", &["VirtualMachine"]),
    ("ResetVM_Task", &["VirtualMachine"]),
    ("SuspendVM_Task", &["VirtualMachine"]),
    ("ShutdownGuest", &["VirtualMachine"]),
    ("RebootGuest", &["VirtualMachine"]),
    ("StandbyGuest", &["VirtualMachine"]),
];

/// Methods a caller without a session may call.
pub const ANONYMOUS: &[&str] = &[
    "RetrieveServiceContent",
    "CurrentTime",
    "Login",
    "RetrievePropertiesEx",
    "RetrieveProperties",
    "Fetch",
];

/// Whether `method` is served on objects of type `ty`. `Fetch` is served on every object; the
/// guest managers' methods are listed in [`super::guest::METHODS`].
pub fn served(method: &str, ty: &str) -> bool {
    method == "Fetch"
        || METHODS
            .iter()
            .any(|(m, tys)| *m == method && tys.contains(&ty))
        || super::guest::serves(method, ty)
}

/// Everything one call needs.
pub struct Ctx<'a> {
    /// The model.
    pub vc: &'a Vcenter,
    /// The seeded id generator (session ids).
    pub ids: &'a IdGen,
    /// Tasks and session objects.
    pub store: &'a Store,
    /// Inventory settings.
    pub cfg: &'a Config,
    /// The request's instant.
    pub now: OffsetDateTime,
    /// The caller's session id and session, if the cookie names a live one.
    pub session: Option<(String, Session)>,
    /// The vCenter user behind the session.
    pub caller: Option<Arc<VcUser>>,
    /// The method's name.
    pub method: &'a str,
    /// `_this`.
    pub this: &'a MoRef,
    /// The method element.
    pub body: &'a Element,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("method", &self.method)
            .field("this", &self.this)
            .finish_non_exhaustive()
    }
}

impl<'a> Ctx<'a> {
    /// A call's context: the session `session_id` names is looked up (and marked used).
    #[expect(
        clippy::too_many_arguments,
        reason = "one call's worth of facts, gathered by the two callers"
    )]
    pub fn new(
        vc: &'a Vcenter,
        ids: &'a IdGen,
        store: &'a Store,
        cfg: &'a Config,
        now: OffsetDateTime,
        session_id: Option<&str>,
        method: &'a str,
        this: &'a MoRef,
        body: &'a Element,
    ) -> Self {
        let session = session_id.and_then(|id| Some((id.to_owned(), vc.session(id, now).ok()?)));
        let caller = session.as_ref().and_then(|(id, _)| vc.caller(id, now).ok());
        Self {
            vc,
            ids,
            store,
            cfg,
            now,
            session,
            caller,
            method,
            this,
            body,
        }
    }
}

/// What a call did besides answering: a new session to set as the cookie, or one ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// Set `vmware_soap_session` to this.
    pub login: Option<String>,
}

fn arg(what: &str) -> Fault {
    Fault::InvalidInput {
        detail: what.to_owned(),
    }
}

fn one(v: impl Into<Value>) -> Answer {
    Answer::Value {
        value: v.into(),
        typed: false,
    }
}

fn refs_or_void(found: Vec<MoRef>, first_only: bool) -> Answer {
    if found.is_empty() {
        return Answer::Void;
    }
    if first_only {
        return one(found.into_iter().next().expect("not empty"));
    }
    one(Value::morefs(found))
}

impl Ctx<'_> {
    /// The inventory as this call sees it.
    pub fn world(&self) -> World<'_> {
        World::new(
            self.vc,
            self.store,
            self.session.as_ref().map(|(i, s)| (i.as_str(), s)),
            self.cfg,
            self.now,
        )
    }

    fn session_id(&self) -> Result<String, Fault> {
        self.session
            .as_ref()
            .map(|(id, _)| id.clone())
            .ok_or(Fault::SessionRequired)
    }

    fn caller(&self) -> Result<Arc<VcUser>, Fault> {
        self.session_id()?;
        self.caller.clone().ok_or(Fault::SessionRequired)
    }

    fn require(&self, privilege: &'static str) -> Result<(), Fault> {
        if self.caller()?.has(privilege) {
            Ok(())
        } else {
            Err(Fault::PrivilegeMissing { privilege })
        }
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.body.child_text(name)
    }

    fn required(&self, name: &str) -> Result<&str, Fault> {
        self.text(name).ok_or_else(|| arg(name))
    }

    fn moref_arg(&self, name: &str) -> Result<Option<MoRef>, Fault> {
        self.body
            .child(name)
            .map(|e| parse_moref(e, name))
            .transpose()
    }

    fn resolve(&self, m: &MoRef) -> Result<Obj, Fault> {
        self.world().resolve(m).ok_or_else(|| not_found(m))
    }

    fn specs(&self) -> Result<Vec<FilterSpec>, Fault> {
        let specs: Vec<FilterSpec> = self
            .body
            .all("specSet")
            .map(collector::parse_filter_spec)
            .collect::<Result<_, _>>()?;
        if specs.is_empty() {
            return Err(arg("specSet"));
        }
        Ok(specs)
    }

    fn collector_id(&self) -> Result<String, Fault> {
        let s = self.session_id()?;
        if self.store.has_collector(&s, &self.this.value) {
            Ok(self.this.value.clone())
        } else {
            Err(not_found(self.this))
        }
    }
}

/// Runs one call. The receiver type has been checked against [`METHODS`].
pub fn call(ctx: &Ctx, effects: &mut Effects) -> Result<Reply, Fault> {
    if ctx.method.starts_with("WaitForUpdates") {
        return wait_call(ctx);
    }
    answer(ctx, effects).map(Reply::Now)
}

fn wait_call(ctx: &Ctx) -> Result<Reply, Fault> {
    ctx.session_id()?;
    ctx.resolve(ctx.this)?;
    let version = ctx.text("version").map(str::to_owned);
    if ctx.method == "WaitForUpdates" {
        return wait(ctx, version, Some(WAIT_CAP), None, true);
    }
    let (max_wait, max_updates) = wait_options(ctx.body.child("options"))?;
    wait(ctx, version, max_wait, max_updates, false)
}

fn answer(ctx: &Ctx, effects: &mut Effects) -> Result<Answer, Fault> {
    let anonymous = ANONYMOUS.contains(&ctx.method);
    if !anonymous {
        ctx.session_id()?;
    }
    // Without a session, Fetch reads only the service instance; anything else is refused
    // before the object is looked up, so that a stale cookie says so rather than "not found".
    if ctx.method == "Fetch" && ctx.session.is_none() && ctx.this.ty != "ServiceInstance" {
        return Err(Fault::SessionRequired);
    }
    // `_this` must exist (singletons always do; session objects only for their session).
    let this = if ctx.method == "Login" || ctx.method == "RetrieveServiceContent" {
        None
    } else {
        Some(ctx.resolve(ctx.this)?)
    };
    match ctx.method {
        "RetrieveServiceContent" => Ok(one(inventory::service_content(ctx.cfg))),
        "CurrentTime" => Ok(one(ctx.now)),
        "Login" => login(ctx, effects),
        "Logout" => {
            let id = ctx.session_id()?;
            ctx.vc.logout(&id, ctx.now)?;
            ctx.store.end_session(&id);
            Ok(Answer::Void)
        }
        "SessionIsActive" => {
            // vim25: the caller needs Sessions.ValidateSession, or anyone could probe which
            // session ids are live.
            ctx.require(VALIDATE_SESSION)?;
            let key = ctx.required("sessionID")?;
            let user = ctx.required("userName")?;
            let active =
                ctx.vc.sessions().iter().any(|(id, s)| {
                    id == key && (s.login.eq_ignore_ascii_case(user) || s.user == user)
                });
            Ok(one(active))
        }
        "Fetch" => fetch(ctx, this.as_ref().expect("resolved")),
        "RetrievePropertiesEx" => retrieve_ex(ctx),
        "RetrieveProperties" => {
            let found = match retrieval(ctx)? {
                Retrieval::Anonymous(found) => found,
                Retrieval::Planned(mut plan) => plan.next_page(&ctx.world(), usize::MAX, false)?,
            };
            if found.is_empty() {
                return Ok(Answer::Void);
            }
            Ok(one(Value::Array(Array {
                of: "ObjectContent",
                items: found.iter().map(ObjectContent::to_value).collect(),
            })))
        }
        // vim25: InvalidArgument "if the token does not match the token from the previous
        // RetrieveResult returned on the same session by the same PropertyCollector".
        "ContinueRetrievePropertiesEx" => {
            let s = ctx.session_id()?;
            let token = ctx.required("token")?;
            let (page, rest) = ctx
                .store
                .take_token(&s, token, ctx.now)
                .ok_or_else(|| arg("token"))?;
            Ok(one(page_result(ctx, &s, page, rest)?))
        }
        "CancelRetrievePropertiesEx" => {
            let s = ctx.session_id()?;
            let token = ctx.required("token")?;
            ctx.store
                .take_token(&s, token, ctx.now)
                .ok_or_else(|| arg("token"))?;
            Ok(Answer::Void)
        }
        "CreateFilter" => {
            let s = ctx.session_id()?;
            let cid = ctx.collector_id()?;
            ctx.require(SYSTEM_READ)?;
            let spec =
                collector::parse_filter_spec(ctx.body.child("spec").ok_or_else(|| arg("spec"))?)?;
            spec.walk(&ctx.world())?;
            let partial = opt_bool(ctx.body, "partialUpdates")?.unwrap_or(false);
            let id = ctx.store.add_filter(&s, &cid, spec, partial);
            Ok(one(MoRef::new("PropertyFilter", id)))
        }
        "DestroyPropertyFilter" => {
            let s = ctx.session_id()?;
            ctx.store.remove_filter(&s, &ctx.this.value);
            Ok(Answer::Void)
        }
        "CreatePropertyCollector" => {
            let s = ctx.session_id()?;
            Ok(one(MoRef::new(
                "PropertyCollector",
                ctx.store.add_collector(&s),
            )))
        }
        "DestroyPropertyCollector" => {
            let s = ctx.session_id()?;
            if ctx.this.value == "propertyCollector" {
                return Err(Fault::InvalidInput {
                    detail: "_this: the session's default collector cannot be destroyed".into(),
                });
            }
            ctx.store.remove_collector(&s, &ctx.this.value);
            Ok(Answer::Void)
        }
        "CheckForUpdates" => {
            let version = ctx.text("version").map(str::to_owned);
            match wait(ctx, version, Some(Duration::ZERO), None, false)? {
                Reply::Now(a) => Ok(a),
                Reply::Wait(_) => Ok(Answer::Void),
            }
        }
        "CancelWaitForUpdates" => {
            let s = ctx.session_id()?;
            let cid = ctx.collector_id()?;
            ctx.store.cancel_wait(&s, &cid);
            Ok(Answer::Void)
        }
        "CreateContainerView" => create_view(ctx),
        "DestroyView" => {
            let s = ctx.session_id()?;
            ctx.store.remove_view(&s, &ctx.this.value);
            Ok(Answer::Void)
        }
        "FindByUuid" | "FindAllByUuid" => find_by_uuid(ctx),
        "FindByDnsName" | "FindAllByDnsName" => {
            let name = ctx.required("dnsName")?.to_owned();
            find_vms(ctx, |vm| {
                vm.tools.running && vm.identity.host_name.eq_ignore_ascii_case(&name)
            })
        }
        "FindByIp" | "FindAllByIp" => {
            let ip = ctx.required("ip")?.to_owned();
            find_vms(ctx, |vm| {
                vm.tools.running && vm.identity.ip_address.as_deref() == Some(ip.as_str())
            })
        }
        "FindByInventoryPath" => {
            ctx.require(SYSTEM_READ)?;
            let path = ctx.text("inventoryPath").unwrap_or_default();
            let w = ctx.world();
            Ok(match by_path(&w, path) {
                Some(o) => one(World::moref(&o)),
                None => Answer::Void,
            })
        }
        "FindChild" => {
            ctx.require(SYSTEM_READ)?;
            let entity = ctx.moref_arg("entity")?.ok_or_else(|| arg("entity"))?;
            let parent = ctx.resolve(&entity)?;
            let name = ctx.required("name")?;
            let w = ctx.world();
            Ok(match child_named(&w, &parent, name) {
                Some(o) => one(World::moref(&o)),
                None => Answer::Void,
            })
        }
        _ => Err(method_not_found(ctx.this.clone(), ctx.method.to_owned())),
    }
}

fn login(ctx: &Ctx, effects: &mut Effects) -> Result<Answer, Fault> {
    let user = ctx.required("userName")?;
    // A password is taken as sent: white space in it is significant.
    let password = ctx
        .body
        .child("password")
        .map(|p| p.text.as_str())
        .ok_or_else(|| arg("password"))?;
    let id = ctx.vc.login(user, password, ctx.ids, ctx.now)?;
    let session = ctx.vc.session(&id, ctx.now)?;
    effects.login = Some(id.clone());
    Ok(one(inventory::user_session(&id, &session)))
}

fn fetch(ctx: &Ctx, obj: &Obj) -> Result<Answer, Fault> {
    if ctx.session.is_none() && *obj != Obj::ServiceInstance {
        return Err(Fault::SessionRequired);
    }
    if ctx.session.is_some() && *obj != Obj::ServiceInstance {
        ctx.require(SYSTEM_READ)?;
    }
    let prop = ctx.required("prop")?;
    match ctx.world().property(obj, prop) {
        Prop::Set(value) => Ok(Answer::Value { value, typed: true }),
        Prop::Unset => Ok(Answer::Void),
        Prop::Invalid => Err(Fault::InvalidProperty {
            name: prop.to_owned(),
        }),
    }
}

/// A retrieval's objects: answered at once to a caller without a session, else planned to be
/// read page by page.
enum Retrieval {
    Anonymous(Vec<ObjectContent>),
    Planned(Plan),
}

fn retrieval(ctx: &Ctx) -> Result<Retrieval, Fault> {
    let specs = ctx.specs()?;
    if ctx.session.is_none() {
        return retrieve::anonymous(specs).map(Retrieval::Anonymous);
    }
    ctx.require(SYSTEM_READ)?;
    Plan::new(&ctx.world(), specs).map(Retrieval::Planned)
}

/// A `RetrieveResult`: the next page of `plan` (at most `page` objects), and a token for the
/// rest when there is one.
fn page_result(ctx: &Ctx, session: &str, page: usize, mut plan: Plan) -> Result<Value, Fault> {
    let objects = plan.next_page(&ctx.world(), page, true)?;
    let token = if plan.is_empty() {
        None
    } else {
        Some(ctx.store.add_token(session, page, plan, ctx.now)?)
    };
    Ok(result_value(token, &objects))
}

fn result_value(token: Option<String>, objects: &[ObjectContent]) -> Value {
    Data::new("RetrieveResult")
        .opt("token", token)
        .set(
            "objects",
            Value::Array(Array {
                of: "ObjectContent",
                items: objects.iter().map(ObjectContent::to_value).collect(),
            }),
        )
        .into()
}

fn retrieve_ex(ctx: &Ctx) -> Result<Answer, Fault> {
    let max = match ctx
        .body
        .child("options")
        .and_then(|o| o.child("maxObjects"))
    {
        Some(m) => {
            let n: i64 = m.trimmed().parse().map_err(|_| arg("options.maxObjects"))?;
            if n < 0 {
                return Err(arg("options.maxObjects"));
            }
            (n > 0).then_some(n as usize)
        }
        None => None,
    };
    let value = match (retrieval(ctx)?, ctx.session.as_ref()) {
        (Retrieval::Anonymous(found), _) if found.is_empty() => return Ok(Answer::Void),
        (Retrieval::Anonymous(found), _) => result_value(None, &found),
        (Retrieval::Planned(plan), _) if plan.is_empty() => return Ok(Answer::Void),
        (Retrieval::Planned(plan), Some((s, _))) => {
            page_result(ctx, s, max.unwrap_or(usize::MAX), plan)?
        }
        (Retrieval::Planned(_), None) => return Err(Fault::SessionRequired),
    };
    Ok(one(value))
}

fn wait_options(el: Option<&Element>) -> Result<(Option<Duration>, Option<usize>), Fault> {
    let Some(el) = el else {
        return Ok((Some(WAIT_CAP), None));
    };
    let num = |name: &str| -> Result<Option<i64>, Fault> {
        el.child_text(name)
            .map(|t| t.parse::<i64>().map_err(|_| arg(name)))
            .transpose()
    };
    let wait = match num("maxWaitSeconds")? {
        None => Some(WAIT_CAP),
        Some(n) if n < 0 => return Err(arg("options.maxWaitSeconds")),
        Some(n) => Some(Duration::from_secs(n as u64).min(WAIT_CAP)),
    };
    let updates = match num("maxObjectUpdates")? {
        None | Some(0) => None,
        Some(n) if n < 0 => return Err(arg("options.maxObjectUpdates")),
        Some(n) => Some(n as usize),
    };
    Ok((wait, updates))
}

/// One pass over a collector's filters: the updates since each baseline, baselines moved on.
/// `truncated` when updates were held back past `limit`: once it is met, the rest of the
/// filters are only asked whether they have one more.
/// Each filter's current state is read outside the store's lock, then compared with its
/// baseline under it (baselines are never copied).
fn updates_once(
    ctx: &Ctx,
    session: &str,
    cid: &str,
    limit: Option<usize>,
) -> Result<(Vec<Value>, bool), Fault> {
    let mut sets = Vec::new();
    let mut left = limit.unwrap_or(usize::MAX);
    let mut truncated = false;
    let w = ctx.world();
    for (fid, spec) in ctx.store.filters_of(session, cid) {
        let now = match collector::snapshot(&w, &spec) {
            Ok(s) => s,
            Err(Fault::ObjectNotFound { .. }) => Default::default(),
            Err(e) => return Err(e),
        };
        let Some((ups, t)) = ctx
            .store
            .with_baseline(&fid, |base| collector::diff(base, now, left))
        else {
            continue;
        };
        truncated |= t;
        left = left.saturating_sub(ups.len());
        if !ups.is_empty() {
            sets.push(
                Data::new("PropertyFilterUpdate")
                    .set("filter", MoRef::new("PropertyFilter", &fid))
                    .set(
                        "objectSet",
                        Value::Array(Array {
                            of: "ObjectUpdate",
                            items: ups.iter().map(collector::ObjectUpdate::to_value).collect(),
                        }),
                    )
                    .into(),
            );
        }
        if left == 0 && truncated {
            break;
        }
    }
    Ok((sets, truncated))
}

/// A `WaitForUpdates[Ex]` that found nothing on its first pass and goes on waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The session.
    pub session: String,
    /// The collector.
    pub collector: String,
    /// How long to wait in all.
    pub max_wait: Duration,
    /// `maxObjectUpdates`.
    pub max_updates: Option<usize>,
    /// Whether the legacy `WaitForUpdates` (no `truncated` field).
    pub legacy: bool,
    /// The generation of the changes (see [`crate::model::Changes`]) its last pass saw: it
    /// need not look again until that moves.
    pub generation: u64,
}

/// What a method answers: now, or after waiting for a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The answer.
    Now(Answer),
    /// Nothing changed yet; the wire waits and calls [`wait_pass`] again.
    Wait(Waiting),
}

/// One pass of a wait: the update set if something changed, an error if the wait was
/// cancelled, `None` otherwise.
pub fn wait_pass(ctx: &Ctx, w: &Waiting) -> Result<Option<Answer>, Fault> {
    let (sets, truncated) = updates_once(ctx, &w.session, &w.collector, w.max_updates)?;
    if !sets.is_empty() {
        let version = ctx.store.collector(&w.session, &w.collector, |c| {
            c.version += 1;
            c.version
        });
        let mut set = Data::new("UpdateSet")
            .set("version", version.to_string())
            .set(
                "filterSet",
                Value::Array(Array {
                    of: "PropertyFilterUpdate",
                    items: sets,
                }),
            );
        if !w.legacy {
            set = set.set("truncated", truncated);
        }
        return Ok(Some(one(set)));
    }
    if ctx.store.collector(&w.session, &w.collector, |c| {
        std::mem::take(&mut c.cancelled)
    }) {
        return Err(Fault::RequestCanceled);
    }
    Ok(None)
}

fn wait(
    ctx: &Ctx,
    version: Option<String>,
    max_wait: Option<Duration>,
    max_updates: Option<usize>,
    legacy: bool,
) -> Result<Reply, Fault> {
    let s = ctx.session_id()?;
    let cid = ctx.collector_id()?;
    // Read before the first pass: a change made during it moves the generation past this.
    let generation = ctx.vc.changes().generation();
    let current = ctx.store.collector(&s, &cid, |c| {
        c.cancelled = false;
        c.version
    });
    match version.as_deref().map(str::trim) {
        None | Some("") => {
            for (fid, _) in ctx.store.filters_of(&s, &cid) {
                ctx.store.with_baseline(&fid, |b| b.clear());
            }
        }
        Some(v) if v == current.to_string() => {}
        Some(_) => return Err(Fault::InvalidCollectorVersion),
    }
    let w = Waiting {
        session: s,
        collector: cid,
        max_wait: max_wait.unwrap_or(WAIT_CAP),
        max_updates,
        legacy,
        generation,
    };
    Ok(match wait_pass(ctx, &w)? {
        Some(answer) => Reply::Now(answer),
        None if w.max_wait.is_zero() => Reply::Now(Answer::Void),
        None => Reply::Wait(w),
    })
}

fn create_view(ctx: &Ctx) -> Result<Answer, Fault> {
    let s = ctx.session_id()?;
    ctx.require(SYSTEM_READ)?;
    let container = ctx
        .moref_arg("container")?
        .ok_or_else(|| arg("container"))?;
    let obj = ctx.resolve(&container)?;
    if !matches!(
        World::type_of(&obj),
        "Folder" | "Datacenter" | "ComputeResource" | "ResourcePool" | "HostSystem"
    ) {
        return Err(arg("container"));
    }
    let kinds: Vec<String> = ctx
        .body
        .all("type")
        .map(|t| t.trimmed().to_owned())
        .collect();
    if kinds.iter().any(|k| !types::known(k)) {
        return Err(arg("type"));
    }
    let recursive = opt_bool(ctx.body, "recursive")?.ok_or_else(|| arg("recursive"))?;
    let id = ctx.store.add_view(&s, container, kinds, recursive);
    Ok(one(MoRef::new("ContainerView", id)))
}

fn check_datacenter(ctx: &Ctx) -> Result<(), Fault> {
    if let Some(dc) = ctx.moref_arg("datacenter")? {
        ctx.resolve(&dc)?;
    }
    Ok(())
}

fn find_vms(
    ctx: &Ctx,
    matches: impl Fn(&crate::model::VirtualMachine) -> bool,
) -> Result<Answer, Fault> {
    ctx.require(SYSTEM_READ)?;
    check_datacenter(ctx)?;
    let vm_search = opt_bool(ctx.body, "vmSearch")?.unwrap_or(false);
    if !vm_search {
        return Ok(Answer::Void);
    }
    let first_only = !ctx.method.starts_with("FindAll");
    let mut found = Vec::new();
    for id in ctx.vc.vm_ids() {
        if ctx.vc.with_vm(&id, &matches).unwrap_or(false) {
            found.push(MoRef::new("VirtualMachine", id));
            if first_only {
                break;
            }
        }
    }
    Ok(refs_or_void(found, first_only))
}

fn find_by_uuid(ctx: &Ctx) -> Result<Answer, Fault> {
    let uuid = ctx.required("uuid")?.to_lowercase();
    let salt = if opt_bool(ctx.body, "instanceUuid")?.unwrap_or(false) {
        2
    } else {
        1
    };
    find_vms(ctx, |vm| crate::vapi::dto::vm_uuid(&vm.id, salt) == uuid)
}

/// The children an inventory path steps through from `obj`.
fn path_children(w: &World<'_>, obj: &Obj) -> Vec<Obj> {
    w.children(obj)
}

fn child_named(w: &World<'_>, parent: &Obj, name: &str) -> Option<Obj> {
    path_children(w, parent)
        .into_iter()
        .find(|c| w.name(c).as_deref() == Some(name))
}

/// Resolves `DC0/vm/linux-01` from the root folder; `%2f` in a name stands for `/`.
fn by_path(w: &World<'_>, path: &str) -> Option<Obj> {
    let mut cur = Obj::Root;
    for part in path.trim_matches('/').split('/').filter(|p| !p.is_empty()) {
        let name = part.replace("%2f", "/").replace("%2F", "/");
        cur = child_named(w, &cur, &name)?;
    }
    Some(cur)
}
