//! The Azure template, checked structurally: a small evaluator of its ARM expressions, what
//! they name, and the role assignments it makes. Moved here from `azure_template.rs` so that the
//! generator's tests and the packaged quickstart's (`packaged_azure.rs`) share one checker.
#![allow(dead_code)] // each test crate uses a part

use std::collections::BTreeSet;

use cloudport_cli::azure::roles;
use cloudport_core::app::Description;
use serde_json::Value;

/// The quickstart's description.
pub(crate) fn quickstart() -> Description {
    cloudport_cli::describe::parse(include_bytes!("../fixtures/quickstart.description.json"))
        .expect("the template as generated")
}

/// A description with `extra`'s fields.
pub(crate) fn describe(extra: Value) -> Description {
    let mut d = serde_json::json!({"cloudport_description": 1, "sdk_version": "0.1.0",
        "http": false, "any_event": false, "triggers": [], "declared": true,
        "resources": [], "limits": {}});
    if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
        d.extend(extra.clone());
    }
    cloudport_cli::describe::parse(d.to_string().as_bytes()).expect("a valid description")
}

/// The template's resources.
pub(crate) fn resources(t: &Value) -> Vec<&Value> {
    t["resources"]
        .as_array()
        .expect("an array")
        .iter()
        .collect()
}

/// What the evaluated expressions named.
#[derive(Debug, Default)]
pub(crate) struct Refs {
    /// `resourceId(type, segments…)`: (type, segments joined by `/`).
    pub(crate) ids: BTreeSet<(String, String)>,
    /// `extensionResourceId(resourceId(…), type, name)`: (scope id, type, name).
    pub(crate) extensions: BTreeSet<(String, String, String)>,
    /// `variables('x')`.
    pub(crate) variables: BTreeSet<String>,
    /// `parameters('x')`.
    pub(crate) parameters: BTreeSet<String>,
}

/// (type, name) of a scope path `Microsoft.X/a/A/b/B` → (`Microsoft.X/a/b`, `A/B`).
pub(crate) fn scope_key(path: &str) -> (String, String) {
    let parts: Vec<&str> = path.split('/').collect();
    let mut ty = parts[0].to_owned();
    let mut names = Vec::new();
    for pair in parts[1..].chunks(2) {
        ty.push('/');
        ty.push_str(pair[0]);
        names.push(pair[1]);
    }
    (ty, names.join("/"))
}

/// (type, name) of a resource.
pub(crate) type Key = (String, String);
/// (scope id, type, name) of an extension resource.
pub(crate) type ExtKey = (String, String, String);

/// Every resource's (type, name) and every extension resource's (scope id, type, name),
/// names evaluated.
pub(crate) fn keys(t: &Value) -> (BTreeSet<Key>, BTreeSet<ExtKey>) {
    let (mut plain, mut ext) = (BTreeSet::new(), BTreeSet::new());
    for r in resources(t) {
        let mut refs = Refs::default();
        let ty = r["type"].as_str().expect("a string").to_owned();
        let name = r["name"].as_str().expect("a string");
        let name = if name.starts_with('[') {
            eval(&name[1..name.len() - 1], &mut refs)
        } else {
            name.to_owned()
        };
        match r["scope"].as_str() {
            Some(scope) => {
                let (sty, sname) = scope_key(&eval(&scope[1..scope.len() - 1], &mut refs));
                ext.insert((format!("id:{sty}|{sname}"), ty, name));
            }
            None => {
                plain.insert((ty, name));
            }
        }
    }
    (plain, ext)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i] == b' ' {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> String {
        self.ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        String::from_utf8(self.s[start..self.i].to_vec()).expect("UTF-8")
    }

    fn value(&mut self, refs: &mut Refs) -> String {
        self.ws();
        let mut v = if self.eat(b'\'') {
            let mut out = Vec::new();
            loop {
                let c = self.s[self.i];
                self.i += 1;
                if c == b'\'' {
                    if self.s.get(self.i) == Some(&b'\'') {
                        self.i += 1;
                        out.push(c);
                    } else {
                        break;
                    }
                } else {
                    out.push(c);
                }
            }
            String::from_utf8(out).expect("UTF-8")
        } else {
            let name = self.ident();
            assert!(!name.is_empty(), "bad expression at {}", self.i);
            if name.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                assert!(self.eat(b'('), "{name} is no call");
                let mut args = Vec::new();
                if !self.eat(b')') {
                    loop {
                        args.push(self.value(refs));
                        if self.eat(b')') {
                            break;
                        }
                        assert!(self.eat(b','));
                    }
                }
                call(&name, args, refs)
            }
        };
        while self.eat(b'.') {
            v = format!("{v}.{}", self.ident());
        }
        v
    }
}

fn call(name: &str, args: Vec<String>, refs: &mut Refs) -> String {
    match name {
        "variables" => {
            refs.variables.insert(args[0].clone());
            format!("{{{}}}", args[0])
        }
        "parameters" => {
            refs.parameters.insert(args[0].clone());
            format!("{{{}}}", args[0])
        }
        "format" => {
            let mut out = args[0].clone();
            for (i, a) in args[1..].iter().enumerate() {
                out = out.replace(&format!("{{{i}}}"), a);
            }
            out
        }
        "resourceId" => {
            let key = (args[0].clone(), args[1..].join("/"));
            let s = format!("id:{}|{}", key.0, key.1);
            refs.ids.insert(key);
            s
        }
        "subscriptionResourceId" => format!("subid:{}|{}", args[0], args[1..].join("/")),
        "extensionResourceId" => {
            refs.extensions
                .insert((args[0].clone(), args[1].clone(), args[2].clone()));
            format!("ext:{}|{}|{}", args[0], args[1], args[2])
        }
        "reference" => {
            assert!(args[0].starts_with("id:"), "reference to {}", args[0]);
            format!("ref({})", args[0])
        }
        "guid" | "uniqueString" | "concat" | "utcNow" | "resourceGroup" => {
            format!("{name}({})", args.join(","))
        }
        other => panic!("the test knows no function {other}"),
    }
}

/// Evaluates an ARM expression (without its brackets) symbolically, recording what it
/// names.
pub(crate) fn eval(e: &str, refs: &mut Refs) -> String {
    let mut p = Parser {
        s: e.as_bytes(),
        i: 0,
    };
    let v = p.value(refs);
    p.ws();
    assert_eq!(p.i, e.len(), "trailing text in {e}");
    v
}

pub(crate) fn by_type<'a>(t: &'a Value, ty: &str) -> Vec<&'a Value> {
    resources(t)
        .into_iter()
        .filter(|r| r["type"] == ty)
        .collect()
}

/// Every string of the template that is an expression, evaluated (which records its
/// `resourceId`, `reference` and `extensionResourceId` targets).
pub(crate) fn walk(v: &Value, refs: &mut Refs) {
    match v {
        Value::String(s) if s.starts_with('[') && s.ends_with(']') => {
            eval(&s[1..s.len() - 1], refs);
        }
        Value::Array(items) => items.iter().for_each(|i| walk(i, refs)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            walk(&Value::String(k.clone()), refs);
            walk(v, refs);
        }),
        _ => {}
    }
}

/// (scope kind, scope name, role name) of every role assignment.
pub(crate) fn assignments(t: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for a in by_type(t, "Microsoft.Authorization/roleAssignments") {
        let mut refs = Refs::default();
        let role = eval(
            a["properties"]["roleDefinitionId"]
                .as_str()
                .expect("the template as generated")
                .trim_matches(|c| c == '[' || c == ']'),
            &mut refs,
        );
        let id = role
            .strip_prefix("subid:Microsoft.Authorization/roleDefinitions|")
            .unwrap_or_else(|| panic!("{role}"));
        let role = roles::by_id(id).unwrap_or_else(|| panic!("role {id} is not in the table"));
        assert_eq!(a["properties"]["principalType"], "ServicePrincipal");
        let scope = a["scope"].as_str().expect("a string");
        let (ty, name) = scope_key(&eval(&scope[1..scope.len() - 1], &mut refs));
        let kind = ty.rsplit('/').next().expect("a segment").to_owned();
        let last = name.rsplit('/').next().expect("a segment").to_owned();
        // The name is a GUID of the scope, the identity and the role: one per triple.
        let n = a["name"].as_str().expect("a string");
        assert!(n.starts_with("[guid(resourceId(") && n.contains(id), "{n}");
        assert!(out.insert((kind, last, role.name.to_owned())), "twice: {n}");
    }
    out
}

/// Every expression's `resourceId` / `extensionResourceId` target is a resource of `t`, every
/// variable and parameter used is defined, and `dependsOn` lists only ids.
pub(crate) fn assert_references_resolve(t: &Value) {
    let mut refs = Refs::default();
    walk(t, &mut refs);
    let (plain, extensions) = keys(t);
    assert!(!refs.ids.is_empty() && !refs.extensions.is_empty());
    for id in &refs.ids {
        assert!(
            plain.contains(id),
            "resourceId target {id:?} is not in the template"
        );
    }
    for ext in &refs.extensions {
        assert!(
            extensions.contains(ext),
            "extensionResourceId target {ext:?} is not in the template"
        );
    }
    // Every variable and parameter used is defined.
    for v in &refs.variables {
        assert!(t["variables"].get(v).is_some(), "variable {v}");
    }
    for p in &refs.parameters {
        assert!(t["parameters"].get(p).is_some(), "parameter {p}");
    }
    // dependsOn lists only ids.
    for r in resources(t) {
        for d in r["dependsOn"].as_array().into_iter().flatten() {
            let s = d.as_str().expect("a string");
            assert!(
                s.starts_with("[resourceId(") || s.starts_with("[extensionResourceId("),
                "{s}"
            );
        }
    }
}

/// The role assignments `d` calls for, as [`assignments`] lists them: each declared resource's
/// roles for its access words (plus `trigger` when a trigger fires on it) on its Azure name, and
/// the host's role on its own storage account; nothing else.
pub(crate) fn expected_assignments(d: &Description) -> BTreeSet<(String, String, String)> {
    use cloudport_cli::azure::model::{dns_name, table_name};
    let triggered: BTreeSet<(String, String)> = d
        .triggers
        .iter()
        .map(|t| serde_json::to_value(t).expect("a trigger serialises"))
        .map(|t| {
            let kind = match t["kind"].as_str().expect("a kind") {
                "blob" => "bucket",
                other => other,
            };
            (
                kind.to_owned(),
                t["name"].as_str().expect("a name").to_owned(),
            )
        })
        .collect();
    let mut expected = BTreeSet::new();
    for r in &d.resources {
        let (collection, native) = match r.kind.as_str() {
            "queue" => ("queues", dns_name("queue", &r.name, 63 - "-poison".len())),
            "bucket" => ("containers", dns_name("bucket", &r.name, 63)),
            _ => ("tables", table_name(&r.name)),
        };
        let native = native.expect("an Azure name");
        let mut words: Vec<&str> = r.access.iter().map(String::as_str).collect();
        if triggered.contains(&(r.kind.clone(), r.name.clone())) {
            words.push("trigger");
        }
        for (target, role) in roles::roles_for(&r.kind, &words).expect("known access") {
            let name = match target {
                roles::Target::Resource => native.clone(),
                roles::Target::Poison => format!("{native}-poison"),
            };
            expected.insert((collection.to_owned(), name, role.name.to_owned()));
        }
    }
    expected.insert((
        "storageAccounts".into(),
        "{hostAccount}".into(),
        roles::HOST_STORAGE.name.into(),
    ));
    expected
}
