//! The Tally recording service: drives the media engine, indexes every finished file in
//! SQLite, delivers signed callbacks from a durable outbox, and serves queries and downloads
//! over HTTP. Used by the `tally-server` binary and embedded by the desktop console.

pub mod access;
pub mod bucket;
pub mod callback;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod data_lock;
pub mod events;
pub mod facts;
pub mod http;
pub mod http_serve;
pub mod ids;
pub mod index;
pub mod indexer;
pub mod metrics;
pub mod node_work;
pub mod openapi;
pub mod outbox;
pub mod queue_loop;
pub mod rebuild;
pub mod reconcile;
pub mod record_task;
pub mod reference;
pub mod retention;
pub mod rooms;
pub mod rooms_api;
pub mod signing;
pub mod storage;
pub mod upload_queue;
pub mod urls;
pub mod usage;
pub mod vod;

use std::net::SocketAddr;
use std::sync::Arc;

use tally_media::{Engine, EngineConfig};
use tokio::task::JoinHandle;

pub use config::{ConfigError, FileConfig, ServerConfig};

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    DataDir(#[from] data_lock::LockError),
    #[error(transparent)]
    Index(#[from] index::IndexError),
    #[error(transparent)]
    Cluster(#[from] cluster::ClusterError),
    #[error("media engine: {0}")]
    Engine(#[from] tally_media::EngineError),
    #[error("URL signing key in {0}: {1}")]
    Signing(std::path::PathBuf, #[source] std::io::Error),
    #[error("bucket: {0}")]
    Bucket(#[from] object_store::Error),
    #[error("HTTP listener on {0}: {1}")]
    Http(SocketAddr, #[source] std::io::Error),
}

/// How long shutdown waits for the last files to be indexed.
const FACTS_DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long shutdown waits for HTTP requests in flight.
const HTTP_DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A running service.
pub struct Server {
    engine: Arc<Engine>,
    http_addr: SocketAddr,
    http_task: JoinHandle<()>,
    facts: facts::FactsHandle,
    events: events::EventHub,
    cluster: Option<cluster::Cluster>,
    /// This node's outbox and upload queue.
    work: node_work::NodeWork,
    /// Indexing what only the bucket knows of, when the index holds nothing of it.
    rebuild: Option<JoinHandle<()>>,
    _owner: data_lock::DataDirLock,
}

impl Server {
    /// Takes the data dir, opens the index (rebuilding a damaged one), starts the engine
    /// (finalizing leftovers of a crash first), reconciles the index with the files on disk,
    /// and starts serving HTTP.
    pub async fn start(config: ServerConfig) -> Result<Server, StartError> {
        // With SQLite in the data dir, nothing is touched before the data dir is ours. With
        // PostgreSQL, a node whose data dir an adopter still holds waits to get it back first.
        let local_owner = match config.index_url {
            None => Some(data_lock::DataDirLock::acquire(&config.data_dir)?),
            Some(_) => None,
        };
        http_serve::raise_fd_limit();
        let clock = config.clock.clone();
        let (index, _) = index::Index::open_at(
            &config.data_dir,
            config.index_url.as_deref(),
            clock.now_ms(),
        )
        .await?;
        let listener = tokio::net::TcpListener::bind(config.http_addr)
            .await
            .map_err(|e| StartError::Http(config.http_addr, e))?;
        let http_addr = listener
            .local_addr()
            .map_err(|e| StartError::Http(config.http_addr, e))?;
        let base = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{http_addr}"));
        let cluster = match index.backend() {
            index::Backend::Postgres => {
                Some(cluster::Cluster::join(&index, &config.data_dir, &base, clock.now_ms()).await?)
            }
            index::Backend::Sqlite => None,
        };
        let owner = match local_owner {
            Some(owner) => owner,
            None => data_lock::DataDirLock::acquire(&config.data_dir)?,
        };
        let index = cluster.as_ref().map_or(index, |c| c.index().clone());
        // New ids stay above every id held, whatever the clock says now.
        tally_media::ids::raise_floor(index.max_file_id().await?);
        let mut signer = signing::UrlSigner::for_data_dir(&config.data_dir)
            .map_err(|e| StartError::Signing(config.data_dir.clone(), e))?;
        if cluster.is_some() {
            // Every node signs with one key, so a link one gives out opens on the others.
            signer = signer.shared_through(&index).await?;
        }
        let bucket = config
            .bucket
            .as_ref()
            .map(bucket::Bucket::open)
            .transpose()?;
        let urls =
            urls::Urls::new(&base, signer.clone(), clock.clone()).with_bucket(bucket.clone());

        let rooms = rooms::RoomBook::open(index.clone(), config.bizid).await?;
        let mut engine_config = EngineConfig::new(&config.data_dir);
        engine_config.instant_start = rooms.instant_start();
        if let Some(cluster) = &cluster {
            engine_config.stream_leases = tally_media::StreamLeases::from(cluster.leases());
        }
        engine_config.rtmp_addr = config.rtmp_addr;
        engine_config.srt_addr = config.srt_addr;
        engine_config.push_key = config.push_key.clone();
        engine_config.default_formats = config.default_formats;
        engine_config.idle_timeout = config.idle_timeout;
        engine_config.free_space_reserve = config.free_space_reserve;
        engine_config.posters = config.posters;
        engine_config.clock = clock.clone();
        engine_config.max_connections = config.max_rtmp_connections;
        engine_config.publisher_buffer_bytes = config.media_buffer_bytes;
        engine_config.recorder_buffer_bytes = config.media_buffer_bytes;
        let engine = Arc::new(Engine::start(engine_config).await?);
        let engine_facts = engine
            .take_facts()
            .expect("a new engine's facts are untaken");
        let live_events = events::EventHub::new(&config.data_dir);
        live_events.follow(engine.subscribe());

        let work_settings = node_work::WorkSettings {
            bucket: bucket.clone(),
            urls: urls.clone(),
            callback_url: config.callback_url.clone(),
            callback_key: config.callback_key.clone(),
            appid: config.appid,
            events: live_events.clone(),
            clock: clock.clone(),
        };
        let (work, _) =
            node_work::NodeWork::start(&work_settings, index.clone(), &config.data_dir).await?;
        let indexer = work.indexer.clone();
        let rebuild = bucket.as_ref().map(|bucket| {
            tokio::spawn(rebuild::rebuild_from_bucket_durably(
                indexer.clone(),
                bucket.clone(),
            ))
        });
        if bucket.is_none() {
            let stranded = index.forget_bucket(clock.now_ms()).await?;
            indexer.outbox.wake();
            if stranded > 0 {
                tracing::error!(stranded, "recordings are in a bucket but no bucket is configured (s3_bucket): their links do not open until it is configured again");
            }
        }
        retention::start(
            index.clone(),
            bucket.clone(),
            config.data_dir.clone(),
            config.retention,
            clock,
        );
        if let Some(cluster) = &cluster {
            cluster.adopt_departed(work_settings);
        }
        let tasks = record_task::RecordTasks::new(engine.clone(), indexer.clone());
        let facts = facts::spawn(engine_facts, indexer, tasks.clone());

        let state = http::AppState {
            rooms,
            index,
            urls,
            tasks,
            bizid: config.bizid,
            push_key: config.push_key.clone(),
            ingest: rooms::IngestBases {
                rtmp: format!("rtmp://{}", engine.rtmp_addr()),
                srt: engine.srt_addr().map(|a| format!("srt://{a}")),
            },
            events: live_events.clone(),
            data_dir: config.data_dir.clone(),
            engine: engine.clone(),
            bucket: bucket.clone(),
        };
        let policy = access::AccessPolicy {
            token: config.token.clone(),
            allowed_hosts: config.allowed_hosts.clone(),
        };
        let vod = vod::VodState {
            policy: policy.clone(),
            signer,
            clock: config.clock.clone(),
            root: config.data_dir.join("vod"),
            cors_origins: config.vod_cors_origins.clone(),
            bucket,
        };
        let app = http::router(state, policy, vod);
        let stopping = live_events.closed();
        let limits = config.http_limits;
        let http_task = tokio::spawn(http_serve::serve(listener, app, limits, stopping));
        Ok(Server {
            engine,
            http_addr,
            http_task,
            facts,
            events: live_events,
            cluster,
            work,
            rebuild,
            _owner: owner,
        })
    }

    /// Resolves when this node has lost its hold on the shared index (the connection holding
    /// its locks failed): another node may take up its work, so its outbox and upload queue
    /// have stopped by then, and it must shut down. Never resolves for a server on SQLite.
    pub async fn lost(&self) {
        match &self.cluster {
            Some(cluster) => {
                cluster.lost().await;
                self.work.stop().await;
            }
            None => std::future::pending().await,
        }
    }

    /// Where the HTTP API listens.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Where publishers push RTMP.
    pub fn rtmp_addr(&self) -> SocketAddr {
        self.engine.rtmp_addr()
    }

    /// Where publishers push SRT, when SRT ingest is on.
    pub fn srt_addr(&self) -> Option<SocketAddr> {
        self.engine.srt_addr()
    }

    /// Finalizes every open file, then stops serving. Files closed here are indexed before
    /// this returns.
    pub async fn shutdown(self) {
        if let Some(rebuild) = &self.rebuild {
            // Its rows go in one transaction: stopped, it runs again at the next start.
            rebuild.abort();
        }
        // The engine sends a file's fact before its shutdown returns, so once it has returned
        // the facts channel holds every file still to index.
        self.engine.shutdown().await;
        self.facts.drain_and_stop(FACTS_DRAIN_LIMIT).await;
        // Event streams end, requests in flight finish, idle connections close: a client
        // holding a keep-alive connection learns the server is gone.
        self.events.close();
        let mut http_task = self.http_task;
        if tokio::time::timeout(HTTP_DRAIN_LIMIT, &mut http_task)
            .await
            .is_err()
        {
            tracing::warn!("HTTP connections did not close in time; dropping them");
            http_task.abort();
        }
    }
}
