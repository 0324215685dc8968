//! Delivery as a subscriber meets it: mail read back from the outbox and from
//! a real SMTP server (aiosmtpd) with STARTTLS, TLS and logins, Slack posts
//! taken by a loopback webhook, and the notice a failed night sends instead
//! of numbers.

mod mail;
mod slack;
mod smtp;
mod support;
