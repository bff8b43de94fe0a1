//! Where an import's records come from: a file, the matching files of a
//! folder, or the matching entries of a zip, in a stable (sorted) order.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// Files up to this size are read into memory once and parsed from there;
/// larger ones are streamed twice (validate, then import). Real Spotify
/// files are about 10 MB.
pub(crate) const IN_MEMORY_LIMIT: u64 = 64 * 1024 * 1024;

/// One file to import.
#[derive(Debug, Clone)]
pub(crate) struct InputFile {
    /// How the file is named in reports: its path, or `archive.zip:entry`.
    pub(crate) display: String,
    /// Uncompressed size in bytes.
    pub(crate) size: u64,
    location: Location,
    /// Part of the run fingerprint: size and modification time or CRC.
    stamp: String,
}

#[derive(Debug, Clone)]
enum Location {
    Path(PathBuf),
    Zip { archive: PathBuf, index: usize },
}

/// A file's bytes: in memory, or to be streamed.
pub(crate) enum Data<'a> {
    Memory(Vec<u8>),
    Stream(&'a InputFile),
}

impl InputFile {
    /// Reads the file into memory when it is small enough.
    pub(crate) fn load(&self) -> io::Result<Data<'_>> {
        if self.size > IN_MEMORY_LIMIT {
            return Ok(Data::Stream(self));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(self.size).unwrap_or(0));
        self.with_reader(|reader| reader.read_to_end(&mut bytes))??;
        Ok(Data::Memory(bytes))
    }

    /// Calls `read` with a buffered reader over the file's bytes.
    pub(crate) fn with_reader<T>(&self, read: impl FnOnce(&mut dyn io::BufRead) -> T) -> io::Result<T> {
        match &self.location {
            Location::Path(path) => {
                let file = File::open(path)?;
                Ok(read(&mut BufReader::with_capacity(1 << 20, file)))
            }
            Location::Zip { archive, index } => {
                let mut zip = zip::ZipArchive::new(File::open(archive)?).map_err(zip_error)?;
                let entry = zip.by_index(*index).map_err(zip_error)?;
                Ok(read(&mut BufReader::with_capacity(1 << 20, entry)))
            }
        }
    }
}

fn zip_error(err: zip::result::ZipError) -> io::Error {
    match err {
        zip::result::ZipError::Io(err) => err,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

/// Lists the files to import under `path`, keeping those whose path (with `/`
/// separators) `wanted` accepts inside folders and zips; a single file is always taken.
pub(crate) fn list_files(path: &Path, wanted: &dyn Fn(&str) -> bool) -> Result<Vec<InputFile>, String> {
    let meta = std::fs::metadata(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let mut files = Vec::new();
    if meta.is_dir() {
        walk(path, wanted, &mut files, 0).map_err(|err| format!("cannot list {}: {err}", path.display()))?;
    } else if is_zip(path) {
        list_zip(path, wanted, &mut files).map_err(|err| format!("cannot read zip {}: {err}", path.display()))?;
    } else {
        files.push(path_file(path, &meta));
    }
    files.sort_by(|a, b| a.display.cmp(&b.display));
    Ok(files)
}

/// A fingerprint of a file list: names, sizes and stamps.
pub(crate) fn fingerprint(files: &[InputFile]) -> String {
    use std::hash::{Hash, Hasher};
    // Not cryptographic: it only tells "the same files" from "other files".
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in files {
        file.display.hash(&mut hasher);
        file.size.hash(&mut hasher);
        file.stamp.hash(&mut hasher);
    }
    format!("{}:{:016x}", files.len(), hasher.finish())
}

fn is_zip(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path).and_then(|mut file| file.read_exact(&mut magic)).is_ok() && magic == *b"PK\x03\x04"
}

fn path_file(path: &Path, meta: &std::fs::Metadata) -> InputFile {
    let modified = meta
        .modified()
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|age| age.as_nanos())
        .unwrap_or(0);
    InputFile {
        display: path.display().to_string(),
        size: meta.len(),
        location: Location::Path(path.to_owned()),
        stamp: format!("{modified}"),
    }
}

/// Most folder levels searched below the import path.
const MAX_DEPTH: usize = 4;

fn walk(dir: &Path, wanted: &dyn Fn(&str) -> bool, files: &mut Vec<InputFile>, depth: usize) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let meta = entry.metadata()?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if meta.is_dir() {
            if depth < MAX_DEPTH {
                walk(&path, wanted, files, depth + 1)?;
            }
        } else if meta.is_file() && wanted(&path.to_string_lossy().replace('\\', "/")) {
            files.push(path_file(&path, &meta));
        }
    }
    Ok(())
}

fn list_zip(path: &Path, wanted: &dyn Fn(&str) -> bool, files: &mut Vec<InputFile>) -> io::Result<()> {
    let mut zip = zip::ZipArchive::new(File::open(path)?).map_err(zip_error)?;
    for index in 0..zip.len() {
        let entry = zip.by_index_raw(index).map_err(zip_error)?;
        if entry.is_dir() {
            continue;
        }
        let entry_name = entry.name().map_err(zip_error)?.into_owned();
        let name = entry_name.rsplit('/').next().unwrap_or(&entry_name).to_owned();
        if name.starts_with('.') || entry_name.starts_with("__MACOSX/") || !wanted(&entry_name) {
            continue;
        }
        files.push(InputFile {
            display: format!("{}:{entry_name}", path.display()),
            size: entry.size(),
            location: Location::Zip { archive: path.to_owned(), index },
            stamp: format!("{:08x}", entry.crc32()),
        });
    }
    Ok(())
}
