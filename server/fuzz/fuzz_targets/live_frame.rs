//! What the server sends on the live socket, as the browser decodes it and applies it to a
//! widget's view.

#![no_main]

use app::live::{Applied, ServerMessage, View, parse_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(messages) = parse_frame(text) else {
        return;
    };
    let mut view = View::default();
    for message in messages {
        match message {
            ServerMessage::Snapshot { at, data, .. } => {
                view.snapshot(at, data);
                assert_eq!(view.cursor, Some(at));
            }
            ServerMessage::Delta { from, to, data, .. } => {
                let before = view.cursor;
                match view.delta(from, to, data) {
                    Applied::Ok => {
                        let (Some(before), Some(after)) = (before, view.cursor) else {
                            panic!("a delta applied to a view without a snapshot");
                        };
                        assert!(after >= before && after >= to, "the cursor went back");
                    }
                    Applied::Gap => assert_eq!(view.cursor, before, "a gap moved the cursor"),
                }
            }
            ServerMessage::Status { .. }
            | ServerMessage::Error { .. }
            | ServerMessage::Pong { .. } => {}
        }
        if let Some(oldest) = view.lines.values().flat_map(|points| points.keys()).max() {
            let oldest = *oldest;
            view.trim(oldest);
            assert!(
                view.lines
                    .values()
                    .all(|points| points.keys().all(|start| *start >= oldest)),
                "trimming left older buckets"
            );
        }
    }
});
