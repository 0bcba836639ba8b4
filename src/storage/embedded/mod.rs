//! The embedded backend on redb: durable, crash-safe, with change history for watches.
