//! Owns one-time property retrieval (`RetrieveProperties`, `RetrievePropertiesEx` and its
//! continuation): the specSets blended into one answer per object, as vCenter does, the answer
//! read page by page, and the bounds on what one retrieval may reach and answer at once.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;

use super::collector::{self, FilterSpec, ObjectContent, Selection, TraversalSpec};
use super::inventory::{Obj, World};
use super::types;
use super::value::MoRef;
use crate::model::Fault;

/// Objects one retrieval may reach, counted once per distinct specSet that reaches them.
pub const MAX_REACHED: usize = 100_000;

/// Bytes one answer may hold, as [`ObjectContent::written_len`] estimates them. A
/// `RetrievePropertiesEx` page ends before it and the rest follows through a token (vim25 lets
/// "PropertyCollector policy" end a page before `maxObjects`); a `RetrieveProperties` answer
/// past it, or one object past it alone, is refused.
pub const ANSWER_MAX_BYTES: usize = 16 << 20;

/// Why a retrieval is refused: it passes the bound on `what`, which is `limit`.
fn too_large(what: &'static str, limit: usize) -> Fault {
    Fault::RetrievalTooLarge {
        what,
        limit: limit as u64,
    }
}

/// The specSets without repeats, in their order (a repeated specSet adds nothing to the answer).
fn distinct(specs: Vec<FilterSpec>) -> Vec<FilterSpec> {
    let hasher = RandomState::new();
    let mut by_hash: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut out: Vec<FilterSpec> = Vec::new();
    for spec in specs {
        let group = by_hash.entry(hasher.hash_one(&spec)).or_default();
        if group.iter().any(|&i| out[i] == spec) {
            continue;
        }
        group.push(out.len());
        out.push(spec);
    }
    out
}

/// About how many bytes a selection holds in memory.
fn selection_bytes(s: &Selection) -> usize {
    match s {
        Selection::Ref(name) => 32 + name.len(),
        Selection::Traversal(t) => traversal_bytes(t),
    }
}

fn traversal_bytes(t: &TraversalSpec) -> usize {
    96 + t.name.as_ref().map_or(0, String::len)
        + t.ty.len()
        + t.path.len()
        + t.select.iter().map(selection_bytes).sum::<usize>()
}

/// About how many bytes a parsed specSet holds in memory.
pub fn spec_bytes(spec: &FilterSpec) -> usize {
    let props: usize = spec
        .props
        .iter()
        .map(|p| 56 + p.ty.len() + p.paths.iter().map(|x| 24 + x.len()).sum::<usize>())
        .sum();
    let objects: usize = spec
        .objects
        .iter()
        .map(|o| {
            80 + o.obj.ty.len()
                + o.obj.value.len()
                + o.select.iter().map(selection_bytes).sum::<usize>()
        })
        .sum();
    48 + props + objects
}

/// About how many bytes an object reference of the plan holds in memory.
fn object_bytes(obj: &Obj, specs: &[u32]) -> usize {
    let id = match obj {
        Obj::Compute(s)
        | Obj::Host(s)
        | Obj::Pool(s)
        | Obj::Vm(s)
        | Obj::Task(s)
        | Obj::View(s)
        | Obj::Filter(s)
        | Obj::Collector(s) => s.len(),
        _ => 0,
    };
    std::mem::size_of::<(Obj, Vec<u32>)>() + id + 4 * specs.len()
}

/// What a retrieval reads, in answer order: each object once, with the specSets that reached
/// it (their PropertySpecs together say what is read of it). Reading happens page by page, so
/// what a continuation token keeps is this, not the values.
#[derive(Debug, Clone)]
pub struct Plan {
    specs: Arc<[FilterSpec]>,
    spec_bytes: usize,
    objects: VecDeque<(Obj, Vec<u32>)>,
}

impl Plan {
    /// Walks every specSet (each distinct one once) and lists the objects a PropertySpec of
    /// theirs matches, each once, in the order they were first reached.
    pub fn new(w: &World<'_>, specs: Vec<FilterSpec>) -> Result<Self, Fault> {
        let specs = distinct(specs);
        let mut index: HashMap<Obj, usize> = HashMap::new();
        let mut objects: Vec<(Obj, Vec<u32>)> = Vec::new();
        let mut reached = 0usize;
        for (i, spec) in specs.iter().enumerate() {
            let found = spec.walk(w)?;
            reached += found.len();
            if reached > MAX_REACHED {
                return Err(too_large("objects reached by the specSets", MAX_REACHED));
            }
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            for obj in found {
                let ty = World::type_of(&obj);
                if !spec.props.iter().any(|p| types::is_a(ty, &p.ty)) {
                    continue;
                }
                match index.entry(obj) {
                    Entry::Occupied(e) => objects[*e.get()].1.push(i),
                    Entry::Vacant(e) => {
                        objects.push((e.key().clone(), vec![i]));
                        e.insert(objects.len() - 1);
                    }
                }
            }
        }
        Ok(Self {
            spec_bytes: specs.iter().map(spec_bytes).sum(),
            specs: specs.into(),
            objects: objects.into(),
        })
    }

    /// How many objects are left to read.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether every object has been read.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// About how many bytes the plan holds in memory (what a token keeping it costs).
    pub fn held_bytes(&self) -> usize {
        self.spec_bytes
            + self
                .objects
                .iter()
                .map(|(o, s)| object_bytes(o, s))
                .sum::<usize>()
    }

    /// Reads one object as the specSets that reached it ask; `None` when it is gone (a VM
    /// removed since the retrieval began).
    fn read(&self, w: &World<'_>, obj: &Obj, specs: &[u32]) -> Option<ObjectContent> {
        w.resolve(&World::moref(obj))?;
        let ty = World::type_of(obj);
        let mut seen: HashSet<&str> = HashSet::new();
        let mut paths: Vec<&str> = Vec::new();
        for &i in specs {
            match self.specs.get(i as usize)?.paths_for(ty) {
                None => {}
                Some(None) => return Some(collector::read(w, obj, None)),
                Some(Some(p)) => paths.extend(p.into_iter().filter(|x| seen.insert(*x))),
            }
        }
        Some(collector::read(w, obj, Some(&paths)))
    }

    /// Reads the next page: at most `max` objects. Past [`ANSWER_MAX_BYTES`] the page ends
    /// early when `may_end_early` (the rest stays in the plan), and is refused otherwise; one
    /// object past it alone is refused either way.
    pub fn next_page(
        &mut self,
        w: &World<'_>,
        max: usize,
        may_end_early: bool,
    ) -> Result<Vec<ObjectContent>, Fault> {
        let mut page = Vec::new();
        let mut bytes = 0usize;
        while page.len() < max {
            let Some((obj, specs)) = self.objects.front() else {
                break;
            };
            let Some(oc) = self.read(w, obj, specs) else {
                self.objects.pop_front();
                continue;
            };
            let n = oc.written_len();
            if bytes + n > ANSWER_MAX_BYTES {
                if may_end_early && !page.is_empty() {
                    break;
                }
                return Err(too_large("bytes in one answer", ANSWER_MAX_BYTES));
            }
            bytes += n;
            page.push(oc);
            self.objects.pop_front();
        }
        Ok(page)
    }
}

/// The answer to a caller without a session: each starting object once, with every path its
/// specSets ask of it in `missingSet` as `NotAuthenticated` (what govc's session check
/// expects). Refused past [`ANSWER_MAX_BYTES`].
pub fn anonymous(specs: Vec<FilterSpec>) -> Result<Vec<ObjectContent>, Fault> {
    let mut index: HashMap<MoRef, usize> = HashMap::new();
    let mut out: Vec<(ObjectContent, HashSet<String>, usize)> = Vec::new();
    let mut bytes = 0usize;
    for spec in distinct(specs) {
        for os in &spec.objects {
            let at = match index.entry(os.obj.clone()) {
                Entry::Occupied(e) => *e.get(),
                Entry::Vacant(e) => {
                    let oc = ObjectContent {
                        obj: os.obj.clone(),
                        props: Vec::new(),
                        missing: Vec::new(),
                    };
                    bytes += oc.written_len();
                    // What one more missing path costs, besides the path itself.
                    let entry = ObjectContent {
                        missing: vec![(String::new(), Fault::SessionRequired)],
                        ..oc.clone()
                    }
                    .written_len()
                        - oc.written_len();
                    out.push((oc, HashSet::new(), entry));
                    e.insert(out.len() - 1);
                    out.len() - 1
                }
            };
            let (oc, seen, entry) = &mut out[at];
            let wanted = spec
                .props
                .iter()
                .filter(|p| types::is_a(&os.obj.ty, &p.ty))
                .flat_map(|p| p.paths.iter());
            for path in wanted {
                if seen.contains(path) {
                    continue;
                }
                bytes += *entry + path.len();
                if bytes > ANSWER_MAX_BYTES {
                    return Err(too_large("bytes in one answer", ANSWER_MAX_BYTES));
                }
                seen.insert(path.clone());
                oc.missing.push((path.clone(), Fault::SessionRequired));
            }
        }
    }
    Ok(out.into_iter().map(|(oc, _, _)| oc).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::DEFAULT_MANUAL_START as T0;
    use crate::fixtures::Fixture;
    use crate::soap::inventory::Config;
    use crate::soap::store::Store;
    use crate::soap::xml::{Bounds, parse};

    const WALK: &str = r#"<objectSet><obj type="Folder">group-d1</obj><selectSet xsi:type="TraversalSpec"><name>t</name><type>Folder</type><path>childEntity</path><selectSet><name>t</name></selectSet><selectSet><name>d</name></selectSet></selectSet><selectSet xsi:type="TraversalSpec"><name>d</name><type>Datacenter</type><path>vmFolder</path><selectSet><name>t</name></selectSet></selectSet></objectSet>"#;

    fn spec(props: &str, objects: &str) -> FilterSpec {
        let xml = format!(
            r#"<specSet xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{props}{objects}</specSet>"#
        );
        collector::parse_filter_spec(&parse(xml.as_bytes(), Bounds::default()).unwrap()).unwrap()
    }

    fn with_world<R>(f: impl FnOnce(&World<'_>) -> R) -> R {
        let vc = Fixture::shared_default().build(crate::model::Limits::default(), T0);
        let store = Store::default();
        let cfg = Config::default();
        f(&World::new(&vc, &store, None, &cfg, T0))
    }

    fn ids(page: &[ObjectContent]) -> Vec<&str> {
        page.iter().map(|o| o.obj.value.as_str()).collect()
    }

    #[test]
    fn thousands_of_identical_spec_sets_answer_each_object_once() {
        with_world(|w| {
            let one = spec(
                "<propSet><type>ManagedEntity</type><all>true</all></propSet>",
                WALK,
            );
            let mut alone = Plan::new(w, vec![one.clone()]).unwrap();
            let mut plan = Plan::new(w, vec![one; 3000]).unwrap();
            assert_eq!(plan.len(), alone.len());
            let page = plan.next_page(w, usize::MAX, false).unwrap();
            assert_eq!(page, alone.next_page(w, usize::MAX, false).unwrap());
            let mut unique = ids(&page);
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), page.len());
        });
    }

    #[test]
    fn an_object_two_spec_sets_reach_is_answered_once_with_the_union_of_their_paths() {
        with_world(|w| {
            let vm = r#"<objectSet><obj type="VirtualMachine">vm-1001</obj></objectSet>"#;
            let a = spec(
                "<propSet><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>nope</pathSet></propSet>",
                vm,
            );
            let b = spec(
                "<propSet><type>ManagedEntity</type><pathSet>nope</pathSet><pathSet>runtime.powerState</pathSet></propSet>",
                WALK,
            );
            let mut plan = Plan::new(w, vec![a, b]).unwrap();
            let page = plan.next_page(w, usize::MAX, false).unwrap();
            assert_eq!(ids(&page)[0], "vm-1001", "first reached, first answered");
            let vm: Vec<&ObjectContent> =
                page.iter().filter(|o| o.obj.value == "vm-1001").collect();
            assert_eq!(vm.len(), 1);
            let names: Vec<&str> = vm[0].props.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["name", "runtime.powerState"]);
            assert_eq!(vm[0].missing.len(), 1, "nope is missing once");
        });
    }

    #[test]
    fn a_page_ends_at_max_objects_and_the_plan_keeps_the_rest_in_order() {
        with_world(|w| {
            let s = spec(
                "<propSet><type>ManagedEntity</type><pathSet>name</pathSet></propSet>",
                WALK,
            );
            let all = Plan::new(w, vec![s.clone()])
                .unwrap()
                .next_page(w, usize::MAX, false)
                .unwrap();
            let mut plan = Plan::new(w, vec![s]).unwrap();
            let mut paged = Vec::new();
            while !plan.is_empty() {
                let before = plan.held_bytes();
                let page = plan.next_page(w, 2, true).unwrap();
                assert!(page.len() <= 2 && !page.is_empty());
                assert!(plan.held_bytes() < before);
                paged.extend(page);
            }
            assert_eq!(paged, all);
        });
    }

    #[test]
    fn an_answer_past_the_byte_bound_is_refused_or_for_retrieve_properties_ex_ends_early() {
        with_world(|w| {
            // Invalid paths each cost a MissingProperty: enough of them pass the bound in a
            // few objects.
            let paths: String = (0..20_000)
                .map(|i| format!("<pathSet>p{i}</pathSet>"))
                .collect();
            let s = spec(
                &format!("<propSet><type>ManagedEntity</type>{paths}</propSet>"),
                WALK,
            );
            let mut plan = Plan::new(w, vec![s.clone()]).unwrap();
            let total = plan.len();
            assert!(matches!(
                plan.next_page(w, usize::MAX, false),
                Err(Fault::RetrievalTooLarge { .. })
            ));
            let mut plan = Plan::new(w, vec![s]).unwrap();
            let page = plan.next_page(w, usize::MAX, true).unwrap();
            let bytes: usize = page.iter().map(ObjectContent::written_len).sum();
            assert!(!page.is_empty() && page.len() < total);
            assert!(bytes <= ANSWER_MAX_BYTES);
            assert_eq!(plan.len(), total - page.len());
        });
    }

    #[test]
    fn the_estimate_of_an_answer_is_close_to_its_written_size() {
        with_world(|w| {
            let s = spec(
                "<propSet><type>ManagedEntity</type><all>true</all><pathSet>nope</pathSet></propSet>",
                WALK,
            );
            let page = Plan::new(w, vec![s])
                .unwrap()
                .next_page(w, usize::MAX, false)
                .unwrap();
            let estimate: usize = page.iter().map(ObjectContent::written_len).sum();
            let answer = super::super::envelope::Answer::Value {
                value: super::super::value::Value::Array(super::super::value::Array {
                    of: "ObjectContent",
                    items: page.iter().map(ObjectContent::to_value).collect(),
                }),
                typed: false,
            };
            let written = super::super::envelope::response("RetrieveProperties", &answer).len();
            assert!(
                estimate * 10 >= written * 9 && estimate * 10 <= written * 12,
                "estimate {estimate}, written {written}"
            );
        });
    }

    #[test]
    fn a_retrieval_reaching_too_many_objects_is_refused() {
        with_world(|w| {
            let base = spec(
                "<propSet><type>ManagedEntity</type><pathSet>name</pathSet></propSet>",
                WALK,
            );
            let reach = Plan::new(w, vec![base.clone()]).unwrap().len();
            // Distinct specSets (a repeated one counts once) that each reach the same objects.
            let specs: Vec<FilterSpec> = (0..MAX_REACHED / reach + 1)
                .map(|i| {
                    let mut s = base.clone();
                    s.props[0].paths = vec![format!("p{i}")];
                    s
                })
                .collect();
            assert!(matches!(
                Plan::new(w, specs),
                Err(Fault::RetrievalTooLarge { limit, .. }) if limit == MAX_REACHED as u64
            ));
        });
    }

    #[test]
    fn without_a_session_each_start_object_is_answered_once_and_the_answer_is_bounded() {
        let s = spec(
            "<propSet><type>SessionManager</type><pathSet>currentSession</pathSet></propSet>",
            r#"<objectSet><obj type="SessionManager">SessionManager</obj></objectSet>"#,
        );
        let got = anonymous(vec![s; 500]).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].missing.len(), 1);
        let paths: String = (0..40_000)
            .map(|i| format!("<pathSet>p{i}</pathSet>"))
            .collect();
        let objects: String = (0..20)
            .map(|i| format!(r#"<objectSet><obj type="Folder">f{i}</obj></objectSet>"#))
            .collect();
        let big = spec(
            &format!("<propSet><type>Folder</type>{paths}</propSet>"),
            &objects,
        );
        assert!(matches!(
            anonymous(vec![big]),
            Err(Fault::RetrievalTooLarge { .. })
        ));
    }
}
