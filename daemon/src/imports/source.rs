//! Where an import's records come from: a file, the matching files of a
//! folder, or the matching entries of a zip, in a stable (sorted) order.
//!
//! Only regular files (and zips' regular entries) are read: a FIFO, a device
//! or a socket could block forever or never end, so naming one is refused up
//! front, in a folder too. Every read is bounded: a file may hold at most
//! [`MAX_FILE_BYTES`] (a zip entry, at most the size it declares), and stops
//! at the next read once its run is asked to stop.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Files up to this size are read into memory once and parsed from there;
/// larger ones are streamed twice (validate, then import). Real Spotify
/// files are about 10 MB.
pub(crate) const IN_MEMORY_LIMIT: u64 = 64 * 1024 * 1024;

/// Largest file (or zip entry) an import reads: larger ones are rejected whole
/// without being read. Real exports are files of tens of megabytes; a
/// ListenBrainz export of a million listens is about 1 GB.
pub(crate) const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// What a read says when its run was asked to stop.
const STOPPED: &str = "the import was asked to stop";

/// One file to import.
#[derive(Debug, Clone)]
pub(crate) struct InputFile {
    /// How the file is named in reports: its path, or `archive.zip:entry`.
    pub(crate) display: String,
    /// Uncompressed size in bytes (for a zip entry, the size it declares).
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
    /// Read again for each pass; each read gives up once `cancel` is set.
    Stream {
        file: &'a InputFile,
        cancel: &'a AtomicBool,
    },
}

impl InputFile {
    /// Reads the file into memory when it is small enough (whatever size it
    /// claims: a file that turns out larger is streamed instead).
    pub(crate) fn load<'a>(&'a self, cancel: &'a AtomicBool) -> io::Result<Data<'a>> {
        if self.size > IN_MEMORY_LIMIT {
            return Ok(Data::Stream { file: self, cancel });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(self.size).unwrap_or(0));
        self.with_reader(cancel, |reader| reader.take(IN_MEMORY_LIMIT + 1).read_to_end(&mut bytes))??;
        if bytes.len() as u64 > IN_MEMORY_LIMIT {
            return Ok(Data::Stream { file: self, cancel });
        }
        Ok(Data::Memory(bytes))
    }

    /// Calls `read` with a buffered reader over the file's bytes. The reader
    /// fails once `cancel` is set, and when the file holds more than it may.
    pub(crate) fn with_reader<T>(
        &self,
        cancel: &AtomicBool,
        read: impl FnOnce(&mut dyn io::BufRead) -> T,
    ) -> io::Result<T> {
        match &self.location {
            Location::Path(path) => {
                let file = open_regular(path)?;
                let guarded = Guarded { inner: file, left: MAX_FILE_BYTES, declared: false, cancel };
                Ok(read(&mut BufReader::with_capacity(1 << 20, guarded)))
            }
            Location::Zip { archive, index } => {
                let mut zip = zip::ZipArchive::new(open_regular(archive)?).map_err(zip_error)?;
                let entry = zip.by_index(*index).map_err(zip_error)?;
                // A zip entry may not hold more than it declares (a zip bomb lies about its size).
                let guarded = Guarded { inner: entry, left: self.size, declared: true, cancel };
                Ok(read(&mut BufReader::with_capacity(1 << 20, guarded)))
            }
        }
    }
}

/// A reader that stops a run's reads when it is cancelled and refuses more
/// bytes than a file may hold.
struct Guarded<'a, R> {
    inner: R,
    /// Bytes the file may still give.
    left: u64,
    /// Whether `left` comes from the size the file declares (a zip entry).
    declared: bool,
    cancel: &'a AtomicBool,
}

impl<R: Read> Read for Guarded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(io::Error::other(STOPPED));
        }
        // One byte more than allowed is enough to tell a file that holds too much.
        let room = usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX).min(buf.len());
        let read = self.inner.read(&mut buf[..room])?;
        if read as u64 > self.left {
            let message = if self.declared {
                "holds more bytes than its zip entry declares".to_owned()
            } else {
                format!("is larger than {} GiB", MAX_FILE_BYTES >> 30)
            };
            return Err(io::Error::new(io::ErrorKind::InvalidData, message));
        }
        self.left -= read as u64;
        Ok(read)
    }
}

/// Opens a file only if it is a regular file. It is opened without blocking
/// (a FIFO would block until a writer comes) and checked once open, since the
/// path may have changed since it was listed.
fn open_regular(path: &Path) -> io::Result<File> {
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path)?;
    let file_type = file.metadata()?.file_type();
    if !file_type.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, not_regular(path, file_type)));
    }
    Ok(file)
}

/// Says what a path that is not a regular file is.
fn not_regular(path: &Path, file_type: std::fs::FileType) -> String {
    let what = if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    format!("{} is {what}, not a regular file: imports read export files, folders of them and zips", path.display())
}

fn zip_error(err: zip::result::ZipError) -> io::Error {
    match err {
        zip::result::ZipError::Io(err) => err,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

/// Lists the files to import under `path`, keeping those whose path (with `/`
/// separators) `wanted` accepts inside folders and zips; a single file is always taken.
/// Refuses anything that is not a regular file, a folder or a zip, in a folder too.
pub(crate) fn list_files(path: &Path, wanted: &dyn Fn(&str) -> bool) -> Result<Vec<InputFile>, String> {
    let meta = std::fs::metadata(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let mut files = Vec::new();
    if meta.is_dir() {
        walk(path, wanted, &mut files, 0)?;
    } else if !meta.is_file() {
        return Err(not_regular(path, meta.file_type()));
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
    open_regular(path).and_then(|mut file| file.read_exact(&mut magic)).is_ok() && magic == *b"PK\x03\x04"
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

/// Lists a folder. Symbolic links are not followed; an entry the import wants
/// that is a FIFO, a device or a socket refuses the whole listing.
fn walk(dir: &Path, wanted: &dyn Fn(&str) -> bool, files: &mut Vec<InputFile>, depth: usize) -> Result<(), String> {
    let cannot_list = |err: io::Error| format!("cannot list {}: {err}", dir.display());
    for entry in std::fs::read_dir(dir).map_err(cannot_list)? {
        let entry = entry.map_err(cannot_list)?;
        let path = entry.path();
        let meta = entry.metadata().map_err(cannot_list)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || meta.is_symlink() {
            continue;
        }
        if meta.is_dir() {
            if depth < MAX_DEPTH {
                walk(&path, wanted, files, depth + 1)?;
            }
        } else if wanted(&path.to_string_lossy().replace('\\', "/")) {
            if !meta.is_file() {
                return Err(not_regular(&path, meta.file_type()));
            }
            files.push(path_file(&path, &meta));
        }
    }
    Ok(())
}

fn list_zip(path: &Path, wanted: &dyn Fn(&str) -> bool, files: &mut Vec<InputFile>) -> io::Result<()> {
    let mut zip = zip::ZipArchive::new(open_regular(path)?).map_err(zip_error)?;
    for index in 0..zip.len() {
        let entry = zip.by_index_raw(index).map_err(zip_error)?;
        // Only regular entries: not folders, not symbolic links.
        if !entry.is_file() {
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn mkfifo(path: &Path) {
        let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid C string; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "mkfifo");
    }

    #[test]
    fn only_regular_files_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let err = list_files(Path::new("/dev/zero"), &|_| true).unwrap_err();
        assert_eq!(
            err,
            "/dev/zero is a character device, not a regular file: imports read export files, folders of them and zips"
        );
        let fifo = dir.path().join("Streaming_History_Audio_2024_0.json");
        mkfifo(&fifo);
        let err = list_files(&fifo, &|_| true).unwrap_err();
        assert!(err.contains("is a FIFO (named pipe), not a regular file"), "{err}");
        // Inside a folder too, when its name is one the import reads; others are not looked at.
        let err = list_files(dir.path(), &|_| true).unwrap_err();
        assert!(err.contains(&format!("{} is a FIFO", fifo.display())), "{err}");
        assert!(list_files(dir.path(), &|path| !path.ends_with(".json")).unwrap().is_empty());
        // Opening checks again: a path that became a FIFO after it was listed is refused, without blocking.
        let err = open_regular(&fifo).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn zip_entries_may_not_hold_more_than_they_declare() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.zip");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        zip.start_file("a.json", zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(&[b' '; 4096]).unwrap();
        zip.finish().unwrap();
        let mut files = list_files(&path, &|_| true).unwrap();
        assert_eq!(files[0].size, 4096);
        let cancel = AtomicBool::new(false);
        // As if the entry had declared fewer bytes than it holds.
        files[0].size = 100;
        let err = files[0].with_reader(&cancel, |reader| reader.read_to_end(&mut Vec::new())).unwrap().unwrap_err();
        assert!(err.to_string().contains("more bytes than its zip entry declares"), "{err}");
        let err = files[0].load(&cancel).err().expect("refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    }
}
