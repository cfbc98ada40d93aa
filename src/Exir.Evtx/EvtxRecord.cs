using System.Buffers;
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
    // What the chunk workers rendered ahead (Prerender): the record's JSON or XML as UTF-8, so that writing it costs
    // one copy on the consuming thread, with no string per record and no encoding there.
    private byte[]? _utf8;
    private EvtxRender _renderedAs;

    internal void Prerender(EvtxRender form)
    {
        _utf8 = Utf8Output.ToArray(Render(form));
        _renderedAs = form;
    }

    [ThreadStatic] private static StringBuilder? t_text;

    /// <summary>The record rendered into this thread's builder (valid until the next render on this thread).</summary>
    private StringBuilder Render(EvtxRender form)
    {
        var sb = t_text ??= new StringBuilder(4096);
        sb.Clear();
        if (sb.Capacity > 1 << 20) sb.Capacity = 4096; // do not keep a huge buffer after one huge record
        if (form == EvtxRender.Json) JsonWriter.Write(sb, this);
        else if (Root is not null) XmlWriter.Write(sb, Root, 0);
        else XmlWriter.WriteMinimal(sb, this);
        return sb;
    }

    /// <summary>The value of a data field by name, ignoring case; null when absent.</summary>
    public string? GetData(string name)
    {
        foreach (var kv in Data)
            if (string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase)) return kv.Value;
        return null;
    }

    /// <summary>The event as Windows-style XML (Event Viewer layout, two-space indent).</summary>
    public string ToXml() => Render(EvtxRender.Xml).ToString();

    /// <summary>A flat JSON object: the System fields, then the data fields (names as in <see cref="Data"/>).</summary>
    public string ToJson() => Render(EvtxRender.Json).ToString();

    /// <summary>
    /// Writes <see cref="ToXml"/> as UTF-8 (the bytes a UTF-8 text writer would write for that string) without making
    /// the string; a copy when the record was read with <see cref="EvtxRender.Xml"/>, as the chunk workers rendered it.
    /// </summary>
    public void WriteXml(IBufferWriter<byte> output) => WriteUtf8(EvtxRender.Xml, output);

    /// <summary>Writes <see cref="ToJson"/> as UTF-8, as <see cref="WriteXml"/> does (a copy after <see cref="EvtxRender.Json"/>).</summary>
    public void WriteJson(IBufferWriter<byte> output) => WriteUtf8(EvtxRender.Json, output);

    private void WriteUtf8(EvtxRender form, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_renderedAs == form && _utf8 is not null) output.Write(_utf8);
        else Utf8Output.Encode(Render(form), output);
    }

    internal static bool TryParseInt(string? s, out int value) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
}
