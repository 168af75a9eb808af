//! Where the emulators are: the standard variables the providers read, each required to point
//! at this machine before anything is called.

use std::net::IpAddr;

use url::Url;

use super::Error;

/// The process environment, or a fixed one in tests: a variable's value, `None` when unset or
/// blank.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as a [`Lookup`] (blank values count as unset, as the providers read
/// them).
pub fn process_env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

/// Whether `host` is this machine: `localhost`, an IPv4 loopback address (127.0.0.0/8) or `::1`.
///
/// ```
/// use cloudport_cli::up::local::is_loopback_host;
/// assert!(is_loopback_host("127.0.0.1"));
/// assert!(is_loopback_host("[::1]"));
/// assert!(is_loopback_host("LOCALHOST"));
/// assert!(!is_loopback_host("10.0.0.5"));
/// assert!(!is_loopback_host("sqs.us-east-1.amazonaws.com"));
/// assert!(!is_loopback_host("localhost.example.com"));
/// ```
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An endpoint value as a URL: `host:port` (what `PUBSUB_EMULATOR_HOST` holds) or a URL.
fn parse(var: &str, value: &str) -> Result<Url, Error> {
    let text = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    let url = Url::parse(text.trim()).map_err(|e| Error::BadEndpoint {
        var: var.to_owned(),
        detail: format!("not a host:port or URL ({e})"),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::BadEndpoint {
            var: var.to_owned(),
            detail: format!(
                "an emulator endpoint is http or https, not {}",
                url.scheme()
            ),
        });
    }
    Ok(url)
}

/// Checks that the endpoint `value` (of `var`) is on this machine.
///
/// ```
/// use cloudport_cli::up::local::check_loopback;
/// assert!(check_loopback("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085").is_ok());
/// assert!(check_loopback("AWS_ENDPOINT_URL", "http://localhost:5000").is_ok());
/// assert!(check_loopback("AWS_ENDPOINT_URL", "https://sqs.us-east-1.amazonaws.com").is_err());
/// assert!(check_loopback("STORAGE_EMULATOR_HOST", "ftp://127.0.0.1").is_err());
/// ```
pub fn check_loopback(var: &str, value: &str) -> Result<Url, Error> {
    let url = parse(var, value)?;
    let host = url.host_str().unwrap_or_default().to_owned();
    if is_loopback_host(&host) {
        Ok(url)
    } else {
        Err(Error::NotLoopback {
            var: var.to_owned(),
            host,
        })
    }
}

/// The value of `var`, which must be set and on this machine; `emulator` and `hint` say what it
/// is for when it is missing.
pub fn require(env: Lookup<'_>, var: &str, emulator: &str, hint: &str) -> Result<String, Error> {
    let value = env(var).ok_or_else(|| Error::MissingEndpoint {
        var: var.to_owned(),
        emulator: emulator.to_owned(),
        hint: hint.to_owned(),
    })?;
    check_loopback(var, &value)?;
    Ok(value.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_passes() {
        for ok in [
            "127.0.0.1:8085",
            "http://127.0.0.2:1",
            "localhost:4443",
            "http://[::1]:10000",
        ] {
            assert!(check_loopback("V", ok).is_ok(), "{ok}");
        }
        for bad in [
            "0.0.0.0:8085",
            "192.168.1.4:8085",
            "https://storage.googleapis.com",
            "http://user:pw@example.com:1",
        ] {
            let e = check_loopback("V", bad).expect_err(bad);
            assert!(!e.to_string().contains("pw"), "{e}");
        }
    }

    #[test]
    fn a_missing_variable_is_named() {
        let env = |_: &str| None;
        let e = require(
            &env,
            "PUBSUB_EMULATOR_HOST",
            "the Pub/Sub emulator",
            "127.0.0.1:8085",
        )
        .expect_err("unset");
        assert!(matches!(e, Error::MissingEndpoint { .. }), "{e}");
        assert!(e.to_string().contains("PUBSUB_EMULATOR_HOST"));
    }
}
