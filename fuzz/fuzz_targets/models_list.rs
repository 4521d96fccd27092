//! The `/models` list: `ModelList::from_json` on arbitrary bytes. Must never panic; every decoded model must
//! answer the routing and capability questions the client asks of it.

#![no_main]

use copilot_api::ModelList;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = ModelList::from_json(data) {
        let _ = list.chat_default();
        for model in &list.data {
            let _ = model.endpoint_for_chat();
            let _ = (model.is_embeddings(), model.is_enabled());
            let _ = (model.needs_terms_acceptance(), model.supports_vision());
            let _ = list.get(&model.id);
        }
        let _ = format!("{list:?}");
    }
});
