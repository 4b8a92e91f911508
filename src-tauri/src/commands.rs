//! The one table of the window's commands: what `invoke` may call, the arguments each takes
//! (as the window sends them: camelCase) and what it answers. The handler Tauri dispatches
//! with and the UI's typed bindings (`ui/src/bindings/commands.ts`) both come from it, so a
//! command renamed or retyped here cannot be called the old way from the UI.

#[cfg(test)]
use tally_api::recordings::CallbackAttempt;
#[cfg(test)]
use tally_api::rooms::{Membership, RecordResponse, RecordType, Source};
#[cfg(test)]
use tally_api::usage::Usage;
#[cfg(test)]
use tally_api::Lang;
#[cfg(test)]
use tally_client::cache::{LibraryStatus, Page, SearchQuery};
#[cfg(test)]
use tally_client::http::ConsoleInfo;
#[cfg(test)]
use tally_client::live::FeedEvent;
#[cfg(test)]
use tally_client::recording_download::DownloadProgress;
#[cfg(test)]
use tally_client::settings::{ConsoleSettings, RemoteServer};
#[cfg(test)]
use tally_client::sync_loop::SyncStatus;

#[cfg(test)]
/// A `tauri::ipc::Channel<T>` argument, as the bindings name it.
pub struct ChannelOf<T>(std::marker::PhantomData<T>);

macro_rules! commands {
    ($( ($($module:ident)::+) $name:ident { $($arg:ident : $ty:ty),* $(,)? } -> $ret:ty; )*) => {
        /// The handler of every command in the table.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$(crate::$($module)::+::$name),*]
        }

        #[cfg(test)]
        /// The table as TypeScript: `Commands[name]` gives a command's arguments and answer.
        pub fn typescript() -> String {
            let cfg = ts_rs::Config::new().with_large_int("number");
            let mut entries = Vec::new();
            $(
                let args: Vec<(&str, String)> = vec![$((stringify!($arg), <$ty as Typed>::ts(&cfg))),*];
                entries.push((stringify!($name), args, <$ret as Typed>::ts(&cfg)));
            )*
            render(&entries)
        }
    };
}

commands! {
    (locale) system_locale {} -> Option<String>;
    (library) search_recordings { query: SearchQuery, lang: Lang } -> Page;
    (library) library_status { lang: Lang } -> LibraryStatus;
    (library::sync) sync_status {} -> SyncStatus;
    (library::sync) sync_now {} -> ();
    (library::detail) recording_callbacks { server_id: i64, file_id: String, lang: Lang } -> Vec<CallbackAttempt>;
    (library::detail) open_recording { server_id: i64, file_id: String, lang: Lang } -> ();
    (library::detail) play_url { server_id: i64, file_id: String, lang: Lang } -> String;
    (library::detail) thumbnail_url { server_id: i64, file_id: String, lang: Lang } -> String;
    (library::detail) reveal_recording { server_id: i64, file_id: String, lang: Lang } -> ();
    (library::downloads) download_recording {
        server_id: i64, file_id: String, on_progress: ChannelOf<DownloadProgress>, lang: Lang,
    } -> String;
    (library::export) export_recordings { query: SearchQuery, lang: Lang } -> String;
    (live) console_info {} -> ConsoleInfo;
    (live) join_room { room_id: String, user_id: String, lang: Lang } -> Membership;
    (live) start_recording {
        room_id: String, user_id: String, source: Source, record_type: RecordType,
        file_name: String, tags: Vec<String>, lang: Lang,
    } -> RecordResponse;
    (live) stop_recording { room_id: String, user_id: String, source: Source, lang: Lang } -> RecordResponse;
    (live) stream_preview { stream_code: String, lang: Lang } -> String;
    (feed) watch_events { on_event: ChannelOf<FeedEvent> } -> ();
    (settings) server_settings {} -> ConsoleSettings;
    (settings) set_server { remote: Option<RemoteServer>, lang: Lang } -> ConsoleInfo;
    (usage) usage { month: String, lang: Lang } -> Usage;
}

/// A type as the bindings write it.
#[cfg(test)]
trait Typed {
    fn ts(cfg: &ts_rs::Config) -> String;
}

#[cfg(test)]
impl<T: ts_rs::TS> Typed for T {
    fn ts(cfg: &ts_rs::Config) -> String {
        match T::name(cfg).as_str() {
            "null" => "void".to_owned(), // `()`: the command answers nothing
            name => name.to_owned(),
        }
    }
}

#[cfg(test)]
impl<T: ts_rs::TS> ts_rs::TS for ChannelOf<T> {
    type WithoutGenerics = Self;
    type OptionInnerType = Self;
    fn name(cfg: &ts_rs::Config) -> String {
        format!("Channel<{}>", T::name(cfg))
    }
    fn inline(cfg: &ts_rs::Config) -> String {
        Self::name(cfg)
    }
}

#[cfg(test)]
fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        match (c, upper) {
            ('_', _) => upper = true,
            (c, true) => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            (c, false) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
type Entry<'a> = (&'a str, Vec<(&'a str, String)>, String);

#[cfg(test)]
fn render(entries: &[Entry<'_>]) -> String {
    // Every type named that is not TypeScript's own comes from its generated file.
    const BUILT_IN: [&str; 9] = [
        "string",
        "number",
        "boolean",
        "null",
        "void",
        "Array",
        "Channel",
        "Record",
        "undefined",
    ];
    let mut types = std::collections::BTreeSet::new();
    for (_, args, answer) in entries {
        for ty in args.iter().map(|(_, t)| t).chain([answer]) {
            for word in ty.split(|c: char| !c.is_ascii_alphanumeric() && c != '_') {
                if word.starts_with(|c: char| c.is_ascii_uppercase()) && !BUILT_IN.contains(&word) {
                    types.insert(word.to_owned());
                }
            }
        }
    }
    let mut ts = String::from(
        "// Generated from src-tauri/src/commands.rs (`TALLY_WRITE_BINDINGS=1 cargo nextest run -p tally command_bindings`). Do not edit.\n\n\
         import type { Channel } from \"@tauri-apps/api/core\";\n",
    );
    for ty in &types {
        ts.push_str(&format!("import type {{ {ty} }} from \"./{ty}\";\n"));
    }
    ts.push_str("\n/** Every command of the console: its arguments and its answer. */\nexport interface Commands {\n");
    for (name, args, answer) in entries {
        let args: Vec<String> = args
            .iter()
            .map(|(arg, ty)| format!("{}: {ty}", camel(arg)))
            .collect();
        let args = match args.is_empty() {
            true => "{}".to_owned(),
            false => format!("{{ {} }}", args.join("; ")),
        };
        ts.push_str(&format!(
            "  {name}: {{ args: {args}; answer: {answer} }};\n"
        ));
    }
    ts.push_str("}\n");
    ts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_bindings_are_current() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/bindings/commands.ts");
        let generated = typescript();
        if std::env::var_os("TALLY_WRITE_BINDINGS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "ui/src/bindings/commands.ts is stale: run TALLY_WRITE_BINDINGS=1 cargo nextest run -p tally command_bindings"
        );
    }

    #[test]
    fn arguments_are_named_as_the_window_sends_them() {
        assert_eq!(camel("server_id"), "serverId");
        assert_eq!(camel("on_progress"), "onProgress");
        assert_eq!(camel("lang"), "lang");
    }
}
