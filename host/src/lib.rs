//! Bridle's native messaging host: the job types every sandbox tier shares ([`job`]), job
//! authorisation ([`auth`]), the container and microVM tiers, and native messaging ([`native`]).

pub mod auth;
pub mod container;
pub mod job;
pub mod microvm;
pub mod native;
