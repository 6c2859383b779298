// SPDX-License-Identifier: GPL-2.0

//! The C edge: bindgen's output over `bindings.h` and the prototypes of our C
//! helpers (`helpers.c`).
//!
//! Only the typed wrappers in [`crate::sys`] use this module; everything above
//! them sees safe types. The bindings are generated at build time by the rule
//! in `Kbuild`, because the kernel crate's own bindings cover none of the
//! headers this module needs.

#![allow(
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    dead_code,
    improper_ctypes,
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unreachable_pub,
    unsafe_op_in_unsafe_fn
)]

// The kernel maps these to `usize`/`isize` rather than to C `long`s.
type __kernel_size_t = usize;
type __kernel_ssize_t = isize;
type __kernel_ptrdiff_t = isize;

// Where Kbuild generated them: beside this file out of tree, in the object
// tree when built in (`Kbuild` exports the path).
include!(env!("RSDMA_BINDINGS_RS"));
