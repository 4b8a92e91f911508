//! What a node runs over its own data dir: the callback outbox, the upload queue and the
//! indexer that feeds them, once the index has been reconciled with the disk. A node runs it
//! for itself, and for a departed node it adopts (`cluster.rs`).

use std::path::Path;

use tally_media::SharedClock;

use crate::bucket::Bucket;
use crate::events::EventHub;
use crate::index::{Index, IndexError};
use crate::indexer::Indexer;
use crate::outbox::CallbackOutbox;
use crate::reconcile::{reconcile, Reconciled};
use crate::upload_queue::UploadQueue;
use crate::urls::Urls;

/// The settings every node's work shares.
#[derive(Clone)]
pub struct WorkSettings {
    pub bucket: Option<Bucket>,
    pub urls: Urls,
    pub callback_url: Option<String>,
    pub callback_key: String,
    pub appid: u64,
    pub events: EventHub,
    pub clock: SharedClock,
}

/// A node's running outbox and upload queue, and the indexer that feeds them.
#[derive(Clone)]
pub struct NodeWork {
    pub indexer: Indexer,
}

impl NodeWork {
    /// Starts the work of `index`'s node over `data_dir` and reconciles the index with it.
    pub async fn start(
        settings: &WorkSettings,
        index: Index,
        data_dir: &Path,
    ) -> Result<(NodeWork, Reconciled), IndexError> {
        let work = NodeWork::with_queues(settings, index, Some(data_dir));
        match reconcile(&work.indexer, data_dir).await {
            Ok(reconciled) => Ok((work, reconciled)),
            Err(err) => {
                work.stop().await;
                Err(err)
            }
        }
    }

    /// Only the outbox of `index`'s node, for a node whose disk is not reachable: its queued
    /// callbacks go out (their bodies are in the index), its files wait for it.
    pub fn start_without_disk(settings: &WorkSettings, index: Index) -> NodeWork {
        NodeWork::with_queues(settings, index, None)
    }

    /// The outbox, and the upload queue over `data_dir` when there is one.
    fn with_queues(settings: &WorkSettings, index: Index, data_dir: Option<&Path>) -> NodeWork {
        let outbox = CallbackOutbox::start(
            index.clone(),
            settings.callback_url.clone(),
            settings.callback_key.clone(),
            settings.events.clone(),
            settings.clock.clone(),
        );
        let uploads = match data_dir {
            Some(dir) => UploadQueue::start(
                settings.bucket.clone(),
                index.clone(),
                settings.urls.clone(),
                outbox.clone(),
                dir.to_path_buf(),
                settings.clock.clone(),
            ),
            None => UploadQueue::default(),
        };
        NodeWork {
            indexer: Indexer {
                index,
                outbox,
                uploads,
                urls: settings.urls.clone(),
                appid: settings.appid,
                callbacks_on: settings.callback_url.is_some(),
                events: settings.events.clone(),
                clock: settings.clock.clone(),
            },
        }
    }

    /// Stops the outbox and the upload queue, and waits for what they had in flight.
    pub async fn stop(&self) {
        self.indexer.outbox.stop().await;
        self.indexer.uploads.stop().await;
    }
}
