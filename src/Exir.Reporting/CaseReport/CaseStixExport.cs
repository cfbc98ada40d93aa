using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Exir.Case;
using Exir.Core;
using Exir.Core.Findings;

namespace Exir.Reporting.CaseReport;

/// <summary>
/// The case's indicators as a STIX 2.1 bundle, to share with a CERT or load into a threat-intelligence platform:
/// the tool's identity and one indicator per attacker address, file hash, web-shell file and request path. Only
/// findings that show an attack (outcome attempt or success; addresses also from scans) give indicators, and
/// quarantined files always: a context-only finding may point at a legitimate file. Ids are UUIDv5 of the pattern,
/// so the same value has the same id in every export of every case. Streamed; the snapshot bounds the memory.
/// </summary>
public static class CaseStixExport
{
    public const string IdentityName = "exir";
    /// <summary>Fixed: the identity object must not change between exports (its id and timestamps are its version).</summary>
    private static readonly DateTimeOffset IdentityCreated = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private const int MaxValueChars = 2048;
    private const int MaxLabels = 20;

    /// <summary>One indicator before writing: the pattern and what the case says about it.</summary>
    public sealed class Candidate(string kind, string value, string pattern)
    {
        public string Kind { get; } = kind;
        public string Value { get; } = value;
        public string Pattern { get; } = pattern;
        public DateTimeOffset? FirstSeen { get; set; }
        public DateTimeOffset? LastSeen { get; set; }
        public long Count { get; set; }
        public SortedSet<string> Rules { get; } = new(StringComparer.Ordinal);
        public SortedSet<string> Hosts { get; } = new(StringComparer.OrdinalIgnoreCase);
        public SortedSet<string> Cves { get; } = new(StringComparer.Ordinal);
        public SortedSet<string> Attack { get; } = new(StringComparer.Ordinal);
        public Severity Severity { get; set; }

        /// <param name="sighting">False for context that widens what is known (a campaign) without being one more sighting.</param>
        internal void Add(Finding? f, string? host, DateTimeOffset? seen, string? rule, bool sighting = true)
        {
            if (sighting) Count++;
            if (seen is { } t)
            {
                if (FirstSeen is null || t < FirstSeen) FirstSeen = t;
                if (LastSeen is null || t > LastSeen) LastSeen = t;
            }
            if (rule is { Length: > 0 }) Rules.Add(rule);
            if (host is { Length: > 0 }) Hosts.Add(host);
            if (f is null) return;
            foreach (var c in f.Cves) Cves.Add(c);
            foreach (var a in f.Attack) Attack.Add(a);
            if (f.Severity > Severity) Severity = f.Severity;
        }
    }

    public static void Write(CaseSnapshot snapshot, Stream output)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var candidates = Collect(snapshot);
        var identityId = StixIds.For("identity", "identity:" + IdentityName);
        var created = StixIds.Timestamp(snapshot.ReadUtc);
        var ids = candidates.Select(c => StixIds.For("indicator", "indicator:" + c.Pattern)).ToList();

        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("type", "bundle");
        w.WriteString("id", StixIds.For("bundle", "bundle:" + string.Join("\n", ids)));
        w.WriteStartArray("objects");

        w.WriteStartObject();
        w.WriteString("type", "identity");
        w.WriteString("spec_version", "2.1");
        w.WriteString("id", identityId);
        w.WriteString("created", StixIds.Timestamp(IdentityCreated));
        w.WriteString("modified", StixIds.Timestamp(IdentityCreated));
        w.WriteString("name", IdentityName);
        w.WriteString("description", "exir: incident response for on-premises Microsoft Exchange (indicators from a case's findings)");
        w.WriteString("identity_class", "system");
        w.WriteEndObject();

        for (int i = 0; i < candidates.Count; i++)
        {
            var c = candidates[i];
            w.WriteStartObject();
            w.WriteString("type", "indicator");
            w.WriteString("spec_version", "2.1");
            w.WriteString("id", ids[i]);
            w.WriteString("created_by_ref", identityId);
            w.WriteString("created", created);
            w.WriteString("modified", created);
            w.WriteString("name", Safe($"{KindName(c.Kind)}: {Clip(c.Value, 200)}"));
            w.WriteString("description", Safe(Description(c)));
            w.WriteStartArray("indicator_types");
            w.WriteStringValue("malicious-activity");
            w.WriteEndArray();
            w.WriteString("pattern", Safe(c.Pattern));
            w.WriteString("pattern_type", "stix");
            w.WriteString("pattern_version", "2.1");
            // valid_from: when the evidence first shows it (the export time when no finding dates it).
            w.WriteString("valid_from", StixIds.Timestamp(c.FirstSeen ?? snapshot.ReadUtc));
            w.WriteStartArray("labels");
            foreach (var r in c.Rules.Take(MaxLabels)) w.WriteStringValue(Safe(r));
            w.WriteEndArray();
            if (c.Cves.Count > 0 || c.Attack.Count > 0)
            {
                w.WriteStartArray("external_references");
                foreach (var cve in c.Cves)
                {
                    w.WriteStartObject();
                    w.WriteString("source_name", "cve");
                    w.WriteString("external_id", Safe(cve));
                    w.WriteEndObject();
                }
                foreach (var t in c.Attack)
                {
                    w.WriteStartObject();
                    w.WriteString("source_name", "mitre-attack");
                    w.WriteString("external_id", Safe(t));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
    }

    /// <summary>The indicators a case gives, deduplicated by pattern, in a stable order (kind, then value).</summary>
    public static IReadOnlyList<Candidate> Collect(CaseSnapshot snapshot)
    {
        var byPattern = new Dictionary<string, Candidate>(StringComparer.Ordinal);
        var hostNames = snapshot.Hosts.GroupBy(h => h.HostId).ToDictionary(g => g.Key, g => g.First().Name, StringComparer.Ordinal);
        string? HostOf(Finding f) => f.HostId is { } id && hostNames.TryGetValue(id, out var n) ? n : f.Host;

        Candidate Get(string kind, string value, string pattern)
        {
            if (!byPattern.TryGetValue(pattern, out var c)) byPattern[pattern] = c = new Candidate(kind, value, pattern);
            return c;
        }

        foreach (var f in snapshot.Findings)
        {
            DateTimeOffset? seen = f.HasEventTime ? f.Timestamp : null;
            if (f.Outcome >= Outcome.Scan && IpPattern(f.ClientIp) is { } ip)
                Get("ip", ip.Value, ip.Pattern).Add(f, HostOf(f), seen, f.RuleId);
            if (f.Outcome < Outcome.Attempt) continue;
            foreach (var hash in new[] { Detail(f, "sha256"), Detail(f, "ioc_hash") })
                if (IsSha256(hash))
                    Get("sha256", hash!.ToLowerInvariant(), $"[file:hashes.'SHA-256' = {StixIds.PatternString(hash!.ToLowerInvariant())}]").Add(f, HostOf(f), seen, f.RuleId);
            if (f.Line is null && FileName(f.Artifact) is { Length: > 0 } name)
                Get("file", name, $"[file:name = {StixIds.PatternString(Clip(name, MaxValueChars))}]").Add(f, HostOf(f), seen, f.RuleId);
            if (RequestPath(f) is { Length: > 0 } url)
                Get("url", url, $"[url:value = {StixIds.PatternString(Clip(url, MaxValueChars))}]").Add(f, HostOf(f), seen, f.RuleId);
        }
        foreach (var campaign in snapshot.Campaigns.Where(c => c.Outcome >= Outcome.Scan))
            foreach (var address in campaign.ClientIps)
                if (IpPattern(address) is { } ip)
                {
                    var c = Get("ip", ip.Value, ip.Pattern);
                    // The campaign's findings counted it already (or were left out of the snapshot): it only widens what is known.
                    c.Add(null, null, campaign.First, null, sighting: false);
                    foreach (var h in campaign.Hosts) c.Hosts.Add(h);
                    foreach (var cve in campaign.Cves) c.Cves.Add(cve);
                    if (campaign.Severity > c.Severity) c.Severity = campaign.Severity;
                }
        foreach (var q in snapshot.Quarantine)
        {
            var host = q.HostId is { } id && hostNames.TryGetValue(id, out var n) ? n : null;
            if (IsSha256(q.Sha256))
                Get("sha256", q.Sha256.ToLowerInvariant(), $"[file:hashes.'SHA-256' = {StixIds.PatternString(q.Sha256.ToLowerInvariant())}]").Add(null, host, null, q.RuleId);
            if (FileName(q.OriginalPath) is { Length: > 0 } name)
            {
                var dir = q.OriginalPath[..^name.Length].TrimEnd('/', '\\');
                var pattern = dir.Length == 0
                    ? $"[file:name = {StixIds.PatternString(name)}]"
                    : $"[file:name = {StixIds.PatternString(name)} AND file:parent_directory_ref.path = {StixIds.PatternString(Clip(dir, MaxValueChars))}]";
                Get("file", q.OriginalPath, pattern).Add(null, host, null, q.RuleId);
            }
        }
        return byPattern.Values
            .OrderBy(c => c.Kind, StringComparer.Ordinal).ThenBy(c => c.Value, StringComparer.Ordinal).ToList();
    }

    private static (string Value, string Pattern)? IpPattern(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || !IPAddress.TryParse(text.Trim(), out var ip)) return null;
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        if (IPAddress.IsLoopback(ip) || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)) return null;
        if (ip.AddressFamily == AddressFamily.InterNetworkV6) ip.ScopeId = 0; // a zone (%eth0) is the observer's, not the attacker's
        var value = ip.ToString();
        var type = ip.AddressFamily == AddressFamily.InterNetworkV6 ? "ipv6-addr" : "ipv4-addr";
        return (value, $"[{type}:value = {StixIds.PatternString(value)}]");
    }

    /// <summary>The request as the log has it (stem and query): the exploit's URL on this server.</summary>
    private static string? RequestPath(Finding f)
    {
        var stem = Detail(f, "UrlStem") ?? Detail(f, "cs-uri-stem");
        if (string.IsNullOrEmpty(stem) || stem == "-") return null;
        var query = Detail(f, "UrlQuery") ?? Detail(f, "cs-uri-query");
        return query is { Length: > 0 } && query != "-" ? stem + (query.StartsWith('?') ? "" : "?") + query : stem;
    }

    private static string? Detail(Finding f, string key) => f.Details.TryGetValue(key, out var v) ? v : null;

    private static bool IsSha256(string? s) => s is { Length: 64 } && s.All(Uri.IsHexDigit);

    private static string? FileName(string path)
    {
        var name = path[(Math.Max(path.LastIndexOf('/'), path.LastIndexOf('\\')) + 1)..];
        return name.Length == 0 ? null : name;
    }

    private static string KindName(string kind) => kind switch
    {
        "ip" => "Attacker address", "sha256" => "Malicious file hash", "file" => "Malicious file", "url" => "Exploit request", _ => kind,
    };

    private static string Description(Candidate c)
    {
        var parts = new List<string> { c.Count > 0 ? $"Seen in {c.Count} finding(s) or quarantine record(s)" : "Seen in a correlated incident" };
        if (c.Hosts.Count > 0) parts.Add("on " + string.Join(", ", c.Hosts.Take(20)));
        if (c.FirstSeen is { } f) parts.Add($"from {FindingJson.Iso(f)} to {FindingJson.Iso(c.LastSeen ?? f)}");
        var text = string.Join(" ", parts) + ".";
        if (c.Rules.Count > 0) text += " exir rules: " + string.Join(", ", c.Rules.Take(MaxLabels)) + ".";
        return text;
    }

    private static string Clip(string s, int max) => s.Length <= max ? s : s[..max];

    /// <summary>JSON cannot carry lone surrogates; everything else, control characters too, the JSON writer escapes.</summary>
    private static string Safe(string s) => TextSafety.ReplaceLoneSurrogates(s);
}
