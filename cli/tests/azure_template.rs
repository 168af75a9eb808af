//! The Azure template of the quickstart, checked structurally: every reference resolves inside
//! the template, every role is a built-in role of the table, assigned on the one resource its
//! declaration names, and the limits, budget, workbook and alerts follow the description.

use std::collections::{BTreeMap, BTreeSet};

use azure_support::{Refs, eval, quickstart, resources, scope_key};
use cloudport_cli::azure::{AzureOptions, roles, template};
use serde_json::Value;

fn by_type<'a>(t: &'a Value, ty: &str) -> Vec<&'a Value> {
    resources(t)
        .into_iter()
        .filter(|r| r["type"] == ty)
        .collect()
}

/// Every string of the template that is an expression, evaluated (which records its
/// `resourceId`, `reference` and `extensionResourceId` targets).
fn walk(v: &Value, refs: &mut Refs) {
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

#[test]
fn every_reference_resolves_inside_the_template() {
    let t = template(&quickstart(), &AzureOptions::new("quickstart")).expect("a template");
    let mut refs = Refs::default();
    walk(&t, &mut refs);
    let (plain, extensions) = azure_support::keys(&t);
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
    for r in resources(&t) {
        for d in r["dependsOn"].as_array().into_iter().flatten() {
            let s = d.as_str().expect("a string");
            assert!(
                s.starts_with("[resourceId(") || s.starts_with("[extensionResourceId("),
                "{s}"
            );
        }
    }
}

/// (scope kind, scope name, role name) of every role assignment.
fn assignments(t: &Value) -> BTreeSet<(String, String, String)> {
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

#[test]
fn the_quickstart_gets_exactly_its_roles_each_on_its_resource() {
    let t = template(&quickstart(), &AzureOptions::new("quickstart")).expect("a template");
    let got = assignments(&t);
    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    let expected: BTreeSet<_> = [
        // queue("orders").send().consume() + its trigger: Update Message (the nack) needs
        // Queue Data Contributor, which includes Sender, Processor and Reader.
        s("queues", "orders", "Storage Queue Data Contributor"),
        s(
            "queues",
            "orders-poison",
            "Storage Queue Data Message Sender",
        ),
        s("containers", "receipts", "Storage Blob Data Contributor"),
        // kv("orders").read().write(): Contributor includes Reader.
        s("tables", "orders", "Storage Table Data Contributor"),
        // The Functions host's storage, a separate account.
        s(
            "storageAccounts",
            "{hostAccount}",
            "Storage Blob Data Owner",
        ),
    ]
    .into();
    assert_eq!(got, expected);
}

#[test]
fn every_declared_access_has_its_roles_and_nothing_else_has_any() {
    let d = azure_support::describe(serde_json::json!({
        "triggers": [{"kind": "queue", "name": "jobs"}],
        "resources": [
            {"kind": "queue", "name": "jobs", "access": ["consume"], "declaration": "queue(\"jobs\").consume()"},
            {"kind": "queue", "name": "audit", "access": ["send"], "declaration": "queue(\"audit\").send()"},
            {"kind": "bucket", "name": "in_box", "access": ["read", "list"], "declaration": "bucket(\"in_box\").read().list()"},
            {"kind": "bucket", "name": "out", "access": ["write", "delete"], "declaration": "bucket(\"out\").write().delete()"},
            {"kind": "kv", "name": "cache-v2", "access": ["read"], "declaration": "kv(\"cache-v2\").read()"},
        ],
    }));
    let t = template(&d, &AzureOptions::new("jobs")).expect("a template");
    let mut expected = BTreeSet::new();
    for (kind, native, words) in [
        ("queue", "jobs", vec!["consume", "trigger"]),
        ("queue", "audit", vec!["send"]),
        ("bucket", "in-box", vec!["read", "list"]),
        ("bucket", "out", vec!["write", "delete"]),
        ("kv", "cachev2", vec!["read"]),
    ] {
        let collection = match kind {
            "queue" => "queues",
            "bucket" => "containers",
            _ => "tables",
        };
        for (target, role) in roles::roles_for(kind, &words).expect("known access") {
            let name = match target {
                roles::Target::Resource => native.to_owned(),
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
    assert_eq!(assignments(&t), expected);
    // A queue only sent to has a poison queue but nobody may write it.
    assert!(!assignments(&t).iter().any(|(_, n, _)| n == "audit-poison"));
    let names: BTreeSet<String> =
        by_type(&t, "Microsoft.Storage/storageAccounts/queueServices/queues")
            .iter()
            .map(|q| q["name"].as_str().expect("a string").to_owned())
            .collect();
    assert!(names.iter().any(|n| n.contains("/default/audit-poison")));
}

#[test]
fn limits_budget_workbook_and_alerts_follow_the_description() {
    let t = template(&quickstart(), &AzureOptions::new("quickstart")).expect("a template");
    let site = by_type(&t, "Microsoft.Web/sites")[0];
    let config = &site["properties"]["functionAppConfig"];
    assert_eq!(config["scaleAndConcurrency"]["maximumInstanceCount"], 10);
    assert_eq!(config["scaleAndConcurrency"]["instanceMemoryMB"], 512);
    assert_eq!(config["runtime"]["name"], "custom");
    assert_eq!(
        config["deployment"]["storage"]["authentication"]["type"],
        "UserAssignedIdentity"
    );
    assert_eq!(site["properties"]["httpsOnly"], true);
    let settings: BTreeMap<String, Value> = site["properties"]["siteConfig"]["appSettings"]
        .as_array()
        .expect("the template as generated")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("a string").to_owned(),
                s["value"].clone(),
            )
        })
        .collect();
    assert_eq!(
        settings["CLOUDPORT_QUEUE_ORDERS"],
        "[format('azqueue://{0}/orders', variables('dataAccount'))]"
    );
    assert_eq!(
        settings["CLOUDPORT_BUCKET_RECEIPTS"],
        "[format('azblob://{0}/receipts', variables('dataAccount'))]"
    );
    assert_eq!(
        settings["CLOUDPORT_KV_ORDERS"],
        "[format('aztable://{0}/orders', variables('dataAccount'))]"
    );
    assert_eq!(settings["CLOUDPORT_FUNCTION_TIMEOUT"], "30");
    assert_eq!(settings["CLOUDPORT_AZURE_ROUTE_PREFIX"], "api");
    assert_eq!(
        settings["AzureWebJobsStorage__credential"],
        "managedidentity"
    );
    assert!(settings.contains_key("AzureWebJobsStorage__accountName"));
    assert!(settings.contains_key("CloudportStorage__queueServiceUri"));
    // No key, connection string or worker-runtime setting (Flex takes the runtime from
    // functionAppConfig).
    assert!(!settings.contains_key("AzureWebJobsStorage"));
    assert!(!settings.contains_key("FUNCTIONS_WORKER_RUNTIME"));
    for account in by_type(&t, "Microsoft.Storage/storageAccounts") {
        let p = &account["properties"];
        assert_eq!(p["allowSharedKeyAccess"], false);
        assert_eq!(p["allowBlobPublicAccess"], false);
        assert_eq!(p["supportsHttpsTrafficOnly"], true);
        assert_eq!(p["minimumTlsVersion"], "TLS1_2");
    }

    let budget = by_type(&t, "Microsoft.Consumption/budgets");
    assert_eq!(budget.len(), 1);
    let b = &budget[0]["properties"];
    assert_eq!(b["amount"], 10);
    assert_eq!(b["timeGrain"], "Monthly");
    assert_eq!(b["filter"]["tags"]["name"], "cloudport-function");
    let kinds: BTreeSet<(u64, String)> = b["notifications"]
        .as_object()
        .expect("the template as generated")
        .values()
        .map(|n| {
            (
                n["threshold"].as_u64().expect("a number"),
                n["thresholdType"].as_str().expect("a string").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [(80, "Forecasted".to_owned()), (100, "Actual".to_owned())].into()
    );

    let workbook = by_type(&t, "Microsoft.Insights/workbooks");
    assert_eq!(workbook.len(), 1);
    assert_eq!(
        workbook[0]["name"],
        "[guid(resourceGroup().id, parameters('appName'), 'cloudport-workbook')]"
    );
    let data: Value = serde_json::from_str(
        workbook[0]["properties"]["serializedData"]
            .as_str()
            .expect("the template as generated"),
    )
    .expect("the template as generated");
    let queries: Vec<&str> = data["items"]
        .as_array()
        .expect("the template as generated")
        .iter()
        .filter_map(|i| i["content"]["query"].as_str())
        .collect();
    for needle in [
        "countif(success == false)",
        "percentile(duration, 99)",
        "coldStarts",
        "usd",
    ] {
        assert!(queries.iter().any(|q| q.contains(needle)), "{needle}");
    }

    assert_eq!(by_type(&t, "Microsoft.Insights/metricAlerts").len(), 1);
    let poison = by_type(&t, "Microsoft.Insights/scheduledQueryRules");
    assert_eq!(poison.len(), 1);
    assert!(
        poison[0]["properties"]["criteria"]["allOf"][0]["query"]
            .as_str()
            .expect("the template as generated")
            .contains("-poison")
    );
}

#[test]
fn the_template_is_deterministic_and_has_no_budget_without_one() {
    let d = quickstart();
    let o = AzureOptions::new("quickstart");
    assert_eq!(
        template(&d, &o).expect("a template"),
        template(&d, &o).expect("a template")
    );
    let mut no_budget = d.clone();
    no_budget.budget = None;
    let t = template(&no_budget, &o).expect("a template");
    assert!(by_type(&t, "Microsoft.Consumption/budgets").is_empty());
    assert!(t["parameters"].get("budgetStartDate").is_none());
}

#[test]
fn what_azure_cannot_take_is_refused() {
    let o = AzureOptions::new("x1");
    let blob = azure_support::describe(serde_json::json!({
        "triggers": [{"kind": "blob", "name": "uploads"}],
        "resources": [{"kind": "bucket", "name": "uploads", "access": ["read"], "declaration": "bucket(\"uploads\").read()"}],
    }));
    assert!(template(&blob, &o).is_err());
    let short = azure_support::describe(serde_json::json!({
        "resources": [{"kind": "queue", "name": "q", "access": ["send"], "declaration": "queue(\"q\").send()"}],
    }));
    assert!(template(&short, &o).is_err());
    let clash = azure_support::describe(serde_json::json!({
        "resources": [
            {"kind": "kv", "name": "a-bc", "access": ["read"], "declaration": ""},
            {"kind": "kv", "name": "ab_c", "access": ["read"], "declaration": ""}],
    }));
    assert!(template(&clash, &o).is_err());
    let big = azure_support::describe(serde_json::json!({"limits": {"memory_mb": 8192}}));
    assert!(template(&big, &o).is_err());
    assert!(template(&quickstart(), &AzureOptions::new("Bad Name")).is_err());
}

/// The quickstart fixture, descriptions and a small evaluator of the template's ARM
/// expressions.
mod azure_support {
    use std::collections::BTreeSet;

    use cloudport_core::app::Description;
    use serde_json::Value;

    /// The quickstart's description.
    pub(crate) fn quickstart() -> Description {
        cloudport_cli::describe::parse(include_bytes!("fixtures/quickstart.description.json"))
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
}
