//! Owns the SOAP vim25 API at `/sdk`: the XML codec, vim25 values, the inventory as managed
//! objects, the PropertyCollector, views, search, tasks and faults.

pub mod collector;
pub mod fault;
pub mod inventory;
pub mod store;
pub mod types;
pub mod value;
pub mod xml;
