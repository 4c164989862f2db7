//! Owns file content: bytes in memory, generated pattern content, and bytes spilled to a
//! temporary file.

use std::sync::Arc;

use bytes::Bytes;

/// The repeating line of generated content.
const PATTERN_LINE: &[u8] = b"vcmock generated content 0123456789abcdefghijklmnopqrstuvwxyz\n";

/// The longest slice [`Blob::pattern_slice`] hands out.
pub const PATTERN_CHUNK_MAX: usize = 256 * 1024;

/// The most bytes [`Blob::to_vec`] reads into memory (256 MiB).
pub const IN_MEMORY_MAX: u64 = 256 << 20;

/// The content of a regular file.
#[derive(Debug, Clone)]
pub enum Blob {
    /// Bytes held in memory.
    Bytes(Bytes),
    /// `len` bytes of a deterministic pattern, generated on read and never held in memory.
    /// Fixtures use it for large files.
    Pattern {
        /// Length in bytes.
        len: u64,
    },
    /// Bytes spilled to a temporary file (large uploads). The file is removed when the last
    /// reference goes.
    Spilled(Arc<SpilledFile>),
}

/// A temporary file holding a blob's bytes.
#[derive(Debug)]
pub struct SpilledFile {
    /// Where the bytes are; deleted on drop.
    pub path: tempfile::TempPath,
    /// How many bytes.
    pub len: u64,
}

impl Blob {
    /// An empty blob.
    pub fn empty() -> Self {
        Self::Bytes(Bytes::new())
    }

    /// The length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Self::Bytes(b) => b.len() as u64,
            Self::Pattern { len } => *len,
            Self::Spilled(f) => f.len,
        }
    }

    /// Whether the blob has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` with the pattern bytes starting at `offset`.
    pub fn fill_pattern(offset: u64, buf: &mut [u8]) {
        let mut done = 0;
        while done < buf.len() {
            let n = (buf.len() - done).min(PATTERN_CHUNK_MAX);
            buf[done..done + n].copy_from_slice(&Self::pattern_slice(offset + done as u64, n));
            done += n;
        }
    }

    /// `len` (at most [`PATTERN_CHUNK_MAX`]) pattern bytes from `offset`, as a zero-copy slice of
    /// one block built once.
    pub fn pattern_slice(offset: u64, len: usize) -> Bytes {
        static BLOCK: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
        let block = BLOCK.get_or_init(|| {
            let n = PATTERN_CHUNK_MAX + PATTERN_LINE.len();
            Bytes::from(
                PATTERN_LINE
                    .iter()
                    .copied()
                    .cycle()
                    .take(n)
                    .collect::<Vec<u8>>(),
            )
        });
        let start = (offset % PATTERN_LINE.len() as u64) as usize;
        block.slice(start..start + len.min(PATTERN_CHUNK_MAX))
    }

    /// At most `max` bytes from the start, reading no more than that (a spilled file is read
    /// only as far as needed).
    pub fn prefix(&self, max: usize) -> std::io::Result<Vec<u8>> {
        let want = usize::try_from(self.len()).unwrap_or(usize::MAX).min(max);
        match self {
            Self::Bytes(b) => Ok(b[..want].to_vec()),
            Self::Pattern { .. } => {
                let mut v = vec![0; want];
                Self::fill_pattern(0, &mut v);
                Ok(v)
            }
            Self::Spilled(f) => {
                use std::io::Read;
                let mut v = Vec::with_capacity(want);
                std::fs::File::open(&f.path)?
                    .take(want as u64)
                    .read_to_end(&mut v)?;
                Ok(v)
            }
        }
    }

    /// The whole content in memory, for small blobs (snapshots, the library's `read_file`):
    /// content over [`IN_MEMORY_MAX`] is refused rather than allocated.
    pub fn to_vec(&self) -> std::io::Result<Vec<u8>> {
        if self.len() > IN_MEMORY_MAX {
            return Err(std::io::Error::new(
                std::io::ErrorKind::OutOfMemory,
                format!(
                    "{} bytes are more than the {IN_MEMORY_MAX} read into memory at once",
                    self.len()
                ),
            ));
        }
        match self {
            Self::Bytes(b) => Ok(b.to_vec()),
            Self::Pattern { len } => {
                let mut v = vec![0; *len as usize];
                Self::fill_pattern(0, &mut v);
                Ok(v)
            }
            Self::Spilled(f) => std::fs::read(&f.path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_is_the_first_bytes_of_every_kind_of_content() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, b"spilled bytes").unwrap();
        let spilled = Blob::Spilled(Arc::new(SpilledFile {
            path: file.into_temp_path(),
            len: 13,
        }));
        let blobs = [
            (
                Blob::Bytes(Bytes::from_static(b"memory bytes")),
                &b"memory"[..],
            ),
            (Blob::Pattern { len: 100 }, &PATTERN_LINE[..6]),
            (spilled, &b"spille"[..]),
        ];
        for (blob, first) in &blobs {
            assert_eq!(blob.prefix(6).unwrap(), *first);
            assert_eq!(blob.prefix(1 << 30).unwrap().len() as u64, blob.len());
        }
    }
}
