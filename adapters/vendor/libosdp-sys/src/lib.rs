#![no_std]
//! Auto generated (bindgen) wrapper for LibOSDP C API exposed from osdp.h
//! [here](https://github.com/osdp-dev/libosdp/blob/master/include/osdp.h).

#![allow(non_upper_case_globals)]
#![allow(non_camel_case_types)]
#![allow(non_snake_case)]
#![allow(missing_debug_implementations)]
#![allow(missing_docs)]
#![allow(unused)]

mod bindings;
pub use bindings::*;
