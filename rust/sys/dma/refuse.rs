// SPDX-License-Identifier: GPL-2.0

//! The refusing table, for a device that must never do DMA: every op
//! refuses, as [`DmaOps`]' defaults do.

use super::operations::DmaOps;
use super::vtable::Lookup;

/// The ops that refuse everything: the defaults of [`DmaOps`].
pub(super) struct Refuse;

impl DmaOps for Refuse {}

/// The refusing table's lookup: always [`Refuse`].
pub(super) struct Refusing;

impl Lookup for Refusing {
    type Target = Refuse;

    fn with<X>(f: impl FnOnce(&Refuse) -> X) -> Option<X> {
        Some(f(&Refuse))
    }
}
