namespace Exir.Timeline;

/// <summary>
/// One row of the timeline in the normalised schema. Every row points at its evidence: <see cref="File"/>
/// (the evidence path as given plus the file inside it) and <see cref="RecordId"/> (EventRecordID, or the
/// line of a log or findings file).
/// </summary>
public sealed class TimelineEvent
{
    /// <summary>UTC.</summary>
    public DateTime Timestamp { get; set; }
    /// <summary>What the time means (Timesketch timestamp_desc): "Logon", "Process created", ...</summary>
    public string TimestampDesc { get; set; } = "Event";
    public string Host { get; set; } = "";
    /// <summary>Channel or log family ("Security", "Microsoft-Windows-Sysmon/Operational", "exir scan").</summary>
    public string Source { get; set; } = "";
    public string Category { get; set; } = "other";
    public int? EventId { get; set; }
    public string? Provider { get; set; }
    public string? User { get; set; }
    public string? SrcIp { get; set; }
    public string? SrcHost { get; set; }
    public string? Process { get; set; }
    public string? ParentProcess { get; set; }
    public string? CommandLine { get; set; }
    public string Message { get; set; } = "";
    public long? RecordId { get; set; }
    public string File { get; set; } = "";
    /// <summary>Highlight tags (rules/eventlogs tags, process-tree marks), sorted, no duplicates.</summary>
    public List<string> Tags { get; set; } = [];
    /// <summary>Further flat fields: mapping extras (logon_type, process_id, ...) then the record's named data.</summary>
    public List<KeyValuePair<string, string>> Fields { get; set; } = [];

    public string? Field(string name)
    {
        foreach (var (k, v) in Fields)
            if (k == name) return v;
        return null;
    }

    public void AddTag(string tag)
    {
        int i = Tags.BinarySearch(tag, StringComparer.Ordinal);
        if (i < 0) Tags.Insert(~i, tag);
    }

    /// <summary>Total order for the merged timeline: time, then host, file and record, so runs are reproducible.</summary>
    public static int Compare(TimelineEvent a, TimelineEvent b) =>
        CompareKeys(a.Timestamp.Ticks, a.Host, a.File, a.RecordId, b.Timestamp.Ticks, b.Host, b.File, b.RecordId);

    /// <summary>The same order over the sort key alone (the external sorter keeps keys, not rows).</summary>
    internal static int CompareKeys(long ticksA, string hostA, string fileA, long? recordA, long ticksB, string hostB, string fileB, long? recordB)
    {
        int c = ticksA.CompareTo(ticksB);
        if (c != 0) return c;
        c = string.CompareOrdinal(hostA, hostB);
        if (c != 0) return c;
        c = string.CompareOrdinal(fileA, fileB);
        if (c != 0) return c;
        return Nullable.Compare(recordA, recordB);
    }

    /// <summary>
    /// Rough heap size of the row (object headers, the lists, two bytes per character): what bounds the
    /// sort buffer, since rows of one log differ a hundredfold (a Sysmon command line against an IIS hit).
    /// Strings shared between rows (channel, category) are counted in every row: an over-estimate errs safe.
    /// </summary>
    internal long EstimatedBytes()
    {
        long chars = TimestampDesc.Length + Host.Length + Source.Length + Category.Length + Message.Length + File.Length
            + (Provider?.Length ?? 0) + (User?.Length ?? 0) + (SrcIp?.Length ?? 0) + (SrcHost?.Length ?? 0)
            + (Process?.Length ?? 0) + (ParentProcess?.Length ?? 0) + (CommandLine?.Length ?? 0);
        foreach (var t in Tags) chars += t.Length;
        foreach (var (k, v) in Fields) chars += k.Length + v.Length;
        const int StringOverhead = 24, RowOverhead = 200;
        return RowOverhead + 2 * chars + StringOverhead * (13 + Tags.Count + 2L * Fields.Count) + 16L * Fields.Count + 8L * Tags.Count;
    }

    // Compact binary form for the sort's spill files (never leaves the temp folder).
    internal void Write(BinaryWriter w)
    {
        w.Write(Timestamp.Ticks);
        w.Write(TimestampDesc); w.Write(Host); w.Write(Source); w.Write(Category);
        w.Write(EventId.HasValue); if (EventId.HasValue) w.Write(EventId.Value);
        Opt(w, Provider); Opt(w, User); Opt(w, SrcIp); Opt(w, SrcHost); Opt(w, Process); Opt(w, ParentProcess); Opt(w, CommandLine);
        w.Write(Message);
        w.Write(RecordId.HasValue); if (RecordId.HasValue) w.Write(RecordId.Value);
        w.Write(File);
        w.Write(Tags.Count); foreach (var t in Tags) w.Write(t);
        w.Write(Fields.Count); foreach (var (k, v) in Fields) { w.Write(k); w.Write(v); }
    }

    internal static TimelineEvent Read(BinaryReader r)
    {
        var e = new TimelineEvent { Timestamp = new DateTime(r.ReadInt64(), DateTimeKind.Utc) };
        e.TimestampDesc = r.ReadString(); e.Host = r.ReadString(); e.Source = r.ReadString(); e.Category = r.ReadString();
        if (r.ReadBoolean()) e.EventId = r.ReadInt32();
        e.Provider = Opt(r); e.User = Opt(r); e.SrcIp = Opt(r); e.SrcHost = Opt(r); e.Process = Opt(r); e.ParentProcess = Opt(r); e.CommandLine = Opt(r);
        e.Message = r.ReadString();
        if (r.ReadBoolean()) e.RecordId = r.ReadInt64();
        e.File = r.ReadString();
        int n = r.ReadInt32();
        e.Tags = new List<string>(n);
        for (int i = 0; i < n; i++) e.Tags.Add(r.ReadString());
        n = r.ReadInt32();
        e.Fields = new List<KeyValuePair<string, string>>(n);
        for (int i = 0; i < n; i++) e.Fields.Add(new(r.ReadString(), r.ReadString()));
        return e;
    }

    private static void Opt(BinaryWriter w, string? s) { w.Write(s is not null); if (s is not null) w.Write(s); }
    private static string? Opt(BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;
}
