//! A stateful fake of GitHub OAuth and the Copilot API for offline tests.
//! (Built by the copilot-mock issue; intentionally empty until then.)
