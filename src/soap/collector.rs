//! Owns the PropertyCollector's semantics: reading `PropertyFilterSpec`s off the wire,
//! walking ObjectSpecs and TraversalSpecs (type and path, `skip`, named SelectionSpecs with
//! cycle protection), matching PropertySpecs by type inheritance, reading dotted paths with
//! `missingSet` for invalid ones, and computing update sets against a filter's baseline.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::fault::not_found;
use super::inventory::{Obj, Prop, World};
use super::types;
use super::value::{Array, Data, MoRef, Value};
use super::xml::Element;
use crate::model::Fault;

/// A `PropertySpec`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PropertySpec {
    /// The managed type it applies to (and its subtypes).
    pub ty: String,
    /// Whether every property is wanted.
    pub all: bool,
    /// The paths wanted.
    pub paths: Vec<String>,
}

/// A `TraversalSpec`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraversalSpec {
    /// Its name, for references from SelectionSpecs.
    pub name: Option<String>,
    /// The type of object it applies to.
    pub ty: String,
    /// The property to follow.
    pub path: String,
    /// Whether the objects reached are left out of the result (but still traversed).
    pub skip: bool,
    /// Where to go from the objects reached.
    pub select: Vec<Selection>,
}

/// An entry of a `selectSet`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Selection {
    /// A `SelectionSpec` naming a TraversalSpec.
    Ref(String),
    /// A TraversalSpec.
    Traversal(TraversalSpec),
}

/// An `ObjectSpec`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectSpec {
    /// The starting object.
    pub obj: MoRef,
    /// Whether the starting object is left out of the result.
    pub skip: bool,
    /// Where to go from it.
    pub select: Vec<Selection>,
}

/// A `PropertyFilterSpec`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FilterSpec {
    /// What to read.
    pub props: Vec<PropertySpec>,
    /// Where to start.
    pub objects: Vec<ObjectSpec>,
}

/// One object's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectContent {
    /// The object.
    pub obj: MoRef,
    /// Set properties, by path.
    pub props: Vec<(String, Value)>,
    /// Paths that could not be read, with why.
    pub missing: Vec<(String, Fault)>,
}

fn bad(what: &str) -> Fault {
    Fault::InvalidInput {
        detail: what.to_owned(),
    }
}

/// Reads an `xsd:boolean`.
pub fn parse_bool(el: &Element, what: &str) -> Result<bool, Fault> {
    match el.trimmed() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(bad(what)),
    }
}

/// Reads an optional boolean child.
pub fn opt_bool(el: &Element, name: &str) -> Result<Option<bool>, Fault> {
    el.child(name).map(|c| parse_bool(c, name)).transpose()
}

/// Reads a managed object reference (`type` attribute and text).
pub fn parse_moref(el: &Element, what: &str) -> Result<MoRef, Fault> {
    let ty = el.attr("type").ok_or_else(|| bad(what))?;
    let value = el.trimmed();
    if value.is_empty() {
        return Err(bad(what));
    }
    Ok(MoRef::new(ty, value))
}

fn parse_selection(el: &Element) -> Result<Selection, Fault> {
    let name = el.child_text("name").map(str::to_owned);
    let is_traversal = match el.xsi_type() {
        Some("TraversalSpec") => true,
        Some("SelectionSpec") => false,
        Some(_) => return Err(bad("selectSet")),
        None => el.child("path").is_some() || el.child("type").is_some(),
    };
    if !is_traversal {
        return name
            .map(Selection::Ref)
            .ok_or_else(|| bad("selectSet.name"));
    }
    Ok(Selection::Traversal(TraversalSpec {
        name,
        ty: el
            .child_text("type")
            .ok_or_else(|| bad("selectSet.type"))?
            .to_owned(),
        path: el
            .child_text("path")
            .ok_or_else(|| bad("selectSet.path"))?
            .to_owned(),
        skip: opt_bool(el, "skip")?.unwrap_or(false),
        select: el
            .all("selectSet")
            .map(parse_selection)
            .collect::<Result<_, _>>()?,
    }))
}

/// Reads a `PropertyFilterSpec`.
pub fn parse_filter_spec(el: &Element) -> Result<FilterSpec, Fault> {
    let props = el
        .all("propSet")
        .map(|p| {
            Ok(PropertySpec {
                ty: p
                    .child_text("type")
                    .ok_or_else(|| bad("propSet.type"))?
                    .to_owned(),
                all: opt_bool(p, "all")?.unwrap_or(false),
                paths: p.all("pathSet").map(|x| x.trimmed().to_owned()).collect(),
            })
        })
        .collect::<Result<Vec<_>, Fault>>()?;
    let objects = el
        .all("objectSet")
        .map(|o| {
            Ok(ObjectSpec {
                obj: parse_moref(o.child("obj").ok_or_else(|| bad("objectSet.obj"))?, "obj")?,
                skip: opt_bool(o, "skip")?.unwrap_or(false),
                select: o
                    .all("selectSet")
                    .map(parse_selection)
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect::<Result<Vec<_>, Fault>>()?;
    if props.is_empty() {
        return Err(bad("propSet"));
    }
    if objects.is_empty() {
        return Err(bad("objectSet"));
    }
    Ok(FilterSpec { props, objects })
}

fn collect_named<'a>(sels: &'a [Selection], out: &mut HashMap<&'a str, &'a TraversalSpec>) {
    for s in sels {
        if let Selection::Traversal(t) = s {
            if let Some(n) = &t.name {
                out.entry(n.as_str()).or_insert(t);
            }
            collect_named(&t.select, out);
        }
    }
}

fn check_refs(sels: &[Selection], named: &HashMap<&str, &TraversalSpec>) -> Result<(), Fault> {
    for s in sels {
        match s {
            Selection::Ref(n) if !named.contains_key(n.as_str()) => {
                return Err(Fault::InvalidInput {
                    detail: format!("selectSet: undefined TraversalSpec name '{n}'"),
                });
            }
            Selection::Ref(_) => {}
            Selection::Traversal(t) => check_refs(&t.select, named)?,
        }
    }
    Ok(())
}

impl FilterSpec {
    /// The named TraversalSpecs, after checking that every SelectionSpec names one.
    fn named(&self) -> Result<HashMap<&str, &TraversalSpec>, Fault> {
        let mut named = HashMap::new();
        for o in &self.objects {
            collect_named(&o.select, &mut named);
        }
        for o in &self.objects {
            check_refs(&o.select, &named)?;
        }
        Ok(named)
    }

    /// The objects the spec reaches, in discovery order, without the skipped ones.
    pub fn walk(&self, w: &World<'_>) -> Result<Vec<Obj>, Fault> {
        let named = self.named()?;
        let mut order = Vec::new();
        let mut seen: HashSet<Obj> = HashSet::new();
        let mut visited: HashSet<(Obj, *const TraversalSpec)> = HashSet::new();
        for os in &self.objects {
            let root = w.resolve(&os.obj).ok_or_else(|| not_found(&os.obj))?;
            if !os.skip && seen.insert(root.clone()) {
                order.push(root.clone());
            }
            let mut stack: Vec<(Obj, &[Selection])> = vec![(root, &os.select)];
            while let Some((obj, sels)) = stack.pop() {
                let ty = World::type_of(&obj);
                for sel in sels {
                    let ts: &TraversalSpec = match sel {
                        Selection::Traversal(t) => t,
                        Selection::Ref(n) => named[n.as_str()],
                    };
                    if !types::is_a(ty, &ts.ty) || !visited.insert((obj.clone(), ts)) {
                        continue;
                    }
                    let targets = match w.property(&obj, &ts.path) {
                        Prop::Set(v) => v.refs().into_iter().cloned().collect::<Vec<_>>(),
                        Prop::Unset => Vec::new(),
                        Prop::Invalid => {
                            return Err(Fault::InvalidProperty {
                                name: ts.path.clone(),
                            });
                        }
                    };
                    for t in targets {
                        let Some(o) = w.resolve(&t) else { continue };
                        if !ts.skip && seen.insert(o.clone()) {
                            order.push(o.clone());
                        }
                        stack.push((o, &ts.select));
                    }
                }
            }
        }
        Ok(order)
    }

    /// The paths wanted on an object of type `ty`: `None` when no PropertySpec matches it,
    /// `Some(None)` when one asks for `all`.
    pub fn paths_for(&self, ty: &str) -> Option<Option<Vec<&str>>> {
        let matching: Vec<&PropertySpec> = self
            .props
            .iter()
            .filter(|p| types::is_a(ty, &p.ty))
            .collect();
        if matching.is_empty() {
            return None;
        }
        if matching.iter().any(|p| p.all) {
            return Some(None);
        }
        let mut seen = HashSet::new();
        Some(Some(
            matching
                .iter()
                .flat_map(|p| p.paths.iter().map(String::as_str))
                .filter(|p| seen.insert(*p))
                .collect(),
        ))
    }
}

/// Reads what `spec` asks for: one ObjectContent per object reached that a PropertySpec
/// matches.
pub fn retrieve(w: &World<'_>, spec: &FilterSpec) -> Result<Vec<ObjectContent>, Fault> {
    let objs = spec.walk(w)?;
    let mut out = Vec::with_capacity(objs.len());
    for obj in objs {
        let Some(paths) = spec.paths_for(World::type_of(&obj)) else {
            continue;
        };
        out.push(read(w, &obj, paths.as_deref()));
    }
    Ok(out)
}

/// Reads one object: every set property when `paths` is `None`, else those paths in order (an
/// invalid one goes to `missingSet`, an unset one is left out).
pub fn read(w: &World<'_>, obj: &Obj, paths: Option<&[&str]>) -> ObjectContent {
    let mut oc = ObjectContent {
        obj: World::moref(obj),
        props: Vec::new(),
        missing: Vec::new(),
    };
    match paths {
        None => oc.props = w.all(obj),
        Some(paths) => {
            for p in paths {
                match w.property(obj, p) {
                    Prop::Set(v) => oc.props.push(((*p).to_owned(), v)),
                    Prop::Unset => {}
                    Prop::Invalid => oc.missing.push((
                        (*p).to_owned(),
                        Fault::InvalidProperty {
                            name: (*p).to_owned(),
                        },
                    )),
                }
            }
        }
    }
    oc
}

fn missing_value(obj: &MoRef, missing: &[(String, Fault)]) -> Value {
    Value::Array(Array {
        of: "MissingProperty",
        items: missing
            .iter()
            .map(|(p, f)| {
                Data::new("MissingProperty")
                    .set("path", p.as_str())
                    .set(
                        "fault",
                        super::fault::localized(
                            f,
                            super::fault::Context {
                                this: Some(obj),
                                entity: None,
                                method: None,
                                vc: None,
                            },
                        ),
                    )
                    .into()
            })
            .collect(),
    })
}

impl ObjectContent {
    /// About how many bytes this object's `ObjectContent` takes in an answer (see
    /// [`super::value::written_len`]), without building it.
    pub fn written_len(&self) -> usize {
        // `<objects>` and `</objects>`, and `<obj type="T">id</obj>`.
        let mut n = 19 + 19 + self.obj.ty.len() + self.obj.value.len();
        for (name, v) in &self.props {
            // `<propSet>`, `<name>name</name>`, `<val xsi:type="T">value</val>`.
            n += 19 + 13 + name.len() + super::value::written_len("val", v, true);
        }
        // One entry at a time, so that estimating never holds them all.
        for entry in &self.missing {
            n += super::value::written_len(
                "missingSet",
                &missing_value(&self.obj, std::slice::from_ref(entry)),
                false,
            );
        }
        n
    }

    /// The `ObjectContent` data object.
    pub fn to_value(&self) -> Value {
        Data::new("ObjectContent")
            .set("obj", self.obj.clone())
            .set(
                "propSet",
                Value::Array(Array {
                    of: "DynamicProperty",
                    items: self
                        .props
                        .iter()
                        .map(|(n, v)| {
                            Data::new("DynamicProperty")
                                .set("name", n.as_str())
                                .set("val", Value::any(v.clone()))
                                .into()
                        })
                        .collect(),
                }),
            )
            .set("missingSet", missing_value(&self.obj, &self.missing))
            .into()
    }
}

/// What a filter last reported: per object, its property values.
pub type Baseline = BTreeMap<MoRef, BTreeMap<String, Value>>;

/// The current state a filter sees, as a baseline would hold it.
pub fn snapshot(w: &World<'_>, spec: &FilterSpec) -> Result<Baseline, Fault> {
    Ok(retrieve(w, spec)?
        .into_iter()
        .map(|oc| (oc.obj, oc.props.into_iter().collect()))
        .collect())
}

/// `ObjectUpdateKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The object entered the filter's scope.
    Enter,
    /// Some of its properties changed.
    Modify,
    /// It left the scope.
    Leave,
}

/// One `ObjectUpdate`.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectUpdate {
    /// What happened.
    pub kind: Kind,
    /// The object.
    pub obj: MoRef,
    /// The properties assigned (`None`: became unset).
    pub changes: Vec<(String, Option<Value>)>,
}

/// The updates from `old` to `new`, at most `limit` of them; `old` moves forward by exactly
/// the updates returned, so that the rest come next time. Returns whether some were held back.
pub fn diff(old: &mut Baseline, new: Baseline, limit: usize) -> (Vec<ObjectUpdate>, bool) {
    let mut out = Vec::new();
    let mut truncated = false;
    let gone: Vec<MoRef> = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .cloned()
        .collect();
    let mut push = |u: ObjectUpdate, out: &mut Vec<ObjectUpdate>| -> bool {
        if out.len() >= limit {
            truncated = true;
            return false;
        }
        out.push(u);
        true
    };
    for (obj, props) in new {
        let update = match old.get(&obj) {
            None => ObjectUpdate {
                kind: Kind::Enter,
                obj: obj.clone(),
                changes: props
                    .iter()
                    .map(|(k, v)| (k.clone(), Some(v.clone())))
                    .collect(),
            },
            Some(before) => {
                let mut changes: Vec<(String, Option<Value>)> = props
                    .iter()
                    .filter(|(k, v)| before.get(*k) != Some(*v))
                    .map(|(k, v)| (k.clone(), Some(v.clone())))
                    .collect();
                changes.extend(
                    before
                        .keys()
                        .filter(|k| !props.contains_key(*k))
                        .map(|k| (k.clone(), None)),
                );
                if changes.is_empty() {
                    continue;
                }
                ObjectUpdate {
                    kind: Kind::Modify,
                    obj: obj.clone(),
                    changes,
                }
            }
        };
        if !push(update, &mut out) {
            break;
        }
        old.insert(obj, props);
    }
    for obj in gone {
        let u = ObjectUpdate {
            kind: Kind::Leave,
            obj: obj.clone(),
            changes: Vec::new(),
        };
        if !push(u, &mut out) {
            break;
        }
        old.remove(&obj);
    }
    (out, truncated)
}

impl ObjectUpdate {
    /// The `ObjectUpdate` data object.
    pub fn to_value(&self) -> Value {
        let kind = match self.kind {
            Kind::Enter => "enter",
            Kind::Modify => "modify",
            Kind::Leave => "leave",
        };
        Data::new("ObjectUpdate")
            .set("kind", Value::en("ObjectUpdateKind", kind))
            .set("obj", self.obj.clone())
            .set(
                "changeSet",
                Value::Array(Array {
                    of: "PropertyChange",
                    items: self
                        .changes
                        .iter()
                        .map(|(n, v)| {
                            Data::new("PropertyChange")
                                .set("name", n.as_str())
                                .set("op", Value::en("PropertyChangeOp", "assign"))
                                .opt("val", v.clone().map(Value::any))
                                .into()
                        })
                        .collect(),
                }),
            )
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::DEFAULT_MANUAL_START as T0;
    use crate::fixtures::Fixture;
    use crate::soap::inventory::Config;
    use crate::soap::store::Store;
    use crate::soap::xml::{Bounds, parse};

    fn spec(xml: &str) -> FilterSpec {
        let el = parse(xml.as_bytes(), Bounds::default()).unwrap();
        parse_filter_spec(&el).unwrap()
    }

    fn run(xml: &str) -> Result<Vec<ObjectContent>, Fault> {
        let vc = Fixture::shared_default().build(crate::model::Limits::default(), T0);
        let store = Store::default();
        let cfg = Config::default();
        let w = World::new(&vc, &store, None, &cfg, T0);
        retrieve(&w, &spec(xml))
    }

    const XSI: &str = r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#;

    #[test]
    fn govcs_traverse_parent_walks_up_through_a_named_selection_spec() {
        let xml = format!(
            r#"<specSet {XSI}><propSet><type>ManagedEntity</type><pathSet>name</pathSet><pathSet>parent</pathSet></propSet><propSet><type>VirtualMachine</type><pathSet>parentVApp</pathSet></propSet><objectSet><obj type="VirtualMachine">vm-1001</obj><selectSet xsi:type="TraversalSpec"><name>traverseParent</name><type>ManagedEntity</type><path>parent</path><skip>false</skip><selectSet><name>traverseParent</name></selectSet></selectSet><selectSet xsi:type="TraversalSpec"><type>VirtualMachine</type><path>parentVApp</path><skip>false</skip><selectSet><name>traverseParent</name></selectSet></selectSet></objectSet></specSet>"#
        );
        let got = run(&xml).unwrap();
        let ids: Vec<&str> = got.iter().map(|o| o.obj.value.as_str()).collect();
        assert_eq!(ids, ["vm-1001", "group-v4", "datacenter-3", "group-d1"]);
        let root = got.last().unwrap();
        assert_eq!(root.props, vec![("name".to_owned(), "Datacenters".into())]);
        assert!(got[0].props.iter().all(|(n, _)| n != "parentVApp"));
    }

    #[test]
    fn a_skipped_start_object_is_traversed_but_not_reported_and_a_traversal_applies_only_to_its_type()
     {
        let xml = r#"<s><propSet><type>VirtualMachine</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">group-v4</obj><skip>true</skip><selectSet><type>Folder</type><path>childEntity</path><skip>false</skip></selectSet><selectSet><type>Datacenter</type><path>vmFolder</path></selectSet></objectSet></s>"#;
        let got = run(xml).unwrap();
        assert_eq!(got.len(), 6);
        assert!(got.iter().all(|o| o.obj.ty == "VirtualMachine"));
    }

    #[test]
    fn an_unknown_selection_spec_name_is_an_invalid_argument() {
        let xml = r#"<s><propSet><type>Folder</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">group-d1</obj><selectSet><name>nope</name></selectSet></objectSet></s>"#;
        assert!(matches!(
            run(xml),
            Err(Fault::InvalidInput { detail }) if detail.contains("nope")
        ));
    }

    #[test]
    fn an_invalid_path_goes_to_missing_set_and_an_unset_one_is_left_out() {
        let xml = r#"<s><propSet><type>VirtualMachine</type><pathSet>runtime.powerState</pathSet><pathSet>runtime.question</pathSet><pathSet>config.nope</pathSet></propSet><objectSet><obj type="VirtualMachine">vm-1003</obj></objectSet></s>"#;
        let got = run(xml).unwrap();
        assert_eq!(got[0].props.len(), 1);
        assert_eq!(got[0].missing.len(), 1);
        assert_eq!(got[0].missing[0].0, "config.nope");
    }

    #[test]
    fn a_missing_start_object_is_managed_object_not_found() {
        let xml = r#"<s><propSet><type>VirtualMachine</type><all>true</all></propSet><objectSet><obj type="VirtualMachine">vm-9</obj></objectSet></s>"#;
        assert!(matches!(run(xml), Err(Fault::ObjectNotFound { .. })));
    }

    #[test]
    fn diff_reports_enter_modify_and_leave_and_holds_back_past_the_limit() {
        let a = MoRef::new("Task", "task-1");
        let b = MoRef::new("Task", "task-2");
        let mut base = Baseline::new();
        let mut now = Baseline::new();
        now.insert(a.clone(), [("info".to_owned(), Value::Int(1))].into());
        now.insert(b.clone(), [("info".to_owned(), Value::Int(1))].into());
        let (u, t) = diff(&mut base, now.clone(), 1);
        assert_eq!((u.len(), t), (1, true));
        assert_eq!(u[0].kind, Kind::Enter);
        let (u, t) = diff(&mut base, now.clone(), 10);
        assert_eq!((u.len(), t), (1, false));
        assert_eq!(u[0].obj, b);
        let (u, _) = diff(&mut base, now.clone(), 10);
        assert!(u.is_empty());
        now.insert(a.clone(), [("info".to_owned(), Value::Int(2))].into());
        now.remove(&b);
        let (u, _) = diff(&mut base, now.clone(), 10);
        assert_eq!(
            u.iter().map(|x| x.kind).collect::<Vec<_>>(),
            [Kind::Modify, Kind::Leave]
        );
    }
}
