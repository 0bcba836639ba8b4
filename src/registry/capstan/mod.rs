//! The `capstan.dev` group: Capstan's own pods, sharing the core pod strategy.
