//! One integration-test binary: each module covers one API family against a real server
//! started on 127.0.0.1:0 and spoken to over HTTPS.

mod helpers;
mod session;
mod vm;
mod guest_fs_errors;
mod guest_fs;
mod errors_catalogue;
mod transfers;
mod jsonrpc;
mod admin;
