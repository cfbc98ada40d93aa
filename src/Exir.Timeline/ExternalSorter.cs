namespace Exir.Timeline;

/// <summary>
/// Sorts more rows than fit in memory: rows are buffered up to a bound, each full buffer is sorted and
/// spilled to a temporary run file, and the runs are merged with a priority queue. Memory is bounded by
/// the buffer bounds (rows and estimated bytes, whichever is reached first; plus one buffer being
/// spilled), not by the number of rows. Thread-safe Add.
/// </summary>
public sealed class ExternalSorter : IDisposable
{
    private readonly int _maxBuffered;
    private readonly long _maxBufferedBytes;
    private long _bufferedBytes;
    private readonly string _tempRoot;
    private string? _dir;
    private List<TimelineEvent> _buffer = [];
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
    }

    public int Runs { get { lock (_spillGate) return _runs.Count; } }

    // Evidence strings can hold lone UTF-16 surrogates: replace them rather than throw (the default writer throws).
    private static readonly System.Text.Encoding SpillEncoding = new System.Text.UTF8Encoding(false, false);

    public void Add(TimelineEvent e)
    {
        List<TimelineEvent>? full = null;
        long size = e.EstimatedBytes();
        lock (_gate)
        {
            _buffer.Add(e);
            _bufferedBytes += size;
            if (_buffer.Count >= _maxBuffered || _bufferedBytes >= _maxBufferedBytes)
            {
                full = _buffer;
                _buffer = [];
                _bufferedBytes = 0;
            }
        }
        if (full is not null) Spill(full);
    }

    private void Spill(List<TimelineEvent> rows)
    {
        rows.Sort(TimelineEvent.Compare);
        lock (_spillGate)
        {
            _dir ??= Directory.CreateDirectory(Path.Combine(_tempRoot, $"exir-timeline-{Guid.NewGuid():N}")).FullName;
            var path = Path.Combine(_dir, $"run-{_runs.Count:D5}.bin");
            using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var w = new BinaryWriter(fs, SpillEncoding))
            {
                w.Write(rows.Count);
                foreach (var r in rows) r.Write(w);
            }
            _runs.Add(path);
        }
    }

    /// <summary>All rows in <see cref="TimelineEvent.Compare"/> order. Call once, after the last Add.</summary>
    public IEnumerable<TimelineEvent> Merge()
    {
        List<TimelineEvent> rest;
        lock (_gate) { rest = _buffer; _buffer = []; _bufferedBytes = 0; }
        rest.Sort(TimelineEvent.Compare);
        List<string> runs;
        lock (_spillGate) runs = [.. _runs];
        if (runs.Count == 0)
        {
            foreach (var e in rest) yield return e;
            yield break;
        }
        var sources = new List<IEnumerator<TimelineEvent>> { rest.GetEnumerator() };
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
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
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
