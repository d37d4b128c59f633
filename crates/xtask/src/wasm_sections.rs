//! Drops custom sections from a finished wasm module. wasm-pack runs wasm-bindgen with
//! fixed flags, so the `name` section (wasm-bindgen's shim names, ~3 KB) and the
//! `producers` section stay in the package unless removed here; browsers need neither.
//!
//! A module is an 8-byte header followed by sections: one id byte, the content length as
//! unsigned LEB128, the content. A custom section (id 0) starts its content with its name
//! (LEB128 length, UTF-8 bytes). Everything not dropped is copied byte for byte.

/// The module without the custom sections named in `drop`.
pub fn without_custom_sections(module: &[u8], drop: &[&str]) -> Result<Vec<u8>, String> {
    const HEADER: &[u8] = b"\0asm\x01\0\0\0";
    if !module.starts_with(HEADER) {
        return Err("not a wasm module (version 1)".into());
    }
    let mut out = HEADER.to_vec();
    let mut at = HEADER.len();
    while at < module.len() {
        let start = at;
        let id = module[at];
        let (len, content) = leb128(module, at + 1)?;
        let end = content
            .checked_add(len)
            .filter(|&end| end <= module.len())
            .ok_or("a section runs past the end of the module")?;
        let dropped = id == 0 && {
            let (name_len, name) = leb128(module, content)?;
            let name = module
                .get(name..name + name_len)
                .ok_or("bad custom section name")?;
            drop.iter().any(|d| d.as_bytes() == name)
        };
        if !dropped {
            out.extend_from_slice(&module[start..end]);
        }
        at = end;
    }
    Ok(out)
}

/// An unsigned LEB128 number at `at`: its value and the offset after it.
fn leb128(bytes: &[u8], mut at: usize) -> Result<(usize, usize), String> {
    let mut value = 0usize;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(at).ok_or("truncated LEB128 number")?;
        at += 1;
        value |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok((value, at));
        }
    }
    Err("LEB128 number longer than 5 bytes".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(name: &str, payload: &[u8]) -> Vec<u8> {
        let mut content = vec![name.len() as u8];
        content.extend_from_slice(name.as_bytes());
        content.extend_from_slice(payload);
        // A two-byte LEB128 length on purpose (the top bit of the first byte set).
        let len = content.len();
        let mut s = vec![0, (len as u8 & 0x7f) | 0x80, (len >> 7) as u8];
        s.extend(content);
        s
    }

    #[test]
    fn drops_only_the_named_custom_sections() {
        let header = b"\0asm\x01\0\0\0".to_vec();
        let type_section = vec![1, 4, 1, 0x60, 0, 0];
        let name = custom("name", &[7; 200]);
        let other = custom("sourceMappingURL", b"x.map");
        let producers = custom("producers", &[1, 2, 3]);
        let module = [
            header.clone(),
            type_section.clone(),
            name,
            other.clone(),
            producers,
        ]
        .concat();
        let out = without_custom_sections(&module, &["name", "producers"]).unwrap();
        assert_eq!(out, [header, type_section, other].concat());
        // Dropping nothing keeps every byte.
        assert_eq!(without_custom_sections(&module, &[]).unwrap(), module);
    }

    #[test]
    fn refuses_what_is_not_a_module() {
        assert!(without_custom_sections(b"\0asm\x02\0\0\0", &[]).is_err());
        let truncated = b"\0asm\x01\0\0\0\x01\x09\x01";
        assert!(without_custom_sections(truncated, &[]).is_err());
    }
}
