//! HTTP: binding listeners, serving connections (hyper-util, graceful shutdown), the warp
//! routes, and the bridge from an HTTP request to a SOAP operation.

pub mod activity;
pub mod body;
pub mod metrics;
pub mod per_address;
pub mod response;
pub mod routes;
pub mod server;
pub mod soap;
pub mod status;
pub mod system;

pub use crate::listen::{BindError, bind};
pub use routes::routes;
pub use server::{ConnInfo, ServeSettings, serve};
