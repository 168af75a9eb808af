//! The glibc check: the symbol versions an ELF executable needs (`.gnu.version_r`) against the
//! glibc the platform has (Lambda's `provided.al2023`: 2.34).

use std::fmt;
use std::path::Path;

use object::read::elf::{ElfFile, FileHeader};
use object::{FileKind, elf};

use crate::args::Arch;
use crate::{Error, Result};

/// A glibc symbol version, `GLIBC_2.34` → `2.34`, compared numerically (`2.2.5 < 2.17 < 2.34`).
///
/// ```
/// use cloudport_cli::elf::GlibcVersion;
/// let v = |s| GlibcVersion::parse(s).unwrap();
/// assert!(v("GLIBC_2.2.5") < v("GLIBC_2.17"));
/// assert!(v("GLIBC_2.17") < v("GLIBC_2.34"));
/// assert!(v("GLIBC_2.34") < v("GLIBC_2.34.1"));
/// assert_eq!(v("GLIBC_2.34").to_string(), "2.34");
/// assert_eq!(GlibcVersion::parse("GLIBC_PRIVATE"), None);
/// assert_eq!(GlibcVersion::parse("GCC_3.0"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion(Vec<u32>);

/// The newest glibc of Lambda's `provided.al2023` runtime (Amazon Linux 2023).
pub const LAMBDA_AL2023_GLIBC: (u32, u32) = (2, 34);

impl GlibcVersion {
    /// Parses a version need name: `GLIBC_<n>(.<n>)*`; anything else (`GLIBC_PRIVATE`,
    /// `GCC_3.0`) is `None`.
    pub fn parse(name: &str) -> Option<Self> {
        let parts = name.strip_prefix("GLIBC_")?;
        let numbers = parts
            .split('.')
            .map(|p| p.parse::<u32>().ok())
            .collect::<Option<Vec<u32>>>()?;
        Some(Self(numbers))
    }

    /// `major.minor`.
    pub fn new(major: u32, minor: u32) -> Self {
        Self(vec![major, minor])
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

/// Every version name an ELF file needs from its shared libraries (`GLIBC_2.17`, `GCC_3.0`, …),
/// as `(library, version)` pairs. A static executable needs none.
pub fn version_needs(data: &[u8]) -> std::result::Result<Vec<(String, String)>, String> {
    match FileKind::parse(data).map_err(|e| e.to_string())? {
        FileKind::Elf64 => needs::<elf::FileHeader64<object::Endianness>>(data),
        FileKind::Elf32 => needs::<elf::FileHeader32<object::Endianness>>(data),
        other => Err(format!("a {other:?} file, not ELF")),
    }
}

fn needs<Elf: FileHeader<Endian = object::Endianness>>(
    data: &[u8],
) -> std::result::Result<Vec<(String, String)>, String> {
    let file = ElfFile::<Elf>::parse(data).map_err(|e| e.to_string())?;
    let endian = file.endian();
    let sections = file.elf_section_table();
    let Some((mut needs, link)) = sections
        .gnu_verneed(endian, data)
        .map_err(|e| e.to_string())?
    else {
        return Ok(Vec::new());
    };
    let strings = sections
        .strings(endian, data, link)
        .map_err(|e| e.to_string())?;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut out = Vec::new();
    while let Some((need, mut aux)) = needs.next().map_err(|e| e.to_string())? {
        let library = text(need.file(endian, strings).map_err(|e| e.to_string())?);
        while let Some(a) = aux.next().map_err(|e| e.to_string())? {
            out.push((
                library.clone(),
                text(a.name(endian, strings).map_err(|e| e.to_string())?),
            ));
        }
    }
    Ok(out)
}

/// The newest glibc version the ELF file at `path` needs (`None`: it needs no versioned glibc
/// symbol, e.g. a static executable).
pub fn highest_glibc(path: &Path) -> Result<Option<GlibcVersion>> {
    let data = std::fs::read(path).map_err(Error::io(format!("reading {}", path.display())))?;
    let needs = version_needs(&data).map_err(|detail| Error::Elf {
        path: path.to_owned(),
        detail,
    })?;
    Ok(needs
        .iter()
        .filter_map(|(_, v)| GlibcVersion::parse(v))
        .max())
}

/// Fails ([`Error::Glibc`]) when the executable at `path` needs a glibc newer than `max`;
/// returns the newest it needs.
pub fn check_glibc(path: &Path, max: &GlibcVersion) -> Result<Option<GlibcVersion>> {
    let highest = highest_glibc(path)?;
    match &highest {
        Some(found) if found > max => Err(Error::Glibc {
            binary: path.to_owned(),
            found: found.to_string(),
            max: max.to_string(),
        }),
        _ => Ok(highest),
    }
}

/// The ELF machine (`e_machine`) of an executable.
fn machine(data: &[u8]) -> std::result::Result<u16, String> {
    fn of<Elf: FileHeader<Endian = object::Endianness>>(
        data: &[u8],
    ) -> std::result::Result<u16, String> {
        let file = ElfFile::<Elf>::parse(data).map_err(|e| e.to_string())?;
        Ok(file.elf_header().e_machine(file.endian()))
    }
    match FileKind::parse(data).map_err(|e| e.to_string())? {
        FileKind::Elf64 => of::<elf::FileHeader64<object::Endianness>>(data),
        FileKind::Elf32 => of::<elf::FileHeader32<object::Endianness>>(data),
        other => Err(format!("a {other:?} file, not ELF")),
    }
}

/// Fails unless the executable at `path` is for `arch` (a Lambda function of one architecture
/// cannot run a binary of the other).
pub fn check_machine(path: &Path, arch: Arch) -> Result<()> {
    let data = std::fs::read(path).map_err(Error::io(format!("reading {}", path.display())))?;
    let elf_error = |detail| Error::Elf {
        path: path.to_owned(),
        detail,
    };
    let found = machine(&data).map_err(elf_error)?;
    let want = match arch {
        Arch::X86_64 => elf::EM_X86_64,
        Arch::Arm64 => elf::EM_AARCH64,
    };
    if found == want {
        Ok(())
    } else {
        Err(elf_error(format!(
            "built for ELF machine {found}, not {} (--arch {})",
            arch.host_name(),
            arch.lambda_name()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version_needs_of_a_real_executable() {
        let exe = std::env::current_exe().expect("test binary");
        let data = std::fs::read(&exe).expect("readable");
        let needs = version_needs(&data).expect("an ELF file");
        assert!(
            needs
                .iter()
                .any(|(lib, v)| lib.starts_with("libc.so") && v.starts_with("GLIBC_")),
            "a dynamically linked test binary needs versioned libc symbols: {needs:?}"
        );
        let highest = highest_glibc(&exe).expect("parses").expect("needs glibc");
        assert!(highest >= GlibcVersion::new(2, 2));
        // Any binary passes a limit at its own highest version and fails one below it.
        assert_eq!(
            check_glibc(&exe, &highest).expect("passes"),
            Some(highest.clone())
        );
        assert!(matches!(
            check_glibc(&exe, &GlibcVersion::new(2, 0)),
            Err(Error::Glibc { .. })
        ));
    }

    #[test]
    fn checks_the_machine() {
        let exe = std::env::current_exe().expect("test binary");
        let (here, other) = match std::env::consts::ARCH {
            "aarch64" => (Arch::Arm64, Arch::X86_64),
            _ => (Arch::X86_64, Arch::Arm64),
        };
        check_machine(&exe, here).expect("the test binary is for this machine");
        assert!(check_machine(&exe, other).is_err());
    }

    #[test]
    fn refuses_what_is_not_elf() {
        assert!(version_needs(b"#!/bin/sh\necho hi\n").is_err());
        assert!(version_needs(&[0x7f, b'E', b'L', b'F', 2, 1, 1]).is_err());
        assert!(version_needs(&[]).is_err());
    }

    #[test]
    fn compares_versions_numerically() {
        let v = |s| GlibcVersion::parse(s).expect("a glibc version");
        let limit = GlibcVersion::new(LAMBDA_AL2023_GLIBC.0, LAMBDA_AL2023_GLIBC.1);
        assert!(v("GLIBC_2.34") <= limit);
        assert!(v("GLIBC_2.35") > limit);
        assert!(v("GLIBC_2.4") < limit);
        assert!(v("GLIBC_3.0") > limit);
        assert_eq!(GlibcVersion::parse("GLIBC_2.x"), None);
        assert_eq!(GlibcVersion::parse("GLIBC_"), None);
    }
}
