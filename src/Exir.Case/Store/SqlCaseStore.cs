using System.Data;
using System.Data.Common;
using System.Globalization;
using Exir.Core;
using Exir.Core.Findings;
using Exir.Detection.Correlation;
using Exir.Detection.Rules;
using Exir.Knowledge.Assessment;
using Exir.Remediation;
using Exir.Timeline;

namespace Exir.Case.Store;

/// <summary>
/// The case store over ADO.NET, one code path for SQLite and PostgreSQL (<see cref="SqlDialect"/> holds the
/// differences). Writes are idempotent on their ids (INSERT ... ON CONFLICT), run in short transactions of at
/// most <see cref="BatchSize"/> rows, and are retried when another writer holds the lock or a deadlock is broken.
/// </summary>
internal sealed class SqlCaseStore : ICaseStore
{
    /// <summary>The schema this build of exir knows; a case with a higher version is refused.</summary>
    public const int LatestSchemaVersion = 1;
    /// <summary>Rows per transaction: long enough to be fast, short enough that other writers get their turn.</summary>
    public const int BatchSize = 4000;
    private const int MaxAttempts = 60;

    private readonly SqlDialect _dialect;
    private readonly DbConnection _c;

    private SqlCaseStore(SqlDialect dialect, DbConnection connection, string description, int schemaVersion)
    {
        _dialect = dialect;
        _c = connection;
        Description = description;
        SchemaVersion = schemaVersion;
    }

    public string Description { get; }
    public int SchemaVersion { get; }

    public static SqlCaseStore Open(SqlDialect dialect, string description)
    {
        DbConnection? c = null;
        try
        {
            c = dialect.Connect();
            int version = CaseMigrations.Apply(dialect, c, description, LatestSchemaVersion);
            return new SqlCaseStore(dialect, c, description, version);
        }
        catch (CaseStoreException) { c?.Dispose(); throw; }
        catch (Exception e) when (e is DbException or InvalidOperationException or ArgumentException or System.Net.Sockets.SocketException or TimeoutException)
        {
            c?.Dispose();
            throw new CaseStoreException($"cannot open the case ({description}): {e.Message}", e);
        }
    }

    public void Dispose() => _c.Dispose();

    // ---- transactions ------------------------------------------------------------------------------------

    private T InTransaction<T>(Func<DbTransaction, T> body, bool readOnly = false)
    {
        for (int attempt = 1; ; attempt++)
        {
            DbTransaction? tx = null;
            try
            {
                tx = readOnly ? _dialect.BeginRead(_c) : _dialect.Begin(_c);
                var result = body(tx);
                tx.Commit();
                return result;
            }
            catch (Exception e) when (_dialect.IsTransient(e) && attempt < MaxAttempts)
            {
                TryRollback(tx);
                // Back off with jitter so two writers that collided do not collide again in lockstep.
                Thread.Sleep(Math.Min(1000, 10 * attempt) + Random.Shared.Next(25));
            }
            catch (DbException e)
            {
                TryRollback(tx);
                throw new CaseStoreException($"{Description}: {e.Message}", e);
            }
            finally { tx?.Dispose(); }
        }
    }

    private static void TryRollback(DbTransaction? tx)
    {
        try { tx?.Rollback(); }
        catch (Exception e) when (e is DbException or InvalidOperationException) { }
    }

    private void InTransaction(Action<DbTransaction> body) => InTransaction(tx => { body(tx); return 0; });

    // ---- writes ------------------------------------------------------------------------------------------

    public CaseWriteResult WriteScan(ScanResult scan, string verb = "scan", string recordedBy = "direct")
    {
        var run = ScanOf(scan.Provenance, verb, recordedBy);
        var hostScans = scan.Hosts.Select(h => new CaseHostScan
        {
            ScanId = run.ScanId, HostId = h.HostId, HostName = h.Name, NameSource = h.NameSource,
            EvidencePath = h.Evidence.Path, EvidenceKind = h.Evidence.Kind, EvidenceSha256 = h.Evidence.Sha256,
            Verdict = h.Verdict.Kind, Headline = h.Verdict.Headline, Reason = h.Verdict.Reason, CoverageCaveat = h.Verdict.CoverageCaveat,
            ExchangeBuild = h.ExchangeBuild, PatchStatus = h.PatchStatus, Coverage = CaseJson.CoverageOf(h.Coverage),
            FindingCount = h.FindingCount, FinishedUtc = run.FinishedUtc,
        }).ToList();
        var files = scan.Hosts.SelectMany(h => h.Coverage.FileHashes.Select(kv => new CaseEvidenceFile(run.ScanId, h.HostId, kv.Key, kv.Value)));
        return WriteRun(run, hostScans, files, scan.AllFindings);
    }

    /// <summary>A run as plain records: the shared path of direct writes and of <c>exir case import</c>.</summary>
    internal CaseWriteResult WriteRun(CaseScan run, IReadOnlyList<CaseHostScan> hostScans, IEnumerable<CaseEvidenceFile> files, IEnumerable<Finding> findings,
        IReadOnlyList<CaseAdminAccount>? admins = null)
    {
        bool known = InTransaction(tx =>
        {
            bool wasKnown = InsertScan(tx, run) == 0;
            foreach (var hs in hostScans)
            {
                UpsertHost(tx, hs.HostId, hs.HostName, run.FinishedUtc);
                Db.Execute(_c, tx, """
                    INSERT INTO host_scans (scan_id, host_id, host_name, name_source, evidence_path, evidence_kind, evidence_sha256, verdict, headline,
                      reason, coverage_caveat, exchange_build, patch_status_json, coverage_json, finding_count, finished_utc)
                    VALUES (@scan, @host, @name, @ns, @ep, @ek, @es, @verdict, @headline, @reason, @caveat, @build, @patch, @coverage, @count, @fin)
                    ON CONFLICT (scan_id, host_id) DO NOTHING
                    """,
                    ("@scan", run.ScanId), ("@host", hs.HostId), ("@name", hs.HostName), ("@ns", hs.NameSource), ("@ep", hs.EvidencePath),
                    ("@ek", hs.EvidenceKind), ("@es", hs.EvidenceSha256), ("@verdict", hs.Verdict.ToString()), ("@headline", hs.Headline),
                    ("@reason", hs.Reason), ("@caveat", hs.CoverageCaveat), ("@build", hs.ExchangeBuild),
                    ("@patch", hs.PatchStatus is null ? null : CaseJson.Serialize(hs.PatchStatus)), ("@coverage", CaseJson.Serialize(hs.Coverage)),
                    ("@count", hs.FindingCount), ("@fin", CaseJson.Time(hs.FinishedUtc)));
            }
            foreach (var a in admins ?? [])
            {
                foreach (var h in a.Hosts) UpsertHost(tx, HostIds.For(h), h, run.FinishedUtc);
                Db.Execute(_c, tx, "INSERT INTO admin_accounts (scan_id, account, account_json) VALUES (@s, @a, @j) ON CONFLICT (scan_id, account) DO NOTHING",
                    ("@s", run.ScanId), ("@a", a.Account), ("@j", CaseJson.Serialize(a)));
            }
            return wasKnown;
        });

        foreach (var batch in files.Chunk(BatchSize))
            InTransaction(tx =>
            {
                using var cmd = Db.Command(_c, tx, "INSERT INTO evidence_files (scan_id, host_id, path, sha256) VALUES (@s, @h, @p, @x) ON CONFLICT (scan_id, host_id, path) DO NOTHING");
                var (s, h, p, x) = (Db.Add(cmd, "@s", ""), Db.Add(cmd, "@h", ""), Db.Add(cmd, "@p", ""), Db.Add(cmd, "@x", ""));
                foreach (var f in batch.OrderBy(f => f.HostId, StringComparer.Ordinal).ThenBy(f => f.Path, StringComparer.Ordinal))
                {
                    s.Value = f.ScanId; h.Value = f.HostId; p.Value = Db.Clean(f.Path); x.Value = f.Sha256;
                    cmd.ExecuteNonQuery();
                }
            });

        var (added, knownFindings) = WriteFindings(run, findings);
        var hosts = hostScans.Select(h => h.HostId).Concat((admins ?? []).SelectMany(a => a.Hosts).Select(HostIds.For)).Distinct().Count();
        return new CaseWriteResult(run.ScanId, hosts, added, knownFindings, known);
    }

    private int InsertScan(DbTransaction tx, CaseScan run) => Db.Execute(_c, tx, """
        INSERT INTO scans (scan_id, verb, tool, tool_version, rules_origin, rules_version, knowledge_origin, command, input, input_kind, input_sha256,
          started_utc, finished_utc, machine, os_user, recorded_utc, recorded_by)
        VALUES (@id, @verb, @tool, @tv, @ro, @rv, @ko, @cmd, @input, @ik, @isha, @start, @fin, @machine, @user, @rec, @by)
        ON CONFLICT (scan_id) DO NOTHING
        """,
        ("@id", run.ScanId), ("@verb", run.Verb), ("@tool", run.Tool), ("@tv", run.ToolVersion), ("@ro", run.RulesOrigin), ("@rv", run.RulesVersion),
        ("@ko", run.KnowledgeOrigin), ("@cmd", run.Command), ("@input", run.Input), ("@ik", run.InputKind), ("@isha", run.InputSha256),
        ("@start", CaseJson.Time(run.StartedUtc)), ("@fin", CaseJson.Time(run.FinishedUtc)), ("@machine", run.Machine), ("@user", run.User),
        ("@rec", CaseJson.Time(run.RecordedUtc == default ? DateTimeOffset.UtcNow : run.RecordedUtc)), ("@by", run.RecordedBy));

    private void UpsertHost(DbTransaction tx, string hostId, string name, DateTimeOffset seen) => Db.Execute(_c, tx, """
        INSERT INTO hosts (host_id, name, first_seen_utc, last_seen_utc) VALUES (@id, @name, @t, @t)
        ON CONFLICT (host_id) DO UPDATE SET
          first_seen_utc = CASE WHEN excluded.first_seen_utc < hosts.first_seen_utc THEN excluded.first_seen_utc ELSE hosts.first_seen_utc END,
          last_seen_utc = CASE WHEN excluded.last_seen_utc > hosts.last_seen_utc THEN excluded.last_seen_utc ELSE hosts.last_seen_utc END
        """, ("@id", hostId), ("@name", name), ("@t", CaseJson.Time(seen)));

    /// <summary>Streams the findings into the case in batches; returns how many were new and how many it had.</summary>
    private (long Added, long Known) WriteFindings(CaseScan run, IEnumerable<Finding> findings)
    {
        long added = 0, known = 0;
        var seen = CaseJson.Time(run.FinishedUtc);
        foreach (var chunk in findings.Chunk(BatchSize))
        {
            // Ids filled in and sorted: concurrent writers take row locks in the same order (no deadlocks on PostgreSQL).
            var batch = chunk.Select(Identified).GroupBy(f => f.Id!).Select(g => g.First()).OrderBy(f => f.Id, StringComparer.Ordinal)
                .Select(f => (Finding: f, Json: CaseJson.FindingText(f))).ToList();
            // Every finding's host is a host of the case, whatever wrote it (a timeline's findings name hosts no scan did).
            var findingHosts = batch.Where(x => x.Finding.Host is { Length: > 0 }).GroupBy(x => x.Finding.HostId!).Select(g => (Id: g.Key, Name: g.First().Finding.Host!)).ToList();
            var (a, k) = InTransaction(tx =>
            {
                foreach (var h in findingHosts) UpsertHost(tx, h.Id, h.Name, run.FinishedUtc);
                long na = 0, nk = 0;
                using var statements = new StatementCache();
                const string insertHead = "INSERT INTO findings (finding_id, host_id, rule_id, title, severity, outcome, time_utc, has_event_time, client_ip, " +
                                          "finding_json, first_scan_id, last_scan_id, last_seen_utc) VALUES";
                foreach (var rows in batch.Chunk(RowsPerStatement))
                {
                    // Many rows per statement (one round trip); RETURNING names the rows that were new, the others the case had.
                    var inserted = new HashSet<string>(StringComparer.Ordinal);
                    var insert = statements.Get(insertHead, rows.Length, () => MultiRow(tx, insertHead, 13, rows.Length, "ON CONFLICT (finding_id) DO NOTHING RETURNING finding_id"));
                    {
                        int i = 0;
                        foreach (var (f, json) in rows)
                            Values(insert, i++, f.Id, f.HostId, Db.Clean(f.RuleId), Db.Clean(f.Title), (long)f.Severity, (long)f.Outcome, CaseJson.Time(f.Timestamp),
                                f.HasEventTime ? 1L : 0L, f.ClientIp is null ? null : Db.Clean(f.ClientIp), Db.Clean(json), run.ScanId, run.ScanId, seen);
                        using var r = insert.ExecuteReader();
                        while (r.Read()) inserted.Add(r.GetString(0));
                    }
                    na += inserted.Count;
                    var knownIds = rows.Select(x => x.Finding.Id!).Where(id => !inserted.Contains(id)).ToList();
                    nk += knownIds.Count;
                    if (knownIds.Count > 0)
                    {
                        var later = statements.Get("later", knownIds.Count, () =>
                        {
                            var cmd = Db.Command(_c, tx, "UPDATE findings SET last_scan_id = @scan, last_seen_utc = @seen WHERE last_seen_utc < @seen AND finding_id IN (" +
                                                         string.Join(", ", knownIds.Select((_, j) => "@k" + j)) + ")", ("@scan", run.ScanId), ("@seen", seen));
                            for (int j = 0; j < knownIds.Count; j++) Db.Add(cmd, "@k" + j, null);
                            return cmd;
                        });
                        for (int j = 0; j < knownIds.Count; j++) later.Parameters[2 + j].Value = knownIds[j];
                        later.ExecuteNonQuery();
                    }
                    var link = statements.Get("finding_scans", rows.Length, () => MultiRow(tx, "INSERT INTO finding_scans (finding_id, scan_id) VALUES", 2, rows.Length, "ON CONFLICT (finding_id, scan_id) DO NOTHING"));
                    for (int j = 0; j < rows.Length; j++) Values(link, j, rows[j].Finding.Id, run.ScanId);
                    link.ExecuteNonQuery();
                }
                return (na, nk);
            });
            added += a;
            known += k;
        }
        return (added, known);
    }

    private int RowsPerStatement => _dialect.RowsPerStatement;

    /// <summary>Multi-row statements of one transaction by row count: a full chunk's statement is built (and prepared) once and reused.</summary>
    private sealed class StatementCache : IDisposable
    {
        private readonly Dictionary<(string, int), DbCommand> _commands = new();
        public DbCommand Get(string sql, int rows, Func<DbCommand> make)
        {
            if (!_commands.TryGetValue((sql, rows), out var cmd)) _commands[(sql, rows)] = cmd = make();
            return cmd;
        }
        public void Dispose() { foreach (var c in _commands.Values) c.Dispose(); }
    }

    /// <summary>"INSERT ... VALUES (@r0c0, ...), (@r1c0, ...) suffix" with its parameters (set with <see cref="Values"/>).</summary>
    private DbCommand MultiRow(DbTransaction tx, string head, int columns, int rows, string suffix)
    {
        var sql = new System.Text.StringBuilder(head.Length + rows * columns * 8 + suffix.Length + 8).Append(head).Append(' ');
        var cmd = _c.CreateCommand();
        cmd.Transaction = tx;
        for (int r = 0; r < rows; r++)
        {
            sql.Append(r == 0 ? "(" : ", (");
            for (int col = 0; col < columns; col++)
            {
                var name = $"@r{r}c{col}";
                sql.Append(col == 0 ? "" : ", ").Append(name);
                Db.Add(cmd, name, null);
            }
            sql.Append(')');
        }
        cmd.CommandText = sql.Append(' ').Append(suffix).ToString();
        return cmd;
    }

    // Values of one row, in column order; strings are expected clean (Db.Clean) already.
    private static void Values(DbCommand cmd, int row, params object?[] values)
    {
        int offset = row * values.Length;
        for (int i = 0; i < values.Length; i++) cmd.Parameters[offset + i].Value = values[i] ?? DBNull.Value;
    }

    /// <summary>The finding with its host id and stable id (both derived as the scan derives them when absent).</summary>
    private static Finding Identified(Finding f)
    {
        var hostId = f.HostId ?? (f.Host is { Length: > 0 } h ? HostIds.For(h) : "");
        var id = f.Id ?? StableIds.Finding(hostId, f.RuleId, f.Artifact, f.Line);
        return f.HostId == hostId && f.Id == id ? f : f with { HostId = hostId, Id = id };
    }

    private static CaseScan ScanOf(Provenance p, string verb, string recordedBy) => new()
    {
        ScanId = string.IsNullOrEmpty(p.ScanId) ? StableIds.NewScanId() : p.ScanId,
        Verb = verb, Tool = p.Tool, ToolVersion = p.ToolVersion, RulesOrigin = p.RulesOrigin, RulesVersion = p.RulesVersion,
        KnowledgeOrigin = p.KnowledgeOrigin, Command = p.Command, Input = p.Input, InputKind = p.InputKind, InputSha256 = p.InputSha256,
        StartedUtc = p.StartedUtc, FinishedUtc = p.FinishedUtc, Machine = p.Machine, User = p.User,
        RecordedUtc = DateTimeOffset.UtcNow, RecordedBy = recordedBy,
    };

    public CaseWriteResult WriteTimeline(TimelineResult timeline, string recordedBy = "direct")
    {
        var p = timeline.Provenance ?? new Provenance
        {
            Tool = "exir", ToolVersion = "unknown", Command = "exir timeline", Input = "", InputKind = "", RulesOrigin = "", RulesVersion = "",
            StartedUtc = DateTimeOffset.UtcNow, FinishedUtc = DateTimeOffset.UtcNow,
        };
        var run = ScanOf(p, "timeline", recordedBy);
        var admins = timeline.Admin.Accounts.Select(AdminOf).ToList();
        return WriteRun(run, [], [], timeline.Findings, admins);
    }

    /// <summary>
    /// An account of the admin summary as the case keeps it. Domain administrator, as far as the summary shows:
    /// added to Domain, Enterprise or Schema Admins or to Administrators (the domain's on a domain controller), or
    /// given special privileges (4672) as a domain account (DOMAIN\user, not a host's local account, not a machine).
    /// </summary>
    internal static CaseAdminAccount AdminOf(AccountActivity a)
    {
        return new CaseAdminAccount
        {
            Account = a.Account, Display = a.Display, Hosts = a.Hosts.ToList(), Logons = a.Logons,
            PrivilegedLogons = a.PrivilegedLogonsByType.Values.Sum(), FailedLogons = a.FailedLogons,
            SourceIps = a.SourceIps.Concat(a.WebSourceIps).Distinct(StringComparer.OrdinalIgnoreCase).ToList(),
            Cmdlets = a.Cmdlets.ToList(), Changes = a.Changes.ToList(), Privileged = a.Privileged, AddedToPrivilegedGroup = a.AddedToPrivilegedGroup,
            Created = a.Created, InWebShellTree = a.InWebShellTree,
            DomainAdmin = IsDomainAdmin(a.Changes, a.Display, a.Hosts, a.Privileged),
            FirstUtc = a.First is { } f ? new DateTimeOffset(DateTime.SpecifyKind(f, DateTimeKind.Utc)) : null,
            LastUtc = a.Last is { } l ? new DateTimeOffset(DateTime.SpecifyKind(l, DateTimeKind.Utc)) : null,
            FirstEvidence = a.FirstEvidence,
        };
    }

    internal static bool IsDomainAdmin(IEnumerable<string> changes, string display, IEnumerable<string> hosts, bool privileged)
    {
        if (changes.Any(c => DomainAdminGroups.Any(g => c.Contains("added to " + g + " ", StringComparison.OrdinalIgnoreCase)))) return true;
        int slash = display.IndexOf('\\');
        if (!privileged || slash <= 0 || display.EndsWith('$')) return false;
        var domain = display[..slash];
        return !domain.Equals("NT AUTHORITY", StringComparison.OrdinalIgnoreCase)
               && !hosts.Any(h => HostIds.Normalise(h).Equals(domain, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Groups whose members administer the domain (English, German and French names of Administrators).</summary>
    internal static readonly string[] DomainAdminGroups = ["Domain Admins", "Enterprise Admins", "Schema Admins", "Administrators", "Administratoren", "Administrateurs", "Domänen-Admins", "Organisations-Admins", "Schema-Admins"];

    public long WriteTimelineRows(string scanId, IEnumerable<TimelineEvent> rows)
    {
        long added = 0;
        foreach (var batch in rows.Chunk(BatchSize))
        {
            var keyed = batch.Select(e => (Event: e, HostId: e.Host.Length > 0 ? HostIds.For(e.Host) : "", Key: EventKey(e)))
                .GroupBy(x => x.Key).Select(g => g.First()).OrderBy(x => x.Key, StringComparer.Ordinal).ToList();
            var hosts = keyed.Where(x => x.Event.Host.Length > 0).GroupBy(x => x.HostId).Select(g => (Id: g.Key, Name: g.First().Event.Host)).ToList();
            // A host's first and last seen are when runs recorded it (as for scans), not the times inside its logs.
            var now = DateTimeOffset.UtcNow;
            added += InTransaction(tx =>
            {
                foreach (var h in hosts) UpsertHost(tx, h.Id, h.Name, now);
                long n = 0;
                using var statements = new StatementCache();
                foreach (var rows in keyed.Chunk(RowsPerStatement))
                {
                    var cmd = statements.Get("timeline", rows.Length, () => MultiRow(tx, "INSERT INTO timeline_events (event_key, scan_id, host_id, host_name, time_utc, " +
                        "description, source, category, event_id, user_name, src_ip, process, command_line, message, file, record_id, tags) VALUES", 17, rows.Length,
                        "ON CONFLICT (event_key) DO NOTHING"));
                    int i = 0;
                    foreach (var (e, hostId, key) in rows)
                        Values(cmd, i++, key, scanId, hostId, Db.Clean(e.Host), CaseJson.Time(e.Timestamp), Db.Clean(e.TimestampDesc), Db.Clean(e.Source),
                            Db.Clean(e.Category), e.EventId is { } id ? (long)id : null, Db.CleanOrNull(e.User), Db.CleanOrNull(e.SrcIp), Db.CleanOrNull(e.Process),
                            Db.CleanOrNull(e.CommandLine), Db.Clean(e.Message), Db.Clean(e.File), e.RecordId, Db.Clean(string.Join('\n', e.Tags)));
                    n += cmd.ExecuteNonQuery();
                }
                return n;
            });
        }
        return added;
    }

    /// <summary>A row's identity: host, file, record, time and source (plus event id and message for lines without a record number).</summary>
    internal static string EventKey(TimelineEvent e)
    {
        var record = e.RecordId is { } r ? r.ToString(CultureInfo.InvariantCulture) : $"-\n{e.EventId}\n{e.Message}";
        return "ev-" + StableIds.Hash($"{HostIds.Normalise(e.Host)}\n{e.File}\n{record}\n{e.Timestamp.Ticks}\n{e.Source}", 32);
    }

    public CaseWriteResult WriteAssessments(CaseScan scan, IReadOnlyList<BuildAssessment> assessments) =>
        WriteAssessmentRecords(scan, assessments.Select(a => new CaseAssessment
        {
            ScanId = scan.ScanId, Target = a.Target, Build = a.Build?.ToString() ?? a.BuildText, Product = a.Product, Cu = a.Cu, Su = a.Su,
            Supported = a.Supported, OpenCves = a.OpenCves, Action = a.Error is null ? BuildAssessment.ActionName(a.Action) : "unknown",
            ActionText = a.ActionText, Source = a.Source, Error = a.Error, AtUtc = scan.FinishedUtc,
        }).ToList());

    internal CaseWriteResult WriteAssessmentRecords(CaseScan scan, IReadOnlyList<CaseAssessment> records)
    {
        bool known = InTransaction(tx =>
        {
            bool wasKnown = InsertScan(tx, scan) == 0;
            foreach (var a in records.DistinctBy(a => a.Target))
                Db.Execute(_c, tx, "INSERT INTO assessments (scan_id, target, host_id, assessment_json, at_utc) VALUES (@s, @t, @h, @j, @at) ON CONFLICT (scan_id, target) DO NOTHING",
                    ("@s", scan.ScanId), ("@t", a.Target), ("@h", a.HostId), ("@j", CaseJson.Serialize(a with { ScanId = scan.ScanId })), ("@at", CaseJson.Time(a.AtUtc)));
            return wasKnown;
        });
        return new CaseWriteResult(scan.ScanId, 0, 0, 0, known);
    }

    public CaseWriteResult WriteQuarantine(CaseScan scan, string? hostName, IReadOnlyList<QuarantineEntry> entries)
    {
        string? hostId = string.IsNullOrWhiteSpace(hostName) ? null : HostIds.For(hostName);
        bool known = InTransaction(tx =>
        {
            bool wasKnown = InsertScan(tx, scan) == 0;
            if (hostId is not null) UpsertHost(tx, hostId, hostName!, scan.FinishedUtc);
            foreach (var e in entries.OrderBy(e => e.Id, StringComparer.Ordinal))
                // The manifest's latest state wins: a file removed, then restored, shows as restored.
                Db.Execute(_c, tx, """
                    INSERT INTO quarantine (id, scan_id, host_id, original_path, sha256, size, state, quarantined_utc, quarantined_by, machine, finding_id, rule_id, note, updated_utc)
                    VALUES (@id, @scan, @host, @path, @sha, @size, @state, @qt, @by, @machine, @fid, @rule, @note, @now)
                    ON CONFLICT (id) DO UPDATE SET state = excluded.state, note = excluded.note, updated_utc = excluded.updated_utc,
                      host_id = COALESCE(quarantine.host_id, excluded.host_id)
                    """,
                    ("@id", e.Id), ("@scan", scan.ScanId), ("@host", hostId), ("@path", e.OriginalPath), ("@sha", e.Sha256), ("@size", e.Size),
                    ("@state", e.State), ("@qt", CaseJson.Time(e.QuarantinedUtc)), ("@by", e.QuarantinedBy), ("@machine", e.Machine),
                    ("@fid", e.Finding?.FindingId), ("@rule", e.Finding?.RuleId), ("@note", e.Note), ("@now", CaseJson.Time(scan.FinishedUtc)));
            return wasKnown;
        });
        return new CaseWriteResult(scan.ScanId, hostId is null ? 0 : 1, 0, 0, known);
    }

    public void SetSetting(string key, string? value) => InTransaction(tx =>
    {
        if (value is null) Db.Execute(_c, tx, "DELETE FROM settings WHERE key = @k", ("@k", key));
        else
            Db.Execute(_c, tx, "INSERT INTO settings (key, value, updated_utc) VALUES (@k, @v, @t) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_utc = excluded.updated_utc",
                ("@k", key), ("@v", value), ("@t", CaseJson.Time(DateTimeOffset.UtcNow)));
    });

    public CaseStepRecord SetStep(string stepId, string state, string? note, string by, DateTimeOffset atUtc)
    {
        if (string.IsNullOrWhiteSpace(stepId)) throw new ArgumentException("a step needs an id");
        if (!StepStates.All.Contains(state)) throw new ArgumentException($"'{state}' is not a step state ({string.Join(", ", StepStates.All)})");
        InTransaction(tx => Db.Execute(_c, tx, "INSERT INTO step_history (step_id, state, note, set_by, at_utc) VALUES (@s, @st, @n, @by, @at)",
            ("@s", stepId), ("@st", state), ("@n", note), ("@by", by), ("@at", CaseJson.Time(atUtc))));
        return new CaseStepRecord(stepId, state, note, by, atUtc);
    }

    public CaseNote AddNote(string? hostName, string text, string by, DateTimeOffset atUtc)
    {
        string? hostId = string.IsNullOrWhiteSpace(hostName) ? null : HostIds.For(hostName);
        var id = InTransaction(tx => Convert.ToInt64(Db.Scalar(_c, tx, "INSERT INTO notes (host_id, text, written_by, at_utc) VALUES (@h, @t, @by, @at) RETURNING id",
            ("@h", hostId), ("@t", text), ("@by", by), ("@at", CaseJson.Time(atUtc))), CultureInfo.InvariantCulture));
        return new CaseNote(id, hostId, text, by, atUtc);
    }

    // ---- read --------------------------------------------------------------------------------------------

    public CaseSnapshot Read(CaseReadOptions? options = null)
    {
        options ??= new CaseReadOptions();
        var correlation = options.Correlation ?? DefaultCorrelation.Value;
        return InTransaction(tx => new CaseReader(_c, tx, options, correlation, Description, SchemaVersion).Read(), readOnly: true);
    }

    // The built-in rules/scan.yaml windows, as a scan uses them; the defaults when the file is not readable.
    private static readonly Lazy<ScanSettings> DefaultCorrelation = new(() =>
    {
        try { return ScanSettings.Load(new DataFiles("rules", typeof(ScanSettings).Assembly)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or RuleDataException) { return ScanSettings.Default; }
    });
}
