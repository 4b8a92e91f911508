//! `docs/reference.md`: every command, flag, `tally.toml` key and metric, generated from the
//! clap definitions and the metrics renderer so that it cannot drift from them (a test compares
//! the file with this output; `TALLY_BLESS=1` rewrites it).

use std::fmt::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::metrics;

/// The whole generated reference.
pub fn markdown() -> String {
    let mut out = String::from(
        "# tally-server reference\n\n\
         <!-- Generated from the code (src-tauri/crates/server/src/reference.rs); do not edit.\n     \
         Regenerate: TALLY_BLESS=1 cargo test -p tally-server --lib reference -->\n\n\
         The operator's guide (callbacks, storage layout, backup, upgrades) is\n\
         [operations.md](operations.md).\n\n",
    );
    commands(&mut out);
    settings(&mut out);
    endpoints(&mut out);
    metric_table(&mut out);
    out
}

fn commands(out: &mut String) {
    let cli = Cli::command();
    let _ = writeln!(out, "## Commands\n\n| command | what it does |\n|---|---|");
    for sub in cli.get_subcommands() {
        let about = sub
            .get_long_about()
            .or(sub.get_about())
            .map(|s| s.to_string());
        let _ = writeln!(
            out,
            "| `tally-server {}` | {} |",
            sub.get_name(),
            cell(&about.unwrap_or_default())
        );
    }
    let _ = writeln!(
        out,
        "| `tally-server --version` | Prints the version. |\n\n\
         Exit status: 0 on success (for `serve`, after a clean stop on SIGTERM or Ctrl-C), 1 when \
         the settings are wrong or the service cannot start (the reason is printed on stderr).\n"
    );
}

fn settings(out: &mut String) {
    let cli = Cli::command();
    let serve = cli.find_subcommand("serve").expect("serve subcommand");
    let _ = writeln!(
        out,
        "## Settings\n\n\
         `serve` and `check-config` take the same flags. Each is also a key of the `tally.toml` \
         given with `--config` (flags win over the file, the file over the defaults); a key the \
         service does not know is an error. A repeatable flag is a list in the file. \
         `packaging/tally.toml` is a commented sample; `tally-server check-config` shows what a \
         configuration resolves to.\n\n\
         | flag | `tally.toml` key | environment | default | meaning |\n|---|---|---|---|---|"
    );
    for arg in serve.get_arguments().filter(|a| a.get_long().is_some()) {
        let id = arg.get_id().as_str();
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        let (meaning, default) = split_default(&help);
        let repeat = matches!(arg.get_action(), clap::ArgAction::Append);
        let value = arg
            .get_value_names()
            .and_then(|v| v.first())
            .map(|v| format!(" <{v}>"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| `--{}{}`{} | {} | {} | {} | {} |",
            arg.get_long().unwrap_or_default(),
            value,
            if repeat { " (repeatable)" } else { "" },
            if id == "config" {
                "—".to_owned()
            } else {
                format!("`{id}`")
            },
            arg.get_env()
                .map(|e| format!("`{}`", e.to_string_lossy()))
                .unwrap_or_default(),
            cell(default.unwrap_or("")),
            cell(meaning),
        );
    }
    out.push('\n');
}

fn endpoints(out: &mut String) {
    out.push_str(
        "## Endpoints for operators\n\n\
         | endpoint | token | answer |\n|---|---|---|\n\
         | `GET /healthz` | no | `ok` once the service is serving |\n\
         | `GET /v1/version` | yes, when set | `{\"name\":\"tally-server\",\"version\":\"…\"}` |\n\
         | `GET /metrics` | yes, when set | the metrics below |\n\
         | `GET /v1/openapi.json` | no | the OpenAPI document of every route |\n\n",
    );
}

/// "text [default: x]" → ("text", Some("x")).
fn split_default(help: &str) -> (&str, Option<&str>) {
    match help.rsplit_once("[default: ") {
        Some((text, rest)) => (text.trim_end(), rest.strip_suffix(']')),
        None => (help, None),
    }
}

fn metric_table(out: &mut String) {
    let _ = writeln!(
        out,
        "## Metrics\n\n\
         `GET /metrics` (Prometheus text format 0.0.4; behind the API token when one is set), \
         computed at each scrape.\n\n| metric | type | labels | meaning |\n|---|---|---|---|"
    );
    let text = metrics::render(&metrics::Snapshot::default());
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((name, help)) = line.strip_prefix("# HELP ").and_then(|l| l.split_once(' '))
        else {
            continue;
        };
        let kind = lines
            .next()
            .and_then(|l| l.strip_prefix(&format!("# TYPE {name} ")))
            .unwrap_or("")
            .to_owned();
        let mut labels = Vec::new();
        while let Some(sample) = lines.next_if(|l| !l.starts_with('#')) {
            if let Some(set) = sample.strip_prefix(name).and_then(|s| s.split(' ').next()) {
                if !set.is_empty() {
                    labels.push(format!("`{set}`"));
                }
            }
        }
        let _ = writeln!(
            out,
            "| `{name}` | {kind} | {} | {} |",
            labels.join(" "),
            cell(help)
        );
    }
}

/// Text made safe for one Markdown table cell.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FileConfig, ServerConfig};

    #[test]
    fn reference_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../docs/reference.md");
        let want = markdown();
        if std::env::var_os("TALLY_BLESS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/reference.md is stale: run TALLY_BLESS=1 cargo test -p tally-server --lib reference"
        );
    }

    /// Every `tally.toml` key has a flag of the same name, and every flag but --config a key.
    #[test]
    fn every_setting_is_both_a_flag_and_a_key() {
        let mut all = ServerConfig::from_file(FileConfig::default())
            .unwrap()
            .resolved();
        all.token = Some("t".into());
        all.token_file = Some("f".into());
        all.push_key = Some("p".into());
        all.callback_key = Some("c".into());
        // The bucket's keys are unset without a bucket.
        for key in [
            &mut all.s3_bucket,
            &mut all.s3_endpoint,
            &mut all.s3_region,
            &mut all.s3_access_key_id,
            &mut all.s3_secret_access_key,
            &mut all.s3_public_url,
        ] {
            *key = Some("s".into());
        }
        (all.retention_days, all.retention_max_gb) = (Some(1.0), Some(1.0));
        let toml::Value::Table(table) = toml::Value::try_from(&all).unwrap() else {
            panic!("not a table")
        };
        let mut keys: Vec<String> = table.keys().cloned().collect();
        let cli = Cli::command();
        let serve = cli.find_subcommand("serve").unwrap();
        let mut flags: Vec<String> = serve
            .get_arguments()
            .filter(|a| a.get_long().is_some())
            .map(|a| a.get_id().to_string())
            .filter(|id| id != "config")
            .collect();
        keys.sort();
        flags.sort();
        assert_eq!(keys, flags);
        // And every key is documented with its meaning.
        let doc = markdown();
        for key in &keys {
            assert!(
                doc.contains(&format!("| `{key}` |")),
                "{key} is not in the reference"
            );
        }
    }

    #[test]
    fn every_metric_is_documented() {
        let doc = markdown();
        let text = metrics::render(&metrics::Snapshot::default());
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# HELP "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        assert!(names.len() >= 6);
        for name in names {
            assert!(
                doc.contains(&format!("| `{name}` | gauge |")),
                "{name} undocumented"
            );
        }
    }

    #[test]
    fn a_default_is_split_from_its_meaning() {
        assert_eq!(
            split_default("Open at most [default: 2048]"),
            ("Open at most", Some("2048"))
        );
        assert_eq!(split_default("No default"), ("No default", None));
    }
}
