//! Owns the SOAP methods as operations of the operation layer: one operation per vim25 method,
//! named `soap.<Method>` in the journal, the metrics and failure-injection rules, with the
//! session check the method needs (most need one; the bootstrap, `Fetch` and the property
//! reads check it themselves, since vCenter answers those without a session in their own way).

use std::sync::Arc;

use crate::model::Fault;
use crate::ops::{Access, Call, Context, Operation, Stop, Target};

use super::inventory::Config;
use super::methods::{self, Ctx, Effects, Reply};
use super::store::Store;
use super::value::MoRef;
use super::xml::Element;

/// One SOAP call, as the wire read it: the method, `_this`, its parameters, and what the
/// method needs beside the model.
#[derive(Debug)]
pub struct SoapCall {
    /// The method's name.
    pub method: String,
    /// `_this`.
    pub this: MoRef,
    /// The method element.
    pub body: Element,
    /// The session id the request carried.
    pub session: Option<String>,
    /// Tasks and session objects.
    pub store: Arc<Store>,
    /// Inventory settings.
    pub cfg: Config,
}

/// What a SOAP operation gives the wire: its reply, and the session a login opened.
#[derive(Debug)]
pub struct Outcome {
    /// The reply.
    pub reply: Reply,
    /// The session a `Login` opened (the wire sets the cookie).
    pub login: Option<String>,
}

impl SoapCall {
    fn target(&self) -> Target<'_> {
        if self.this.ty == "VirtualMachine" {
            Target::vm(&self.this.value)
        } else {
            Target::default()
        }
    }

    fn run(self, cx: &Context<'_>) -> Result<Outcome, Fault> {
        let session = cx.session().ok();
        let ctx = Ctx::new(
            cx.vcenter(),
            cx.ids(),
            &self.store,
            &self.cfg,
            cx.now(),
            session,
            &self.method,
            &self.this,
            &self.body,
        );
        let mut effects = Effects::default();
        let reply = methods::call(&ctx, &mut effects)?;
        Ok(Outcome {
            reply,
            login: effects.login,
        })
    }
}

macro_rules! soap_ops {
    ($($ty:ident = $method:literal, $access:ident;)*) => {
        $(
            #[doc = concat!("`", $method, "` on `/sdk`.")]
            #[derive(Debug)]
            pub struct $ty(pub SoapCall);

            impl Operation for $ty {
                const NAME: &'static str = concat!("soap.", $method);
                const ACCESS: Access = Access::$access;
                type Output = Outcome;

                fn target(&self) -> Target<'_> {
                    self.0.target()
                }

                fn run(self, cx: &Context<'_>) -> Result<Outcome, Fault> {
                    self.0.run(cx)
                }
            }
        )*

        /// Every operation: (method, whether it needs a session before it runs).
        #[cfg(test)]
        pub const OPERATIONS: &[(&str, bool)] = &[$(($method, matches!(Access::$access, Access::Session))),*];

        /// Invokes the operation of `call.method` through the operation layer; `None` when no
        /// operation has that name. The power methods and the guest managers' methods run the
        /// operations REST runs for the same thing (see [`super::power`], [`super::guest`]).
        pub async fn invoke(on: &Call<'_>, call: SoapCall) -> Option<Result<Outcome, Stop>> {
            let now = |a: Result<super::envelope::Answer, Stop>| {
                a.map(|a| Outcome { reply: Reply::Now(a), login: None })
            };
            Some(match call.method.as_str() {
                $($method => on.invoke(Ok($ty(call))).await,)*
                m if call.this.ty == "VirtualMachine" && super::power::METHODS.iter().any(|(p, _)| *p == m) => {
                    now(super::power::invoke(on, m, &call.this, &call.store).await?)
                }
                _ => now(super::guest::invoke(on, &call.method, &call.this, &call.body).await?),
            })
        }
    };
}

soap_ops! {
    RetrieveServiceContent = "RetrieveServiceContent", Anyone;
    CurrentTime = "CurrentTime", Anyone;
    Login = "Login", Anyone;
    Logout = "Logout", Session;
    SessionIsActive = "SessionIsActive", Session;
    Fetch = "Fetch", Anyone;
    RetrievePropertiesEx = "RetrievePropertiesEx", Anyone;
    RetrieveProperties = "RetrieveProperties", Anyone;
    ContinueRetrievePropertiesEx = "ContinueRetrievePropertiesEx", Session;
    CancelRetrievePropertiesEx = "CancelRetrievePropertiesEx", Session;
    CreateFilter = "CreateFilter", Session;
    DestroyPropertyFilter = "DestroyPropertyFilter", Session;
    WaitForUpdates = "WaitForUpdates", Session;
    WaitForUpdatesEx = "WaitForUpdatesEx", Session;
    CheckForUpdates = "CheckForUpdates", Session;
    CancelWaitForUpdates = "CancelWaitForUpdates", Session;
    CreatePropertyCollector = "CreatePropertyCollector", Session;
    DestroyPropertyCollector = "DestroyPropertyCollector", Session;
    CreateContainerView = "CreateContainerView", Session;
    DestroyView = "DestroyView", Session;
    FindByUuid = "FindByUuid", Session;
    FindAllByUuid = "FindAllByUuid", Session;
    FindByInventoryPath = "FindByInventoryPath", Session;
    FindByDnsName = "FindByDnsName", Session;
    FindAllByDnsName = "FindAllByDnsName", Session;
    FindByIp = "FindByIp", Session;
    FindAllByIp = "FindAllByIp", Session;
    FindChild = "FindChild", Session;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_method_is_an_operation_and_only_the_anonymous_ones_skip_the_session_check() {
        // The power methods are the REST power operations (super::power).
        let mut served: Vec<&str> = methods::METHODS
            .iter()
            .map(|(m, _)| *m)
            .filter(|m| !super::super::power::METHODS.iter().any(|(p, _)| p == m))
            .collect();
        served.push("Fetch");
        served.sort_unstable();
        let mut ops: Vec<&str> = OPERATIONS.iter().map(|(m, _)| *m).collect();
        ops.sort_unstable();
        assert_eq!(ops, served);
        for (m, session) in OPERATIONS {
            assert_eq!(!session, methods::ANONYMOUS.contains(m), "{m}");
        }
    }
}
