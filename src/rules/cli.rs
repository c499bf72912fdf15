//! `cairn check rules` and `cairn test rules`.
