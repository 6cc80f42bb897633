//! The mapping engine: raw point readings in, ONVIF model changes out. (Being written.)
