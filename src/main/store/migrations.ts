/**
 * Versioned schema migrations. Each entry moves the store from version i to i+1 and runs in one
 * transaction; `PRAGMA user_version` records where a store is. Never edit a shipped migration: add one.
 */
export const MIGRATIONS: string[] = [
  // 1: projects, datasets, models, experiments, runs, metrics, artifacts
  `
  CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    built_in INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  );
  CREATE TABLE datasets (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    root TEXT NOT NULL,
    classes_json TEXT NOT NULL,
    report_json TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (project_id, name)
  );
  CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    arch TEXT NOT NULL,
    format TEXT NOT NULL,
    summary_json TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (project_id, name)
  );
  CREATE TABLE experiments (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  );
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'single',
    spec_json TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled','interrupted')),
    backend TEXT,
    owner_pid INTEGER,
    heartbeat_at TEXT,
    started_at TEXT,
    finished_at TEXT,
    best_epoch INTEGER,
    final_json TEXT,
    checkpoint_epoch INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    images_per_sec REAL,
    error TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  );
  CREATE INDEX runs_status ON runs(status);
  CREATE TABLE epoch_metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    train_loss REAL,
    lr_json TEXT NOT NULL,
    acc_json TEXT NOT NULL,
    seconds REAL,
    PRIMARY KEY (run_id, epoch)
  );
  CREATE TABLE batch_losses (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    loss REAL NOT NULL,
    PRIMARY KEY (run_id, step)
  );
  CREATE TABLE artifacts (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  );
  `,
  // 2: feature-distortion analysis per run, per-image similarities (indexed for galleries), robustness
  `
  CREATE TABLE analyses (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    json TEXT NOT NULL,
    computed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  );
  CREATE TABLE analysis_images (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    set_name TEXT NOT NULL,
    idx INTEGER NOT NULL,
    path TEXT NOT NULL,
    label INTEGER NOT NULL,
    cosine REAL NOT NULL,
    l2 REAL NOT NULL,
    pred_before INTEGER NOT NULL,
    pred_after INTEGER NOT NULL,
    PRIMARY KEY (run_id, set_name, idx)
  );
  CREATE INDEX analysis_images_rank ON analysis_images(run_id, set_name, label, cosine);
  CREATE TABLE robustness (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    json TEXT NOT NULL,
    computed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  );
  `,
  // 3: run health checks (shared/health.ts), written when a run ends
  `
  ALTER TABLE runs ADD COLUMN health_json TEXT;
  `,
  // 4: one catalog for both front doors (services/catalog.ts): content fingerprints of datasets and models (NULL =
  // registered without one: re-registering the same folder or file refreshes the entry), and further real paths
  // where a registered dataset's identical content also lives (its images are served from there too)
  `
  ALTER TABLE datasets ADD COLUMN fingerprint TEXT;
  ALTER TABLE models ADD COLUMN fingerprint TEXT;
  CREATE INDEX datasets_fingerprint ON datasets(project_id, fingerprint);
  CREATE INDEX models_fingerprint ON models(project_id, fingerprint);
  CREATE TABLE dataset_roots (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    root TEXT NOT NULL,
    PRIMARY KEY (dataset_id, root)
  );
  `,
  // 5: runs trained by queue workers (jobs/queue/): the BullMQ job, the worker that trained the run, the run's folder
  // on the shared storage (NULL: <dataDir>/runs/<id>); small key/value settings (the queue, the store's identity)
  `
  ALTER TABLE runs ADD COLUMN remote_job TEXT;
  ALTER TABLE runs ADD COLUMN worker TEXT;
  ALTER TABLE runs ADD COLUMN run_dir TEXT;
  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
]
