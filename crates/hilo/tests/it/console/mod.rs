//! The console in a real headless Chromium: signing in, the live inbox, replying on
//! another channel, hostile message bodies, both languages and a tablet's width.

mod customers;
mod inbox;
