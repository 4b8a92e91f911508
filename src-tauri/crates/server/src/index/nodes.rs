//! The nodes sharing this index (`cluster.rs`): who they are, where their files are, and who
//! finishes a departed node's work.

use sqlx::Row;

use super::{Index, IndexError};

/// A node as the index knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    pub node_id: String,
    pub lane: i64,
    pub data_dir: String,
    pub started_ms: i64,
    pub base_url: String,
    pub adopted_by: Option<String>,
}

/// The advisory lock (transaction scope) that orders node registrations ("TALLYREG").
const REGISTRY_LOCK: i64 = 0x5441_4C4C_5952_4547;

impl Index {
    /// Registers this handle's node (or notes its new start): its lane is kept from an earlier
    /// start, or the first one free. `None` when all `lanes` are taken.
    pub async fn register_node(
        &self,
        data_dir: &str,
        base_url: &str,
        lanes: i64,
        now_ms: i64,
    ) -> Result<Option<NodeRow>, IndexError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(REGISTRY_LOCK)
            .execute(&mut *tx)
            .await?;
        let lane: Option<i64> = sqlx::query_scalar("SELECT lane FROM nodes WHERE node_id = $1")
            .bind(self.node())
            .fetch_optional(&mut *tx)
            .await?;
        let lane = match lane {
            Some(lane) => lane,
            None => {
                let used: Vec<i64> = sqlx::query_scalar("SELECT lane FROM nodes ORDER BY lane")
                    .fetch_all(&mut *tx)
                    .await?;
                match (0..lanes).find(|l| !used.contains(l)) {
                    Some(lane) => lane,
                    None => return Ok(None),
                }
            }
        };
        sqlx::query(
            "INSERT INTO nodes (node_id, lane, data_dir, started_ms, base_url)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (node_id) DO UPDATE SET data_dir = excluded.data_dir,
                started_ms = excluded.started_ms, base_url = excluded.base_url",
        )
        .bind(self.node())
        .bind(lane)
        .bind(data_dir)
        .bind(now_ms)
        .bind(base_url)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.node_row(self.node()).await
    }

    /// One node.
    pub async fn node_row(&self, node_id: &str) -> Result<Option<NodeRow>, IndexError> {
        Ok(self
            .nodes()
            .await?
            .into_iter()
            .find(|n| n.node_id == node_id))
    }

    /// Every node that has joined.
    pub async fn nodes(&self) -> Result<Vec<NodeRow>, IndexError> {
        let rows = sqlx::query(
            "SELECT node_id, lane, data_dir, started_ms, base_url, adopted_by FROM nodes
             ORDER BY node_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| NodeRow {
                node_id: r.get("node_id"),
                lane: r.get("lane"),
                data_dir: r.get("data_dir"),
                started_ms: r.get("started_ms"),
                base_url: r.get("base_url"),
                adopted_by: r.get("adopted_by"),
            })
            .collect())
    }

    /// Notes that this handle's node finishes `node_id`'s work (`Some`), or no longer does.
    pub async fn set_adopted(&self, node_id: &str, adopting: bool) -> Result<(), IndexError> {
        sqlx::query(
            "UPDATE nodes SET adopted_by = CASE WHEN $3 THEN $2 END
             WHERE node_id = $1 AND (adopted_by IS NULL OR adopted_by = $2 OR $3)",
        )
        .bind(node_id)
        .bind(self.node())
        .bind(adopting)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Rows, callbacks and uploads from before nodes existed (node '') become this node's.
    pub async fn claim_unowned(&self) -> Result<(), IndexError> {
        let mut tx = self.pool.begin().await?;
        for table in ["recordings", "callbacks", "uploads"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET node = $1 WHERE node = ''"
            )))
            .bind(self.node())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The value stored under `name` for every node, `proposed` when none was yet.
    pub async fn shared_key(&self, name: &str, proposed: &str) -> Result<String, IndexError> {
        sqlx::query("INSERT INTO shared_keys (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(name)
            .bind(proposed)
            .execute(&self.pool)
            .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM shared_keys WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
