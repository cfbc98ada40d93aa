using System.Runtime.CompilerServices;
using System.Buffers.Binary;
using System.IO.Hashing;

namespace Exir.Evtx.Internal;

/// <summary>Reads the records of one 64 KiB chunk. Never throws: damage is counted in <see cref="ChunkStats"/>.</summary>
internal static class ChunkReader
{
    public const int ChunkSize = 0x10000;
    private const int HeaderEnd = 0x200; // chunk header plus the string and template offset tables
    private const uint RecordSignature = 0x00002a2a;
    private const int RecordHeaderSize = 24;
    private const int MinRecordSize = RecordHeaderSize + 4;
    private static ReadOnlySpan<byte> Signature => "ElfChnk\0"u8;

    public static List<EvtxRecord> Read(byte[] d, int length, long chunkIndex, bool fileSaysNoCrc, ChunkStats st)
    {
        var records = new List<EvtxRecord>();
        try
        {
            ReadInto(d, length, chunkIndex, fileSaysNoCrc, st, records);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Last line of defence: a parser bug must not stop the file; keep what was read.
            st.Damaged = true;
            st.Problem(chunkIndex, "internal error " + e.GetType().Name + ": " + e.Message);
        }
        return records;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ReadInto(byte[] d, int length, long chunkIndex, bool fileSaysNoCrc, ChunkStats st, List<EvtxRecord> records)
    {
        var chunk = d.AsSpan(0, length);
        if (!chunk.ContainsAnyExcept((byte)0))
        {
            st.Zero = true;
            return;
        }
        if (length < HeaderEnd || !chunk.StartsWith(Signature))
        {
            st.Damaged = true;
            st.Problem(chunkIndex, length < HeaderEnd ? $"truncated to {length} bytes" : "no ElfChnk signature");
            return;
        }
        if (length < ChunkSize)
        {
            st.Damaged = true;
            st.Problem(chunkIndex, $"truncated to {length} bytes");
        }

        uint freeSpace = BinaryPrimitives.ReadUInt32LittleEndian(chunk.Slice(48));
        uint dataCrc = BinaryPrimitives.ReadUInt32LittleEndian(chunk.Slice(52));
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(chunk.Slice(120));
        uint headerCrc = BinaryPrimitives.ReadUInt32LittleEndian(chunk.Slice(124));

        int liveEnd;
        if (freeSpace < HeaderEnd || freeSpace > ChunkSize)
        {
            // Header field not trustworthy: walk records until they stop making sense.
            st.Damaged = true;
            st.Problem(chunkIndex, $"free-space offset 0x{freeSpace:x} invalid");
            liveEnd = length;
        }
        else liveEnd = (int)Math.Min(freeSpace, (uint)length);

        bool noCrc = fileSaysNoCrc || (flags & 0x4) != 0;
        if (!noCrc)
        {
            var crc = new Crc32();
            crc.Append(chunk.Slice(0, 120));
            crc.Append(chunk.Slice(128, HeaderEnd - 128));
            bool headerOk = crc.GetCurrentHashAsUInt32() == headerCrc;
            bool dataOk = freeSpace >= HeaderEnd && freeSpace <= length &&
                          Crc32.HashToUInt32(chunk.Slice(HeaderEnd, (int)freeSpace - HeaderEnd)) == dataCrc;
            if (!headerOk || !dataOk)
            {
                st.BadCrc = true;
                st.Problem(chunkIndex, (headerOk ? "" : "header CRC32 mismatch; ") + (dataOk ? "" : "event records CRC32 mismatch; ") + "records kept and flagged");
            }
        }

        var parser = new BinXmlParser(d, length);
        int off = HeaderEnd;
        while (off + MinRecordSize <= liveEnd)
        {
            uint sig = BinaryPrimitives.ReadUInt32LittleEndian(chunk.Slice(off));
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(chunk.Slice(off + 4));
            if (sig != RecordSignature || size < MinRecordSize || size > liveEnd - off)
            {
                if (sig == 0 && size == 0 && !chunk.Slice(off, liveEnd - off).ContainsAnyExcept((byte)0)) break; // zero tail
                // Past a broken record nothing is reliably allocated: what follows is counted as slack, not live.
                st.BadRecords++;
                st.Damaged = true;
                st.Problem(chunkIndex, $"bad record at 0x{off:x} (signature 0x{sig:x8}, size {size}); rest of chunk skipped");
                break;
            }
            if (ReadRecord(parser, d, off, (int)size, chunkIndex, st) is { } record) records.Add(record);
            off += (int)size;
        }
        st.Records = records.Count;
    }

    /// <summary>A record, or null (counted as bad) when its BinXML cannot be read: the reference tools agree that such a slot is no event.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static EvtxRecord? ReadRecord(BinXmlParser parser, byte[] d, int off, int size, long chunkIndex, ChunkStats st)
    {
        var span = d.AsSpan(off);
        var r = new EvtxRecord
        {
            HeaderRecordId = BinaryPrimitives.ReadUInt64LittleEndian(span.Slice(8)),
            ChunkIndex = chunkIndex,
            FromBadCrcChunk = st.BadCrc,
        };
        long written = BinaryPrimitives.ReadInt64LittleEndian(span.Slice(16));
        r.WrittenUtc = ValueFormatter.TryFileTime(written, out var w) ? w : DateTime.UnixEpoch;
        r.TimestampUtc = r.WrittenUtc;
        r.RecordId = r.HeaderRecordId;
        try
        {
            parser.StartRecord();
            int pos = off + RecordHeaderSize;
            var nodes = parser.ParseFragment(ref pos, off + size - 4, 0);
            var top = new List<object>(1);
            parser.Resolve(nodes, default, top, 0);
            BinXmlParser.FinishText(top);
            XElement? root = null;
            foreach (var o in top) if (o is XElement e) { root = e; break; }
            if (root is null) throw new EvtxFormatException("no element in the record");
            RecordBuilder.Fill(r, root);
        }
        catch (Exception e) when (e is EvtxFormatException or ArgumentException or IndexOutOfRangeException)
        {
            st.BadRecords++;
            st.Damaged = true;
            st.Problem(chunkIndex, $"record {r.HeaderRecordId} at 0x{off:x} ({ValueFormatter.FormatUtc(r.WrittenUtc)}): unreadable BinXML: {e.Message}");
            return null;
        }
        if (r.Problem is null && BinaryPrimitives.ReadUInt32LittleEndian(span.Slice(size - 4)) != (uint)size)
            r.Problem = "record's trailing size copy does not match (written incompletely?)";
        if (r.FromBadCrcChunk || r.Problem is not null) st.Flagged++;
        return r;
    }
}
