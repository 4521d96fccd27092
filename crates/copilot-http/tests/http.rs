//! Integration tests for copilot-http: one binary, a module per concept.

mod http {
    mod body;
    mod hosts;
    mod proxy;
    mod retry;
    mod safety;
    mod sensitive;
    mod time;
    mod transport;
}
