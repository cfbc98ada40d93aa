using Exir.Core.Findings;

namespace Exir.Detection.Pipeline;

/// <summary>
/// Groups findings into incidents so the report tells a story (SSRF, then vdir reset, then shell
/// written, then shell used), not a list. Links: the same client IP within a time window, and a
/// file finding whose file name appears in a log finding's evidence (the shell requested over HTTP,
/// the OAB log naming the written path).
/// </summary>
public static class IncidentCorrelator
{
    public static readonly TimeSpan SameActorWindow = TimeSpan.FromHours(48);
    /// <summary>Log lines without a usable client (ECP server log, OAB log, back-end IIS site) join the story closest in time within this window.</summary>
    public static readonly TimeSpan NearbyWindow = TimeSpan.FromMinutes(15);
    private const int MinLinkableNameLength = 5;

    public static (IReadOnlyList<Finding> Findings, IReadOnlyList<Incident> Incidents) Correlate(IReadOnlyList<Finding> findings)
    {
        var parent = Enumerable.Range(0, findings.Count).ToArray();
        int Find(int i) { while (parent[i] != i) { parent[i] = parent[parent[i]]; i = parent[i]; } return i; }
        void Union(int a, int b) { a = Find(a); b = Find(b); if (a != b) parent[Math.Max(a, b)] = Math.Min(a, b); }

        // 1. Same client, close in time.
        foreach (var group in Enumerable.Range(0, findings.Count)
                     .Where(i => IsActorAddress(findings[i].ClientIp) && findings[i].Timestamp is not null)
                     .GroupBy(i => findings[i].ClientIp!, StringComparer.OrdinalIgnoreCase))
        {
            var ordered = group.OrderBy(i => findings[i].Timestamp).ToList();
            for (int k = 1; k < ordered.Count; k++)
                if (findings[ordered[k]].Timestamp - findings[ordered[k - 1]].Timestamp <= SameActorWindow)
                    Union(ordered[k - 1], ordered[k]);
        }

        // 2. Log lines with no actor address (back-end logs, the server talking to itself) belong to the
        //    nearest story in time: the ECP server log line of a vdir reset has no client, the SSRF does.
        var actorTimed = Enumerable.Range(0, findings.Count)
            .Where(i => IsActorAddress(findings[i].ClientIp) && findings[i].Timestamp is not null && findings[i].Outcome >= Outcome.Attempt)
            .OrderBy(i => findings[i].Timestamp).ToList();
        // Sorted times, so the nearest story is a binary search away (findings can number in the 100,000s).
        var actorTicks = actorTimed.Select(j => findings[j].Timestamp!.Value.UtcTicks).ToArray();
        for (int i = 0; i < findings.Count; i++)
        {
            if (findings[i].Line is null || findings[i].Timestamp is not { } t || IsActorAddress(findings[i].ClientIp)) continue;
            int at = Array.BinarySearch(actorTicks, t.UtcTicks);
            if (at < 0) at = ~at;
            int best = -1;
            var bestGap = NearbyWindow;
            foreach (var k in new[] { at - 1, at })
            {
                if (k < 0 || k >= actorTicks.Length) continue;
                var gap = TimeSpan.FromTicks(Math.Abs(actorTicks[k] - t.UtcTicks));
                if (gap <= bestGap) { bestGap = gap; best = actorTimed[k]; }
            }
            if (best >= 0) Union(i, best);
        }

        // 3. Several rules firing on one file are one finding of that file.
        foreach (var group in Enumerable.Range(0, findings.Count).Where(i => findings[i].Line is null).GroupBy(i => findings[i].Artifact, StringComparer.Ordinal))
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
            if (name.Length < MinLinkableNameLength) continue;
            foreach (var j in logIdx)
                if (findings[j].Evidence.Contains(name, StringComparison.OrdinalIgnoreCase) ||
                    findings[j].Details.Values.Any(v => v.Contains(name, StringComparison.OrdinalIgnoreCase)))
                    Union(i, j);
        }

        // Incidents are only worth naming when they hold something beyond context (scan/attempt/success).
        var groups = Enumerable.Range(0, findings.Count).GroupBy(Find)
            .Select(g => g.ToList())
            .Where(g => g.Count > 1 || findings[g[0]].Outcome >= Outcome.Attempt)
            .OrderBy(g => g.Select(i => findings[i].Timestamp ?? DateTimeOffset.MaxValue).Min())
            .ThenBy(g => findings[g[0]].Artifact, StringComparer.Ordinal)
            .ToList();

        var result = findings.ToArray();
        var incidents = new List<Incident>();
        int n = 0;
        foreach (var g in groups)
        {
            var id = $"INC-{++n:D3}";
            foreach (var i in g) result[i] = result[i] with { Incident = id };
            var members = g.Select(i => findings[i]).OrderBy(f => f.Timestamp ?? DateTimeOffset.MaxValue).ToList();
            // Log lines date the story; file times (often the copy's, not the attack's) only when nothing else does.
            var dated = members.Where(f => f.Timestamp is not null).ToList();
            var times = (dated.Any(f => f.Line is not null) ? dated.Where(f => f.Line is not null) : dated).Select(f => f.Timestamp!.Value).ToList();
            incidents.Add(new Incident(
                id,
                members.Select(f => f.ClientIp).Where(IsActorAddress).Distinct(StringComparer.OrdinalIgnoreCase).ToList()!,
                times.Count > 0 ? times.Min() : null,
                times.Count > 0 ? times.Max() : null,
                members.Max(f => f.Severity),
                members.Max(f => f.Outcome),
                members.SelectMany(f => f.Cves).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).ToList(),
                Story(members),
                members.Count));
        }
        return (result, incidents);
    }

    /// <summary>One line per distinct step, in time order: "2021-03-03 05:42Z SSRF ... (3x)".</summary>
    private static string Story(IReadOnlyList<Finding> members)
    {
        var steps = new List<string>();
        foreach (var step in members.GroupBy(f => f.RuleId).OrderBy(g => g.Min(f => f.Timestamp ?? DateTimeOffset.MaxValue)))
        {
            var first = step.First();
            var when = step.Min(f => f.Timestamp) is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'") : "undated";
            var count = step.Count() > 1 ? $" ({step.Count()}x)" : "";
            var where = first.Line is null ? $": {first.Artifact}" : "";
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
