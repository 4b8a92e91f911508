//! The error table is complete, bilingual and consistent.

use std::collections::HashSet;

use tally_api::{ErrorCode, Lang, ERROR_TABLE};

/// Every code of the seed document's table.
fn seed_codes() -> Vec<u32> {
    let mut codes = vec![1, 2];
    codes.extend(30000000..=30000004);
    codes.extend(30000201..=30000203);
    codes.extend(30000207..=30000208);
    codes.extend(30000301..=30000305);
    codes.extend(30000401..=30000415);
    codes
}

#[test]
fn every_seed_code_has_a_row() {
    for code in seed_codes() {
        let parsed = ErrorCode::from_u32(code).unwrap_or_else(|| panic!("code {code} is missing"));
        assert_eq!(parsed.as_u32(), code);
    }
}

#[test]
fn every_row_has_english_and_chinese_message_and_advice() {
    let has_cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    for entry in ERROR_TABLE {
        let code = entry.code.as_u32();
        assert!(
            !entry.en.message.is_empty() && !entry.en.advice.is_empty(),
            "{code} en"
        );
        assert!(
            !has_cjk(entry.en.message) && !has_cjk(entry.en.advice),
            "{code} en is English"
        );
        assert!(has_cjk(entry.zh.message), "{code} zh message is Chinese");
        assert!(has_cjk(entry.zh.advice), "{code} zh advice is Chinese");
    }
}

#[test]
fn codes_are_unique_and_in_order() {
    let codes: Vec<u32> = ERROR_TABLE.iter().map(|e| e.code.as_u32()).collect();
    assert_eq!(codes.iter().collect::<HashSet<_>>().len(), codes.len());
    assert!(
        codes.windows(2).all(|w| w[0] < w[1]),
        "table is sorted by code"
    );
}

#[test]
fn tally_own_codes_start_at_30000501() {
    let own: Vec<u32> = ERROR_TABLE
        .iter()
        .map(|e| e.code.as_u32())
        .filter(|c| !seed_codes().contains(c))
        .collect();
    assert!(!own.is_empty());
    assert!(own.iter().all(|c| *c >= 30000501), "{own:?}");
}

#[test]
fn retryable_codes_are_the_transient_ones() {
    let retryable: Vec<u32> = ERROR_TABLE
        .iter()
        .filter(|e| e.retryable)
        .map(|e| e.code.as_u32())
        .collect();
    // 30000523: a live stream has no keyframe to preview yet; one comes within seconds.
    assert_eq!(
        retryable,
        vec![30000208, 30000401, 30000402, 30000404, 30000502, 30000511, 30000523]
    );
}

#[test]
fn duplicate_stop_advice_says_nothing_to_do() {
    let err = ErrorCode::AlreadyStopped.to_api_error(Lang::En);
    assert_eq!(err.code, 30000412);
    assert!(err.advice.contains("nothing to do"));
    let zh = ErrorCode::AlreadyStopped.to_api_error(Lang::ZhCn);
    assert!(zh.advice.contains("无需处理"));
}

#[test]
fn accept_language_picks_chinese_or_english() {
    assert_eq!(Lang::from_accept_language("zh-CN,zh;q=0.9"), Lang::ZhCn);
    assert_eq!(Lang::from_accept_language("en-US,zh;q=0.5"), Lang::En);
    assert_eq!(Lang::from_accept_language("fr-FR, zh-TW;q=0.8"), Lang::ZhCn);
    assert_eq!(Lang::from_accept_language("zh_CN.UTF-8"), Lang::ZhCn);
    assert_eq!(Lang::from_accept_language(""), Lang::En);
    assert_eq!(Lang::from_accept_language("de"), Lang::En);
}

#[test]
fn api_error_serializes_with_the_four_fields() {
    let json = serde_json::to_value(ErrorCode::MissingFileName.to_api_error(Lang::En)).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort();
    assert_eq!(keys, ["advice", "code", "message", "retryable"]);
    assert_eq!(json["code"], 30000002);
}
