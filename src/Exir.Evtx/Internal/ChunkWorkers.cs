using System.Buffers;

namespace Exir.Evtx.Internal;

/// <summary>
/// One chunk to parse. Either a worker or the consuming thread runs it, whichever gets to it first:
/// the consumer never sits idle waiting for a chunk nobody has started.
/// </summary>
internal sealed class ChunkJob(byte[] buffer, int length, long index, bool noCrc, EvtxRender prerender)
{
    private int _state; // 0 queued, 1 running, 2 done
    private List<EvtxRecord>? _records;
    public readonly ChunkStats Stats = new();

    /// <summary>Whether the job has finished (its records are ready).</summary>
    public bool Done => Volatile.Read(ref _state) == 2;

    /// <summary>Runs the job here unless a worker has started it; returns whether this call ran it.</summary>
    public bool TryRun()
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) return false;
        try
        {
            _records = ChunkReader.Read(buffer, length, index, noCrc, Stats);
            if (prerender != EvtxRender.None)
                foreach (var r in _records) r.Prerender(prerender);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            lock (this)
            {
                _state = 2;
                Monitor.PulseAll(this);
            }
        }
        return true;
    }

    /// <summary>The chunk's records: runs the job here if no worker has started it, else waits (blocking, no spinning).</summary>
    public List<EvtxRecord> Result()
    {
        TryRun();
        lock (this)
        {
            while (_state != 2) Monitor.Wait(this);
        }
        return _records ?? [];
    }
}

/// <summary>
/// A few background threads (one less than the cores: the consumer is the last one) that parse queued
/// chunks. Own threads rather than the thread pool, whose idle workers spin and steal CPU from the consumer.
/// </summary>
internal static class ChunkWorkers
{
    private static readonly Queue<ChunkJob> Queue = new();
    private static int _started;

    public static int Count { get; } = Math.Max(1, Environment.ProcessorCount - 1);

    public static void Post(ChunkJob job)
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            for (int i = 0; i < Count; i++)
                new Thread(Loop) { IsBackground = true, Name = $"evtx-chunk-{i}" }.Start();
        }
        lock (Queue)
        {
            Queue.Enqueue(job);
            Monitor.Pulse(Queue);
        }
    }

    private static void Loop()
    {
        while (true)
        {
            ChunkJob job;
            lock (Queue)
            {
                while (Queue.Count == 0) Monitor.Wait(Queue);
                job = Queue.Dequeue();
            }
            job.TryRun();
        }
    }
}
