using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Exir.Case.Store;
using Exir.Core.Findings;
using Exir.Remediation;
using Exir.Timeline;

namespace Exir.Case.Import;

/// <summary>What <c>exir case import DIR</c> did with one folder: the runs written and the input it could not use.</summary>
public sealed record CaseImportResult(string Folder, IReadOnlyList<string> Kinds, IReadOnlyList<CaseWriteResult> Writes, IReadOnlyList<string> Problems, long ProblemCount)
{
    public long FindingsAdded => Writes.Sum(w => w.FindingsAdded);
    public long FindingsKnown => Writes.Sum(w => w.FindingsKnown);
    public long TimelineRowsAdded => Writes.Sum(w => w.TimelineRowsAdded);
}

/// <summary>
/// Loads an exir output folder into a case: summary.json and findings.jsonl of <c>exir scan --out</c>;
/// summary.json, findings.jsonl and timeline.jsonl of <c>exir timeline --out</c>; inventory.json of
/// <c>exir inventory --out</c>; a quarantine store (manifest.jsonl). The files are hostile input: a line or
/// document that cannot be used is counted and named (the first <see cref="MaxProblemsListed"/>), never fatal.
/// Ids come from the files (scan id, finding id), so importing a run that was also written with --case adds nothing.
/// </summary>
public static class CaseImporter
{
    public const int MaxProblemsListed = 100;

    public static CaseImportResult Import(ICaseStore store, string folder)
    {
        if (store is not SqlCaseStore sql) throw new ArgumentException("import needs a case opened with CaseStores.Open");
        if (!Directory.Exists(folder)) throw new CaseStoreException($"not a folder: {folder}");
        var problems = new List<string>();
        long problemCount = 0;
        void Problem(string where, string why)
        {
            problemCount++;
            if (problems.Count < MaxProblemsListed) problems.Add($"{where}: {why}");
        }
        var kinds = new List<string>();
        var writes = new List<CaseWriteResult>();

        var summaryPath = Path.Combine(folder, "summary.json");
        JsonDocument? summary = null;
        if (File.Exists(summaryPath))
        {
            try { summary = JsonDocument.Parse(File.ReadAllBytes(summaryPath), new JsonDocumentOptions { MaxDepth = 64 }); }
            catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException) { Problem(summaryPath, "not readable as JSON: " + e.Message); }
        }
        using (summary)
        {
            if (summary?.RootElement is { ValueKind: JsonValueKind.Object } root)
            {
                if (root.TryGetProperty("verdict", out _) && root.TryGetProperty("hosts", out _))
                {
                    kinds.Add("scan");
                    writes.Add(ImportScan(sql, folder, root, Problem));
                }
                else if (root.TryGetProperty("accounts", out _) || root.TryGetProperty("scope", out _))
                {
                    kinds.Add("timeline");
                    writes.Add(ImportTimeline(sql, folder, root, Problem));
                }
                else Problem(summaryPath, "neither a scan's nor a timeline's summary");
            }
            else if (summary is not null) Problem(summaryPath, "not a JSON object");
        }

        var inventory = Path.Combine(folder, "inventory.json");
        if (File.Exists(inventory))
        {
            kinds.Add("inventory");
            if (ImportInventory(sql, inventory, Problem) is { } w) writes.Add(w);
        }
        if (File.Exists(Path.Combine(folder, QuarantineStore.ManifestName)))
        {
            kinds.Add("quarantine");
            if (ImportQuarantine(sql, folder, Problem) is { } w) writes.Add(w);
        }
        if (kinds.Count == 0 && problemCount == 0)
            Problem(folder, "no exir output here (summary.json, findings.jsonl, timeline.jsonl, inventory.json or a quarantine manifest.jsonl)");
        return new CaseImportResult(folder, kinds, writes, problems, problemCount);
    }

    private static CaseWriteResult ImportScan(SqlCaseStore store, string folder, JsonElement root, Action<string, string> problem)
    {
        var run = RunOf(root, "scan", folder);
        var hosts = new List<CaseHostScan>();
        var files = new List<CaseEvidenceFile>();
        var hostArray = root.GetProperty("hosts");
        int hostCount = hostArray.ValueKind == JsonValueKind.Array ? hostArray.GetArrayLength() : 0;
        if (hostArray.ValueKind == JsonValueKind.Array)
            foreach (var h in hostArray.EnumerateArray())
            {
                var name = S(h, "name");
                if (h.ValueKind != JsonValueKind.Object || string.IsNullOrWhiteSpace(name)) { problem(Path.Combine(folder, "summary.json"), "a host without a name"); continue; }
                var hostId = S(h, "host_id") ?? HostIds.For(name);
                // One host: its coverage is the document's; several: each host has its own.
                var coverageEl = hostCount > 1 && h.TryGetProperty("coverage", out var hc) ? hc : root.TryGetProperty("coverage", out var rc) ? rc : default;
                var verdict = h.TryGetProperty("verdict", out var v) ? v : default;
                var evidence = h.TryGetProperty("evidence", out var ev) ? ev : default;
                hosts.Add(new CaseHostScan
                {
                    ScanId = run.ScanId, HostId = hostId, HostName = name, NameSource = S(h, "name_source") ?? "",
                    EvidencePath = S(evidence, "root") ?? "", EvidenceKind = S(evidence, "kind") ?? "", EvidenceSha256 = S(evidence, "sha256"),
                    Verdict = VerdictOf(S(verdict, "label")), Headline = S(verdict, "headline") ?? "", Reason = S(verdict, "reason") ?? "",
                    CoverageCaveat = S(verdict, "coverage_caveat") ?? "", ExchangeBuild = S(h, "exchange_build"),
                    PatchStatus = h.TryGetProperty("patch_status", out var ps) && ps.ValueKind == JsonValueKind.Object ? CaseJson.Deserialize<PatchStatus>(ps.GetRawText()) : null,
                    Coverage = CoverageOf(coverageEl), FindingCount = L(h, "findings") ?? 0,
                    FinishedUtc = run.FinishedUtc,
                });
                if (coverageEl.ValueKind == JsonValueKind.Object && coverageEl.TryGetProperty("file_hashes_sha256", out var fh) && fh.ValueKind == JsonValueKind.Object)
                    foreach (var p in fh.EnumerateObject())
                        if (p.Value.ValueKind == JsonValueKind.String) files.Add(new CaseEvidenceFile(run.ScanId, hostId, p.Name, p.Value.GetString()!));
            }
        return store.WriteRun(run, hosts, files, Findings(folder, root, run.ScanId, problem));
    }

    private static CaseWriteResult ImportTimeline(SqlCaseStore store, string folder, JsonElement root, Action<string, string> problem)
    {
        var run = RunOf(root, "timeline", folder);
        var admins = new List<CaseAdminAccount>();
        if (root.TryGetProperty("accounts", out var accounts) && accounts.ValueKind == JsonValueKind.Array)
            foreach (var a in accounts.EnumerateArray())
            {
                if (S(a, "account") is not { Length: > 0 } account) { problem(Path.Combine(folder, "summary.json"), "an account without a name"); continue; }
                var names = A(a, "names");
                var display = names.FirstOrDefault(x => x.Contains('\\')) ?? names.FirstOrDefault() ?? account;
                var hosts = A(a, "hosts");
                var changes = A(a, "changes");
                bool privileged = B(a, "privileged");
                admins.Add(new CaseAdminAccount
                {
                    Account = account, Display = display, Hosts = hosts, Logons = SumOf(a, "logons_by_type"), PrivilegedLogons = SumOf(a, "privileged_logons_by_type"),
                    FailedLogons = (int)(L(a, "failed_logons") ?? 0), SourceIps = A(a, "source_ips").Concat(A(a, "web_source_ips")).Distinct(StringComparer.OrdinalIgnoreCase).ToList(),
                    Cmdlets = A(a, "cmdlets"), Changes = changes, Privileged = privileged, AddedToPrivilegedGroup = B(a, "added_to_privileged_group"),
                    Created = B(a, "created"), InWebShellTree = B(a, "in_webshell_tree"),
                    DomainAdmin = SqlCaseStore.IsDomainAdmin(changes, display, hosts, privileged),
                    FirstUtc = T(a, "first_seen"), LastUtc = T(a, "last_seen"), FirstEvidence = S(a, "first_evidence"),
                });
            }
        var result = store.WriteRun(run, [], [], Findings(folder, root, run.ScanId, problem), admins);
        var rowsPath = Path.Combine(folder, "timeline.jsonl");
        long rows = File.Exists(rowsPath) ? store.WriteTimelineRows(run.ScanId, TimelineRows(rowsPath, problem)) : 0;
        return result with { TimelineRowsAdded = rows };
    }

    private static CaseWriteResult? ImportInventory(SqlCaseStore store, string path, Action<string, string> problem)
    {
        JsonDocument doc;
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); doc = JsonDocument.Parse(bytes); }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException) { problem(path, "not readable as JSON: " + e.Message); return null; }
        using (doc)
        {
            var items = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement.EnumerateArray().ToList()
                : doc.RootElement.ValueKind == JsonValueKind.Object ? [doc.RootElement] : [];
            var at = File.GetLastWriteTimeUtc(path);
            // inventory.json has no run id: its content names the run, so the same file imported twice is one run.
            var scan = new CaseScan
            {
                ScanId = "inventory-" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..24], Verb = "inventory", ToolVersion = "unknown",
                Command = "exir case import", Input = path, InputKind = "inventory.json", StartedUtc = at, FinishedUtc = at,
                RecordedUtc = DateTimeOffset.UtcNow, RecordedBy = "import", Machine = Environment.MachineName, User = Environment.UserName,
            };
            var records = new List<CaseAssessment>();
            foreach (var i in items)
            {
                if (i.ValueKind != JsonValueKind.Object || S(i, "target") is not { } target) { problem(path, "an entry without a target"); continue; }
                records.Add(new CaseAssessment
                {
                    ScanId = scan.ScanId, Target = target, Build = S(i, "build_normalized") ?? S(i, "build"), Product = S(i, "product"), Cu = S(i, "cu"), Su = S(i, "su"),
                    Supported = B(i, "supported"), OpenCves = A(i, "open_cves"), Action = S(i, "action") ?? "unknown", ActionText = S(i, "action_text") ?? "",
                    Source = S(i, "source") ?? "", Error = S(i, "error"), AtUtc = at,
                });
            }
            return store.WriteAssessmentRecords(scan, records);
        }
    }

    private static CaseWriteResult? ImportQuarantine(SqlCaseStore store, string folder, Action<string, string> problem)
    {
        IReadOnlyList<QuarantineEntry> entries;
        List<string> warnings;
        try
        {
            using var q = QuarantineStore.OpenReadOnly(folder);
            entries = q.List();
            warnings = q.Warnings.ToList();
        }
        catch (Exception e) when (e is QuarantineException or IOException or UnauthorizedAccessException or JsonException)
        {
            problem(Path.Combine(folder, QuarantineStore.ManifestName), e.Message);
            return null;
        }
        foreach (var w in warnings) problem(Path.Combine(folder, QuarantineStore.ManifestName), w);
        var manifest = Path.Combine(folder, QuarantineStore.ManifestName);
        var at = File.GetLastWriteTimeUtc(manifest);
        CaseWriteResult? last = null;
        // The machine that quarantined is the server the files were taken from.
        foreach (var g in entries.GroupBy(e => e.Machine, StringComparer.OrdinalIgnoreCase))
        {
            var scan = new CaseScan
            {
                ScanId = "quarantine-" + StableIdsOf(Path.GetFullPath(folder) + "\n" + g.Key), Verb = "quarantine", ToolVersion = "unknown",
                Command = "exir case import", Input = folder, InputKind = "quarantine store", StartedUtc = at, FinishedUtc = at,
                RecordedUtc = DateTimeOffset.UtcNow, RecordedBy = "import", Machine = Environment.MachineName, User = Environment.UserName,
            };
            last = store.WriteQuarantine(scan, g.Key, g.ToList());
        }
        return last;
    }

    private static string StableIdsOf(string text) => StableIds.Hash(text, 24);

    /// <summary>findings.jsonl streamed (a bad line is a problem, not the end); else the findings of a --format json summary.</summary>
    private static IEnumerable<Finding> Findings(string folder, JsonElement root, string scanId, Action<string, string> problem)
    {
        var path = Path.Combine(folder, "findings.jsonl");
        if (File.Exists(path))
        {
            foreach (var (f, _) in FindingJson.ReadLines(path, problem)) yield return f with { ScanId = f.ScanId ?? scanId };
            yield break;
        }
        if (root.TryGetProperty("findings", out var arr) && arr.ValueKind == JsonValueKind.Array)
        {
            int n = 0;
            foreach (var el in arr.EnumerateArray())
            {
                n++;
                if (FindingJson.Read(el, out var why) is { } f) yield return f with { ScanId = f.ScanId ?? scanId };
                else problem($"summary.json findings[{n - 1}]", why ?? "not a finding");
            }
        }
    }

    /// <summary>timeline.jsonl (the Timesketch form exir writes) back into rows.</summary>
    private static IEnumerable<TimelineEvent> TimelineRows(string path, Action<string, string> problem)
    {
        StreamReader reader;
        try { reader = new StreamReader(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { problem(path, e.Message); yield break; }
        using (reader)
        {
            long n = 0;
            string? line;
            while ((line = reader.ReadLine()) is not null)
            {
                n++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                TimelineEvent? e = null;
                string? why = null;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    var o = doc.RootElement;
                    if (o.ValueKind != JsonValueKind.Object) why = "not a JSON object";
                    else if (T(o, "datetime") is not { } time) why = "no datetime";
                    else
                    {
                        e = new TimelineEvent
                        {
                            Timestamp = time.UtcDateTime, TimestampDesc = S(o, "timestamp_desc") ?? "Event", Host = S(o, "host") ?? "", Source = S(o, "source") ?? "",
                            Category = S(o, "category") ?? "other", EventId = L(o, "event_id") is { } id and >= int.MinValue and <= int.MaxValue ? (int)id : null,
                            Provider = S(o, "provider"), User = S(o, "user"), SrcIp = S(o, "src_ip"), SrcHost = S(o, "src_host"), Process = S(o, "process"),
                            ParentProcess = S(o, "parent_process"), CommandLine = S(o, "command_line"), Message = S(o, "message") ?? "",
                            RecordId = L(o, "record_id"), File = S(o, "file") ?? "",
                        };
                        foreach (var t in (S(o, "exir_tags") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) e.AddTag(t);
                    }
                }
                catch (JsonException x) { why = "not JSON: " + x.Message; }
                if (e is null) { problem($"{path}:{n}", why ?? "not a timeline row"); continue; }
                yield return e;
            }
        }
    }

    private static CaseScan RunOf(JsonElement root, string verb, string folder)
    {
        var p = root.TryGetProperty("provenance", out var pr) && pr.ValueKind == JsonValueKind.Object ? pr : default;
        var finished = T(p, "finished_utc") ?? new DateTimeOffset(File.GetLastWriteTimeUtc(Path.Combine(folder, "summary.json")));
        // A summary without a scan id (hand-made or older) gets one from its folder, so importing it twice is one run.
        var scanId = S(p, "scan_id") is { Length: > 0 } id ? id : $"{verb}-" + StableIdsOf(Path.GetFullPath(folder) + "\n" + CaseJson.Time(finished));
        return new CaseScan
        {
            ScanId = scanId, Verb = verb, Tool = S(p, "tool") ?? "exir", ToolVersion = S(p, "tool_version") ?? "unknown",
            RulesOrigin = S(p, "rules_origin"), RulesVersion = S(p, "rules_version"), KnowledgeOrigin = S(p, "knowledge_origin"),
            Command = S(p, "command") ?? "", Input = S(p, "input") ?? "", InputKind = S(p, "input_kind") ?? "", InputSha256 = S(p, "input_sha256"),
            StartedUtc = T(p, "started_utc") ?? finished, FinishedUtc = finished, Machine = S(p, "machine") ?? "", User = S(p, "user") ?? "",
            RecordedUtc = DateTimeOffset.UtcNow, RecordedBy = "import",
        };
    }

    private static CaseCoverage CoverageOf(JsonElement c)
    {
        if (c.ValueKind != JsonValueKind.Object) return new CaseCoverage();
        var families = new List<CaseLogFamily>();
        if (c.TryGetProperty("log_families", out var fs) && fs.ValueKind == JsonValueKind.Array)
            foreach (var f in fs.EnumerateArray())
            {
                if (S(f, "family") is not { } name) continue;
                var gaps = new List<(DateOnly, DateOnly)>();
                if (f.TryGetProperty("gaps", out var g) && g.ValueKind == JsonValueKind.Array)
                    foreach (var gap in g.EnumerateArray())
                        if (DateOnly.TryParseExact(S(gap, "from"), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var from)
                            && DateOnly.TryParseExact(S(gap, "to"), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var to))
                            gaps.Add((from, to));
                families.Add(new CaseLogFamily(name, L(f, "files") ?? 0, L(f, "lines") ?? 0, L(f, "malformed_lines") ?? 0, L(f, "bytes") ?? 0, T(f, "first"), T(f, "last"), gaps));
            }
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        if (c.TryGetProperty("issue_counts", out var ic) && ic.ValueKind == JsonValueKind.Object)
            foreach (var p in ic.EnumerateObject()) if (p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt64(out var n)) counts[p.Name] = n;
        var issues = new List<CaseCoverageIssue>();
        if (c.TryGetProperty("issues", out var iss) && iss.ValueKind == JsonValueKind.Array)
            foreach (var i in iss.EnumerateArray().Take(1000)) issues.Add(new CaseCoverageIssue(S(i, "kind") ?? "", S(i, "path") ?? "", S(i, "message") ?? ""));
        var notRun = new Dictionary<string, string>(StringComparer.Ordinal);
        if (c.TryGetProperty("checks_not_run", out var cn) && cn.ValueKind == JsonValueKind.Object)
            foreach (var p in cn.EnumerateObject()) if (p.Value.ValueKind == JsonValueKind.String) notRun[p.Name] = p.Value.GetString()!;
        return new CaseCoverage
        {
            FilesSeen = L(c, "files_seen") ?? 0, FilesRead = L(c, "files_read") ?? 0, BytesRead = L(c, "bytes_read") ?? 0, UnknownLogFiles = L(c, "unknown_log_files") ?? 0,
            Families = families, IssueCounts = counts, Issues = issues, ChecksNotRun = notRun,
        };
    }

    private static VerdictKind VerdictOf(string? label) => label?.ToUpperInvariant() switch
    {
        "COMPROMISED" => VerdictKind.Compromised,
        "ATTEMPTED" => VerdictKind.Attempted,
        _ => VerdictKind.NoEvidenceFound,
    };

    private static string? S(JsonElement o, string name) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    private static long? L(JsonElement o, string name) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;
    private static bool B(JsonElement o, string name) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
    private static List<string> A(JsonElement o, string name) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList() : [];
    private static DateTimeOffset? T(JsonElement o, string name) =>
        S(o, name) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;
    private static int SumOf(JsonElement o, string name)
    {
        if (o.ValueKind != JsonValueKind.Object || !o.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Object) return 0;
        long sum = 0;
        foreach (var p in v.EnumerateObject()) if (p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt64(out var n)) sum += n;
        return (int)Math.Clamp(sum, 0, int.MaxValue);
    }
}
