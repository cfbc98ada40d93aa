namespace Exir.Evtx;

/// <summary>
/// One Windows event as the hunts and the timeline see it: the System fields plus EventData/UserData
/// as name-value pairs in document order (unnamed &lt;Data&gt; elements have an empty name).
/// A reader-neutral view so rules, the timeline and tests do not depend on how the bytes were parsed.
/// </summary>
public sealed class WinEvent
{
    /// <summary>The event view of a parsed record.</summary>
    public static WinEvent From(EvtxRecord r) => new()
    {
        RecordId = r.RecordId,
        HeaderRecordId = r.HeaderRecordId,
        TimestampUtc = r.TimestampUtc,
        EventId = r.EventId,
        Provider = r.Provider,
        Channel = r.Channel,
        Computer = r.Computer,
        Level = r.Level,
        ProcessId = r.ProcessId,
        UserSid = r.UserSid,
        // A record whose XML could be read only in part is as doubtful as one from a bad-CRC chunk.
        FromBadCrcChunk = r.FromBadCrcChunk || r.Problem is not null,
        Data = r.Data,
    };

    public ulong RecordId { get; init; }
    /// <summary>The record header's number; differs from <see cref="RecordId"/> in exported (renumbered) logs. Null when unknown.</summary>
    public ulong? HeaderRecordId { get; init; }
    public DateTime TimestampUtc { get; init; }
    public int EventId { get; init; }
    public string Provider { get; init; } = "";
    public string? Channel { get; init; }
    public string? Computer { get; init; }
    public int Level { get; init; }
    public int? ProcessId { get; init; }
    public string? UserSid { get; init; }
    /// <summary>The record came from a chunk whose CRC did not match: kept, but flagged.</summary>
    public bool FromBadCrcChunk { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Data { get; init; } = [];

    /// <summary>First value of a named data field (case-insensitive), or null.</summary>
    public string? Get(string name)
    {
        foreach (var (k, v) in Data)
            if (string.Equals(k, name, StringComparison.OrdinalIgnoreCase)) return v;
        return null;
    }

    /// <summary>The n-th data value in document order (named or not), or null.</summary>
    public string? At(int index) => index >= 0 && index < Data.Count ? Data[index].Value : null;

    /// <summary>
    /// A field for rules: System names (EventID, Provider, Channel, Computer, Level, UserID) first,
    /// then data names, "#n" for the n-th data value. Several names separated by '|' mean "the first one with a value" (ParentImage|ParentProcessName).
    /// </summary>
    public string? Field(string name)
    {
        if (name.Contains('|'))
        {
            // "-" is how Windows writes "no value" (MemberName of a SID-only member): try the next name.
            string? fallback = null;
            foreach (var alt in name.Split('|'))
                if (Field(alt.Trim()) is { } v)
                {
                    if (v.Length > 0 && v != "-") return v;
                    fallback ??= v;
                }
            return fallback;
        }
        return name switch
        {
            "EventID" => EventId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "Provider" => Provider,
            "Channel" => Channel,
            "Computer" => Computer,
            "Level" => Level.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "UserID" => UserSid,
            // "#0", "#1": position in the data list, for logs with unnamed <Data> (the Exchange cmdlet log).
            _ when name.Length > 1 && name[0] == '#' && int.TryParse(name.AsSpan(1), out var i) => At(i),
            _ => Get(name),
        };
    }
}
