//! A check that a file is a complete ELF shared library before `dlopen`
//! sees it. The loader maps segments lazily, so a truncated library can load
//! and then crash the process when a missing page is touched; checking that
//! every table and segment the headers name lies inside the file prevents that.

/// `Ok` when `bytes` look like a whole 64-bit little-endian ELF shared object.
pub(crate) fn check_shared_library(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
        return Err("not an ELF shared library".to_owned());
    }
    if bytes[4] != 2 || bytes[5] != 1 {
        return Err("not a 64-bit little-endian ELF library".to_owned());
    }
    let u16_at = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as u64);
    let u64_at = |at: usize| bytes.get(at..at + 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    let truncated = || "truncated: the library is shorter than its headers say".to_owned();
    const ET_DYN: u64 = 3;
    if u16_at(16) != Some(ET_DYN) {
        return Err("an ELF file, but not a shared library".to_owned());
    }
    let length = bytes.len() as u64;
    let (program_headers, header_size, header_count) =
        (u64_at(0x20).ok_or_else(truncated)?, u16_at(0x36).ok_or_else(truncated)?, u16_at(0x38).ok_or_else(truncated)?);
    let (sections, section_size, section_count) =
        (u64_at(0x28).ok_or_else(truncated)?, u16_at(0x3a).ok_or_else(truncated)?, u16_at(0x3c).ok_or_else(truncated)?);
    let fits = |offset: u64, size: u64| offset.checked_add(size).is_some_and(|end| end <= length);
    if !fits(program_headers, header_size * header_count) || !fits(sections, section_size * section_count) {
        return Err(truncated());
    }
    for index in 0..header_count {
        let header = (program_headers + index * header_size) as usize;
        let kind = bytes.get(header..header + 4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
        let (offset, size) = (u64_at(header + 8).ok_or_else(truncated)?, u64_at(header + 32).ok_or_else(truncated)?);
        // Loadable and dynamic segments must be entirely in the file.
        if matches!(kind, Some(1 | 2)) && !fits(offset, size) {
            return Err(truncated());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_whole_library() {
        assert!(
            check_shared_library(b"not a library at all, just some text that is long enough to pass")
                .unwrap_err()
                .contains("not an ELF")
        );
        // This test's own executable is a complete ELF file (a PIE is ET_DYN too).
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        if u16::from_le_bytes([exe[16], exe[17]]) == 3 {
            assert_eq!(check_shared_library(&exe), Ok(()));
            let err = check_shared_library(&exe[..exe.len() / 3]).unwrap_err();
            assert!(err.contains("truncated"), "{err}");
        }
        let mut executable = vec![0u8; 64];
        executable[..6].copy_from_slice(b"\x7fELF\x02\x01");
        executable[16] = 2;
        assert!(check_shared_library(&executable).unwrap_err().contains("not a shared library"));
    }
}
