using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Exir.Core;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.Artifacts;
using Exir.Detection.EventLogs;
using Exir.Detection.Files;
using Exir.Detection.Logs;
using Exir.Detection.Rules;
using Exir.Evtx;
using Exir.Logs;
using Exir.Pipeline;
using Exir.Timeline;

namespace Exir.Engine.Rules;

/// <summary>The outcome of one test of a rule.</summary>
public sealed record RuleTestResult(string File, int Line, string RuleId, string? Name, bool Passed, string Message)
{
    public override string ToString() =>
        $"{File}:{Line}: rule {RuleId}{(Name is null ? "" : $" ({Name})")}: {(Passed ? "passed" : "FAILED: " + Message)}";
}

/// <summary>
/// Runs the tests: blocks of the rule files: every input goes through the same code a scan uses (the record pipeline
/// with the rule's consumer, the event-log matcher, the tamper tracker, the YARA engine on the file hunt), and the
/// finding (or its absence) is checked against what the test expects. Used by 'exir rules check' and by one generic
/// test of the test suite, so every rule is tested the same way.
/// </summary>
public static class RuleTests
{
    private static readonly DateTimeOffset DefaultTime = new(2021, 3, 3, 5, 12, 33, 123, TimeSpan.Zero);

    /// <summary>Runs the tests of every rule file of the catalogue's data.</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<RuleCatalog, Tuple<Exir.Sigma.SigmaRuleSet, List<Exir.Sigma.SigmaRuleTestResult>>> SigmaPack = [];

    /// <summary>The `tests:` of one Sigma rule file of the pack, run through the whole engine; a rule that does not load is a failed test.</summary>
    private static IReadOnlyList<RuleTestResult> SigmaTests(RuleCatalog catalog, string file)
    {
        var (set, all) = SigmaPack.GetValue(catalog, c =>
        {
            var engine = Exir.Detection.Sigma.SigmaHunt.Load(c.Data, [], builtIn: true, builtInWeb: true);
            return Tuple.Create(engine.RuleSet, Exir.Sigma.SigmaRuleTests.Run(engine.RuleSet));
        }).ToValueTuple();
        var shown = "rules/" + file;
        var results = new List<RuleTestResult>();
        foreach (var f in set.Report.Failed.Where(f => f.File == shown))
            results.Add(new RuleTestResult(shown, 0, f.RuleId ?? "-", f.Title, false, "does not load: " + f.Reason));
        foreach (var r in all.Where(r => r.Rule.File == shown))
            results.Add(new RuleTestResult(shown, 0, Exir.Detection.Sigma.SigmaHunt.RulePrefix + r.Rule.Id, r.Name, r.Passed,
                r.Passed ? "" : r.Problem ?? $"expected {(r.Expected ? "a match" : "no match")}, got {(r.Actual ? "a match" : "none")}"));
        return results;
    }

    public static IReadOnlyList<RuleTestResult> RunAll(RuleCatalog catalog)
    {
        var results = new List<RuleTestResult>();
        foreach (var file in catalog.Data.List())
            results.AddRange(RunFile(catalog, file));
        return results;
    }

    /// <summary>Runs the tests of one file of the data ('/'-separated path under rules/); none for files without tests.</summary>
    public static IReadOnlyList<RuleTestResult> RunFile(RuleCatalog catalog, string file)
    {
        var kind = RuleFileKinds.Of(file);
        if (kind == RuleFileKinds.SigmaRules) return SigmaTests(catalog, file);
        if (kind is not (RuleFileKinds.LogRules or RuleFileKinds.EventRules or RuleFileKinds.FileHunt or RuleFileKinds.SuspiciousFiles
                or RuleFileKinds.Tamper or RuleFileKinds.YaraTests)) return [];
        var shown = "rules/" + file;
        YamlJson doc;
        try { doc = YamlJson.Convert(catalog.Data.ReadAllText(file)); }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or IOException) { return [new RuleTestResult(shown, 0, "-", null, false, "cannot read: " + e.Message)]; }
        var results = new List<RuleTestResult>();
        if (kind == RuleFileKinds.Tamper)
        {
            foreach (var key in new[] { "record_gap", "time_gap", "time_backwards" })
                if (doc.Json[key] is JsonObject rule) RunRule(catalog, kind, shown, "/" + key, rule, doc, results, file);
        }
        else if (kind == RuleFileKinds.YaraTests)
        {
            var yarFile = file[..^".tests.yaml".Length] + ".yar";
            if (!catalog.Data.Exists(yarFile)) return [new RuleTestResult(shown, 1, "-", null, false, $"no {yarFile} beside the tests")];
            results.AddRange(RunYaraTests(catalog, catalog.Data.ReadAllText(yarFile), "rules/" + yarFile, doc, shown));
        }
        else if (doc.Json["rules"] is JsonArray rules)
        {
            for (int i = 0; i < rules.Count; i++)
                if (rules[i] is JsonObject rule) RunRule(catalog, kind, shown, $"/rules/{i}", rule, doc, results, file);
        }
        return results;
    }

    /// <summary>The tests of a YARA file (its sidecar NAME.tests.yaml), with exactly the rules of that file, through the file hunt.</summary>
    public static IReadOnlyList<RuleTestResult> RunYaraTests(RuleCatalog catalog, string yarSource, string yarOrigin, YamlJson tests, string testsShown)
    {
        var results = new List<RuleTestResult>();
        if (tests.Json["tests"] is not JsonArray list) return results;
        var yara = YaraContentRules.FromSource(yarSource, yarOrigin, builtIn: true);
        for (int j = 0; j < list.Count; j++)
        {
            if (list[j] is not JsonObject t) continue;
            var ruleName = t["rule"]?.ToString() ?? "-";
            var (line, _) = tests.Locate($"/tests/{j}");
            var name = t["name"]?.ToString();
            if (!yara.Compiled.Rules.Any(r => r.Name == ruleName)) { results.Add(new(testsShown, line, "yara:" + ruleName, name, false, $"no rule {ruleName} in {yarOrigin}")); continue; }
            try { results.Add(Check(testsShown, line, "yara:" + ruleName, name, t["expect"], () => RunFiles(catalog, t["files"], yara, deep: true), null)); }
            catch (Exception e) when (e is FormatException or ArgumentException) { results.Add(new(testsShown, line, "yara:" + ruleName, name, false, "the test cannot run: " + e.Message)); }
        }
        return results;
    }

    private static void RunRule(RuleCatalog catalog, string kind, string shown, string pointer, JsonObject rule, YamlJson doc, List<RuleTestResult> results, string file)
    {
        var id = rule["id"]?.ToString() ?? "-";
        if (rule["tests"] is not JsonArray tests) return;
        for (int j = 0; j < tests.Count; j++)
        {
            var t = tests[j] as JsonObject;
            var (line, _) = doc.Locate($"{pointer}/tests/{j}");
            var name = t?["name"]?.ToString();
            if (t is null) { results.Add(new(shown, line, id, null, false, "a test must be a mapping")); continue; }
            try
            {
                results.Add(kind switch
                {
                    RuleFileKinds.LogRules => LogTest(catalog, shown, line, id, name, rule, t),
                    RuleFileKinds.EventRules => EventTest(catalog, shown, line, id, name, t),
                    RuleFileKinds.Tamper => Check(shown, line, id, name, t["expect"], () => TamperFindings(catalog, id, t["events"]), null),
                    _ => Check(shown, line, id, name, t["expect"],
                        () => RunFiles(catalog, t["files"], new NoContentRules(), deep: t["options"]?["deep"]?.ToString() == "true", t["options"]?["baseline"]), null),
                });
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException or IOException or KeyNotFoundException)
            {
                results.Add(new(shown, line, id, name, false, "the test cannot run: " + e.Message));
            }
        }
    }

    private static RuleTestResult LogTest(RuleCatalog catalog, string shown, int line, string id, string? name, JsonObject ruleNode, JsonObject test)
    {
        var rule = catalog.LogRules.Rules.FirstOrDefault(r => r.Info.Id == id);
        if (rule is null) return new(shown, line, id, name, false, "the rule did not load (see its errors)");
        var log = test["log"] as JsonObject ?? throw new FormatException("no 'log'");
        var formatName = log["format"]?.ToString() ?? ruleNode["formats"]?[0]?.ToString() ?? "iis";
        var format = LogFormats.ByName(formatName) ?? throw new FormatException($"unknown format '{formatName}'");
        var text = log["text"]?.ToString() ?? LogText(format, log);
        var path = log["path"]?.ToString() ?? DefaultPath(format);
        var source = new MemoryEvidenceSource("test", [MemoryEvidenceSource.File(path, Encoding.UTF8.GetBytes(text))]);
        var pipeline = new RecordPipeline(new ArtifactClassifier(catalog.FileHunt.ScriptExtensions), [new LogRuleConsumer(new LogRuleSet([rule]))]);
        var context = pipeline.Run(source, new RunOptions { Parallelism = 1 });
        var unread = context.Coverage.Families.Values.Sum(f => f.Files) == 0 ? "the test's log was not recognised as a log of any format" : null;
        return Check(shown, line, id, name, test["expect"], () => context.Findings.Where(f => f.RuleId == id).ToList(), unread);
    }

    private static RuleTestResult EventTest(RuleCatalog catalog, string shown, int line, string id, string? name, JsonObject test)
    {
        var rule = catalog.EventRules.FirstOrDefault(r => r.Info.Id == id);
        if (rule is null) return new(shown, line, id, name, false, "the rule did not load (see its errors)");
        var e = Event(test["event"] as JsonObject ?? throw new FormatException("no 'event'"), 1);
        // A highlight-only rule (scan: false) fires when it tags the record; a hunt also makes its finding.
        return Check(shown, line, id, name, test["expect"], () => rule.Matches(e) ? [EventLogHunts.ToFinding(rule, e, "test.evtx")] : [], null);
    }

    private static List<Finding> TamperFindings(RuleCatalog catalog, string id, JsonNode? events)
    {
        var rules = catalog.Timeline.Tamper;
        var tracker = new LogGapTracker("test.evtx", "TEST", "?");
        ulong n = 0;
        foreach (var node in events as JsonArray ?? throw new FormatException("no 'events'"))
        {
            var e = Event(node as JsonObject ?? throw new FormatException("an event must be a mapping"), ++n);
            tracker.Add(e.RecordId, e.TimestampUtc, rules, e.HeaderRecordId);
            if (tracker.Records == 1) tracker.Channel = catalog.Timeline.Events.ChannelOf(e);
        }
        return tracker.Findings(rules).Where(f => f.RuleId == id).ToList();
    }

    /// <summary>The files of a test as evidence, through the file hunt (its checks and the given content rules), the build hints and the dump and archive checks.</summary>
    private static List<Finding> RunFiles(RuleCatalog catalog, JsonNode? files, IContentRules content, bool deep, JsonNode? baseline = null)
    {
        var list = new List<EvidenceFile>();
        foreach (var node in files as JsonArray ?? throw new FormatException("no 'files'"))
        {
            var f = node as JsonObject ?? throw new FormatException("a file must be a mapping");
            var path = f["path"]?.ToString() ?? throw new FormatException("a file needs a path");
            byte[] bytes = f["content_base64"] is { } b64 ? Convert.FromBase64String(b64.ToString())
                : (f["encoding"]?.ToString() ?? "utf-8") switch
                {
                    "utf-16le" => [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes(f["content"]?.ToString() ?? "")],
                    "utf-16be" => [.. Encoding.BigEndianUnicode.GetPreamble(), .. Encoding.BigEndianUnicode.GetBytes(f["content"]?.ToString() ?? "")],
                    _ => Encoding.UTF8.GetBytes(f["content"]?.ToString() ?? ""),
                };
            DateTimeOffset? modified = f["modified"] is { } m ? DateTimeOffset.Parse(m.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal) : null;
            list.Add(MemoryEvidenceSource.File(path, bytes, modified));
        }
        string? baselineFile = baseline is JsonObject b ? WriteBaseline(b) : null;
        try
        {
            var options = new RunOptions { Parallelism = 1, Deep = deep, BaselinePath = baselineFile };
            var build = new BuildHints();
            var consumers = new List<IConsumer>
            {
                build, new FileHunt(options, catalog.Data, content, build, catalog.FileHunt), new SuspiciousFilesDetector(catalog.SuspiciousFiles),
            };
            var context = new RecordPipeline(new ArtifactClassifier(catalog.FileHunt.ScriptExtensions), consumers).Run(new MemoryEvidenceSource("test", list), options);
            return context.Findings.ToList();
        }
        finally
        {
            if (baselineFile is not null) File.Delete(baselineFile);
        }
    }

    /// <summary>The test's baseline as the file exir baseline create writes, in a temporary file.</summary>
    private static string WriteBaseline(JsonObject b)
    {
        var files = new Dictionary<string, BaselineEntry>(StringComparer.Ordinal);
        foreach (var f in b["files"] as JsonArray ?? [])
        {
            var path = f!["path"]!.ToString();
            files[WebBaseline.Key(path)] = new BaselineEntry(path, Number(f["size"], 0), f["sha256"]!.ToString().ToLowerInvariant());
        }
        var baseline = new WebBaseline { Build = b["build"]?.ToString() ?? throw new FormatException("baseline needs a build"), BuildSource = "rule test", Files = files };
        var path2 = Path.Combine(Path.GetTempPath(), $"exir-rule-test-{Guid.NewGuid():N}.baseline");
        using (var w = new StreamWriter(path2)) baseline.Write(w);
        return path2;
    }

    /// <summary>Checks the rule's findings on the input against the test's 'expect'.</summary>
    private static RuleTestResult Check(string file, int line, string id, string? name, JsonNode? expect, Func<List<Finding>> run, string? inputProblem)
    {
        if (inputProblem is not null) return new(file, line, id, name, false, inputProblem);
        if (expect is not JsonObject e || e["fires"] is null) return new(file, line, id, name, false, "no 'expect: {fires: ...}'");
        var findings = run().Where(f => f.RuleId == id).ToList();
        bool fires = e["fires"]!.GetValue<bool>();
        if (!fires)
            return findings.Count == 0 ? new(file, line, id, name, true, "")
                : new(file, line, id, name, false, $"fired ({findings.Count}x, first: {Cut(findings[0].Evidence)}) but must not");
        if (findings.Count == 0) return new(file, line, id, name, false, "did not fire but must");
        var why = new List<string>();
        if (e["count"] is { } c && Number(c, 0) != findings.Count) why.Add($"{findings.Count} findings, expected {c}");
        if (e["severity"] is { } s && SeverityNames.TryParseSeverity(s.ToString(), out var sev) && findings.Any(f => f.Severity != sev))
            why.Add($"severity {string.Join("/", findings.Select(f => f.Severity.ToWire()).Distinct())}, expected {s}");
        if (e["outcome"] is { } o && SeverityNames.TryParseOutcome(o.ToString(), out var outc) && findings.Any(f => f.Outcome != outc))
            why.Add($"outcome {string.Join("/", findings.Select(f => f.Outcome.ToWire()).Distinct())}, expected {o}");
        if (e["details"] is JsonObject details)
            foreach (var (k, v) in details)
                if (!findings.Any(f => f.Details.TryGetValue(k, out var have) && have.Contains(v?.ToString() ?? "", StringComparison.Ordinal)))
                    why.Add($"detail {k} does not contain '{v}' ({string.Join(" | ", findings.Select(f => f.Details.GetValueOrDefault(k) ?? "absent").Distinct())})");
        return new(file, line, id, name, why.Count == 0, string.Join("; ", why));
    }

    /// <summary>A whole number of the test (YAML numbers arrive as 64-bit).</summary>
    private static long Number(JsonNode? n, long fallback) =>
        n is null ? fallback : long.TryParse(n.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new FormatException($"'{n}' is not a whole number");

    private static string Cut(string s) => s.Length <= 120 ? s : s[..120] + "...";

    private static WinEvent Event(JsonObject o, ulong defaultRecord)
    {
        var time = o["time"] is { } t ? DateTime.Parse(t.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal) : DefaultTime.UtcDateTime;
        return new WinEvent
        {
            EventId = (int)Number(o["event_id"], 0),
            Provider = o["provider"]?.ToString() ?? "",
            Channel = o["channel"]?.ToString(),
            Level = (int)Number(o["level"], 4),
            Computer = o["computer"]?.ToString() ?? "TEST.contoso.local",
            RecordId = o["record_id"] is { } r ? (ulong)Number(r, 0) : defaultRecord,
            HeaderRecordId = o["header_record_id"] is { } h ? (ulong)Number(h, 0) : null,
            TimestampUtc = DateTime.SpecifyKind(time, DateTimeKind.Utc),
            Data = o["data"] is JsonObject d ? d.Select(kv => new KeyValuePair<string, string>(kv.Key, kv.Value?.ToString() ?? "")).ToList() : [],
        };
    }

    /// <summary>A log of the format with one line made of the test's fields (by name or role), the rest empty, at a fixed time.</summary>
    private static string LogText(LogFormatDescriptor format, JsonObject log)
    {
        var names = log["field_names"] is JsonArray fn ? fn.Select(n => n!.ToString()).ToList()
            : format.DefaultSchemas.FirstOrDefault()?.Names.ToList()
              ?? (format.Format == LogFormat.OabGenerator ? ["Timestamp", "ThreadId", "Level", "Organization", "OabName", "Message"]
                  : throw new FormatException($"give field_names: the {format.Name} format has no default field list"));
        var schema = new LogSchema(names, format);
        var values = new string[names.Count];
        if (schema.TimestampIndex >= 0) values[schema.TimestampIndex] = DefaultTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        if (schema.DateIndex >= 0) values[schema.DateIndex] = DefaultTime.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        if (schema.TimeIndex >= 0) values[schema.TimeIndex] = DefaultTime.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        foreach (var (k, v) in log["fields"] as JsonObject ?? throw new FormatException("no 'fields'"))
        {
            int i = schema.IndexOf(k);
            if (i < 0) throw new FormatException($"field '{k}' is not in the {format.Name} field list (give field_names)");
            values[i] = v?.ToString() ?? "";
        }
        var sb = new StringBuilder();
        if (format.Format == LogFormat.IisW3c)
        {
            sb.Append("#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: 2021-03-03 00:00:00\r\n#Fields: ").Append(string.Join(' ', names)).Append("\r\n");
            // IIS writes spaces as '+' and empty values as '-'.
            sb.Append(string.Join(' ', values.Select(v => string.IsNullOrEmpty(v) ? "-" : v.Replace(' ', '+')))).Append("\r\n");
        }
        else
        {
            var type = format.Format switch
            {
                LogFormat.HttpProxy => "HttpProxy Logs", LogFormat.EcpServer => "ECP Server Log", LogFormat.OabGenerator => "OABGenerator Log", _ => "Test Log",
            };
            sb.Append("#Software: Microsoft Exchange Server\r\n#Version: 15.01.2176.002\r\n#Log-type: ").Append(type)
              .Append("\r\n#Date: 2021-03-03T00:00:00.000Z\r\n#Fields: ").Append(string.Join(',', names)).Append("\r\n");
            sb.Append(string.Join(',', values.Select(Csv))).Append("\r\n");
        }
        return sb.ToString();
    }

    private static string Csv(string? v)
    {
        v ??= "";
        return v.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + v.Replace("\"", "\"\"") + "\"" : v;
    }

    private static string DefaultPath(LogFormatDescriptor format) => format.Format switch
    {
        LogFormat.IisW3c => "inetpub/logs/LogFiles/W3SVC1/u_ex210303.log",
        LogFormat.HttpProxy => "Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Ecp/HttpProxy_2021030305-1.LOG",
        LogFormat.EcpServer => "Program Files/Microsoft/Exchange Server/V15/Logging/ECP/Server/ECPServer2021030300-1.LOG",
        LogFormat.OabGenerator => "Program Files/Microsoft/Exchange Server/V15/Logging/OABGeneratorLog/OABGeneratorLog_20210303-1.LOG",
        _ => "Program Files/Microsoft/Exchange Server/V15/Logging/Test/Test_2021030300-1.LOG",
    };

    /// <summary>No content rules: a file rule's tests exercise its own check, not YARA.</summary>
    private sealed class NoContentRules : IContentRules
    {
        public int RuleCount => 1;
        public IReadOnlyList<ContentRuleProblem> Problems => [];
        public IReadOnlyList<ContentRuleMatch> Scan(ReadOnlySpan<byte> data, FileFacts facts) => [];
    }
}
