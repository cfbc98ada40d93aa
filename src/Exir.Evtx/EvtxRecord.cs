using System.Globalization;
using System.Text;
using Exir.Evtx.Internal;

namespace Exir.Evtx;

/// <summary>
/// One event record: the System fields most consumers need, the EventData/UserData values as
/// name-value pairs, and the whole rendered document for <see cref="ToXml"/> and <see cref="ToJson"/>.
/// </summary>
/// <remarks>
/// Data naming: <c>&lt;Data Name="X"&gt;</c> gives "X"; unnamed <c>&lt;Data&gt;</c> elements are numbered in
/// document order "Data[1]", "Data[2]", ... (classic and Exchange cmdlet events); other UserData leaves
/// use their element name. A name seen again in the same record gets "[2]", "[3]", ... appended, so every
/// name is unique and the order is that of the document.
/// </remarks>
public sealed class EvtxRecord
{
    /// <summary>
    /// System/EventRecordID, the number Windows shows; the record header's identifier when that is missing.
    /// The two differ in exported or filtered logs (wevtutil epl renumbers the headers).
    /// </summary>
    public ulong RecordId { get; internal set; }
    /// <summary>The record header's identifier (its position in this file's numbering).</summary>
    public ulong HeaderRecordId { get; internal set; }
    /// <summary>System/TimeCreated/@SystemTime (UTC, 100 ns); the record header's written time when that is missing.</summary>
    public DateTime TimestampUtc { get; internal set; }
    /// <summary>The record header's written time (UTC).</summary>
    public DateTime WrittenUtc { get; internal set; }
    public int EventId { get; internal set; }
    public string Provider { get; internal set; } = "";
    public string? Channel { get; internal set; }
    public string? Computer { get; internal set; }
    public int Level { get; internal set; }
    public int? ProcessId { get; internal set; }
    public int? ThreadId { get; internal set; }
    /// <summary>System/Security/@UserID (a SID string), when present.</summary>
    public string? UserSid { get; internal set; }
    /// <summary>Zero-based index of the 64 KiB chunk slot the record came from.</summary>
    public long ChunkIndex { get; internal set; }
    /// <summary>The record's chunk failed a CRC32 check: the values may be damaged.</summary>
    public bool FromBadCrcChunk { get; internal set; }
    /// <summary>Why the record's BinXML could be read only in part (null when it parsed cleanly).</summary>
    public string? Problem { get; internal set; }
    /// <summary>EventData/UserData values in document order (see the naming rules on the class).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Data { get; internal set; } = [];

    internal XElement? Root;
    private string? _rendered;
    private EvtxRender _renderedAs;

    internal void Prerender(EvtxRender form)
    {
        _rendered = form == EvtxRender.Json ? ToJson() : ToXml();
        _renderedAs = form;
    }
    [ThreadStatic] private static StringBuilder? t_xml;

    /// <summary>The value of a data field by name, ignoring case; null when absent.</summary>
    public string? GetData(string name)
    {
        foreach (var kv in Data)
            if (string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase)) return kv.Value;
        return null;
    }

    /// <summary>The event as Windows-style XML (Event Viewer layout, two-space indent).</summary>
    public string ToXml()
    {
        if (_renderedAs == EvtxRender.Xml && _rendered is not null) return _rendered;
        var sb = t_xml ??= new StringBuilder(4096);
        sb.Clear();
        if (sb.Capacity > 1 << 20) sb.Capacity = 4096;
        if (Root is not null) XmlWriter.Write(sb, Root, 0);
        else XmlWriter.WriteMinimal(sb, this);
        return sb.ToString();
    }

    /// <summary>A flat JSON object: the System fields, then the data fields (names as in <see cref="Data"/>).</summary>
    public string ToJson() => _renderedAs == EvtxRender.Json && _rendered is not null ? _rendered : JsonWriter.Write(this);

    internal static bool TryParseInt(string? s, out int value) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
}
