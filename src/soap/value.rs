//! Owns vim25 values on the wire: primitives with their xsd types, enums, managed object
//! references, data objects (a type name and ordered fields, unset ones kept as schema), arrays,
//! and their serialisation with `xsi:type` exactly where the declared type needs it.

use time::OffsetDateTime;

use super::xml::XmlWriter;

/// A managed object reference: `<x type="VirtualMachine">vm-1001</x>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MoRef {
    /// The managed object type, e.g. `VirtualMachine`.
    pub ty: String,
    /// The id, e.g. `vm-1001`.
    pub value: String,
}

impl MoRef {
    /// A reference to `value` of type `ty`.
    pub fn new(ty: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            ty: ty.into(),
            value: value.into(),
        }
    }
}

impl std::fmt::Display for MoRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.ty, self.value)
    }
}

/// A data object: its type name and fields in schema order. A field holding `None` exists in
/// the schema but is unset: it is not written, and a property path through it is valid.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    /// The type name, e.g. `VirtualMachineRuntimeInfo`.
    pub ty: &'static str,
    /// Fields in the order the schema lists them.
    pub fields: Vec<(&'static str, Option<Value>)>,
}

impl Data {
    /// An object of type `ty` with no fields yet.
    pub fn new(ty: &'static str) -> Self {
        Self {
            ty,
            fields: Vec::new(),
        }
    }

    /// Adds a set field.
    pub fn set(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        self.fields.push((name, Some(value.into())));
        self
    }

    /// Adds a field that may be unset.
    pub fn opt(mut self, name: &'static str, value: Option<impl Into<Value>>) -> Self {
        self.fields.push((name, value.map(Into::into)));
        self
    }

    /// Declares an unset field (so that paths through it are valid).
    pub fn unset(mut self, name: &'static str) -> Self {
        self.fields.push((name, None));
        self
    }

    /// A field: `None` when the schema has no such field, `Some(None)` when it is unset.
    pub fn field(&self, name: &str) -> Option<Option<&Value>> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    }
}

/// An array with its item type, which names the `ArrayOfX` wrapper where one is needed.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// The item type as the schema names it: `ManagedObjectReference`, `string`, `CustomFieldDef`.
    pub of: &'static str,
    /// The items.
    pub items: Vec<Value>,
}

/// A vim25 value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `xsd:string`.
    Str(String),
    /// `xsd:boolean`.
    Bool(bool),
    /// `xsd:int`.
    Int(i32),
    /// `xsd:long`.
    Long(i64),
    /// `xsd:dateTime`.
    Time(OffsetDateTime),
    /// An enum value with its type name; never empty.
    Enum(&'static str, &'static str),
    /// A managed object reference.
    MoRef(MoRef),
    /// A data object.
    Data(Data),
    /// An array.
    Array(Array),
    /// A value whose declared type is `anyType` or a base type: written with `xsi:type`.
    Any(Box<Value>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Self::Str(s.clone())
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}
impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Self::Int(n)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Self::Long(n)
    }
}
impl From<OffsetDateTime> for Value {
    fn from(t: OffsetDateTime) -> Self {
        Self::Time(t)
    }
}
impl From<MoRef> for Value {
    fn from(m: MoRef) -> Self {
        Self::MoRef(m)
    }
}
impl From<&MoRef> for Value {
    fn from(m: &MoRef) -> Self {
        Self::MoRef(m.clone())
    }
}
impl From<Data> for Value {
    fn from(d: Data) -> Self {
        Self::Data(d)
    }
}
impl From<Array> for Value {
    fn from(a: Array) -> Self {
        Self::Array(a)
    }
}

impl Value {
    /// An enum value.
    pub fn en(ty: &'static str, v: &'static str) -> Self {
        Self::Enum(ty, v)
    }

    /// An array of managed object references.
    pub fn morefs(items: impl IntoIterator<Item = MoRef>) -> Self {
        Self::Array(Array {
            of: "ManagedObjectReference",
            items: items.into_iter().map(Value::MoRef).collect(),
        })
    }

    /// An array of strings.
    pub fn strings(items: impl IntoIterator<Item = String>) -> Self {
        Self::Array(Array {
            of: "string",
            items: items.into_iter().map(Value::Str).collect(),
        })
    }

    /// An empty array of `of`.
    pub fn empty(of: &'static str) -> Self {
        Self::Array(Array {
            of,
            items: Vec::new(),
        })
    }

    /// Wraps a value whose declared type is `anyType` or a base type.
    pub fn any(v: impl Into<Value>) -> Self {
        match v.into() {
            a @ Value::Any(_) => a,
            v => Value::Any(Box::new(v)),
        }
    }

    /// The value without an `Any` wrapper.
    pub fn plain(&self) -> &Value {
        match self {
            Value::Any(v) => v.plain(),
            v => v,
        }
    }

    /// The managed object references this value holds (one, an array of them, or none).
    pub fn refs(&self) -> Vec<&MoRef> {
        match self.plain() {
            Value::MoRef(m) => vec![m],
            Value::Array(a) => a
                .items
                .iter()
                .filter_map(|v| match v.plain() {
                    Value::MoRef(m) => Some(m),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The name `xsi:type` gives this value.
    pub fn type_name(&self) -> String {
        match self {
            Value::Str(_) => "xsd:string".into(),
            Value::Bool(_) => "xsd:boolean".into(),
            Value::Int(_) => "xsd:int".into(),
            Value::Long(_) => "xsd:long".into(),
            Value::Time(_) => "xsd:dateTime".into(),
            Value::Enum(t, _) => (*t).into(),
            Value::MoRef(_) => "ManagedObjectReference".into(),
            Value::Data(d) => d.ty.into(),
            Value::Array(a) => array_type(a.of),
            Value::Any(v) => v.type_name(),
        }
    }
}

/// `ArrayOfString`, `ArrayOfManagedObjectReference`, `ArrayOfCustomFieldDef`.
pub fn array_type(of: &str) -> String {
    let mut c = of.chars();
    match c.next() {
        Some(f) => format!("ArrayOf{}{}", f.to_uppercase(), c.as_str()),
        None => "ArrayOfAnyType".into(),
    }
}

/// `xsd:dateTime` as vCenter writes it: UTC with microseconds.
pub fn datetime(t: OffsetDateTime) -> String {
    crate::clock::format_micros(t)
}

fn scalar_text(v: &Value) -> Option<String> {
    Some(match v {
        Value::Str(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Long(n) => n.to_string(),
        Value::Time(t) => datetime(*t),
        Value::Enum(_, e) => (*e).to_owned(),
        Value::MoRef(m) => m.value.clone(),
        _ => return None,
    })
}

/// Writes `value` as element `name`. `typed` asks for `xsi:type` (the declared type is
/// `anyType` or a base type). Arrays are repeated elements, or one `ArrayOfX` element when
/// typed.
pub fn write(w: &mut XmlWriter, name: &str, value: &Value, typed: bool) {
    match value {
        Value::Any(inner) => write(w, name, inner, true),
        Value::Array(a) if typed => {
            let ty = array_type(a.of);
            if a.items.is_empty() {
                w.empty(name, &[("xsi:type", &ty)]);
            } else {
                w.start(name, &[("xsi:type", &ty)]);
                for item in &a.items {
                    write(w, a.of, item, false);
                }
                w.end(name);
            }
        }
        Value::Array(a) => {
            for item in &a.items {
                write(w, name, item, false);
            }
        }
        Value::Data(d) => {
            let attrs: &[(&str, &str)] = if typed { &[("xsi:type", d.ty)] } else { &[] };
            w.start(name, attrs);
            write_fields(w, d);
            w.end(name);
        }
        Value::MoRef(m) => {
            if typed {
                w.leaf(
                    name,
                    &[("type", &m.ty), ("xsi:type", "ManagedObjectReference")],
                    &m.value,
                );
            } else {
                w.leaf(name, &[("type", &m.ty)], &m.value);
            }
        }
        scalar => {
            let text = scalar_text(scalar).unwrap_or_default();
            if typed {
                w.leaf(name, &[("xsi:type", &scalar.type_name())], &text);
            } else {
                w.leaf(name, &[], &text);
            }
        }
    }
}

/// About how many bytes [`write`] makes of `value` as element `name`: the markup and the text,
/// without the growth escaping may add. Cheap (nothing is formatted), so that an answer can be
/// bounded before it is written.
pub fn written_len(name: &str, value: &Value, typed: bool) -> usize {
    // `<name>` and `</name>`, and ` xsi:type="..."` when typed.
    let element = 2 * name.len() + 5;
    let xsi = |ty: usize| if typed { 12 + ty } else { 0 };
    match value {
        Value::Any(inner) => written_len(name, inner, true),
        Value::Array(a) if typed => {
            // `ArrayOf` and the item type.
            element
                + 12
                + 7
                + a.of.len()
                + a.items
                    .iter()
                    .map(|item| written_len(a.of, item, false))
                    .sum::<usize>()
        }
        Value::Array(a) => a
            .items
            .iter()
            .map(|item| written_len(name, item, false))
            .sum(),
        Value::Data(d) => element + xsi(d.ty.len()) + fields_len(d),
        Value::MoRef(m) => element + 8 + m.ty.len() + xsi(22) + m.value.len(),
        scalar => {
            let (ty, text) = match scalar {
                Value::Str(s) => (10, s.len()),
                Value::Bool(_) => (11, 5),
                Value::Int(_) => (7, 11),
                Value::Long(_) => (8, 20),
                Value::Time(_) => (12, 27),
                Value::Enum(t, e) => (t.len(), e.len()),
                _ => (0, 0),
            };
            element + xsi(ty) + text
        }
    }
}

/// [`written_len`] of a data object's set fields.
pub fn fields_len(d: &Data) -> usize {
    d.fields
        .iter()
        .filter_map(|(name, v)| v.as_ref().map(|v| written_len(name, v, false)))
        .sum()
}

/// Writes a data object's set fields, in order.
pub fn write_fields(w: &mut XmlWriter, d: &Data) {
    for (name, v) in &d.fields {
        if let Some(v) = v {
            write(w, name, v, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(v: &Value, typed: bool) -> String {
        let mut w = XmlWriter::new();
        w.start("r", &[("xmlns:xsi", super::super::xml::XSI)]);
        write(&mut w, "val", v, typed);
        w.end("r");
        let s = String::from_utf8(w.finish()).unwrap();
        let start = s.find("<val").unwrap_or(s.len());
        let end = s.rfind("</r>").unwrap_or(s.len());
        s[start..end].to_owned()
    }

    #[test]
    fn typed_values_carry_their_xsd_or_vim_type() {
        let t = time::macros::datetime!(2024-01-01 00:00:00.5 UTC);
        let rows: Vec<(Value, &str)> = vec![
            ("a".into(), r#"<val xsi:type="xsd:string">a</val>"#),
            (true.into(), r#"<val xsi:type="xsd:boolean">true</val>"#),
            (7i32.into(), r#"<val xsi:type="xsd:int">7</val>"#),
            (7i64.into(), r#"<val xsi:type="xsd:long">7</val>"#),
            (
                t.into(),
                r#"<val xsi:type="xsd:dateTime">2024-01-01T00:00:00.500000Z</val>"#,
            ),
            (
                Value::en("VirtualMachinePowerState", "poweredOn"),
                r#"<val xsi:type="VirtualMachinePowerState">poweredOn</val>"#,
            ),
            (
                MoRef::new("Folder", "group-d1").into(),
                r#"<val type="Folder" xsi:type="ManagedObjectReference">group-d1</val>"#,
            ),
            (
                Value::morefs([MoRef::new("VirtualMachine", "vm-1")]),
                r#"<val xsi:type="ArrayOfManagedObjectReference"><ManagedObjectReference type="VirtualMachine">vm-1</ManagedObjectReference></val>"#,
            ),
            (
                Value::empty("CustomFieldDef"),
                r#"<val xsi:type="ArrayOfCustomFieldDef"/>"#,
            ),
        ];
        for (v, want) in rows {
            assert_eq!(render(&v, true), want);
        }
    }

    #[test]
    fn untyped_arrays_repeat_the_element_and_unset_fields_are_left_out() {
        let d = Data::new("X")
            .set("a", Value::strings(["p".to_owned(), "q".to_owned()]))
            .unset("b")
            .set("c", Value::any(Data::new("Sub").set("n", 1i32)));
        assert_eq!(
            render(&d.into(), false),
            r#"<val><a>p</a><a>q</a><c xsi:type="Sub"><n>1</n></c></val>"#
        );
    }

    #[test]
    fn the_written_length_of_text_references_and_objects_is_exact_and_of_numbers_an_upper_bound() {
        let exact = Data::new("X")
            .set("a", Value::strings(["p".to_owned(), "qq".to_owned()]))
            .unset("b")
            .set("c", Value::any(Data::new("Sub").set("s", "text")))
            .set("d", MoRef::new("Folder", "group-d1"))
            .set("e", Value::any(MoRef::new("VirtualMachine", "vm-1")))
            .set("f", Value::any(Value::strings(["x".to_owned()])))
            .set("g", Value::en("VirtualMachinePowerState", "poweredOn"))
            .set("h", time::macros::datetime!(2024-01-01 00:00:00.5 UTC))
            .into();
        for typed in [false, true] {
            let rendered = render(&exact, typed).len();
            assert_eq!(
                written_len("val", &exact, typed),
                rendered,
                "typed: {typed}"
            );
        }
        for v in [Value::Int(7), Value::Long(-3), Value::Bool(true)] {
            for typed in [false, true] {
                assert!(written_len("val", &v, typed) >= render(&v, typed).len());
            }
        }
    }

    #[test]
    fn a_field_lookup_tells_unset_from_unknown() {
        let d = Data::new("X").unset("b").set("c", 1i32);
        assert_eq!(d.field("b"), Some(None));
        assert_eq!(d.field("c"), Some(Some(&Value::Int(1))));
        assert_eq!(d.field("zz"), None);
    }
}
