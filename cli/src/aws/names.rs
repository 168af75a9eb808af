//! CloudFormation logical ids from logical names (alphanumeric, collision-safe), and the few
//! physical names the template has to fix itself.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::{Error, Result};

/// `nightly-report` → `NightlyReport`, `orders_v2` → `OrdersV2`: each run of ASCII letters and
/// digits with its first letter upper-cased; everything else dropped.
///
/// ```
/// use cloudport_cli::aws::names::pascal;
/// assert_eq!(pascal("nightly-report"), "NightlyReport");
/// assert_eq!(pascal("orders_v2.dlq"), "OrdersV2Dlq");
/// assert_eq!(pascal("élan"), "Lan");
/// ```
pub fn pascal(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// FNV-1a, 32 bits: a short stable suffix for names that would otherwise collide.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Logical ids of every (role, name) pair of a template: `<role><PascalName>`. The roles
/// (`Queue`, `Bucket`, `Table`, …) are prefix-free, so ids of different roles never collide;
/// names of one role whose Pascal forms collide (`a-b`, `a_b`) all get an 8-hex-digit hash of
/// the name appended. Independent of insertion order.
#[derive(Debug, Default)]
pub struct Ids {
    ids: BTreeMap<(&'static str, String), String>,
}

/// The roles logical ids are made for; none is a prefix of another, nor of a fixed id.
pub const ROLES: &[&str] = &[
    "Queue",
    "Bucket",
    "Table",
    "ScheduleRule",
    "EventSource",
    "InvokeFromSchedule",
    "InvokeFromBucket",
    "DeadLetterAlarm",
];

impl Ids {
    /// Ids for these (role, name) pairs.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'static str, &'a str)>) -> Result<Self> {
        let pairs: BTreeSet<(&'static str, &'a str)> = pairs.into_iter().collect();
        let mut by_id: BTreeMap<String, Vec<(&'static str, &'a str)>> = BTreeMap::new();
        for (role, name) in &pairs {
            by_id
                .entry(format!("{role}{}", pascal(name)))
                .or_default()
                .push((role, name));
        }
        let mut ids = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for (id, owners) in by_id {
            for (role, name) in &owners {
                let id = if owners.len() == 1 && id.len() > role.len() {
                    id.clone()
                } else {
                    format!("{id}{:08x}", fnv1a(name))
                };
                if !seen.insert(id.clone()) {
                    return Err(Error::unsupported(
                        format!("logical name {name:?}"),
                        format!(
                            "its CloudFormation id {id} collides with another name's; rename one"
                        ),
                    ));
                }
                ids.insert((*role, (*name).to_owned()), id);
            }
        }
        Ok(Self { ids })
    }

    /// The id of `name` in `role` (empty if it was not given to [`Ids::new`], which the
    /// generators never do).
    pub fn get(&self, role: &'static str, name: &str) -> String {
        self.ids
            .get(&(role, name.to_owned()))
            .cloned()
            .unwrap_or_default()
    }
}

/// The concatenation of `parts` as an `Fn::Sub`: strings are literal text (`${` escaped),
/// `Ref`s and `Fn::GetAtt`s become `${Id}` / `${Id.Attribute}`, any other expression a variable.
///
/// ```
/// use cloudport_cli::aws::names::sub;
/// use serde_json::json;
/// let v = sub(vec![json!("sqs://"), json!({ "Fn::GetAtt": ["QueueOrders", "QueueName"] })]);
/// assert_eq!(v, json!({ "Fn::Sub": "sqs://${QueueOrders.QueueName}" }));
/// let v = sub(vec![json!("${x}/"), json!({ "Fn::Select": [0, ["a"]] })]);
/// assert_eq!(v, json!({ "Fn::Sub": ["${!x}/${V0}", { "V0": { "Fn::Select": [0, ["a"]] } }] }));
/// ```
pub fn sub(parts: Vec<Value>) -> Value {
    let mut text = String::new();
    let mut vars = serde_json::Map::new();
    for part in parts {
        let getatt = part
            .get("Fn::GetAtt")
            .and_then(Value::as_array)
            .and_then(|a| match a.as_slice() {
                [Value::String(id), Value::String(attr)] => Some(format!("{id}.{attr}")),
                _ => None,
            });
        match (&part, part.get("Ref").and_then(Value::as_str), getatt) {
            (Value::String(literal), _, _) => text.push_str(&literal.replace("${", "${!")),
            (_, Some(id), _) => text.push_str(&format!("${{{id}}}")),
            (_, None, Some(att)) => text.push_str(&format!("${{{att}}}")),
            _ => {
                let name = format!("V{}", vars.len());
                text.push_str(&format!("${{{name}}}"));
                vars.insert(name, part);
            }
        }
    }
    if vars.is_empty() {
        json!({ "Fn::Sub": text })
    } else {
        json!({ "Fn::Sub": [text, vars] })
    }
}

/// The physical name of a bucket the template must name itself (a bucket with a blob trigger: its
/// notification and the function's permission refer to each other, so the name cannot come from
/// the bucket): `<name>-<stack uuid>` — the stack id's UUID is lower-case and globally unique,
/// unlike the stack name (which may have upper-case letters, invalid in bucket names). The name
/// part is cut to keep within S3's 63 characters.
///
/// ```
/// let v = cloudport_cli::aws::names::bucket_name("User_Uploads");
/// assert_eq!(v["Fn::Join"][1][0], "user-uploads");
/// ```
pub fn bucket_name(logical: &str) -> Value {
    json!({ "Fn::Join": ["-", [bucket_prefix(logical), stack_uuid()]] })
}

/// The UUID at the end of the stack id (`arn:…:stack/<name>/<uuid>`).
pub fn stack_uuid() -> Value {
    json!({ "Fn::Select": [2, { "Fn::Split": ["/", { "Ref": "AWS::StackId" }] }] })
}

/// A logical name as the start of a bucket name: lower-case letters, digits and single `-`, at
/// most 26 characters (63 − 1 − a 36-character UUID), never empty or starting with a reserved
/// prefix.
fn bucket_prefix(logical: &str) -> String {
    let mut out = String::new();
    for c in logical.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    if out.is_empty() || out.starts_with("xn--") || out.starts_with("sthree-") {
        out = format!("b-{out}");
    }
    out.truncate(26);
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_collisions_get_hashes() {
        let ids = Ids::new([
            ("Queue", "orders"),
            ("Queue", "a-b"),
            ("Queue", "a_b"),
            ("Table", "orders"),
            ("Queue", "---"),
        ])
        .expect("ids");
        assert_eq!(ids.get("Queue", "orders"), "QueueOrders");
        assert_eq!(ids.get("Table", "orders"), "TableOrders");
        let (ab, a_b) = (ids.get("Queue", "a-b"), ids.get("Queue", "a_b"));
        assert_ne!(ab, a_b);
        assert!(
            ab.starts_with("QueueAB") && ab.len() == "QueueAB".len() + 8,
            "{ab}"
        );
        assert!(ids.get("Queue", "---").starts_with("Queue"));
        assert!(ids.get("Queue", "---").len() > "Queue".len());
        // The same ids whatever the order.
        let again = Ids::new([("Queue", "a_b"), ("Queue", "a-b")]).expect("ids");
        assert_eq!(again.get("Queue", "a-b"), ab);
    }

    #[test]
    fn roles_are_prefix_free() {
        for a in ROLES {
            for b in ROLES {
                assert!(a == b || !b.starts_with(a), "{a} is a prefix of {b}");
            }
        }
    }

    #[test]
    fn bucket_prefixes_are_valid_bucket_name_starts() {
        assert_eq!(bucket_prefix("receipts"), "receipts");
        assert_eq!(bucket_prefix("--A__b--"), "a-b");
        assert_eq!(bucket_prefix(""), "b");
        assert_eq!(bucket_prefix("xn--x"), "xn-x");
        assert_eq!(bucket_prefix("sthree-x"), "b-sthree-x");
        assert_eq!(bucket_prefix(&"x".repeat(80)).len(), 26);
        assert!(!bucket_prefix("abcdefghijklmnopqrstuvwxy-z").ends_with('-'));
    }
}
