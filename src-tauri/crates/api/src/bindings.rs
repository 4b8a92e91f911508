//! Generates the UI's TypeScript bindings (`ui/src/bindings`) and the error table as JSON.

use std::collections::BTreeMap;
use std::path::Path;

use ts_rs::{Config, ExportError, TS};

use crate::error::{error_rows, ApiError, ErrorRow, ErrorTexts, Lang};
use crate::events::{EndReason, LiveEvent, SegmentStatus, StreamState, TaskPhase, TaskState};
use crate::recordings::{CallbackAttempt, CallbackState, FileFormat, Recording, RecordingPage};
use crate::rooms::{
    CreateRoom, JoinRoom, Membership, PushUrl, RecordRequest, RecordResponse, RecordType, Room,
    RoomKind, Source,
};
use crate::usage::{DayUsage, Usage};

/// Generated files by name. Other crates add their own wire types to the same set.
#[derive(Default)]
pub struct Bindings {
    cfg: Config,
    files: BTreeMap<String, String>,
}

impl Bindings {
    /// An empty set; 64-bit integers are plain `number`s (unix ms and sizes fit in 2^53).
    pub fn new() -> Bindings {
        Bindings {
            cfg: Config::new().with_large_int("number"),
            files: BTreeMap::new(),
        }
    }

    /// Adds `T` as `<T's name>.ts`.
    pub fn add<T: TS + 'static + ?Sized>(&mut self) -> Result<&mut Bindings, ExportError> {
        let name = format!("{}.ts", T::ident(&self.cfg));
        let ts = T::export_to_string(&self.cfg)?;
        self.files.insert(name, ts);
        Ok(self)
    }

    /// Adds a file with the given content.
    pub fn insert(&mut self, name: &str, content: String) -> &mut Bindings {
        self.files.insert(name.to_owned(), content);
        self
    }

    /// The files.
    pub fn files(&self) -> &BTreeMap<String, String> {
        &self.files
    }

    /// Writes every file into `dir`.
    pub fn write_all(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (name, content) in &self.files {
            std::fs::write(dir.join(name), content)?;
        }
        Ok(())
    }

    /// The names of files in `dir` whose content differs from what is generated now.
    pub fn stale_in(&self, dir: &Path) -> Vec<String> {
        self.files
            .iter()
            .filter(|(name, content)| {
                std::fs::read_to_string(dir.join(name)).ok().as_ref() != Some(*content)
            })
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// This crate's bindings: the error types and the error table.
pub fn generate() -> Result<Bindings, ExportError> {
    let mut b = Bindings::new();
    b.add::<ApiError>()?
        .add::<Lang>()?
        .add::<ErrorRow>()?
        .add::<ErrorTexts>()?
        .add::<Recording>()?
        .add::<FileFormat>()?
        .add::<CallbackState>()?
        .add::<RecordingPage>()?
        .add::<CallbackAttempt>()?
        .add::<RoomKind>()?
        .add::<CreateRoom>()?
        .add::<Room>()?
        .add::<JoinRoom>()?
        .add::<Source>()?
        .add::<PushUrl>()?
        .add::<Membership>()?
        .add::<RecordType>()?
        .add::<RecordRequest>()?
        .add::<RecordResponse>()?
        .add::<Usage>()?
        .add::<DayUsage>()?
        .add::<LiveEvent>()?
        .add::<StreamState>()?
        .add::<TaskState>()?
        .add::<TaskPhase>()?
        .add::<EndReason>()?
        .add::<SegmentStatus>()?;
    let table = serde_json::to_string_pretty(&error_rows()).expect("the table serializes");
    b.insert("errorTable.json", format!("{table}\n"));
    Ok(b)
}
