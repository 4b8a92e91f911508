//! The system's UI language, read the way gettext does. WebKitGTK's `navigator.languages` only
//! reflects locales the C library has installed, so the shell tells the UI instead.

/// The first language the environment asks for (`LANGUAGE`, `LC_ALL`, `LC_MESSAGES`, `LANG`),
/// e.g. `zh_CN.UTF-8`; `None` for the C/POSIX locale or when nothing is set.
pub fn locale_from_env(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    ["LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"]
        .into_iter()
        .filter_map(var)
        .filter_map(|value| value.split(':').next().map(str::to_owned))
        .find(|value| !value.is_empty() && value != "C" && value != "POSIX")
}

/// The system's language as the API names it (Chinese locales → zh-CN, others → en).
pub fn system_lang() -> tally_api::Lang {
    match locale_from_env(|name| std::env::var(name).ok()) {
        Some(locale) if locale.starts_with("zh") => tally_api::Lang::ZhCn,
        _ => tally_api::Lang::En,
    }
}

/// Tells the UI the system's language.
#[tauri::command]
pub fn system_locale() -> Option<String> {
    locale_from_env(|name| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use super::locale_from_env;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn language_list_wins_over_lang() {
        let vars = [("LANGUAGE", "zh_CN:en"), ("LANG", "en_US.UTF-8")];
        assert_eq!(locale_from_env(env(&vars)).as_deref(), Some("zh_CN"));
    }

    #[test]
    fn c_locale_and_empty_values_are_skipped() {
        let vars = [("LANGUAGE", ""), ("LC_ALL", "C"), ("LANG", "zh_CN.UTF-8")];
        assert_eq!(locale_from_env(env(&vars)).as_deref(), Some("zh_CN.UTF-8"));
        assert_eq!(locale_from_env(env(&[("LANG", "POSIX")])), None);
        assert_eq!(locale_from_env(env(&[])), None);
    }
}
