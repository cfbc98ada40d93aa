namespace Exir.Evtx;

/// <summary>
/// What the reader saw in one or more files: chunk and record counts and the problems it skipped over.
/// Filled while records are enumerated; read it after the enumeration has finished.
/// </summary>
public sealed class EvtxReadStats
{
    /// <summary>Most problems kept as text; the counters keep counting past it.</summary>
    public const int MaxProblems = 200;

    /// <summary>Chunk slots examined (every 64 KiB block after the file header, whatever the header says).</summary>
    public int Chunks;
    /// <summary>Chunks skipped or cut short: bad signature, bad header fields, truncated, records that could not be walked.</summary>
    public int DamagedChunks;
    /// <summary>All-zero chunk slots (never written or wiped); skipped, not counted as damaged.</summary>
    public int ZeroChunks;
    /// <summary>Chunks whose header or event-records CRC32 does not match; their records are kept and flagged.</summary>
    public int BadCrcChunks;
    /// <summary>Records yielded.</summary>
    public long Records;
    /// <summary>Yielded records that come from a bad-CRC chunk or whose BinXML could only be read in part.</summary>
    public long RecoveredOrFlaggedRecords;
    /// <summary>Record slots that could not be read at all (bad signature or size inside the live area).</summary>
    public long BadRecords;
    /// <summary>True when the file header had the ElfFile signature (its CRC may still be bad; see Problems).</summary>
    public bool HeaderValid;
    /// <summary>One line per problem, "chunk N: ..." (capped at <see cref="MaxProblems"/>).</summary>
    public List<string> Problems = new();

    internal void AddProblem(string problem)
    {
        if (Problems.Count < MaxProblems) Problems.Add(problem);
    }

    internal void Add(ChunkStats c)
    {
        Chunks++;
        if (c.Damaged) DamagedChunks++;
        if (c.Zero) ZeroChunks++;
        if (c.BadCrc) BadCrcChunks++;
        Records += c.Records;
        RecoveredOrFlaggedRecords += c.Flagged;
        BadRecords += c.BadRecords;
        if (c.Problems is not null) foreach (var p in c.Problems) AddProblem(p);
    }
}

/// <summary>Per-chunk tallies, filled by the worker that parsed the chunk and merged in chunk order.</summary>
internal sealed class ChunkStats
{
    public bool Damaged, Zero, BadCrc;
    public int Records, Flagged, BadRecords;
    public List<string>? Problems;

    public void Problem(long chunk, string text)
    {
        Problems ??= new List<string>();
        if (Problems.Count < 20) Problems.Add($"chunk {chunk}: {text}");
    }
}
