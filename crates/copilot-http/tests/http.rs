//! Integration tests for copilot-http: one binary, a module per concept.

mod http {
    mod body;
    mod hosts;
    mod retry;
    mod safety;
    mod sensitive;
    mod time;
    mod transport;
}
