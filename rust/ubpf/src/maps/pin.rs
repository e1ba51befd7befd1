// SPDX-License-Identifier: GPL-2.0-or-later

//! Pinned maps: libbpf's `pinning` attribute (`LIBBPF_PIN_BY_NAME`) makes
//! programs that declare a map of the same name share it.  The caller
//! (QEMU's filter) owns a [`PinRegistry`] and hands it to every program
//! load ([`crate::Vm::with_pins`]); a pinned map lives as long as the
//! registry holds it (until [`PinRegistry::unpin`]), whatever happens to
//! the programs that use it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use super::{Map, MapDef, MapExtra};

/// libbpf's `LIBBPF_PIN_BY_NAME`.
pub const LIBBPF_PIN_BY_NAME: u32 = 1;

/// A map's `pinning` attribute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Pinning {
    /// `LIBBPF_PIN_NONE`: the map belongs to its program.
    #[default]
    None,
    /// `LIBBPF_PIN_BY_NAME`: shared by name through the registry.
    ByName,
}

impl Pinning {
    /// The value of a BTF map definition's `pinning` field.
    pub fn from_attr(value: u32) -> Result<Self, String> {
        match value {
            0 => Ok(Self::None),
            LIBBPF_PIN_BY_NAME => Ok(Self::ByName),
            v => Err(format!(
                "pinning {v} is not supported (LIBBPF_PIN_NONE 0, LIBBPF_PIN_BY_NAME 1)"
            )),
        }
    }
}

/// Maps pinned by name, shared by the programs loaded with this registry.
/// Cloning gives another handle to the same registry.
#[derive(Clone, Default)]
pub struct PinRegistry(Arc<Mutex<BTreeMap<String, Arc<Map>>>>);

impl fmt::Debug for PinRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

impl PartialEq for PinRegistry {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for PinRegistry {}

impl PinRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn pins(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<Map>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The pinned map called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Map>> {
        self.pins().get(name).cloned()
    }

    /// The names of the pinned maps, sorted.
    pub fn names(&self) -> Vec<String> {
        self.pins().keys().cloned().collect()
    }

    /// Forget `name`: programs that use the map keep it; the next program
    /// that pins this name gets a new map.  False if it was not pinned.
    pub fn unpin(&self, name: &str) -> bool {
        self.pins().remove(name).is_some()
    }

    /// The pinned map for `def`, created (and pinned) if there is none;
    /// an error naming the map and the difference if the pinned one is
    /// not compatible.
    pub(crate) fn get_or_create(&self, def: &MapDef, extra: &MapExtra) -> Result<Arc<Map>, String> {
        let mut pins = self.pins();
        let map = match pins.get(&def.name) {
            Some(map) => Arc::clone(map),
            None => {
                let map = Arc::new(Map::with_extra(def.clone(), extra.clone())?);
                pins.insert(def.name.clone(), Arc::clone(&map));
                return Ok(map);
            }
        };
        drop(pins);
        match map.mismatch(def, extra) {
            None => Ok(map),
            Some(why) => Err(format!(
                "map \"{}\" is pinned with another definition: {why}",
                def.name
            )),
        }
    }
}
