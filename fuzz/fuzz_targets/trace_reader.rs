//! The `zftrace 1` reader on untrusted bytes: it must never panic, only
//! report a line and a rule. A trace it accepts must replay through the C
//! ABI without a misuse (AddressSanitizer watches), since the replayer
//! trusts what the reader checked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zombie_frames::replay::{replay, Contender};
use zombie_frames::trace::{read_all, Event};
use zombie_frames::{ZfConfig, ZF_POLICY_LEGACY};

/// Larger frames only cost the fuzzer memory, not coverage.
const MAX_REPLAYED_FRAME: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let (events, parser) = match read_all(data) {
        Ok(read) => read,
        Err(e) => {
            assert!(e.line >= 1 && !e.why.is_empty(), "an error names its line and rule");
            return;
        }
    };
    let small_frames = events.iter().all(|e| !matches!(e, Event::Create { bytes, .. } if *bytes > MAX_REPLAYED_FRAME));
    if small_frames {
        let small = ZfConfig { per_code_max: 4, budget_bytes: 4096, sweep_every: 3, ..ZfConfig::default() };
        let legacy = ZfConfig { policy: ZF_POLICY_LEGACY, ..ZfConfig::default() };
        for cfg in [small, legacy] {
            replay(&events, parser.slots(), Contender::Pool(cfg), true).expect("an accepted trace replays");
        }
    }
});
