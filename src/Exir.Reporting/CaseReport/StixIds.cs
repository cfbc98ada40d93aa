using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Exir.Reporting.CaseReport;

/// <summary>STIX 2.1 deterministic identifiers and timestamps.</summary>
public static class StixIds
{
    /// <summary>The namespace STIX 2.1 (section 2.9) uses for deterministic ids of cyber observables; used here for every object.</summary>
    public static readonly Guid Namespace = Guid.Parse("00abedb4-aa42-466c-9c01-fed23315a9b7");

    /// <summary>"type--uuid" with a UUIDv5 (RFC 9562: SHA-1 of namespace and name): the same value gives the same id in every export.</summary>
    public static string For(string type, string name) => type + "--" + UuidV5(Namespace, name).ToString("D");

    public static Guid UuidV5(Guid ns, string name)
    {
        Span<byte> nsBytes = stackalloc byte[16];
        ns.TryWriteBytes(nsBytes, bigEndian: true, out _);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[16 + nameBytes.Length];
        nsBytes.CopyTo(input);
        nameBytes.CopyTo(input, 16);
        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(input, hash);
        var b = hash[..16].ToArray();
        b[6] = (byte)((b[6] & 0x0F) | 0x50);
        b[8] = (byte)((b[8] & 0x3F) | 0x80);
        return new Guid(b, bigEndian: true);
    }

    /// <summary>RFC 3339 in UTC with milliseconds, as STIX requires for created/modified: 2021-03-03T05:42:01.123Z.</summary>
    public static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A string literal for a STIX pattern: backslash and quote escaped (STIX 2.1 section 9.2).</summary>
    public static string PatternString(string value) => "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
}
