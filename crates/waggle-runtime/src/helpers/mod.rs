//! Linux helper functions, by Linux id and with Linux semantics.

use waggle_vm::HelperRegistry;

/// Every helper Waggle provides.
pub(crate) fn registry() -> HelperRegistry {
    HelperRegistry::new()
}
