-- Schema version 1 of the case store. The same text runs on SQLite and PostgreSQL: {AUTO_ID} is the only
-- dialect token (an auto-numbered primary key). Times are ISO-8601 UTC text of fixed width
-- (2021-03-03T05:42:01.0000000Z) so they sort as text on both. Booleans are 0/1.

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT,
  updated_utc TEXT NOT NULL
);

CREATE TABLE hosts (
  host_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  first_seen_utc TEXT NOT NULL,
  last_seen_utc TEXT NOT NULL
);

CREATE TABLE scans (
  scan_id TEXT PRIMARY KEY,
  verb TEXT NOT NULL,
  tool TEXT NOT NULL,
  tool_version TEXT NOT NULL,
  rules_origin TEXT,
  rules_version TEXT,
  knowledge_origin TEXT,
  command TEXT NOT NULL,
  input TEXT NOT NULL,
  input_kind TEXT NOT NULL,
  input_sha256 TEXT,
  started_utc TEXT NOT NULL,
  finished_utc TEXT NOT NULL,
  machine TEXT NOT NULL,
  os_user TEXT NOT NULL,
  recorded_utc TEXT NOT NULL,
  recorded_by TEXT NOT NULL
);

CREATE TABLE host_scans (
  scan_id TEXT NOT NULL,
  host_id TEXT NOT NULL,
  host_name TEXT NOT NULL,
  name_source TEXT NOT NULL,
  evidence_path TEXT NOT NULL,
  evidence_kind TEXT NOT NULL,
  evidence_sha256 TEXT,
  verdict TEXT NOT NULL,
  headline TEXT NOT NULL,
  reason TEXT NOT NULL,
  coverage_caveat TEXT NOT NULL,
  exchange_build TEXT,
  patch_status_json TEXT,
  coverage_json TEXT NOT NULL,
  finding_count BIGINT NOT NULL,
  finished_utc TEXT NOT NULL,
  PRIMARY KEY (scan_id, host_id)
);
CREATE INDEX host_scans_host ON host_scans (host_id, finished_utc);

CREATE TABLE evidence_files (
  scan_id TEXT NOT NULL,
  host_id TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY (scan_id, host_id, path)
);

CREATE TABLE findings (
  finding_id TEXT PRIMARY KEY,
  host_id TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  title TEXT NOT NULL,
  severity BIGINT NOT NULL,
  outcome BIGINT NOT NULL,
  time_utc TEXT,
  has_event_time BIGINT NOT NULL,
  client_ip TEXT,
  finding_json TEXT NOT NULL,
  first_scan_id TEXT NOT NULL,
  last_scan_id TEXT NOT NULL,
  last_seen_utc TEXT NOT NULL
);
CREATE INDEX findings_host_rule ON findings (host_id, rule_id);
CREATE INDEX findings_time ON findings (time_utc);
CREATE INDEX findings_client_ip ON findings (client_ip);
CREATE INDEX findings_severity ON findings (severity, outcome);

CREATE TABLE finding_scans (
  finding_id TEXT NOT NULL,
  scan_id TEXT NOT NULL,
  PRIMARY KEY (finding_id, scan_id)
);
CREATE INDEX finding_scans_scan ON finding_scans (scan_id);

CREATE TABLE timeline_events (
  event_key TEXT PRIMARY KEY,
  scan_id TEXT NOT NULL,
  host_id TEXT NOT NULL,
  host_name TEXT NOT NULL,
  time_utc TEXT NOT NULL,
  description TEXT NOT NULL,
  source TEXT NOT NULL,
  category TEXT NOT NULL,
  event_id BIGINT,
  user_name TEXT,
  src_ip TEXT,
  process TEXT,
  command_line TEXT,
  message TEXT NOT NULL,
  file TEXT NOT NULL,
  record_id BIGINT,
  tags TEXT NOT NULL
);
CREATE INDEX timeline_host_time ON timeline_events (host_id, time_utc);
CREATE INDEX timeline_tagged ON timeline_events (tags, time_utc);

CREATE TABLE admin_accounts (
  scan_id TEXT NOT NULL,
  account TEXT NOT NULL,
  account_json TEXT NOT NULL,
  PRIMARY KEY (scan_id, account)
);

CREATE TABLE assessments (
  scan_id TEXT NOT NULL,
  target TEXT NOT NULL,
  host_id TEXT,
  assessment_json TEXT NOT NULL,
  at_utc TEXT NOT NULL,
  PRIMARY KEY (scan_id, target)
);

CREATE TABLE quarantine (
  id TEXT PRIMARY KEY,
  scan_id TEXT NOT NULL,
  host_id TEXT,
  original_path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size BIGINT NOT NULL,
  state TEXT NOT NULL,
  quarantined_utc TEXT NOT NULL,
  quarantined_by TEXT NOT NULL,
  machine TEXT NOT NULL,
  finding_id TEXT,
  rule_id TEXT,
  note TEXT,
  updated_utc TEXT NOT NULL
);

CREATE TABLE step_history (
  id {AUTO_ID},
  step_id TEXT NOT NULL,
  state TEXT NOT NULL,
  note TEXT,
  set_by TEXT NOT NULL,
  at_utc TEXT NOT NULL
);
CREATE INDEX step_history_step ON step_history (step_id, at_utc);

CREATE TABLE notes (
  id {AUTO_ID},
  host_id TEXT,
  text TEXT NOT NULL,
  written_by TEXT NOT NULL,
  at_utc TEXT NOT NULL
);
