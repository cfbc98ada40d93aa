using Exir.Core.Findings;
using Exir.Detection.Rules;

namespace Exir.Detection.Correlation;

/// <summary>
/// Groups findings into incidents so the report tells a story (SSRF, then vdir reset, then shell
/// written, then shell used), not a list. Links: the same client address within a time window (across
/// hosts: one attacker address on three servers is one campaign), log lines without a client to the
/// story nearest in time, and a file finding whose file name appears in a log finding's evidence (the
/// shell requested over HTTP, the OAB log naming the written path). Only event times link: a file's
/// modification time may be the time the evidence was copied.
/// </summary>
public static class IncidentCorrelator
{
    public static (IReadOnlyList<Finding> Findings, IReadOnlyList<Incident> Incidents) Correlate(IReadOnlyList<Finding> findings, ScanSettings? settings = null)
    {
        settings ??= ScanSettings.Default;
        var parent = Enumerable.Range(0, findings.Count).ToArray();
        int Find(int i) { while (parent[i] != i) { parent[i] = parent[parent[i]]; i = parent[i]; } return i; }
        void Union(int a, int b) { a = Find(a); b = Find(b); if (a != b) parent[Math.Max(a, b)] = Math.Min(a, b); }

        // 1. Same client, close in time.
        foreach (var group in Enumerable.Range(0, findings.Count)
                     .Where(i => IsActorAddress(findings[i].ClientIp) && findings[i].HasEventTime)
                     .GroupBy(i => findings[i].ClientIp!, StringComparer.OrdinalIgnoreCase))
        {
            var ordered = group.OrderBy(i => findings[i].Timestamp).ToList();
            for (int k = 1; k < ordered.Count; k++)
                if (findings[ordered[k]].Timestamp - findings[ordered[k - 1]].Timestamp <= settings.SameActorWindow)
                    Union(ordered[k - 1], ordered[k]);
        }

        // 2. Log lines with no actor address (back-end logs, the server talking to itself) belong to the
        //    nearest story in time on the same host: the ECP server log line of a vdir reset has no client, the SSRF does.
        var actorTimed = Enumerable.Range(0, findings.Count)
            .Where(i => IsActorAddress(findings[i].ClientIp) && findings[i].HasEventTime && findings[i].Outcome >= Outcome.Attempt)
            .GroupBy(i => HostKey(findings[i]))
            .ToDictionary(g => g.Key, g => g.OrderBy(i => findings[i].Timestamp).ToList());
        // Sorted times, so the nearest story is a binary search away (findings can number in the 100,000s).
        var actorTicks = actorTimed.ToDictionary(kv => kv.Key, kv => kv.Value.Select(j => findings[j].Timestamp!.Value.UtcTicks).ToArray());
        for (int i = 0; i < findings.Count; i++)
        {
            if (findings[i].Line is null || !findings[i].HasEventTime || IsActorAddress(findings[i].ClientIp)) continue;
            if (!actorTicks.TryGetValue(HostKey(findings[i]), out var ticks)) continue;
            var timed = actorTimed[HostKey(findings[i])];
            long t = findings[i].Timestamp!.Value.UtcTicks;
            int at = Array.BinarySearch(ticks, t);
            if (at < 0) at = ~at;
            int best = -1;
            var bestGap = settings.NearbyWindow;
            foreach (var k in new[] { at - 1, at })
            {
                if (k < 0 || k >= ticks.Length) continue;
                var gap = TimeSpan.FromTicks(Math.Abs(ticks[k] - t));
                if (gap <= bestGap) { bestGap = gap; best = timed[k]; }
            }
            if (best >= 0) Union(i, best);
        }

        // 3. Several rules firing on one file are one finding of that file.
        foreach (var group in Enumerable.Range(0, findings.Count).Where(i => findings[i].Line is null)
                     .GroupBy(i => (HostKey(findings[i]), findings[i].Artifact)))
        {
            var members = group.ToList();
            for (int k = 1; k < members.Count; k++) Union(members[0], members[k]);
        }

        // 4. A file named in a log line (requested, written) belongs to that line's story.
        var logIdx = Enumerable.Range(0, findings.Count).Where(i => findings[i].Line is not null).ToList();
        for (int i = 0; i < findings.Count; i++)
        {
            if (findings[i].Line is not null) continue;
            var name = FileName(findings[i].Artifact);
            if (name.Length < settings.MinLinkableNameLength) continue;
            foreach (var j in logIdx)
                if (HostKey(findings[j]) == HostKey(findings[i]) &&
                    (findings[j].Evidence.Contains(name, StringComparison.OrdinalIgnoreCase) ||
                     findings[j].Details.Values.Any(v => v.Contains(name, StringComparison.OrdinalIgnoreCase))))
                    Union(i, j);
        }

        // Incidents are only worth naming when they hold something beyond context (scan/attempt/success).
        var groups = Enumerable.Range(0, findings.Count).GroupBy(Find)
            .Select(g => g.ToList())
            .Where(g => g.Count > 1 || findings[g[0]].Outcome >= Outcome.Attempt)
            .OrderBy(g => g.Where(i => findings[i].HasEventTime).Select(i => findings[i].Timestamp!.Value).DefaultIfEmpty(DateTimeOffset.MaxValue).Min())
            .ThenBy(g => findings[g[0]].Artifact, StringComparer.Ordinal)
            .ToList();

        var totals = findings.GroupBy(f => f.RuleId).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var result = findings.ToArray();
        var incidents = new List<Incident>();
        foreach (var g in groups)
        {
            var members = g.Select(i => findings[i]).ToList();
            // The earliest member (event time first, then id) names the incident: stable across re-scans, unique across scans and hosts.
            var first = members.OrderBy(f => f.HasEventTime ? f.Timestamp!.Value : DateTimeOffset.MaxValue).ThenBy(IdOf, StringComparer.Ordinal).First();
            var id = StableIds.Incident(IdOf(first));
            foreach (var i in g) result[i] = result[i] with { Incident = id };
            var times = members.Where(f => f.HasEventTime).Select(f => f.Timestamp!.Value).ToList();
            incidents.Add(new Incident(
                id,
                members.Select(f => f.ClientIp).Where(IsActorAddress).Distinct(StringComparer.OrdinalIgnoreCase).ToList()!,
                times.Count > 0 ? times.Min() : null,
                times.Count > 0 ? times.Max() : null,
                members.Max(f => f.Severity),
                members.Max(f => f.Outcome),
                members.SelectMany(f => f.Cves).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).ToList(),
                Story(members, totals),
                members.Count)
            {
                Hosts = members.Select(f => f.Host).Where(h => !string.IsNullOrEmpty(h)).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).ToList()!,
            });
        }
        return (result, incidents);
    }

    private static string IdOf(Finding f) => f.Id ?? StableIds.Finding(f.HostId, f.RuleId, f.Artifact, f.Line);

    private static string HostKey(Finding f) => f.HostId ?? (f.Host is { Length: > 0 } h ? HostIds.For(h) : "");

    /// <summary>
    /// One line per distinct step, in time order: "2021-03-03 05:42Z SSRF ... (6 of 7)". The count says how many
    /// of the rule's findings in the whole scan belong to this story, so it adds up with the findings table.
    /// </summary>
    private static string Story(IReadOnlyList<Finding> members, IReadOnlyDictionary<string, int> totals)
    {
        var steps = new List<string>();
        foreach (var step in members.GroupBy(f => f.RuleId)
                     .OrderBy(g => g.Where(f => f.HasEventTime).Select(f => f.Timestamp!.Value).DefaultIfEmpty(DateTimeOffset.MaxValue).Min()))
        {
            var first = step.First();
            var evt = step.Where(f => f.HasEventTime).Select(f => f.Timestamp!.Value).DefaultIfEmpty().Min();
            var fileTime = step.Where(f => f.TimeSource == TimeSources.FileModified && f.Timestamp is not null).Select(f => f.Timestamp!.Value).DefaultIfEmpty().Min();
            var when = evt != default ? evt.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'")
                : fileTime != default ? $"undated (file modified {fileTime.UtcDateTime:yyyy-MM-dd HH:mm}Z, may be a copy time)"
                : "undated";
            int n = step.Count(), total = totals.GetValueOrDefault(step.Key, n);
            var count = n < total ? $" ({n} of {total})" : n > 1 ? $" ({n}x)" : "";
            // A story is one line per step: a file name's own line breaks (and controls) are shown as escapes.
            var where = first.Line is null ? $": {Exir.Core.TextSafety.ForTerminal(first.Artifact)}" : "";
            steps.Add($"{when} {first.Title}{count}{where}");
        }
        return string.Join("\n", steps);
    }

    /// <summary>An address that identifies an actor: not empty, not loopback (proxied back-end requests), not unspecified.</summary>
    public static bool IsActorAddress(string? ip)
    {
        if (string.IsNullOrWhiteSpace(ip) || ip == "-") return false;
        if (!System.Net.IPAddress.TryParse(ip.Trim(), out var address)) return true;
        return !System.Net.IPAddress.IsLoopback(address) && !address.Equals(System.Net.IPAddress.Any) && !address.Equals(System.Net.IPAddress.IPv6Any);
    }

    private static string FileName(string artifact)
    {
        int slash = artifact.LastIndexOf('/');
        return slash < 0 ? artifact : artifact[(slash + 1)..];
    }
}
