using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using Exir.Evtx.Internal;

namespace Exir.Evtx;

/// <summary>
/// Streams the records of a Windows XML Event Log (.evtx) file. Every 64 KiB chunk slot after the
/// file header is read to the end of the file, whatever the header claims; chunks are parsed in
/// parallel (a small window, so memory stays bounded by a few chunks) and yielded in file order.
/// </summary>
/// <summary>What the chunk workers render ahead for each record (see <see cref="EvtxReader.ReadRecords(string, EvtxReadStats?, EvtxRender)"/>).</summary>
public enum EvtxRender
{
    None,
    Json,
    Xml,
}

public static class EvtxReader
{
    private const int FileHeaderSize = 0x1000;

    /// <summary>Streams records of one file; throws only when the stream itself cannot be read.</summary>
    public static IEnumerable<EvtxRecord> ReadRecords(string path, EvtxReadStats? stats = null) =>
        ReadRecords(path, stats, EvtxRender.None);

    /// <summary>
    /// As <see cref="ReadRecords(string, EvtxReadStats?)"/>, with each record's JSON or XML rendered by the
    /// parallel chunk workers, so that <see cref="EvtxRecord.ToJson"/> / <see cref="EvtxRecord.ToXml"/> return
    /// at once (for dump tools, where rendering is half the work).
    /// </summary>
    public static IEnumerable<EvtxRecord> ReadRecords(string path, EvtxReadStats? stats, EvtxRender prerender)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
            bufferSize: 1, FileOptions.SequentialScan);
        foreach (var r in ReadRecords(stream, stats, ChunkWorkers.Count * 2 + 1, prerender)) yield return r;
    }

    /// <summary>Streams records from <paramref name="stream"/> (read sequentially from its current position).</summary>
    public static IEnumerable<EvtxRecord> ReadRecords(Stream stream, EvtxReadStats? stats = null) =>
        ReadRecords(stream, stats, ChunkWorkers.Count * 2 + 1, EvtxRender.None);

    /// <summary>Streams the events of an EVTX stream as <see cref="WinEvent"/>s; <paramref name="stats"/> receives chunk damage counts.</summary>
    public static IEnumerable<WinEvent> ReadEvents(Stream stream, EvtxReadStats? stats = null)
    {
        foreach (var r in ReadRecords(stream, stats)) yield return WinEvent.From(r);
    }

    /// <summary>
    /// Streams the records of many files in order, one file after the other, with the read-ahead window
    /// running across file boundaries: the chunks of the next files are parsed on every core while the
    /// current one is written, so many small files (one or two chunks each) keep all cores busy too.
    /// Yields each record with its file, then <c>(file, null)</c> once the file is finished (its
    /// <see cref="EvtxFileRead.Stats"/> complete). A file that cannot be opened or read is not thrown:
    /// its <see cref="EvtxFileRead.Error"/> is set and the next file is read.
    /// </summary>
    public static IEnumerable<(EvtxFileRead File, EvtxRecord? Record)> ReadFiles(IEnumerable<string> paths, EvtxRender prerender = EvtxRender.None) =>
        ReadSources(paths.Select(p => new EvtxFileRead(p, () => new FileStream(p, FileMode.Open, FileAccess.Read,
            FileShare.ReadWrite | FileShare.Delete, bufferSize: 1, FileOptions.SequentialScan))), ChunkWorkers.Count * 2 + 1, prerender);

    /// <param name="window">Chunks read ahead of the consumer: bounds memory to that many chunks and their records.</param>
    internal static IEnumerable<EvtxRecord> ReadRecords(Stream stream, EvtxReadStats? stats, int window, EvtxRender prerender)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var source = new EvtxFileRead("", () => stream, stats ?? new EvtxReadStats(), disposeStream: false);
        foreach (var (_, record) in ReadSources([source], window, prerender))
            if (record is not null) yield return record;
        // A single stream keeps the old contract: a read error is the caller's, after the records read before it.
        if (source.Error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(source.Error);
    }

    /// <summary>One queued slot: a chunk of <see cref="Source"/>, or (Job null) the end of that source.</summary>
    private readonly record struct Pending(EvtxFileRead Source, ChunkJob? Job);

    private static IEnumerable<(EvtxFileRead File, EvtxRecord? Record)> ReadSources(IEnumerable<EvtxFileRead> sources, int window, EvtxRender prerender)
    {
        using var next = sources.GetEnumerator();
        var pending = new Queue<Pending>();
        EvtxFileRead? current = null;
        Stream? stream = null;
        long index = 0;
        bool noCrc = false, more = true;
        try
        {
            while (more || pending.Count > 0)
            {
                // Keep the window full, across files; the first chunk of the first file is parsed right here.
                while (more && pending.Count < window)
                {
                    if (current is null)
                    {
                        if (!next.MoveNext())
                        {
                            more = false;
                            break;
                        }
                        current = next.Current;
                        index = 0;
                        if (!TryOpen(current, out stream, out noCrc)) EndSource(ref current, ref stream, pending);
                        continue;
                    }
                    var buffer = ArrayPool<byte>.Shared.Rent(ChunkReader.ChunkSize);
                    int n;
                    try { n = ReadFully(stream!, buffer, ChunkReader.ChunkSize); }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ObjectDisposedException)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        current.Error = e;
                        EndSource(ref current, ref stream, pending);
                        continue;
                    }
                    if (n == 0)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        EndSource(ref current, ref stream, pending);
                        continue;
                    }
                    var job = new ChunkJob(buffer, n, index++, noCrc, prerender);
                    pending.Enqueue(new Pending(current, job));
                    if (pending.Count > 1) ChunkWorkers.Post(job);
                    if (n < ChunkReader.ChunkSize) EndSource(ref current, ref stream, pending);
                }
                if (pending.Count == 0) break;
                var (source, head) = pending.Dequeue();
                if (head is null)
                {
                    yield return (source, null);
                    continue;
                }
                // While a worker is still on the next chunk, parse a later one nobody has started rather than wait
                // idle: otherwise this thread only writes and one core does all the parsing.
                if (!head.TryRun())
                    foreach (var later in pending)
                    {
                        if (head.Done) break;
                        later.Job?.TryRun();
                    }
                var records = head.Result();
                source.Stats.Add(head.Stats);
                foreach (var r in records) yield return (source, r);
            }
        }
        finally
        {
            // An abandoned enumeration: close the open file (queued chunks finish on the workers or are collected).
            if (current is not null && current.DisposeStream) stream?.Dispose();
        }
    }

    /// <summary>Opens a source and checks its file header; false when there are no chunks to read (error or short file).</summary>
    private static bool TryOpen(EvtxFileRead source, out Stream? stream, out bool noCrc)
    {
        noCrc = false;
        stream = null;
        try
        {
            stream = source.Open();
            var header = new byte[FileHeaderSize];
            int got = ReadFully(stream, header, FileHeaderSize);
            noCrc = CheckFileHeader(header, got, source.Stats);
            return got >= FileHeaderSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ObjectDisposedException)
        {
            source.Error = e;
            return false;
        }
    }

    /// <summary>Queues the end marker of the current source and closes its stream.</summary>
    private static void EndSource(ref EvtxFileRead? current, ref Stream? stream, Queue<Pending> pending)
    {
        pending.Enqueue(new Pending(current!, null));
        if (current!.DisposeStream) stream?.Dispose();
        stream = null;
        current = null;
    }

    /// <summary>Checks the file header; returns whether it says chunks carry no CRC32.</summary>
    private static bool CheckFileHeader(byte[] h, int got, EvtxReadStats stats)
    {
        if (got < 128)
        {
            stats.AddProblem($"file header: only {got} bytes");
            return false;
        }
        if (!h.AsSpan(0, 8).SequenceEqual("ElfFile\0"u8))
        {
            stats.AddProblem("file header: no ElfFile signature; reading chunks anyway");
            return false;
        }
        stats.HeaderValid = true;
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(120));
        bool noCrc = (flags & 0x4) != 0;
        if (!noCrc && Crc32.HashToUInt32(h.AsSpan(0, 120)) != BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(124)))
            stats.AddProblem("file header: CRC32 mismatch");
        if (got < FileHeaderSize) stats.AddProblem($"file truncated inside the header ({got} bytes)");
        return noCrc;
    }

    private static int ReadFully(Stream s, byte[] buffer, int count)
    {
        int total = 0;
        while (total < count)
        {
            int n = s.Read(buffer, total, count - total);
            if (n <= 0) break;
            total += n;
        }
        return total;
    }
}
