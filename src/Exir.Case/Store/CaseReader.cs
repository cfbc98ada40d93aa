using System.Data.Common;
using System.Globalization;
using Exir.Core.Findings;
using Exir.Detection.Correlation;
using Exir.Detection.Rules;

namespace Exir.Case.Store;

/// <summary>
/// Reads the case into a <see cref="CaseSnapshot"/> in one read transaction. Memory is bounded by the options:
/// findings per host and rule, tagged timeline rows and evidence files are capped; counts and activity are
/// aggregated in the database and cover everything.
/// </summary>
internal sealed class CaseReader(DbConnection c, DbTransaction tx, CaseReadOptions options, ScanSettings correlation, string description, int schemaVersion)
{
    public CaseSnapshot Read()
    {
        var settings = Settings();
        var hosts = Rows("SELECT host_id, name, first_seen_utc, last_seen_utc FROM hosts ORDER BY name, host_id",
            r => new CaseHost(r.GetString(0), r.GetString(1), CaseJson.ParseTime(r.GetString(2)), CaseJson.ParseTime(r.GetString(3))));
        var scans = Rows("""
            SELECT scan_id, verb, tool, tool_version, rules_origin, rules_version, knowledge_origin, command, input, input_kind, input_sha256,
              started_utc, finished_utc, machine, os_user, recorded_utc, recorded_by FROM scans ORDER BY finished_utc, scan_id
            """, r => new CaseScan
        {
            ScanId = r.GetString(0), Verb = r.GetString(1), Tool = r.GetString(2), ToolVersion = r.GetString(3), RulesOrigin = Db.Str(r, 4),
            RulesVersion = Db.Str(r, 5), KnowledgeOrigin = Db.Str(r, 6), Command = r.GetString(7), Input = r.GetString(8), InputKind = r.GetString(9),
            InputSha256 = Db.Str(r, 10), StartedUtc = CaseJson.ParseTime(r.GetString(11)), FinishedUtc = CaseJson.ParseTime(r.GetString(12)),
            Machine = r.GetString(13), User = r.GetString(14), RecordedUtc = CaseJson.ParseTime(r.GetString(15)), RecordedBy = r.GetString(16),
        });
        var hostScans = Rows("""
            SELECT scan_id, host_id, host_name, name_source, evidence_path, evidence_kind, evidence_sha256, verdict, headline, reason, coverage_caveat,
              exchange_build, patch_status_json, coverage_json, finding_count, finished_utc FROM host_scans ORDER BY finished_utc, scan_id, host_name
            """, r => new CaseHostScan
        {
            ScanId = r.GetString(0), HostId = r.GetString(1), HostName = r.GetString(2), NameSource = r.GetString(3), EvidencePath = r.GetString(4),
            EvidenceKind = r.GetString(5), EvidenceSha256 = Db.Str(r, 6),
            Verdict = Enum.TryParse<VerdictKind>(r.GetString(7), out var v) ? v : VerdictKind.NoEvidenceFound,
            Headline = r.GetString(8), Reason = r.GetString(9), CoverageCaveat = r.GetString(10), ExchangeBuild = Db.Str(r, 11),
            PatchStatus = CaseJson.Deserialize<PatchStatus>(Db.Str(r, 12)), Coverage = CaseJson.Deserialize<CaseCoverage>(r.GetString(13)) ?? new CaseCoverage(),
            FindingCount = Convert.ToInt64(r.GetValue(14), CultureInfo.InvariantCulture), FinishedUtc = CaseJson.ParseTime(r.GetString(15)),
        });

        int cap = Math.Max(0, options.MaxFindingsPerRule);
        var counts = Rows("SELECT host_id, rule_id, MIN(title), MAX(severity), MAX(outcome), COUNT(*) FROM findings GROUP BY host_id, rule_id ORDER BY host_id, rule_id",
            r =>
            {
                long n = Convert.ToInt64(r.GetValue(5), CultureInfo.InvariantCulture);
                return new CaseFindingCount(r.GetString(0), r.GetString(1), r.GetString(2), (Severity)Convert.ToInt32(r.GetValue(3), CultureInfo.InvariantCulture),
                    (Outcome)Convert.ToInt32(r.GetValue(4), CultureInfo.InvariantCulture), n, Math.Min(n, cap));
            });
        // The first findings of each host and rule in time order (undated last): what the report lists and the campaigns are built from.
        var findings = Rows("""
            SELECT finding_json FROM (
              SELECT finding_json, ROW_NUMBER() OVER (PARTITION BY host_id, rule_id
                ORDER BY CASE WHEN time_utc IS NULL THEN 1 ELSE 0 END, time_utc, finding_id) AS rn FROM findings) ranked
            WHERE rn <= @cap
            """, r => CaseJson.ReadFinding(r.GetString(0)), ("@cap", (long)cap)).OfType<Finding>()
            .OrderBy(f => f.Timestamp ?? DateTimeOffset.MaxValue).ThenBy(f => f.Host, StringComparer.Ordinal)
            .ThenBy(f => f.Artifact, StringComparer.Ordinal).ThenBy(f => f.Line ?? 0).ThenBy(f => f.RuleId, StringComparer.Ordinal).ToList();
        var (correlated, campaigns) = IncidentCorrelator.Correlate(findings, correlation);

        var activity = Activity();
        long timelineEvents = Count("SELECT COUNT(*) FROM timeline_events");
        var timelineRows = Rows("""
            SELECT host_id, time_utc, description, source, category, event_id, user_name, src_ip, process, command_line, message, file, record_id, tags
            FROM timeline_events WHERE tags <> '' ORDER BY time_utc, host_id, file, record_id LIMIT @cap
            """, r => new CaseTimelineRow(r.GetString(0), CaseJson.ParseTime(r.GetString(1)), r.GetString(2), r.GetString(3), r.GetString(4),
            Db.Long(r, 5) is { } e ? (int)e : null, Db.Str(r, 6), Db.Str(r, 7), Db.Str(r, 8), Db.Str(r, 9), r.GetString(10), r.GetString(11),
            Db.Long(r, 12), r.GetString(13).Split('\n', StringSplitOptions.RemoveEmptyEntries)), ("@cap", (long)Math.Max(0, options.MaxTimelineRows)));

        var admins = MergeAdmins(Rows("SELECT account_json FROM admin_accounts ORDER BY scan_id, account", r => CaseJson.Deserialize<CaseAdminAccount>(r.GetString(0))).OfType<CaseAdminAccount>());
        var assessments = Rows("SELECT assessment_json, host_id FROM assessments ORDER BY at_utc, scan_id, target",
            r => CaseJson.Deserialize<CaseAssessment>(r.GetString(0)) is { } a ? a with { HostId = Db.Str(r, 1) } : null).OfType<CaseAssessment>().ToList();
        var quarantine = Rows("""
            SELECT id, host_id, original_path, sha256, size, state, quarantined_utc, quarantined_by, machine, finding_id, rule_id, note
            FROM quarantine ORDER BY quarantined_utc, id
            """, r => new CaseQuarantineItem
        {
            Id = r.GetString(0), HostId = Db.Str(r, 1), OriginalPath = r.GetString(2), Sha256 = r.GetString(3), Size = Db.Long(r, 4) ?? 0,
            State = r.GetString(5), QuarantinedUtc = CaseJson.ParseTime(r.GetString(6)), By = r.GetString(7), Machine = r.GetString(8),
            FindingId = Db.Str(r, 9), RuleId = Db.Str(r, 10), Note = Db.Str(r, 11),
        });
        var history = Rows("SELECT step_id, state, note, set_by, at_utc FROM step_history ORDER BY at_utc, id",
            r => new CaseStepRecord(r.GetString(0), r.GetString(1), Db.Str(r, 2), r.GetString(3), CaseJson.ParseTime(r.GetString(4))));
        // The latest change of each step; history is in time order (then insertion order), so the last one wins.
        var steps = history.GroupBy(s => s.StepId, StringComparer.Ordinal).Select(g => g.Last()).OrderBy(s => s.StepId, StringComparer.Ordinal).ToList();
        var notes = Rows("SELECT id, host_id, text, written_by, at_utc FROM notes ORDER BY at_utc, id",
            r => new CaseNote(Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), Db.Str(r, 1), r.GetString(2), r.GetString(3), CaseJson.ParseTime(r.GetString(4))));
        var evidence = Rows("SELECT scan_id, host_id, path, sha256 FROM evidence_files ORDER BY host_id, path, scan_id LIMIT @cap",
            r => new CaseEvidenceFile(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3)), ("@cap", (long)Math.Max(0, options.MaxEvidenceFiles)));

        return new CaseSnapshot
        {
            StoreDescription = description, SchemaVersion = schemaVersion, ReadUtc = DateTimeOffset.UtcNow, Settings = settings,
            Hosts = hosts, Scans = scans, HostScans = hostScans, Findings = correlated, FindingCounts = counts,
            TotalFindings = counts.Sum(x => x.Count), Campaigns = campaigns, Activity = activity, TimelineEvents = timelineEvents,
            TimelineRows = timelineRows, AdminAccess = admins, Assessments = assessments, Quarantine = quarantine, Steps = steps,
            StepHistory = history, Notes = notes, EvidenceFiles = evidence, EvidenceFileCount = Count("SELECT COUNT(*) FROM evidence_files"),
        };
    }

    private CaseSettings Settings()
    {
        var kv = Rows("SELECT key, value FROM settings", r => (Key: r.GetString(0), Value: Db.Str(r, 1))).ToDictionary(x => x.Key, x => x.Value, StringComparer.Ordinal);
        string? S(string k) => kv.GetValueOrDefault(k) is { Length: > 0 } v ? v : null;
        bool? B(string k) => S(k)?.ToLowerInvariant() switch { "true" or "yes" or "1" => true, "false" or "no" or "0" => false, _ => null };
        return new CaseSettings
        {
            Name = S(CaseSettings.Keys.Name), Organisation = S(CaseSettings.Keys.Organisation),
            AwareUtc = S(CaseSettings.Keys.AwareUtc) is { } a && DateTimeOffset.TryParse(a, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null,
            TimeZone = S(CaseSettings.Keys.TimeZone) ?? "UTC",
            CriticalInfrastructure = B(CaseSettings.Keys.CriticalInfrastructure), PersonalData = B(CaseSettings.Keys.PersonalData),
            HighRisk = B(CaseSettings.Keys.HighRisk), Language = S(CaseSettings.Keys.Language),
        };
    }

    /// <summary>Hourly counts per host: timeline rows (the timeline's copies of findings left out) and findings dated by an event.</summary>
    private List<CaseActivityBucket> Activity()
    {
        var buckets = new Dictionary<(string, string), (long Events, long Findings)>();
        foreach (var (host, hour, n) in Rows("SELECT host_id, substr(time_utc, 1, 13) AS hour, COUNT(*) FROM timeline_events WHERE category <> 'finding' GROUP BY host_id, substr(time_utc, 1, 13)",
                     r => (r.GetString(0), r.GetString(1), Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture))))
            buckets[(host, hour)] = (n, 0);
        foreach (var (host, hour, n) in Rows("SELECT host_id, substr(time_utc, 1, 13) AS hour, COUNT(*) FROM findings WHERE has_event_time = 1 AND time_utc IS NOT NULL GROUP BY host_id, substr(time_utc, 1, 13)",
                     r => (r.GetString(0), r.GetString(1), Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture))))
            buckets[(host, hour)] = (buckets.GetValueOrDefault((host, hour)).Events, n);
        return buckets
            .Select(kv => (kv, Ok: DateTimeOffset.TryParseExact(kv.Key.Item2 + ":00:00Z", "yyyy-MM-dd'T'HH:mm:ssZ", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var hour), hour))
            .Where(x => x.Ok)
            .Select(x => new CaseActivityBucket(x.kv.Key.Item1, x.hour, x.kv.Value.Events, x.kv.Value.Findings))
            .OrderBy(b => b.HourUtc).ThenBy(b => b.HostId, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// One account over all timeline runs: hosts, addresses, cmdlets and changes united, flags or-ed, and counts the
    /// highest any one run saw (two runs over the same logs must not double them).
    /// </summary>
    internal static List<CaseAdminAccount> MergeAdmins(IEnumerable<CaseAdminAccount> runs) =>
        runs.GroupBy(a => a.Account, StringComparer.OrdinalIgnoreCase).Select(g =>
        {
            var all = g.ToList();
            List<string> U(Func<CaseAdminAccount, IEnumerable<string>> f) => all.SelectMany(f).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase).ToList();
            var firsts = all.Where(a => a.FirstUtc is not null).OrderBy(a => a.FirstUtc).FirstOrDefault();
            return new CaseAdminAccount
            {
                Account = all[0].Account, Display = all.Select(a => a.Display).FirstOrDefault(d => d.Contains('\\')) ?? all[0].Display,
                Hosts = U(a => a.Hosts), SourceIps = U(a => a.SourceIps), Cmdlets = U(a => a.Cmdlets),
                Changes = all.SelectMany(a => a.Changes).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(),
                Logons = all.Max(a => a.Logons), PrivilegedLogons = all.Max(a => a.PrivilegedLogons), FailedLogons = all.Max(a => a.FailedLogons),
                Privileged = all.Any(a => a.Privileged), AddedToPrivilegedGroup = all.Any(a => a.AddedToPrivilegedGroup), Created = all.Any(a => a.Created),
                InWebShellTree = all.Any(a => a.InWebShellTree), DomainAdmin = all.Any(a => a.DomainAdmin),
                FirstUtc = firsts?.FirstUtc, LastUtc = all.Max(a => a.LastUtc), FirstEvidence = firsts?.FirstEvidence ?? all[0].FirstEvidence,
            };
        }).OrderByDescending(a => a.InWebShellTree).ThenByDescending(a => a.DomainAdmin).ThenBy(a => a.Account, StringComparer.OrdinalIgnoreCase).ToList();

    private long Count(string sql) => Convert.ToInt64(Db.Scalar(c, tx, sql) ?? 0L, CultureInfo.InvariantCulture);

    private List<T> Rows<T>(string sql, Func<DbDataReader, T> map, params (string, object?)[] args)
    {
        using var cmd = Db.Command(c, tx, sql, args);
        using var r = cmd.ExecuteReader();
        var list = new List<T>();
        while (r.Read()) list.Add(map(r));
        return list;
    }
}
