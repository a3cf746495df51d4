//! A minimal zip writer (and a reader of what it writes, for tests): entries stored
//! uncompressed, with CRC-32 and a fixed timestamp, so the same files always make the same
//! archive. Used for the sidebar apps and the console's approval-log download; not a general
//! zip library (classic zip only: under 4 GiB, under 65,536 entries).

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
/// 1980-01-01 00:00 in MS-DOS date format (time 0).
const DOS_DATE: u16 = (1 << 5) | 1;

fn u16le(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn u32le(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A zip archive of `files` (path, contents), stored. Paths and sizes must fit the classic
/// zip format (they are the apps' own small files).
pub fn stored(files: &[(impl AsRef<str>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (path, data) in files {
        let path = path.as_ref();
        let offset = out.len() as u32;
        let crc = crc32fast::hash(data);
        let (size, name_len) = (data.len() as u32, path.len() as u16);
        u32le(&mut out, LOCAL);
        for v in [20u16, 0, 0, 0, DOS_DATE] {
            u16le(&mut out, v);
        }
        u32le(&mut out, crc);
        u32le(&mut out, size);
        u32le(&mut out, size);
        u16le(&mut out, name_len);
        u16le(&mut out, 0);
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(data);

        u32le(&mut central, CENTRAL);
        for v in [20u16, 20, 0, 0, 0, DOS_DATE] {
            u16le(&mut central, v);
        }
        u32le(&mut central, crc);
        u32le(&mut central, size);
        u32le(&mut central, size);
        for v in [name_len, 0, 0, 0, 0] {
            u16le(&mut central, v);
        }
        u32le(&mut central, 0o100644 << 16);
        u32le(&mut central, offset);
        central.extend_from_slice(path.as_bytes());
    }
    let (central_offset, central_size) = (out.len() as u32, central.len() as u32);
    out.extend_from_slice(&central);
    u32le(&mut out, END);
    for v in [0u16, 0, files.len() as u16, files.len() as u16] {
        u16le(&mut out, v);
    }
    u32le(&mut out, central_size);
    u32le(&mut out, central_offset);
    u16le(&mut out, 0);
    out
}

/// Reads back an archive [`stored`] wrote, checking each entry's CRC; path → contents
/// (`None` for anything else).
pub fn read_stored(zip: &[u8]) -> Option<std::collections::BTreeMap<String, Vec<u8>>> {
    let le16 = |at: usize| Some(u16::from_le_bytes(zip.get(at..at + 2)?.try_into().ok()?));
    let le32 = |at: usize| Some(u32::from_le_bytes(zip.get(at..at + 4)?.try_into().ok()?));
    let mut files = std::collections::BTreeMap::new();
    let mut at = 0;
    while le32(at)? == LOCAL {
        let crc = le32(at + 14)?;
        let size = le32(at + 18)? as usize;
        let name_len = le16(at + 26)? as usize;
        let name = String::from_utf8(zip.get(at + 30..at + 30 + name_len)?.to_vec()).ok()?;
        let start = at + 30 + name_len;
        let data = zip.get(start..start + size)?.to_vec();
        if crc32fast::hash(&data) != crc {
            return None;
        }
        files.insert(name, data);
        at = start + size;
    }
    (le32(at)? == CENTRAL).then_some(files)
}
