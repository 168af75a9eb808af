//! The function archive: `function.zip` holding the executable as `bootstrap` (mode 0755), with
//! fixed timestamps so the same binary always gives the same bytes.

use std::io::{Cursor, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::{Error, Result};

/// The zip of a custom-runtime Lambda function: one entry, `bootstrap`, executable, deflated,
/// dated 1980-01-01 (deterministic).
///
/// ```
/// let a = cloudport_cli::archive::lambda_zip(b"\x7fELF...").unwrap();
/// let b = cloudport_cli::archive::lambda_zip(b"\x7fELF...").unwrap();
/// assert_eq!(a, b);
/// assert_eq!(&a[..4], b"PK\x03\x04");
/// ```
pub fn lambda_zip(executable: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options)
        .map_err(|e| e.to_string())?;
    zip.write_all(executable).map_err(|e| e.to_string())?;
    let out = zip.finish().map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// Writes [`lambda_zip`] of the executable at `binary` to `out`.
pub fn write_lambda_zip(binary: &Path, out: &Path) -> Result<()> {
    let data = std::fs::read(binary).map_err(Error::io(format!("reading {}", binary.display())))?;
    let bytes = lambda_zip(&data).map_err(|detail| Error::Archive {
        path: out.to_owned(),
        detail,
    })?;
    std::fs::write(out, bytes).map_err(Error::io(format!("writing {}", out.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_executable_bootstrap_entry() {
        let bytes = lambda_zip(b"binary bytes").expect("zips");
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("reads back");
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).expect("entry");
        assert_eq!(entry.name(), "bootstrap");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        assert_eq!(entry.compression(), CompressionMethod::Deflated);
        assert_eq!(entry.last_modified(), Some(DateTime::default()));
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content).expect("inflates");
        assert_eq!(content, b"binary bytes");
    }
}
