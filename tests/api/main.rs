//! One integration-test binary: each module covers one API family against a real server
//! started on 127.0.0.1:0 and spoken to over HTTPS.

mod admin;
mod environment;
mod errors_catalogue;
mod guest_exec_errors;
mod guest_fs;
mod guest_fs_errors;
mod guest_power;
mod hardening;
mod helpers;
mod jsonrpc;
mod processes;
mod session;
mod soap;
mod soap_collector;
mod soap_guest;
mod soap_guest_processes;
mod transfers;
mod vm;
