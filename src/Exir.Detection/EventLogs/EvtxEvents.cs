using Exir.Evtx;

namespace Exir.Detection.EventLogs;

/// <summary>Bridge from the managed EVTX reader to <see cref="WinEvent"/>.</summary>
public static class EvtxEvents
{
    public static IEnumerable<WinEvent> Read(Stream stream) => Read(stream, null);

    /// <summary>Streams the events of an EVTX stream; <paramref name="stats"/> receives chunk damage counts.</summary>
    public static IEnumerable<WinEvent> Read(Stream stream, EvtxReadStats? stats)
    {
        foreach (var r in EvtxReader.ReadRecords(stream, stats)) yield return From(r);
    }

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
}
