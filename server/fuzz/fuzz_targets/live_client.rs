//! What a browser sends on the live socket, as the server decodes it.

#![no_main]

use app::live::ClientMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // WebSocket text frames are UTF-8 (the socket layer checks).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(message) = serde_json::from_str::<ClientMessage>(text) else {
        return;
    };
    if let ClientMessage::Subscribe { query, .. } = &message {
        // Refusals name the problem; acceptance must not panic on any shape of query.
        if let Err(problem) = query.validate() {
            assert!(!problem.is_empty(), "a refusal without a message");
        }
    }
    // What was decoded encodes to a message that decodes to the same thing.
    let encoded = serde_json::to_string(&message).expect("a decoded message encodes");
    let decoded: ClientMessage =
        serde_json::from_str(&encoded).expect("an encoded message decodes");
    assert_eq!(decoded, message, "{encoded}");
});
