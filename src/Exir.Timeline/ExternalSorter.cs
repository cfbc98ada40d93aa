namespace Exir.Timeline;

/// <summary>
/// Sorts more rows than fit in memory: rows are buffered up to a bound, each full buffer is sorted and
/// spilled to a temporary run file, and the runs are merged with a priority queue. Memory is bounded by
/// the buffer bounds (rows and estimated bytes, whichever is reached first; plus one buffer being
/// spilled), not by the number of rows. Thread-safe Add.
/// The buffer holds each row in its spill form (bytes in reused blocks) beside a small sort key, not the
/// row's objects: rows die young instead of living long enough to reach the GC's oldest generation, whose
/// garbage the runtime keeps as memory between full collections (the RSS was three times the live heap).
/// </summary>
public sealed class ExternalSorter : IDisposable
{
    private readonly int _maxBuffered;
    private readonly long _maxBufferedBytes;
    private long _bufferedBytes;
    private readonly string _tempRoot;
    private string? _dir;
    private Buffer _buffer;
    // Blocks of spilled buffers, reused by the next buffers: the same few megabytes for the whole run.
    private readonly Stack<byte[]> _freeBlocks = new();
    // Host and file names repeat in every row: the sort keys share one copy.
    private readonly StringPool _strings = new();
    private const int BlockBytes = 1 << 20;
    private readonly List<string> _runs = [];
    private readonly object _gate = new();
    private readonly object _spillGate = new();

    /// <summary>Default bound on the estimated bytes of buffered rows: what keeps a timeline of any size near 100-200 MB.</summary>
    public const long DefaultMaxBufferedBytes = 40L << 20;

    public ExternalSorter(int maxBuffered = 200_000, string? tempDirectory = null, long maxBufferedBytes = DefaultMaxBufferedBytes)
    {
        _maxBuffered = Math.Max(1, maxBuffered);
        _maxBufferedBytes = Math.Max(1, maxBufferedBytes);
        _tempRoot = tempDirectory ?? Path.GetTempPath();
        _buffer = new Buffer();
    }

    /// <summary>What sorts a buffered row (the fields of <see cref="TimelineEvent.Compare"/>) and where its bytes are.</summary>
    private readonly record struct RowRef(long Ticks, string Host, string File, long? RecordId, int Block, int Offset, int Length);

    private static int Compare(RowRef a, RowRef b) =>
        TimelineEvent.CompareKeys(a.Ticks, a.Host, a.File, a.RecordId, b.Ticks, b.Host, b.File, b.RecordId);

    private static readonly Comparison<RowRef> ByRow = Compare;

    /// <summary>Buffered rows: their keys, and their bytes in blocks (a row larger than a block gets a block of its own).</summary>
    private sealed class Buffer
    {
        public readonly List<RowRef> Rows = [];
        public readonly List<byte[]> Blocks = [];
        public int Used;

        public RowRef Append(ExternalSorter owner, TimelineEvent e, ReadOnlySpan<byte> bytes)
        {
            if (Blocks.Count == 0 || Used + bytes.Length > Blocks[^1].Length)
            {
                Blocks.Add(bytes.Length > BlockBytes ? new byte[bytes.Length] : owner.TakeBlock());
                Used = 0;
            }
            bytes.CopyTo(Blocks[^1].AsSpan(Used));
            var r = new RowRef(e.Timestamp.Ticks, owner._strings.Get(e.Host), owner._strings.Get(e.File), e.RecordId, Blocks.Count - 1, Used, bytes.Length);
            Used += bytes.Length;
            Rows.Add(r);
            return r;
        }

        public TimelineEvent Row(RowRef r)
        {
            using var ms = new MemoryStream(Blocks[r.Block], r.Offset, r.Length, writable: false);
            using var reader = new BinaryReader(ms, SpillEncoding);
            return TimelineEvent.Read(reader);
        }
    }

    private byte[] TakeBlock() => _freeBlocks.TryPop(out var b) ? b : new byte[BlockBytes];

    private void ReturnBlocks(Buffer spilled)
    {
        lock (_gate)
            foreach (var b in spilled.Blocks)
                if (b.Length == BlockBytes) _freeBlocks.Push(b);
        spilled.Blocks.Clear();
    }

    // Each adding thread serialises its row into its own stream before taking the lock.
    [ThreadStatic] private static MemoryStream? t_row;
    [ThreadStatic] private static BinaryWriter? t_writer;

    public int Runs { get { lock (_spillGate) return _runs.Count; } }

    // Evidence strings can hold lone UTF-16 surrogates: replace them rather than throw (the default writer throws).
    private static readonly System.Text.Encoding SpillEncoding = new System.Text.UTF8Encoding(false, false);

    public void Add(TimelineEvent e)
    {
        Buffer? full = null;
        // The bound stays on the estimated heap size of the rows, so runs are cut where they always were.
        long size = e.EstimatedBytes();
        var stream = t_row ??= new MemoryStream();
        var writer = t_writer ??= new BinaryWriter(stream, SpillEncoding, leaveOpen: true);
        stream.SetLength(0);
        e.Write(writer);
        writer.Flush();
        var bytes = stream.GetBuffer().AsSpan(0, (int)stream.Length);
        lock (_gate)
        {
            _buffer.Append(this, e, bytes);
            _bufferedBytes += size;
            if (_buffer.Rows.Count >= _maxBuffered || _bufferedBytes >= _maxBufferedBytes)
            {
                full = _buffer;
                _buffer = new Buffer();
                _bufferedBytes = 0;
            }
        }
        // A rare huge row leaves a large stream behind: not kept for the rest of the run.
        if (stream.Capacity > 4 * BlockBytes) { t_row = null; t_writer = null; }
        if (full is not null) Spill(full);
    }

    private void Spill(Buffer buffer)
    {
        var rows = buffer.Rows;
        rows.Sort(ByRow);
        lock (_spillGate)
        {
            _dir ??= Directory.CreateDirectory(Path.Combine(_tempRoot, $"exir-timeline-{Guid.NewGuid():N}")).FullName;
            var path = Path.Combine(_dir, $"run-{_runs.Count:D5}.bin");
            using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var w = new BinaryWriter(fs, SpillEncoding))
            {
                w.Write(rows.Count);
                foreach (var r in rows) w.Write(buffer.Blocks[r.Block], r.Offset, r.Length);
            }
            _runs.Add(path);
        }
        ReturnBlocks(buffer);
    }

    /// <summary>All rows in <see cref="TimelineEvent.Compare"/> order. Call once, after the last Add.</summary>
    public IEnumerable<TimelineEvent> Merge()
    {
        Buffer rest;
        // No more rows come: the reused blocks go back to the runtime for the writing phase.
        lock (_gate) { rest = _buffer; _buffer = new Buffer(); _bufferedBytes = 0; _freeBlocks.Clear(); }
        rest.Rows.Sort(ByRow);
        List<string> runs;
        lock (_spillGate) runs = [.. _runs];
        if (runs.Count == 0)
        {
            foreach (var r in rest.Rows) yield return rest.Row(r);
            yield break;
        }
        var sources = new List<IEnumerator<TimelineEvent>> { rest.Rows.Select(rest.Row).GetEnumerator() };
        sources.AddRange(runs.Select(r => ReadRun(r).GetEnumerator()));
        var queue = new PriorityQueue<int, TimelineEvent>(Comparer<TimelineEvent>.Create(TimelineEvent.Compare));
        try
        {
            for (int i = 0; i < sources.Count; i++)
                if (sources[i].MoveNext()) queue.Enqueue(i, sources[i].Current);
            while (queue.TryDequeue(out var i, out var e))
            {
                yield return e;
                if (sources[i].MoveNext()) queue.Enqueue(i, sources[i].Current);
            }
        }
        finally
        {
            foreach (var s in sources) s.Dispose();
        }
    }

    private static IEnumerable<TimelineEvent> ReadRun(string path)
    {
        // One reader per run is open during the merge (a hundred and more on 5 GB): small buffers, the OS reads ahead.
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 14, FileOptions.SequentialScan);
        using var r = new BinaryReader(fs, SpillEncoding);
        int n = r.ReadInt32();
        for (int i = 0; i < n; i++) yield return TimelineEvent.Read(r);
    }

    public void Dispose()
    {
        if (_dir is null) return;
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
