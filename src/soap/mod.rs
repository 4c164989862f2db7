//! Owns the SOAP vim25 API at `/sdk`: the XML codec, vim25 values, the inventory as managed
//! objects, the PropertyCollector, views, search, tasks and faults.

pub mod value;
pub mod xml;
