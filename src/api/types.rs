//! Capstan's own kinds (the `capstan.dev` group).
