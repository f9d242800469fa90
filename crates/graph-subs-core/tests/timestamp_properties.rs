//! `Timestamp` is written digit by digit: it must write what chrono's formatter writes,
//! and read back as the same instant, for every instant it can hold but a leap second,
//! which is written as the second before it.

use chrono::{DateTime, Datelike, Utc};
use graph_subs_core::subscription::Timestamp;
use proptest::prelude::*;

/// The RFC 3339 text Graph writes, by chrono's formatter: whole seconds, else seven
/// fractional digits when the nanoseconds allow it, else nine.
fn by_chrono(t: DateTime<Utc>) -> String {
    let seconds = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos() % 1_000_000_000;
    match nanos {
        0 => format!("{seconds}Z"),
        n if n % 100 == 0 => format!("{seconds}.{:07}Z", n / 100),
        n => format!("{seconds}.{n:09}Z"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn written_as_chrono_writes_it_and_read_back(
        // 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
        seconds in -62_167_219_200i64..=253_402_300_799i64,
        nanos in prop_oneof![Just(0u32), (0u32..10_000_000).prop_map(|n| n * 100), 0u32..1_000_000_000],
    ) {
        let t = DateTime::from_timestamp(seconds, nanos).unwrap();
        prop_assume!((0..=9999).contains(&t.year()));
        let stamp = Timestamp::new(t).unwrap();
        let text = stamp.to_string();
        prop_assert_eq!(&text, &by_chrono(t));
        prop_assert_eq!(Timestamp::parse(&text).unwrap(), stamp);
    }
}

#[test]
fn the_first_and_last_instants_are_written_whole() {
    let first = DateTime::from_timestamp(-62_167_219_200, 0).unwrap();
    let last = DateTime::from_timestamp(253_402_300_799, 999_999_999).unwrap();
    assert_eq!(
        Timestamp::new(first).unwrap().to_string(),
        "0000-01-01T00:00:00Z"
    );
    assert_eq!(
        Timestamp::new(last).unwrap().to_string(),
        "9999-12-31T23:59:59.999999999Z"
    );
}

#[test]
fn a_leap_second_is_written_as_the_second_before() {
    for (leap, written) in [
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59Z"),
        ("2016-12-31T23:59:60.5Z", "2016-12-31T23:59:59.5000000Z"),
    ] {
        assert_eq!(Timestamp::parse(leap).unwrap().to_string(), written);
    }
}
