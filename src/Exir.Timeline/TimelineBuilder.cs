using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Exir.Core;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.EventLogs;
using Exir.Logs;

namespace Exir.Timeline;

public sealed record TimelineOptions
{
    /// <summary>Evidence roots, one per host usually: folders, zips or single files.</summary>
    public required IReadOnlyList<string> Paths { get; init; }
    public DateTimeOffset? Since { get; init; }
    public DateTimeOffset? Until { get; init; }
    /// <summary>Keep only these hosts (full or short name, case-insensitive); empty keeps all.</summary>
    public IReadOnlyList<string> Hosts { get; init; } = [];
    /// <summary>Rows of these categories only; the analyses still see every category (a process tree needs process rows).</summary>
    public IReadOnlyList<string> Categories { get; init; } = [];
    /// <summary>findings.jsonl files of exir scan to merge in.</summary>
    public IReadOnlyList<string> FindingsFiles { get; init; } = [];
    public string? RulesDirectory { get; init; }
    public int Parallelism { get; init; } = Environment.ProcessorCount;
    /// <summary>Rows held in memory before the sort spills to disk.</summary>
    public int SortBufferRows { get; init; } = 200_000;
    public string? TempDirectory { get; init; }
    /// <summary>How EVTX streams become events; defaults to the managed reader.</summary>
    public Func<Stream, IEnumerable<WinEvent>>? ReadEvtx { get; init; }
}

/// <summary>
/// exir timeline: reads every EVTX file of every evidence root on all cores, normalises the events,
/// runs the event-log hunts, builds process trees, the administrator access summary and the tamper
/// checks, sorts all rows with a bounded external merge and streams them to the sinks.
/// </summary>
public sealed class TimelineBuilder(TimelineOptions options)
{
    public const int MaxFindingsPerRuleAndFile = 200;
    private static readonly byte[] EvtxMagic = "ElfFile\0"u8.ToArray();

    public TimelineResult Run(IReadOnlyList<ITimelineSink> sinks, CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        var coverage = new CoverageReport();
        var stats = new TimelineStats();
        var data = new DataFiles("rules", typeof(EventLogRuleSet).Assembly, options.RulesDirectory);
        var mapping = LoadData("timeline/events.yaml", () => EventMapping.Load(data));
        var hunts = EventLogRuleSet.Load(data, (f, m) => coverage.AddIssue(IssueKind.RuleSkipped, "rules/" + f, m));
        var treeRules = LoadData("timeline/process-trees.yaml", () => ProcessTreeRules.Load(data));
        var tamper = LoadData("timeline/tamper.yaml", () => TamperRules.Load(data));
        var scope = LoadData("timeline/scope.yaml", () => ScopeTexts.Load(data));
        var logMapping = LoadData("timeline/weblogs.yaml", () => LogMapping.Load(data));
        Func<Stream, Exir.Evtx.EvtxReadStats, IEnumerable<WinEvent>> read = options.ReadEvtx is { } custom ? (s, _) => custom(s) : EvtxEvents.Read;
        var categories = options.Categories.Count == 0 ? null : options.Categories.ToHashSet(StringComparer.OrdinalIgnoreCase);

        var trees = new ProcessTreeBuilder();
        var admin = new AdminSummaryBuilder();
        var activity = new ActivityHistogram();
        var findings = new List<Finding>();
        var notes = new List<string>();
        using var sorter = new ExternalSorter(options.SortBufferRows, options.TempDirectory);

        void Keep(TimelineEvent row)
        {
            trees.Add(row);
            admin.Add(row);
            if (categories is not null && !categories.Contains(row.Category)) return;
            activity.Add(row.Timestamp, row.Category);
            stats.Kept();
            sorter.Add(row);
        }

        var sources = new List<IEvidenceSource>();
        try
        {
            var inputs = new List<(EvidenceFile File, string Label, string Pointer, LogFormat? Log)>();
            long unknownLogs = 0;
            foreach (var path in options.Paths)
            {
                var source = EvidenceSource.Open(path);
                sources.Add(source);
                var label = HostLabel(path);
                foreach (var f in source.EnumerateFiles(coverage, cancellation))
                {
                    switch (Classify(f, coverage, out var format))
                    {
                        case InputKind.Evtx: inputs.Add((f, label, Pointer(path, source, f), null)); break;
                        case InputKind.Log when logMapping.Handles(format): inputs.Add((f, label, Pointer(path, source, f), format)); break;
                        case InputKind.UnknownLog: unknownLogs++; break;
                    }
                }
            }
            if (unknownLogs > 0) notes.Add($"{unknownLogs:N0} .log file(s) of no known IIS/Exchange format were not put on the timeline.");

            // Biggest first, so one large file does not start last and hold up the end.
            inputs.Sort((a, b) => b.File.Length.CompareTo(a.File.Length));
            Parallel.ForEach(inputs, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Parallelism), CancellationToken = cancellation }, item =>
            {
                if (item.Log is { } format)
                {
                    ReadLogFile(item.File, format, item.Label, item.Pointer, logMapping, stats, coverage, Keep);
                    return;
                }
                var fileFindings = ReadEvtxFile(item.File, item.Label, item.Pointer, read, mapping, hunts, tamper, stats, coverage, Keep);
                lock (findings) findings.AddRange(fileFindings);
            });

            foreach (var ff in options.FindingsFiles)
                foreach (var row in ReadFindingsFile(ff, coverage))
                {
                    if (!InWindow(row)) { stats.Filter(); continue; }
                    stats.FindingRows++;
                    Keep(row);
                }

            // Tamper findings also become rows, so the holes show where they are in time.
            foreach (var f in findings.Where(f => f.RuleId.StartsWith("TL-", StringComparison.Ordinal)).ToList())
            {
                if (f.Timestamp is null) continue;
                var row = new TimelineEvent
                {
                    Timestamp = f.Timestamp.Value.UtcDateTime, TimestampDesc = "Log gap detected", Host = f.Host ?? "", Source = f.Details.GetValueOrDefault("channel") ?? "",
                    Category = "log-tamper", Message = f.Title + ": " + f.Evidence, RecordId = f.Line, File = f.Artifact, Tags = ["log-gap"],
                    Fields = [new("rule_id", f.RuleId), new("severity", f.Severity.ToWire())],
                };
                if (InWindow(row) && HostWanted(row.Host)) Keep(row);
            }

            var forest = trees.Build(treeRules);
            if (forest.DroppedStarts > 0) notes.Add($"{forest.DroppedStarts:N0} process starts beyond the bound of the process-tree builder were not linked.");
            var summary = admin.Build(forest, scope);
            var result = new TimelineResult
            {
                Admin = summary, Processes = forest, Findings = findings.OrderBy(f => f.Timestamp).ThenBy(f => f.Artifact, StringComparer.Ordinal).ToList(),
                Activity = activity, Coverage = coverage, Stats = stats,
            };
            result.Notes.AddRange(notes);
            stats.SpillRuns = sorter.Runs;
            long written = 0;
            foreach (var row in sorter.Merge())
            {
                cancellation.ThrowIfCancellationRequested();
                foreach (var t in forest.TagsFor(row)) row.AddTag(t);
                foreach (var s in sinks) s.Write(row);
                written++;
            }
            stats.RowsWritten = written;
            stats.SpillRuns = Math.Max(stats.SpillRuns, sorter.Runs);
            stats.BytesRead = coverage.BytesRead;
            stats.Elapsed = clock.Elapsed;
            foreach (var s in sinks) s.Complete(result);
            return result;
        }
        finally
        {
            foreach (var s in sources) s.Dispose();
        }
    }

    /// <summary>The timeline cannot run without its data files: a broken one stops it with the file named.</summary>
    private static T LoadData<T>(string file, Func<T> load)
    {
        try { return load(); }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or FormatException or FileNotFoundException)
        {
            throw new InvalidDataException($"rules/{file}: {e.Message}");
        }
    }

    private List<Finding> ReadEvtxFile(EvidenceFile file, string label, string pointer, Func<Stream, Exir.Evtx.EvtxReadStats, IEnumerable<WinEvent>> read,
        EventMapping mapping, IReadOnlyList<EventLogRule> hunts, TamperRules tamper, TimelineStats stats, CoverageReport coverage, Action<TimelineEvent> keep)
    {
        var found = new List<Finding>();
        var perRule = new Dictionary<string, int>(StringComparer.Ordinal);
        var gaps = new LogGapTracker(pointer, label, "?");
        var tags = new List<string>();
        stats.File();
        try
        {
            using var stream = file.OpenRead();
            var evtxStats = new Exir.Evtx.EvtxReadStats();
            foreach (var e in read(stream, evtxStats))
            {
                stats.Record();
                gaps.Add(e.RecordId, e.TimestampUtc, tamper, e.HeaderRecordId);
                if (gaps.Records == 1)
                {
                    gaps.Host = string.IsNullOrWhiteSpace(e.Computer) ? label : e.Computer!;
                    gaps.Channel = mapping.ChannelOf(e);
                }
                if (e.FromBadCrcChunk) { gaps.SawDamage = true; stats.BadCrc(); }
                var host = string.IsNullOrWhiteSpace(e.Computer) ? label : e.Computer!;
                var t = new DateTimeOffset(DateTime.SpecifyKind(e.TimestampUtc, DateTimeKind.Utc));
                if (!HostWanted(host) || (options.Since is { } s && t < s) || (options.Until is { } u && t > u)) { stats.Filter(); continue; }

                tags.Clear();
                foreach (var rule in hunts)
                {
                    if (!rule.Matches(e)) continue;
                    tags.Add(rule.Tag);
                    if (!rule.Scan) continue;
                    int n = perRule[rule.Info.Id] = perRule.GetValueOrDefault(rule.Info.Id) + 1;
                    if (n <= MaxFindingsPerRuleAndFile) found.Add(EventLogDetector.ToFinding(rule, e, pointer) with { Host = Formats.Clean(host) });
                }
                var row = mapping.Map(e, label, pointer);
                if (row is null)
                {
                    stats.Unmap();
                    continue;
                }
                foreach (var tag in tags) row.AddTag(tag);
                keep(row);
            }
            coverage.FileRead(file.Length);
            if (evtxStats.DamagedChunks + evtxStats.BadCrcChunks > 0)
            {
                gaps.SawDamage = true;
                coverage.AddIssue(IssueKind.Malformed, pointer, $"{evtxStats.DamagedChunks} damaged and {evtxStats.BadCrcChunks} bad-CRC chunk(s); records from them kept and flagged where readable");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or NotSupportedException)
        {
            coverage.AddIssue(IssueKind.Unreadable, pointer, ex.Message);
        }
        foreach (var (id, n) in perRule)
            if (n > MaxFindingsPerRuleAndFile)
                coverage.AddIssue(IssueKind.TooLarge, pointer, $"{id}: {n:N0} matching records, first {MaxFindingsPerRuleAndFile} reported");
        found.AddRange(gaps.Findings(tamper).Where(f => options.Since is null || f.Timestamp >= options.Since).Where(f => options.Until is null || f.Timestamp <= options.Until));
        return found;
    }

    private bool InWindow(TimelineEvent row)
    {
        var t = new DateTimeOffset(row.Timestamp);
        return (options.Since is null || t >= options.Since) && (options.Until is null || t <= options.Until) && HostWanted(row.Host);
    }

    private bool HostWanted(string host)
    {
        if (options.Hosts.Count == 0) return true;
        var shortName = host.Split('.')[0];
        foreach (var h in options.Hosts)
            if (h.Equals(host, StringComparison.OrdinalIgnoreCase) || h.Equals(shortName, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private enum InputKind { Other, Evtx, Log, UnknownLog }

    /// <summary>
    /// EVTX is recognised by content ("ElfFile\0"), whatever the file is called; IIS/Exchange logs by their
    /// header (only .log files are sniffed, so a whole drive is not read twice).
    /// </summary>
    private static InputKind Classify(EvidenceFile f, CoverageReport coverage, out LogFormat format)
    {
        format = default;
        bool log = f.Extension == ".log";
        try
        {
            using var s = f.OpenRead();
            var head = new byte[log ? 64 * 1024 : 8];
            int n = s.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            if (n >= 8 && f.Length >= 4096 && head.AsSpan(0, 8).SequenceEqual(EvtxMagic)) return InputKind.Evtx;
            if (!log) return InputKind.Other;
            if (LogFormatSniffer.Sniff(head.AsSpan(0, n), f.RelativePath) is { } fmt) { format = fmt; return InputKind.Log; }
            return InputKind.UnknownLog;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            coverage.AddIssue(IssueKind.Unreadable, f.RelativePath, e.Message);
            return InputKind.Other;
        }
    }

    private void ReadLogFile(EvidenceFile file, LogFormat format, string label, string pointer, LogMapping map, TimelineStats stats,
        CoverageReport coverage, Action<TimelineEvent> keep)
    {
        var family = coverage.Family(format.ToString());
        family.AddFile(file.Length);
        stats.LogFile();
        long untimed = 0;
        try
        {
            using var stream = file.OpenRead();
            using var reader = new LogReader(stream, format);
            long lines = 0;
            while (reader.Read())
            {
                lines++;
                var row = map.Map(reader, label, pointer);
                if (row is null) { untimed++; continue; }
                if (!InWindow(row)) { stats.Filter(); continue; }
                keep(row);
            }
            stats.AddLogLines(lines);
            var rs = reader.Stats;
            family.AddSpan(rs.Lines, rs.MalformedLines, rs.First, rs.Last, rs.Days);
            coverage.FileRead(file.Length);
            foreach (var note in rs.Notes) coverage.AddIssue(IssueKind.Malformed, pointer, note);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            coverage.AddIssue(IssueKind.Unreadable, pointer, ex.Message);
        }
        if (untimed > 0) coverage.AddIssue(IssueKind.Malformed, pointer, $"{untimed:N0} line(s) without a readable time not put on the timeline");
    }

    /// <summary>The host a root stands for when its events carry no Computer: the folder, zip or file name.</summary>
    public static string HostLabel(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        var name = Path.GetFileName(full);
        return Directory.Exists(full) ? name : Path.GetFileNameWithoutExtension(name);
    }

    /// <summary>Evidence pointer: the root as given plus the path inside it ('/'-separated; zip members as "x.zip!/inner").</summary>
    private static string Pointer(string root, IEvidenceSource source, EvidenceFile f) => source.Kind switch
    {
        "file" => root.Replace('\\', '/'),
        "zip" => (Path.GetDirectoryName(root) is { Length: > 0 } d ? d.Replace('\\', '/') + "/" : "") + f.RelativePath,
        _ => root.Replace('\\', '/').TrimEnd('/') + "/" + f.RelativePath,
    };

    /// <summary>Rows from an exir scan findings.jsonl; lines without a timestamp cannot be placed and are counted.</summary>
    public static IEnumerable<TimelineEvent> ReadFindingsFile(string path, CoverageReport coverage)
    {
        StreamReader reader;
        try { reader = new StreamReader(EvidenceSource.OpenPhysical(path)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            coverage.AddIssue(IssueKind.Unreadable, path, e.Message);
            yield break;
        }
        using (reader)
        {
            long lineNo = 0, untimed = 0;
            string? line;
            while ((line = reader.ReadLine()) is not null)
            {
                lineNo++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                TimelineEvent? row = null;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    row = FindingRow(doc.RootElement, path, lineNo);
                    if (row is null) untimed++;
                }
                catch (JsonException e)
                {
                    coverage.AddIssue(IssueKind.Malformed, $"{path}:{lineNo}", e.Message);
                }
                if (row is not null) yield return row;
            }
            if (untimed > 0) coverage.AddIssue(IssueKind.Malformed, path, $"{untimed:N0} finding(s) without a timestamp not placed on the timeline");
        }
    }

    private static TimelineEvent? FindingRow(JsonElement f, string path, long lineNo)
    {
        if (f.ValueKind != JsonValueKind.Object) return null;
        string? S(string name) => f.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (!DateTimeOffset.TryParse(S("timestamp"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var ts)) return null;
        long? line = f.TryGetProperty("line", out var l) && l.ValueKind == JsonValueKind.Number && l.TryGetInt64(out var ln) ? ln : null;
        var title = S("title") ?? S("rule_id") ?? "finding";
        var evidence = S("evidence") ?? "";
        var row = new TimelineEvent
        {
            Timestamp = ts.UtcDateTime, TimestampDesc = "Finding of exir scan", Host = S("host") ?? "", Source = "exir scan",
            Category = "finding", Message = $"[{S("severity") ?? "?"}] {title}: {EventMapping.Cap(evidence)}", SrcIp = S("client_ip"),
            RecordId = line, File = S("artifact") ?? path, Tags = ["finding"],
        };
        foreach (var name in new[] { "rule_id", "severity", "outcome", "incident" })
            if (S(name) is { } v) row.Fields.Add(new(name, v));
        if (f.TryGetProperty("cves", out var cves) && cves.ValueKind == JsonValueKind.Array)
            row.Fields.Add(new("cves", string.Join(",", cves.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()))));
        row.Fields.Add(new("findings_file", $"{path}:{lineNo}"));
        return row;
    }
}
