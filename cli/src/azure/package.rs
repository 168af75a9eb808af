//! The Azure package: `app/` (the handler, `host.json`, one `function.json` per function),
//! `app.zip` (the same, for zip deployment), `template.json`, `description.json` and
//! `DEPLOY.md`.

use std::io::{Cursor, Write};
use std::path::Path;

use cloudport_core::ResourceKind;
use cloudport_core::app::Description;
use cloudport_core::env::binding_var;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::deploy;
use super::event_grid::subscriptions_template;
use super::manifest::{BlobSource, Manifest, ManifestOptions, manifest};
use super::model::{AzureOptions, CONNECTION, EXECUTABLE, Model};
use super::template::template;
use crate::{Error, Result};

/// The file of the blob triggers' Event Grid subscriptions.
pub const BLOB_EVENTS_FILE: &str = "blob-events.json";

/// The manifest of the app as the template deploys it: executable [`EXECUTABLE`], the
/// triggers' connection [`CONNECTION`], the options' route prefix, the code's timeout, no
/// warm-up function (only the Premium and Dedicated plans call it), blob triggers from Event Grid
/// ([`BlobSource::EventGrid`], the only source Flex Consumption runs).
pub fn app_manifest(d: &Description, o: &AzureOptions) -> Result<Manifest> {
    let m = Model::new(d, o)?;
    let options = ManifestOptions::new(EXECUTABLE)
        .connection(CONNECTION)
        .route_prefix(o.route_prefix.clone())
        .function_timeout(m.timeout())
        .blob_source(BlobSource::EventGrid)
        .warmup(false);
    let natives: Vec<(String, String)> = m
        .queues()
        .iter()
        .map(|q| {
            (
                binding_var(ResourceKind::Queue, &q.r.name),
                format!("azqueue://account/{}", q.native),
            )
        })
        .chain(m.containers().iter().map(|c| {
            (
                binding_var(ResourceKind::Bucket, &c.r.name),
                format!("azblob://account/{}", c.native),
            )
        }))
        .collect();
    manifest(d, &options, |var| {
        natives
            .iter()
            .find(|(k, _)| k == var)
            .map(|(_, url)| url.clone())
    })
}

/// The zip of the function app: the handler (mode 0755) and the manifest files, in name order,
/// dated 1980-01-01, so the same input always gives the same bytes.
///
/// ```
/// use cloudport_cli::azure::{AzureOptions, package::{app_manifest, app_zip}};
/// let d = cloudport_cli::describe::parse(br#"{"cloudport_description": 1, "sdk_version": "0.1.0",
///   "http": true, "any_event": false, "triggers": [], "declared": true, "resources": [],
///   "limits": {}}"#).unwrap();
/// let m = app_manifest(&d, &AzureOptions::new("web")).unwrap();
/// let zip = app_zip(b"\x7fELF", &m).unwrap();
/// assert_eq!(zip, app_zip(b"\x7fELF", &m).unwrap());
/// ```
pub fn app_zip(executable: &[u8], manifest: &Manifest) -> Result<Vec<u8>> {
    let fail = |e: &dyn std::fmt::Display| Error::Archive {
        path: "app.zip".into(),
        detail: e.to_string(),
    };
    let mut files: Vec<(String, Vec<u8>, u32)> = vec![
        (EXECUTABLE.to_owned(), executable.to_vec(), 0o755),
        ("host.json".to_owned(), pretty(manifest.host_json())?, 0o644),
    ];
    for name in manifest.function_names() {
        if let Some(f) = manifest.function_json(name) {
            files.push((format!("{name}/function.json"), pretty(f)?, 0o644));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes, mode) in files {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(DateTime::default())
            .unix_permissions(mode);
        zip.start_file(name, options).map_err(|e| fail(&e))?;
        zip.write_all(&bytes).map_err(|e| fail(&e))?;
    }
    Ok(zip.finish().map_err(|e| fail(&e))?.into_inner())
}

fn pretty(value: &serde_json::Value) -> Result<Vec<u8>> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Description(format!("serialising: {e}")))?;
    text.push('\n');
    Ok(text.into_bytes())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(Error::io(format!("writing {}", path.display())))
}

/// Writes the package into `out`: `app/` (the handler `binary` as `app/handler`, executable;
/// `host.json`; `<function>/function.json`), `app.zip`, `template.json`, with blob triggers
/// `blob-events.json` (their Event Grid subscriptions, deployed after the code:
/// [`super::event_grid`]), `description.json` and `DEPLOY.md`. Returns the deploy commands and, when the app has a budget, the note on its tag
/// filter.
pub fn write_package(
    out: &Path,
    binary: &Path,
    description: &Description,
    options: &AzureOptions,
) -> Result<(String, Option<String>)> {
    let template = template(description, options)?;
    let manifest = app_manifest(description, options)?;
    let executable =
        std::fs::read(binary).map_err(Error::io(format!("reading {}", binary.display())))?;
    let app = out.join("app");
    manifest.write_to(&app)?;
    let handler = app.join(EXECUTABLE);
    write(&handler, &executable)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&handler, std::fs::Permissions::from_mode(0o755)).map_err(
            Error::io(format!("making {} executable", handler.display())),
        )?;
    }
    let zip = app_zip(&executable, &manifest).map_err(|e| match e {
        Error::Archive { detail, .. } => Error::Archive {
            path: out.join("app.zip"),
            detail,
        },
        other => other,
    })?;
    write(&out.join("app.zip"), &zip)?;
    write(&out.join("template.json"), &pretty(&template)?)?;
    let events = out.join(BLOB_EVENTS_FILE);
    match subscriptions_template(description, options)? {
        Some(t) => write(&events, &pretty(&t)?)?,
        // A package written again without blob triggers keeps no stale subscriptions.
        None if events.exists() => std::fs::remove_file(&events)
            .map_err(Error::io(format!("removing {}", events.display())))?,
        None => {}
    }
    let described = serde_json::to_value(description)
        .map_err(|e| Error::Description(format!("re-serialising: {e}")))?;
    write(&out.join("description.json"), &pretty(&described)?)?;
    let info = deploy::DeployInfo {
        app_name: &options.app_name,
        description,
    };
    write(&out.join("DEPLOY.md"), deploy::markdown(&info).as_bytes())?;
    Ok((
        deploy::commands(&info),
        description.budget.as_ref().map(|_| deploy::budget_note()),
    ))
}
