//! What `up --local` prints: one `CLOUDPORT_<KIND>_<NAME>=<url>` line per resource and the
//! settings the app needs beside them (the storage connection, the emulator hosts), sorted, as
//! dotenv lines.

use std::collections::BTreeMap;
use std::path::Path;

use super::Error;

/// The settings an app needs to run on the resources `up` created, by variable name.
///
/// A setting that carries a credential (an Azure connection string with an account key other than
/// Azurite's published one) is never printed: standard output shows a comment in its place, and
/// only `--env-file` (written readable by its owner only) holds it.
///
/// ```
/// use cloudport_cli::up::Bindings;
/// let mut b = Bindings::default();
/// b.set("CLOUDPORT_QUEUE_ORDERS", "sqs://orders?endpoint=http://127.0.0.1:5000");
/// b.set("AWS_REGION", "us-east-1");
/// b.set_secret("AzureWebJobsStorage", "AccountName=a;AccountKey=c2VjcmV0");
/// let printed = b.printed();
/// assert!(printed.starts_with(
///     "AWS_REGION=us-east-1\nCLOUDPORT_QUEUE_ORDERS='sqs://orders?endpoint=http://127.0.0.1:5000'\n"
/// ));
/// assert!(printed.ends_with("# AzureWebJobsStorage: not printed (it carries a credential); --env-file FILE writes it\n"));
/// assert!(!printed.contains("c2VjcmV0"));
/// assert!(b.dotenv().contains("AzureWebJobsStorage='AccountName=a;AccountKey=c2VjcmV0'"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bindings {
    settings: BTreeMap<String, Setting>,
}

#[derive(Clone, PartialEq, Eq)]
struct Setting {
    value: String,
    secret: bool,
}

/// A secret setting's value never shows.
impl std::fmt::Debug for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.secret {
            "<redacted>"
        } else {
            &self.value
        };
        f.debug_struct("Setting")
            .field("value", &value)
            .field("secret", &self.secret)
            .finish()
    }
}

impl Bindings {
    /// Sets `var` to `value`.
    pub fn set(&mut self, var: impl Into<String>, value: impl Into<String>) {
        let value = value.into();
        self.settings.insert(
            var.into(),
            Setting {
                value,
                secret: false,
            },
        );
    }

    /// Sets `var` to `value`, which carries a credential.
    pub fn set_secret(&mut self, var: impl Into<String>, value: impl Into<String>) {
        self.settings.insert(
            var.into(),
            Setting {
                value: value.into(),
                secret: true,
            },
        );
    }

    /// The value of `var`, if set and not secret.
    pub fn get(&self, var: &str) -> Option<&str> {
        self.settings
            .get(var)
            .filter(|s| !s.secret)
            .map(|s| s.value.as_str())
    }

    /// The variables set, sorted.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.settings.keys().map(String::as_str)
    }

    /// Every setting as a dotenv line (`VAR=value`, quoted when needed), sorted by name, the
    /// secret ones included: what `--env-file` writes.
    pub fn dotenv(&self) -> String {
        self.settings
            .iter()
            .map(|(k, s)| format!("{k}={}\n", quote(&s.value)))
            .collect()
    }

    /// What standard output shows: the dotenv lines of the settings without a credential, sorted,
    /// then a comment for each secret one.
    pub fn printed(&self) -> String {
        let mut out: String = self
            .settings
            .iter()
            .filter(|(_, s)| !s.secret)
            .map(|(k, s)| format!("{k}={}\n", quote(&s.value)))
            .collect();
        for (k, _) in self.settings.iter().filter(|(_, s)| s.secret) {
            out.push_str(&format!(
                "# {k}: not printed (it carries a credential); --env-file FILE writes it\n"
            ));
        }
        out
    }

    /// Writes [`dotenv`](Self::dotenv) to `path`, readable and writable by its owner only.
    pub fn write_env_file(&self, path: &Path) -> Result<(), Error> {
        let io = |e| {
            Error::Cli(crate::Error::Io {
                context: format!("writing {}", path.display()),
                source: e,
            })
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io)?;
        #[cfg(unix)]
        {
            // An existing file keeps its mode on open: narrow it too.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io)?;
        }
        std::io::Write::write_all(&mut file, self.dotenv().as_bytes()).map_err(io)
    }
}

/// `value` as it can stand after `VAR=` in a dotenv file and in a shell: as is when it holds only
/// characters neither reads specially, else in single quotes (a `'` inside written `'\''`).
///
/// ```
/// use cloudport_cli::up::bindings::quote;
/// assert_eq!(quote("us-east-1"), "us-east-1");
/// assert_eq!(quote("UseDevelopmentStorage=true"), "'UseDevelopmentStorage=true'");
/// assert_eq!(quote("a'b"), r"'a'\''b'");
/// ```
pub fn quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/@%+,".contains(&b));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_sorted_and_secrets_stay_out_of_it() {
        let mut b = Bindings::default();
        b.set("B", "2");
        b.set_secret("S", "AccountKey=c2VjcmV0");
        b.set("A", "1");
        assert_eq!(b.dotenv(), "A=1\nB=2\nS='AccountKey=c2VjcmV0'\n");
        assert!(!b.printed().contains("c2VjcmV0"));
        assert!(!format!("{b:?}").contains("c2VjcmV0"));
        assert_eq!(b.get("S"), None);
        assert_eq!(b.vars().collect::<Vec<_>>(), ["A", "B", "S"]);
    }

    #[cfg(unix)]
    #[test]
    fn the_env_file_is_the_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("cloudport-up-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(".env");
        std::fs::write(&path, "old").expect("write");
        let mut b = Bindings::default();
        b.set("A", "1");
        b.write_env_file(&path).expect("env file");
        let meta = std::fs::metadata(&path).expect("meta");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "A=1\n");
        std::fs::remove_dir_all(&dir).expect("clean");
    }
}
