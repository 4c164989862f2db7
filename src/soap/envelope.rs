//! Owns the SOAP 1.1 envelope: finding the method element of a request (default-namespace or
//! prefixed envelope), and writing response and fault envelopes.

use crate::model::Fault;

use super::fault::Context;
use super::value::{self, Value};
use super::xml::{self, Element, SOAP_ENC, SOAP_ENV, VIM25, XSD, XSI, XmlWriter};

/// A method call read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The method's name (`RetrievePropertiesEx`).
    pub method: String,
    /// The method element, with `_this` and the parameters as children.
    pub body: Element,
}

fn invalid(detail: impl Into<String>) -> Fault {
    Fault::MalformedRequest {
        detail: detail.into(),
    }
}

/// Reads a request envelope. Anything that is not a SOAP 1.1 envelope with one method element
/// in its body is an `InvalidRequest`.
pub fn read(bytes: &[u8], bounds: xml::Bounds) -> Result<Call, Fault> {
    let root = xml::parse(bytes, bounds).map_err(|e| invalid(format!("malformed XML: {e}")))?;
    if root.name != "Envelope" || root.ns != SOAP_ENV {
        return Err(invalid("the document is not a SOAP 1.1 envelope"));
    }
    let body = root
        .children
        .iter()
        .find(|c| c.name == "Body" && c.ns == SOAP_ENV)
        .ok_or_else(|| invalid("the envelope has no Body"))?;
    let mut calls = body.children.iter();
    let call = calls
        .next()
        .ok_or_else(|| invalid("the Body holds no method element"))?;
    if calls.next().is_some() {
        return Err(invalid("the Body holds more than one method element"));
    }
    Ok(Call {
        method: call.name.clone(),
        body: call.clone(),
    })
}

fn open(w: &mut XmlWriter) {
    w.start(
        "soapenv:Envelope",
        &[
            ("xmlns:soapenc", SOAP_ENC),
            ("xmlns:soapenv", SOAP_ENV),
            ("xmlns:xsd", XSD),
            ("xmlns:xsi", XSI),
        ],
    );
    w.start("soapenv:Body", &[]);
}

fn close(w: &mut XmlWriter) {
    w.end("soapenv:Body");
    w.end("soapenv:Envelope");
}

/// What a method answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// An empty `<XResponse/>`: void methods, "not found", unset properties.
    Void,
    /// A `returnval`. `typed` when the declared return type is `anyType` (`Fetch`). An array
    /// becomes repeated `returnval` elements unless typed.
    Value {
        /// The value.
        value: Value,
        /// Whether it carries `xsi:type`.
        typed: bool,
    },
}

/// The response envelope for `method`.
pub fn response(method: &str, answer: &Answer) -> Vec<u8> {
    let mut w = XmlWriter::new();
    open(&mut w);
    let name = format!("{method}Response");
    match answer {
        Answer::Void => w.empty(&name, &[("xmlns", VIM25)]),
        Answer::Value { value, typed } => {
            w.start(&name, &[("xmlns", VIM25)]);
            value::write(&mut w, "returnval", value, *typed);
            w.end(&name);
        }
    }
    close(&mut w);
    w.finish()
}

/// The fault envelope (sent with HTTP 500).
pub fn fault(f: &Fault, cx: Context<'_>) -> Vec<u8> {
    let s = super::fault::shape(f, cx);
    let mut w = XmlWriter::new();
    open(&mut w);
    w.start("soapenv:Fault", &[]);
    w.leaf("faultcode", &[], "ServerFaultCode");
    w.leaf("faultstring", &[], &s.message);
    w.start("detail", &[]);
    let el = format!("{}Fault", s.ty);
    w.start(&el, &[("xmlns", VIM25), ("xsi:type", s.ty)]);
    value::write_fields(&mut w, &s.data);
    w.end(&el);
    w.end("detail");
    w.end("soapenv:Fault");
    close(&mut w);
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::value::MoRef;

    #[test]
    fn pyvmomi_and_govc_envelopes_both_yield_the_method() {
        let py = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
<soapenv:Body><Fetch xmlns="urn:vim25"><_this type="VirtualMachine" versionId="8.0.3.0">vm-1001</_this><prop versionId="8.0.3.0">summary</prop></Fetch></soapenv:Body></soapenv:Envelope>"#;
        let c = read(py.as_bytes(), xml::Bounds::default()).unwrap();
        assert_eq!(c.method, "Fetch");
        assert_eq!(c.body.child_text("prop"), Some("summary"));
        let go = r#"<?xml version="1.0" encoding="UTF-8"?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><Logout xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this></Logout></Body></Envelope>"#;
        assert_eq!(
            read(go.as_bytes(), xml::Bounds::default()).unwrap().method,
            "Logout"
        );
    }

    #[test]
    fn documents_that_are_not_envelopes_are_invalid_requests() {
        for doc in [
            "not xml",
            "<Envelope/>",
            r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"/>"#,
            r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>"#,
        ] {
            assert!(matches!(
                read(doc.as_bytes(), xml::Bounds::default()),
                Err(Fault::MalformedRequest { .. })
            ));
        }
    }

    #[test]
    fn a_fault_envelope_names_the_detail_element_after_the_type() {
        let body = fault(
            &crate::soap::fault::not_found(&MoRef::new("VirtualMachine", "vm-9")),
            Context::default(),
        );
        let s = String::from_utf8(body).unwrap();
        assert!(s.contains("<faultcode>ServerFaultCode</faultcode>"));
        assert!(s.contains(r#"<ManagedObjectNotFoundFault xmlns="urn:vim25" xsi:type="ManagedObjectNotFound"><obj type="VirtualMachine">vm-9</obj></ManagedObjectNotFoundFault>"#), "{s}");
    }
}
