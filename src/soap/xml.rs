//! Owns the XML layer of `/sdk`: namespace-aware parsing of request envelopes into a small,
//! bounded element tree (quick-xml's `NsReader`), and the response writer (quick-xml's `Writer`,
//! which does the escaping).

use std::fmt;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use quick_xml::writer::Writer;

/// SOAP 1.1 envelope namespace.
pub const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.1 encoding namespace (declared on responses as real servers do).
pub const SOAP_ENC: &str = "http://schemas.xmlsoap.org/soap/encoding/";
/// XML Schema instance namespace (`xsi:type`).
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// XML Schema namespace (`xsd:string`, ...).
pub const XSD: &str = "http://www.w3.org/2001/XMLSchema";
/// The vim25 namespace.
pub const VIM25: &str = "urn:vim25";

/// Bounds on a parsed document, so that hostile input cannot exhaust the stack or memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Deepest element nesting accepted.
    pub max_depth: usize,
    /// Most elements accepted in one document.
    pub max_elements: usize,
    /// Most attributes accepted on one element (vim25 needs a handful: `xsi:type`, `type`,
    /// `versionId`, namespace declarations).
    pub max_attributes: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_elements: 200_000,
            max_attributes: 64,
        }
    }
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError(pub String);

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for XmlError {}

impl From<quick_xml::Error> for XmlError {
    fn from(e: quick_xml::Error) -> Self {
        Self(e.to_string())
    }
}

impl From<quick_xml::encoding::EncodingError> for XmlError {
    fn from(e: quick_xml::encoding::EncodingError) -> Self {
        Self(e.to_string())
    }
}

impl From<quick_xml::events::attributes::AttrError> for XmlError {
    fn from(e: quick_xml::events::attributes::AttrError) -> Self {
        Self(e.to_string())
    }
}

/// One attribute, its name resolved to a namespace URI (empty for unqualified attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Namespace URI, or empty.
    pub ns: String,
    /// Local name.
    pub name: String,
    /// Unescaped value.
    pub value: String,
}

/// One element: resolved name, attributes, children and the concatenated text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Namespace URI, or empty.
    pub ns: String,
    /// Local name.
    pub name: String,
    /// Attributes other than namespace declarations.
    pub attrs: Vec<Attr>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Character data directly inside this element.
    pub text: String,
}

impl Element {
    /// An unqualified attribute's value (`type="VirtualMachine"`).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_empty() && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// The local part of `xsi:type`, under whatever prefix the sender bound the schema-instance
    /// namespace to (govc writes `_XMLSchema-instance:type`).
    pub fn xsi_type(&self) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns == XSI && a.name == "type")
            .map(|a| a.value.rsplit(':').next().unwrap_or(&a.value))
    }

    /// The first child named `name` (any namespace).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child named `name`, trimmed.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(Element::trimmed)
    }

    /// This element's text without surrounding white space.
    pub fn trimmed(&self) -> &str {
        self.text.trim()
    }
}

fn namespace(r: ResolveResult<'_>) -> Result<String, XmlError> {
    match r {
        ResolveResult::Bound(ns) => Ok(String::from_utf8_lossy(ns.0).into_owned()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(p) => Err(XmlError(format!(
            "namespace prefix '{}' is not declared",
            String::from_utf8_lossy(&p)
        ))),
    }
}

fn open(
    reader: &NsReader<&[u8]>,
    ns: String,
    start: &BytesStart<'_>,
    bounds: Bounds,
) -> Result<Element, XmlError> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    // quick-xml's duplicate check compares each attribute with every earlier one (quadratic);
    // the count is bounded first, and duplicates are found below in linear time.
    let mut seen = std::collections::HashSet::new();
    for (i, a) in start.attributes().with_checks(false).enumerate() {
        if i >= bounds.max_attributes {
            return Err(XmlError(format!(
                "element '{name}' has more than {} attributes",
                bounds.max_attributes
            )));
        }
        let a = a?;
        if !seen.insert(a.key.as_ref().to_vec()) {
            return Err(XmlError(format!(
                "element '{name}' repeats the attribute '{}'",
                String::from_utf8_lossy(a.key.as_ref())
            )));
        }
        let key = a.key.as_ref();
        if key == b"xmlns" || key.starts_with(b"xmlns:") {
            continue;
        }
        let (rns, local) = reader.resolve_attribute(a.key);
        let ns = namespace(rns)?;
        let value = a
            .decode_and_unescape_value(reader.decoder())
            .map_err(|e| XmlError(e.to_string()))?
            .into_owned();
        legal(&value)?;
        attrs.push(Attr {
            ns,
            name: String::from_utf8_lossy(local.as_ref()).into_owned(),
            value,
        });
    }
    Ok(Element {
        ns,
        name,
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

/// Parses one document into its root element. DTDs are refused (no entity expansion), and
/// `bounds` caps nesting and element count.
pub fn parse(input: &[u8], bounds: Bounds) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_reader(input);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let mut close = |el: Element, stack: &mut Vec<Element>| -> Result<(), XmlError> {
        match stack.last_mut() {
            Some(parent) => parent.children.push(el),
            None if root.is_none() => root = Some(el),
            None => return Err(XmlError("more than one root element".into())),
        }
        Ok(())
    };
    loop {
        let (rns, event) = reader.read_resolved_event()?;
        let ns = namespace(rns);
        match event {
            Event::Start(e) | Event::Empty(e) if stack.len() >= bounds.max_depth => {
                let _ = e;
                return Err(XmlError(format!(
                    "elements nest deeper than {}",
                    bounds.max_depth
                )));
            }
            Event::Start(e) => {
                count += 1;
                if count > bounds.max_elements {
                    return Err(XmlError(format!(
                        "more than {} elements",
                        bounds.max_elements
                    )));
                }
                let el = open(&reader, ns?, &e, bounds)?;
                stack.push(el);
            }
            Event::Empty(e) => {
                count += 1;
                if count > bounds.max_elements {
                    return Err(XmlError(format!(
                        "more than {} elements",
                        bounds.max_elements
                    )));
                }
                let el = open(&reader, ns?, &e, bounds)?;
                close(el, &mut stack)?;
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| XmlError("unbalanced end tag".into()))?;
                close(el, &mut stack)?;
            }
            Event::Text(t) => {
                let s = t.xml10_content()?;
                legal(&s)?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(XmlError("text outside the root element".into())),
                }
            }
            Event::CData(c) => {
                let s = c.decode()?;
                legal(&s)?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref()? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode()?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| XmlError(format!("unknown entity '&{name};'")))?
                            .to_owned()
                    }
                };
                legal(&resolved)?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::DocType(_) => {
                return Err(XmlError(
                    "document type declarations are not accepted".into(),
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError("the document ends inside an element".into()));
    }
    root.ok_or_else(|| XmlError("the document has no root element".into()))
}

/// Refuses text holding a character XML 1.0 does not allow (a raw or escaped control
/// character): a name made of one could never be written back for the client to address.
fn legal(text: &str) -> Result<(), XmlError> {
    match text.chars().find(|&c| !xml_char(c)) {
        None => Ok(()),
        Some(c) => Err(XmlError(format!(
            "the character U+{:04X} is not allowed in XML 1.0",
            u32::from(c)
        ))),
    }
}

/// Whether `c` may appear in an XML 1.0 document.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A response writer. Element and attribute text is escaped by quick-xml; characters XML 1.0
/// cannot carry at all (control characters in a guest file name, say) become U+FFFD.
pub struct XmlWriter {
    w: Writer<Vec<u8>>,
}

impl fmt::Debug for XmlWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XmlWriter").finish_non_exhaustive()
    }
}

impl Default for XmlWriter {
    fn default() -> Self {
        Self::new()
    }
}

fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().all(xml_char) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(
            s.chars()
                .map(|c| if xml_char(c) { c } else { '\u{FFFD}' })
                .collect(),
        )
    }
}

impl XmlWriter {
    /// A writer that has written the XML declaration.
    pub fn new() -> Self {
        let mut w = Writer::new(Vec::with_capacity(1024));
        Self::emit(
            &mut w,
            Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)),
        );
        Self { w }
    }

    fn emit(w: &mut Writer<Vec<u8>>, e: Event<'_>) {
        // Writing into a Vec cannot fail.
        if let Err(e) = w.write_event(e) {
            tracing::error!(error = %e, "writing XML into memory failed");
        }
    }

    fn tag<'a>(name: &'a str, attrs: &[(&str, &str)]) -> BytesStart<'a> {
        let mut s = BytesStart::new(name);
        for (k, v) in attrs {
            s.push_attribute((*k, clean(v).as_ref()));
        }
        s
    }

    /// Opens `<name attrs...>`.
    pub fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        Self::emit(&mut self.w, Event::Start(Self::tag(name, attrs)));
    }

    /// Closes `</name>`.
    pub fn end(&mut self, name: &str) {
        Self::emit(&mut self.w, Event::End(BytesEnd::new(name)));
    }

    /// Writes `<name attrs.../>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        Self::emit(&mut self.w, Event::Empty(Self::tag(name, attrs)));
    }

    /// Writes escaped character data.
    pub fn text(&mut self, s: &str) {
        Self::emit(&mut self.w, Event::Text(BytesText::new(&clean(s))));
    }

    /// Writes `<name attrs...>text</name>`.
    pub fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.start(name, attrs);
        self.text(text);
        self.end(name);
    }

    /// The document's bytes.
    pub fn finish(self) -> Vec<u8> {
        self.w.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Element, XmlError> {
        parse(s.as_bytes(), Bounds::default())
    }

    #[test]
    fn xsi_type_is_found_under_any_prefix_bound_to_the_schema_instance_namespace() {
        let doc = r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><X xmlns="urn:vim25"><auth xmlns:_XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" _XMLSchema-instance:type="NamePasswordAuthentication"><username>root</username></auth></X></Body></Envelope>"#;
        let env = p(doc).unwrap();
        assert_eq!(env.ns, SOAP_ENV);
        let x = &env.child("Body").unwrap().children[0];
        assert_eq!(x.ns, VIM25);
        let auth = x.child("auth").unwrap();
        assert_eq!(auth.xsi_type(), Some("NamePasswordAuthentication"));
        assert_eq!(auth.child_text("username"), Some("root"));
    }

    #[test]
    fn a_prefixed_xsi_type_value_loses_its_prefix() {
        let doc = r#"<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="vim25:TraversalSpec"/>"#;
        assert_eq!(p(doc).unwrap().xsi_type(), Some("TraversalSpec"));
    }

    #[test]
    fn an_attribute_in_another_namespace_named_type_is_not_xsi_type() {
        let doc = r#"<a xmlns:o="urn:other" o:type="X" type="VirtualMachine">vm-1</a>"#;
        let a = p(doc).unwrap();
        assert_eq!(a.xsi_type(), None);
        assert_eq!(a.attr("type"), Some("VirtualMachine"));
        assert_eq!(a.trimmed(), "vm-1");
    }

    #[test]
    fn entities_and_character_references_are_unescaped() {
        let a = p("<a k=\"&lt;&amp;&quot;\">x &amp; y &#65;&#x42; <![CDATA[<z>]]></a>").unwrap();
        assert_eq!(a.attr("k"), Some("<&\""));
        assert_eq!(a.text, "x & y AB <z>");
    }

    #[test]
    fn malformed_documents_are_errors_not_panics() {
        for doc in [
            "",
            "<a>",
            "<a></b>",
            "</a>",
            "<a/><b/>",
            "text",
            "<a>&bogus;</a>",
            "<p:a/>",
            "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
            "<a b=\"1\" b=\"2\"/>",
            "\u{0}",
            "<a>\u{1}</a>",
            "<a>&#1;</a>",
            "<a>&#xFFFE;</a>",
            "<a k=\"\u{1b}\"/>",
            "<a><![CDATA[\u{8}]]></a>",
        ] {
            assert!(p(doc).is_err(), "{doc:?} should be refused");
        }
    }

    #[test]
    fn nesting_and_element_count_are_bounded() {
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(p(&deep).unwrap_err().0.contains("deeper"));
        let wide = format!("<r>{}</r>", "<a/>".repeat(50));
        let small = Bounds {
            max_depth: 8,
            max_elements: 10,
            ..Bounds::default()
        };
        assert!(
            parse(wide.as_bytes(), small)
                .unwrap_err()
                .0
                .contains("more than 10")
        );
    }

    #[test]
    fn attributes_are_bounded_per_element_and_checked_for_repeats_in_linear_time() {
        let many: String = (0..100_000).map(|i| format!(" a{i}=\"\"")).collect();
        let e = p(&format!("<r{many}/>")).unwrap_err();
        assert!(e.0.contains("more than 64 attributes"), "{e}");
        let e = p(r#"<r a="1" b="2" a="3"/>"#).unwrap_err();
        assert!(e.0.contains("repeats the attribute 'a'"), "{e}");
        assert!(p(r#"<r a="1" b="2"/>"#).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_are_refused_or_read_and_never_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)
        ) {
            let _ = parse(&bytes, Bounds::default());
        }

        #[test]
        fn any_text_the_writer_writes_reads_back_as_written(text in proptest::prelude::any::<String>(), attr in proptest::prelude::any::<String>()) {
            let mut w = XmlWriter::new();
            w.start("a", &[("k", &attr)]);
            w.text(&text);
            w.end("a");
            let back = parse(&w.finish(), Bounds::default()).expect("the writer's output parses");
            let clean = |s: &str| s.chars().map(|c| if xml_char(c) { c } else { '\u{FFFD}' }).collect::<String>();
            // XML normalises line ends in text and white space in attribute values.
            let text = clean(&text).replace("\r\n", "\n").replace('\r', "\n");
            proptest::prop_assert_eq!(&back.text, &text);
            proptest::prop_assert_eq!(back.attr("k").map(str::to_owned), Some(clean(&attr)).map(|a| a.replace(['\t', '\n', '\r'], " ")));
        }
    }

    #[test]
    fn the_writer_escapes_text_and_attributes_and_replaces_forbidden_characters() {
        let mut w = XmlWriter::new();
        w.start("a", &[("k", "<\"&>")]);
        w.text("x<y & \u{1}z");
        w.end("a");
        let s = String::from_utf8(w.finish()).unwrap();
        assert!(s.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        let back = p(&s).unwrap();
        assert_eq!(back.attr("k"), Some("<\"&>"));
        assert_eq!(back.text, "x<y & \u{FFFD}z");
    }
}
