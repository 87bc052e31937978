//! Map contents for display: `waggle map dump` and `waggle run --dump-maps`.

use serde::Serialize;
use waggle_runtime::LoadedObject;

/// Stop listing a map after this many entries: a dump is for reading.
const MAX_ENTRIES: usize = 4096;

#[derive(Serialize)]
pub struct Entry {
    pub key: String,
    pub value: String,
}

#[derive(Serialize)]
pub struct MapDump {
    pub name: String,
    pub map_type: &'static str,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    /// Entries with their values (every CPU's for per-CPU maps), or `None`
    /// for types that cannot be iterated (ring buffers, queues, ...).
    pub entries: Option<Vec<Entry>>,
    pub truncated: bool,
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn dump_maps(obj: &LoadedObject) -> Vec<MapDump> {
    obj.maps()
        .map(|(name, map)| {
            let spec = map.spec();
            let mut entries = Some(Vec::new());
            let mut truncated = false;
            let mut key: Option<Vec<u8>> = None;
            loop {
                match map.next_key(key.as_deref()) {
                    Ok(next) => {
                        let list = entries.as_mut().expect("iterating");
                        if list.len() == MAX_ENTRIES {
                            truncated = true;
                            break;
                        }
                        if let Ok(value) = map.lookup(&next) {
                            list.push(Entry {
                                key: hex(&next),
                                value: hex(&value),
                            });
                        }
                        key = Some(next);
                    }
                    Err(waggle_maps::MapError::NotFound) => break,
                    Err(_) => {
                        entries = None;
                        break;
                    }
                }
            }
            MapDump {
                name: name.to_string(),
                map_type: spec.map_type.name(),
                key_size: spec.key_size,
                value_size: spec.value_size,
                max_entries: spec.max_entries,
                entries,
                truncated,
            }
        })
        .collect()
}

pub fn print(maps: &[MapDump]) {
    for m in maps {
        println!(
            "map {} ({}, key {} B, value {} B, max_entries {}):",
            m.name, m.map_type, m.key_size, m.value_size, m.max_entries
        );
        match &m.entries {
            None => println!("  (not iterable)"),
            Some(list) if list.is_empty() => println!("  (empty)"),
            Some(list) => {
                for e in list {
                    println!("  key: {}  value: {}", e.key, e.value);
                }
                if m.truncated {
                    println!("  ... (first {MAX_ENTRIES} entries)");
                }
            }
        }
    }
}
