//! AMF0 decoding of command and metadata messages (connect, publish, onMetaData).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rml_amf0::deserialize(&mut std::io::Cursor::new(data));
});
