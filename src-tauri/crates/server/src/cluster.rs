//! Several servers ("nodes") over one PostgreSQL index and one bucket. Each node has its own
//! data dir and node id (kept in `<data>/node-id`), records the streams published to it, and
//! runs its own outbox and upload queue over the files on its disk (`node_work.rs`). Any node's
//! API answers for every recording: they share the index.
//!
//! PostgreSQL's session advisory locks, all held on one connection of the node's, do the rest
//! (no consensus of our own). Each node has two:
//! - its *alive* lock, taken first at start and held while it runs: a second process with the
//!   same node id does not start, and a node whose connection is gone (killed, crashed, cut
//!   off) has let go;
//! - its *work* lock (its outbox, upload queue and files), held by it, or by the one node that
//!   adopted it while it was gone;
//!
//! and a lease per stream code it has live, so that one code is never live on two nodes.
//! Every [`ADOPT_EVERY`], each node tries the work locks of the others: taking one whose alive
//! lock is free too means that node is gone, and makes the taker its one adopter. The adopter
//! finalizes the departed node's leftover files (when its data dir is reachable from here),
//! indexes them, and runs its outbox and upload queue until the node is alive again; then it
//! hands the work lock back, which the node waits for at start.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use md5::{Digest, Md5};
use sqlx::AnyConnection;
use tally_media::{LeaseStreams, LeaseTaken, StreamLease};
use tokio::sync::{Mutex, Notify};

use crate::data_lock::DataDirLock;
use crate::index::{Index, IndexError, NodeRow};
use crate::node_work::{NodeWork, WorkSettings};

/// Nodes an index can have had: each takes a lane of the file id space (`ids.rs`), 10 ids per
/// millisecond.
pub const LANES: u64 = 100;

/// How often a node looks for departed nodes (and for adopted ones that are back). A node's
/// leftovers are taken up within about this long after PostgreSQL notices its connection is
/// gone: at once for a killed process (its socket closes), after TCP keepalive for a machine
/// that vanished.
pub const ADOPT_EVERY: Duration = Duration::from_secs(2);

/// Why a node cannot join.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("the node id in {0}: {1}")]
    NodeId(PathBuf, #[source] std::io::Error),
    #[error("the data dir {dir} is in use by another Tally process (node {node} is running elsewhere); stop it or use another data dir")]
    InUse { node: String, dir: PathBuf },
    #[error("{LANES} nodes have joined this index already: remove the rows of departed nodes from its `nodes` table")]
    Full,
}

/// This node's place in the cluster.
#[derive(Clone)]
pub struct Cluster {
    index: Index,
    locks: Arc<Locks>,
}

/// How long a query on the lock connection may take. Longer, and the connection is taken for
/// lost (a half-open socket would otherwise hang until TCP gives up, while PostgreSQL frees
/// the locks after its keepalive).
const LOCK_QUERY_LIMIT: Duration = Duration::from_secs(10);

/// The connection that holds every advisory lock of this node.
struct Locks {
    conn: Mutex<AnyConnection>,
    /// Set, and told, when the connection failed: the locks are gone with it.
    lost: Notify,
    is_lost: AtomicBool,
}

impl Locks {
    async fn run(&self, sql: &'static str, key: i64) -> Result<bool, IndexError> {
        if self.is_lost.load(Ordering::SeqCst) {
            return Err(IndexError::Db(sqlx::Error::PoolClosed));
        }
        let query = async {
            let mut conn = self.conn.lock().await;
            sqlx::query_scalar(sql)
                .bind(key)
                .fetch_one(&mut *conn)
                .await
        };
        let failed = |err: sqlx::Error| {
            self.is_lost.store(true, Ordering::SeqCst);
            self.lost.notify_one();
            IndexError::from(err)
        };
        match tokio::time::timeout(LOCK_QUERY_LIMIT, query).await {
            Ok(result) => result.map_err(failed),
            Err(_) => Err(failed(sqlx::Error::PoolTimedOut)),
        }
    }

    async fn try_lock(&self, key: i64) -> Result<bool, IndexError> {
        self.run("SELECT pg_try_advisory_lock($1)", key).await
    }

    async fn unlock(&self, key: i64) -> Result<bool, IndexError> {
        self.run("SELECT pg_advisory_unlock($1)", key).await
    }

    /// Whether the connection (and with it every lock) is still there.
    async fn check(&self) -> Result<bool, IndexError> {
        self.run("SELECT $1 IS NOT NULL", 0).await
    }
}

/// The advisory lock key of `name` of `kind` (a node, a stream code).
fn lock_key(kind: &str, name: &str) -> i64 {
    let digest = Md5::digest(format!("tally:{kind}:{name}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("16 bytes"))
}

/// The node id of `data_dir`, made on first use.
fn node_id_of(data_dir: &Path) -> std::io::Result<String> {
    let path = data_dir.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_owned()),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::create_dir_all(data_dir)?;
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(std::io::Error::other)?;
    let id = format!("node-{}", hex::encode(random));
    let tmp = data_dir.join("node-id.tmp");
    std::fs::write(&tmp, format!("{id}\n"))?;
    std::fs::rename(&tmp, &path)?;
    Ok(id)
}

impl Cluster {
    /// Joins the nodes of `index` (PostgreSQL) as the node of `data_dir`, whose API answers at
    /// `base_url`. Waits while an adopter still runs this node's work, until it hands it back.
    pub async fn join(
        index: &Index,
        data_dir: &Path,
        base_url: &str,
        now_ms: i64,
    ) -> Result<Cluster, ClusterError> {
        let node_id =
            node_id_of(data_dir).map_err(|e| ClusterError::NodeId(data_dir.to_path_buf(), e))?;
        let index = index.as_node(&node_id);
        let dir = data_dir.display().to_string();
        let conn = index
            .pool()
            .acquire()
            .await
            .map_err(IndexError::from)?
            .detach();
        let locks = Arc::new(Locks {
            conn: Mutex::new(conn),
            lost: Notify::new(),
            is_lost: AtomicBool::new(false),
        });
        // An adopter holds the alive lock only for a moment, to test it; a process that keeps
        // it is this node, running already.
        let mut tries = 0;
        while !locks.try_lock(lock_key("alive", &node_id)).await? {
            tries += 1;
            if tries == 5 {
                return Err(ClusterError::InUse {
                    node: node_id,
                    dir: data_dir.to_path_buf(),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let me = index
            .register_node(&dir, base_url.trim_end_matches('/'), LANES as i64, now_ms)
            .await?
            .ok_or(ClusterError::Full)?;
        let mut told = false;
        while !locks.try_lock(lock_key("work", &node_id)).await? {
            if let (false, Some(adopter)) = (
                told,
                index.node_row(&node_id).await?.and_then(|n| n.adopted_by),
            ) {
                tracing::info!(node = %node_id, %adopter, "this node's work is being finished by another node; waiting for it to hand it back");
                told = true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        index.claim_unowned().await?;
        tally_media::ids::use_lane(me.lane as u64, LANES);
        tracing::info!(node = %node_id, lane = me.lane, "joined the nodes sharing the index");
        Ok(Cluster { index, locks })
    }

    /// The index, working for this node.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Stream leases for the engine.
    pub fn leases(&self) -> Arc<dyn LeaseStreams> {
        Arc::new(StreamLocks(self.locks.clone()))
    }

    /// Resolves when the connection holding this node's locks has failed: its leases and its
    /// node lock are gone, and another node may take up its work. The node must stop.
    pub async fn lost(&self) {
        self.locks.lost.notified().await
    }

    /// Looks for departed nodes every [`ADOPT_EVERY`] and adopts them (see the module). Once
    /// this node has lost its locks, the work it adopted stops at once: another node may take
    /// it up.
    pub fn adopt_departed(&self, settings: WorkSettings) {
        let cluster = self.clone();
        tokio::spawn(async move {
            let mut adopted: HashMap<String, Adopted> = HashMap::new();
            loop {
                if let Err(err) = cluster.adopt_round(&settings, &mut adopted).await {
                    tracing::warn!(%err, "looking for departed nodes failed; trying again");
                }
                if cluster.locks.is_lost.load(Ordering::SeqCst) {
                    for (_, held) in adopted.drain() {
                        held.work.stop().await;
                    }
                    return;
                }
                tokio::time::sleep(ADOPT_EVERY).await;
            }
        });
    }

    async fn adopt_round(
        &self,
        settings: &WorkSettings,
        adopted: &mut HashMap<String, Adopted>,
    ) -> Result<(), IndexError> {
        self.locks.check().await?;
        let nodes = self.index.nodes().await?;
        for node in nodes.iter().filter(|n| n.node_id != self.index.node()) {
            // One node's trouble holds up no other's hand-back.
            if let Err(err) = self.look_after(settings, adopted, node).await {
                tracing::warn!(node = %node.node_id, %err, "looking after a node failed; trying again");
            }
        }
        Ok(())
    }

    /// Adopts `node` when it is gone, or hands its work back when it is alive again.
    async fn look_after(
        &self,
        settings: &WorkSettings,
        adopted: &mut HashMap<String, Adopted>,
        node: &NodeRow,
    ) -> Result<(), IndexError> {
        let held = adopted.contains_key(&node.node_id);
        if !held && !self.locks.try_lock(lock_key("work", &node.node_id)).await? {
            return Ok(()); // it runs, or another node has adopted it
        }
        // Its work is ours (still, or just now): is it alive?
        if self
            .locks
            .try_lock(lock_key("alive", &node.node_id))
            .await?
        {
            self.locks.unlock(lock_key("alive", &node.node_id)).await?;
            if !held {
                match self.adopt(settings, node).await {
                    Ok(work) => {
                        adopted.insert(node.node_id.clone(), work);
                    }
                    Err(err) => {
                        self.locks.unlock(lock_key("work", &node.node_id)).await?;
                        return Err(err);
                    }
                }
            }
        } else if let Some(work) = adopted.remove(&node.node_id) {
            self.hand_back(node, work).await?;
        } else {
            // It is starting, and waits for its work lock.
            self.locks.unlock(lock_key("work", &node.node_id)).await?;
        }
        Ok(())
    }

    /// Takes up the work of `node`, whose lock this node now holds.
    async fn adopt(&self, settings: &WorkSettings, node: &NodeRow) -> Result<Adopted, IndexError> {
        self.index.set_adopted(&node.node_id, true).await?;
        let theirs = self.index.as_node(&node.node_id);
        let dir = PathBuf::from(&node.data_dir);
        // Its disk, when it is reachable from here (the same path on another machine is
        // another disk: the node id in it tells) and nothing else holds it.
        let theirs_on_disk =
            std::fs::read_to_string(dir.join("node-id")).is_ok_and(|id| id.trim() == node.node_id);
        let disk = if theirs_on_disk {
            match DataDirLock::acquire(&dir) {
                Ok(lock) => Some(lock),
                Err(err) => {
                    tracing::warn!(node = %node.node_id, %err, "cannot take the departed node's data dir");
                    None
                }
            }
        } else {
            None
        };
        let work = if disk.is_some() {
            let scan = dir.clone();
            let recovered =
                tokio::task::spawn_blocking(move || tally_media::recovery::recover(&scan))
                    .await
                    .map(|r| r.segments.len())
                    .unwrap_or(0);
            let (work, reconciled) = NodeWork::start(settings, theirs, &dir).await?;
            tracing::info!(node = %node.node_id, recovered, indexed = reconciled.indexed, "adopted a departed node: finishing its files, uploads and callbacks");
            work
        } else {
            // Without its disk, only its callbacks can go out (their bodies are in the index);
            // its files wait for it to come back.
            let work = NodeWork::start_without_disk(settings, theirs);
            tracing::info!(node = %node.node_id, data_dir = %node.data_dir, "adopted a departed node whose data dir is not reachable here: sending its callbacks; its files wait for it");
            work
        };
        Ok(Adopted { work, _disk: disk })
    }

    /// `node` is alive again: its work goes back to it.
    async fn hand_back(&self, node: &NodeRow, held: Adopted) -> Result<(), IndexError> {
        held.work.stop().await;
        drop(held);
        self.locks.unlock(lock_key("work", &node.node_id)).await?;
        self.index.set_adopted(&node.node_id, false).await?;
        tracing::info!(node = %node.node_id, "handed a node's work back to it");
        Ok(())
    }
}

/// A departed node's work, run here until it is back.
struct Adopted {
    work: NodeWork,
    /// Its data dir, held as it would hold it.
    _disk: Option<DataDirLock>,
}

/// Stream leases as advisory locks on the node's lock connection. They are re-entrant on one
/// connection, so a second publisher of a code on the same node reaches the engine, which
/// decides as it always has.
struct StreamLocks(Arc<Locks>);

struct StreamLockGuard {
    locks: Arc<Locks>,
    key: i64,
}

impl Drop for StreamLockGuard {
    fn drop(&mut self) {
        let (locks, key) = (self.locks.clone(), self.key);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(err) = locks.unlock(key).await {
                    tracing::warn!(%err, "releasing a stream lease failed");
                }
            });
        }
    }
}

impl LeaseStreams for StreamLocks {
    fn take<'a>(&'a self, stream_code: &'a str) -> LeaseTaken<'a> {
        Box::pin(async move {
            let key = lock_key("stream", stream_code);
            match self.0.try_lock(key).await {
                Ok(true) => Ok(Box::new(StreamLockGuard {
                    locks: self.0.clone(),
                    key,
                }) as StreamLease),
                Ok(false) => Err(format!(
                    "stream {stream_code} is live on another node; publish there, or stop it first"
                )),
                Err(err) => Err(format!("the stream lease could not be taken: {err}")),
            }
        })
    }
}
