using System.Globalization;
using System.Text;
using System.Text.Json;
using Exir.Core;
using Exir.Core.Findings;
using Exir.Reporting.Outputs;
using Exir.Reporting.TimelineOutputs;

namespace Exir.Reporting.Scan;

/// <summary>exir hunt on a terminal: one line per hit in time order, then what loaded and who wrote the rules that fired.</summary>
public sealed class HuntTableSink(SinkTarget target) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        if (output.Scan is not { } scan) return;
        using var w = new StreamWriter(Stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
        var all = scan.AllFindings.ToList();
        w.WriteLine($"{"TIME (UTC)",-20} {"HOST",-16} {"LEVEL",-8} {"RULE",-50} WHERE");
        foreach (var f in all.OrderBy(f => f.Timestamp ?? DateTimeOffset.MaxValue).ThenBy(f => f.Host, StringComparer.Ordinal))
        {
            var time = f.Timestamp is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "-";
            var level = f.Details.TryGetValue("level", out var l) && l.Length > 0 ? l : f.Severity.ToWire();
            var where = f.Artifact + (f.Line is { } n ? ":" + n.ToString(CultureInfo.InvariantCulture) : "");
            w.WriteLine(TextSafety.ForTerminal($"{time,-20} {Trim(f.Host ?? "-", 16),-16} {Trim(level, 8),-8} {Trim(f.Title, 50),-50} {where}"));
            var evidence = f.Evidence.ReplaceLineEndings(" ");
            if (evidence.Length > 0) w.WriteLine(TextSafety.ForTerminal($"{"",-20} {Trim(evidence, 140)}"));
        }
        w.WriteLine();
        var rules = all.GroupBy(f => f.RuleId).Count();
        w.WriteLine($"{all.Count:N0} hit(s) of {rules:N0} rule(s) over {scan.Hosts.Count:N0} host(s)");
        if (output.Hunt is { } h)
        {
            w.WriteLine(h.LoadLine);
            foreach (var n in h.NotLoaded.Take(10)) w.WriteLine(TextSafety.ForTerminal("  not loaded: " + n));
            if (h.NotLoaded.Count > 10) w.WriteLine($"  ... {h.NotLoaded.Count - 10:N0} more (--format json, or --out DIR: hunt.json)");
        }
        // The Detection Rule License: every alert keeps its rule's author.
        var authors = all.Select(f => f.Details.GetValueOrDefault("author")).Where(a => !string.IsNullOrWhiteSpace(a)).Distinct(StringComparer.Ordinal).ToList();
        if (authors.Count > 0)
            w.WriteLine(TextSafety.ForTerminal("Rules by: " + string.Join("; ", authors.Take(30)) + (authors.Count > 30 ? "; ..." : "") +
                                               " (licences per hit in details.license; SigmaHQ rules: Detection Rule License 1.1)"));
    }

    private static string Trim(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}

/// <summary>hunt.json: what loaded, every rule not loaded and why, hits per rule, coverage per host and provenance.</summary>
public sealed class HuntJsonSink(SinkTarget target) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        if (output.Scan is not { } scan) return;
        using var w = new Utf8JsonWriter(Stream, FindingJson.WriterOptions with { Indented = true });
        w.WriteStartObject();
        if (output.Hunt is { } h)
        {
            w.WriteStartObject("rules");
            w.WriteNumber("loaded", h.RulesLoaded);
            w.WriteNumber("correlations_loaded", h.CorrelationsLoaded);
            w.WriteNumber("loaded_share", Math.Round(h.LoadedShare, 4));
            w.WriteString("summary", h.LoadLine);
            FindingJson.WriteArray(w, "not_loaded", h.NotLoaded);
            FindingJson.WriteArray(w, "skipped_for_a_source", h.Skipped);
            w.WriteEndObject();
        }
        w.WriteStartArray("hits_by_rule");
        foreach (var g in scan.AllFindings.GroupBy(f => f.RuleId).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal))
        {
            var first = g.First();
            w.WriteStartObject();
            w.WriteString("rule_id", g.Key);
            w.WriteString("title", first.Title);
            w.WriteString("level", first.Details.GetValueOrDefault("level") ?? first.Severity.ToWire());
            w.WriteString("author", first.Details.GetValueOrDefault("author") ?? "");
            w.WriteString("license", first.Details.GetValueOrDefault("license") ?? "");
            w.WriteNumber("hits", g.Count());
            w.WriteStartArray("hosts");
            foreach (var host in g.Select(f => f.Host ?? "").Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal)) w.WriteStringValue(host);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("hosts");
        foreach (var host in scan.Hosts)
        {
            w.WriteStartObject();
            w.WriteString("name", host.Name);
            w.WriteString("evidence", host.Evidence.Path);
            w.WriteNumber("findings", host.FindingCount);
            w.WriteNumber("files_read", host.Coverage.FilesRead);
            w.WriteNumber("bytes_read", host.Coverage.BytesRead);
            w.WriteStartArray("issues");
            foreach (var i in host.Coverage.Issues.Take(500))
                w.WriteStringValue($"{i.Kind}: {i.Path}: {i.Message}");
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartObject("provenance");
        w.WriteString("tool_version", scan.Provenance.ToolVersion);
        w.WriteString("scan_id", scan.Provenance.ScanId);
        w.WriteString("command", scan.Provenance.Command);
        w.WriteString("rules_origin", scan.Provenance.RulesOrigin);
        w.WriteString("started_utc", FindingJson.Iso(scan.Provenance.StartedUtc));
        w.WriteString("finished_utc", FindingJson.Iso(scan.Provenance.FinishedUtc));
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
