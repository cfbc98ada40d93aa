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

    /// <param name="window">Chunks read ahead of the consumer: bounds memory to that many chunks and their records.</param>
    internal static IEnumerable<EvtxRecord> ReadRecords(Stream stream, EvtxReadStats? stats, int window, EvtxRender prerender)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stats ??= new EvtxReadStats();
        var header = new byte[FileHeaderSize];
        int got = ReadFully(stream, header, FileHeaderSize);
        bool noCrc = CheckFileHeader(header, got, stats);
        if (got < FileHeaderSize) yield break;

        var pending = new Queue<ChunkJob>();
        long index = 0;
        bool more = true;
        while (more || pending.Count > 0)
        {
            // Keep the window full; the first chunk of a one-chunk file is parsed right here.
            while (more && pending.Count < window)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkReader.ChunkSize);
                int n = ReadFully(stream, buffer, ChunkReader.ChunkSize);
                if (n == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    more = false;
                    break;
                }
                var job = new ChunkJob(buffer, n, index++, noCrc, prerender);
                pending.Enqueue(job);
                if (pending.Count > 1) ChunkWorkers.Post(job);
                if (n < ChunkReader.ChunkSize) more = false;
            }
            if (pending.Count == 0) break;
            var next = pending.Dequeue();
            // While a worker is still on the next chunk, parse a later one nobody has started rather than wait
            // idle: otherwise this thread only writes and one core does all the parsing.
            if (!next.TryRun())
                foreach (var later in pending)
                {
                    if (next.Done) break;
                    later.TryRun();
                }
            var records = next.Result();
            stats.Add(next.Stats);
            foreach (var r in records) yield return r;
        }
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
