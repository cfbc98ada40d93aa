using System.Security.Cryptography;
using System.Text;

namespace Exir.Core.Findings;

/// <summary>What a finding's <see cref="Finding.Timestamp"/> was read from.</summary>
public static class TimeSources
{
    /// <summary>The time field of a log line (IIS, HttpProxy, ECP, OAB...).</summary>
    public const string LogLine = "log-line";
    /// <summary>TimeCreated of an event record.</summary>
    public const string EventRecord = "event-record";
    /// <summary>A file's last-write time: on a copied or checked-out collection it is the copy time, not the attack's.</summary>
    public const string FileModified = "file-modified";
    /// <summary>The creation time written in a minidump header whose structure checked out.</summary>
    public const string DumpHeader = "dump-header";
}

/// <summary>
/// Host ids: the same server gives the same id whatever the evidence calls it (EXCH01 in IIS logs,
/// exch01.contoso.local in event logs), so findings from several scans or tools of one host group together.
/// </summary>
public static class HostIds
{
    /// <summary>The normalised name behind the id: lower case, the short name unless the name is an address.</summary>
    public static string Normalise(string host)
    {
        var h = host.Trim().TrimEnd('.').ToLowerInvariant();
        if (System.Net.IPAddress.TryParse(h, out _)) return h;
        int dot = h.IndexOf('.');
        return dot > 0 ? h[..dot] : h;
    }

    public static string For(string host) => "host-" + StableIds.Hash(Normalise(host), 12);
}

/// <summary>Stable ids made from content (SHA-256, hex): equal inputs give equal ids on every machine and run.</summary>
public static class StableIds
{
    public static string Hash(string text, int hexChars) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..hexChars];

    /// <summary>
    /// A finding's id: host, rule, artifact and position (line or record; none for a whole file). A rule fires
    /// at most once per line and once per file, so the id is unique in a scan and equal across re-scans.
    /// </summary>
    public static string Finding(string? hostId, string ruleId, string artifact, long? line) =>
        "f-" + Hash($"{hostId}\n{ruleId}\n{artifact}\n{line}", 20);

    /// <summary>An incident's id from its earliest member's finding id: it does not collide across scans or hosts.</summary>
    public static string Incident(string firstFindingId) => "INC-" + Hash("incident\n" + firstFindingId, 10).ToUpperInvariant();

    /// <summary>A scan id: unique and time-ordered (UUID version 7).</summary>
    public static string NewScanId() => "scan-" + Guid.CreateVersion7().ToString("N");
}
