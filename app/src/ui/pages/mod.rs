//! The pages other than a dashboard's view and editor, one file each: the live values, the
//! dashboard list, Explore, Analytics, Web analytics, a person, Alerts, Access and signing in.

pub mod access;
pub mod alerts;
pub mod analytics;
pub mod dashboards;
pub mod explore;
pub mod people;
pub mod sign_in;
pub mod values;
pub mod web;
