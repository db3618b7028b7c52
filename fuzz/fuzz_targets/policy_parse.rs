//! Fuzz target: any bytes given to the policy parser yield a policy or errors, never a panic;
//! every error renders, and every accessor of a policy that parsed runs on hostile origins.
//!
//! Run with `cargo fuzz run policy_parse` from `fuzz/` (nightly), seeded with
//! `../policies` for a head start: `cargo fuzz run policy_parse ../policies ../policies/examples`.

#![no_main]

use bridle_dsl::Verb;
use bridle_executor::decision::Amount;
use bridle_executor::policy::{FieldKind, Policy};
use libfuzzer_sys::fuzz_target;

/// Origins and URLs that stress matching: wildcards, ports, IDN, trailing dots, opaque schemes.
const PROBES: &[&str] = &[
    "https://shop.example",
    "https://a.b.example.com:8443/x",
    "http://localhost:3000",
    "https://xn--bcher-kva.example.",
    "javascript:alert(1)",
    "data:,x",
    "",
];

fuzz_target!(|data: &[u8]| {
    let _ = Policy::from_bytes(data);
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match Policy::from_toml_all(src) {
        Err(errors) => {
            assert!(!errors.is_empty());
            for error in errors {
                let _ = error.render("fuzz.toml", src);
            }
        }
        Ok(policy) => {
            let amount = Amount {
                currency: "EUR".to_owned(),
                value: 20.0,
            };
            for probe in PROBES {
                let _ = policy.sites_for(probe).count();
                for verb in Verb::ALL {
                    let _ = policy.site_decision(probe, *verb);
                    let _ = policy.standing_grant(probe, *verb);
                }
                let _ = policy.approval_for(probe);
                let _ = policy.check_amount(probe, &amount);
                let _ = policy.allow_css_for(probe);
                let _ = policy.risk_options_for(probe);
                let _ = policy.is_blocked_scheme(probe);
                for other in PROBES {
                    let _ = policy.dataflow.decide(probe, other);
                }
            }
            for kind in FieldKind::ALL {
                let _ = policy.never_reads(*kind);
            }
        }
    }
});
