using System.Buffers.Binary;
using System.Diagnostics;

namespace Exir.Evtx.Tests;

[CollectionDefinition("fuzz", DisableParallelization = true)]
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public sealed class FuzzCollection;

/// <summary>Damaged input: the reader must go on, count what it skipped, and never throw, hang or balloon.</summary>
[Collection("fuzz")]
[Trait("Tier", "slow")]
public sealed class RobustnessTests
{
    private static string Sample(string relative) => Path.Combine(ReferenceCorpus.EvtxDir, relative);

    /// <summary>Reads everything (and renders it) on a worker with a deadline; returns the record count.</summary>
    private static (int Records, EvtxReadStats Stats) ReadAll(byte[] file, TimeSpan? timeout = null)
    {
        var stats = new EvtxReadStats();
        var task = Task.Run(() =>
        {
            int n = 0;
            foreach (var r in EvtxReader.ReadRecords(new MemoryStream(file, writable: false), stats))
            {
                n++;
                Assert.NotNull(r.ToXml());
                Assert.NotNull(r.ToJson());
                _ = r.GetData("SubjectUserName");
            }
            return n;
        });
        Assert.True(task.Wait(timeout ?? TimeSpan.FromSeconds(10)), "reader did not finish in time (hang?)");
        return (task.Result, stats);
    }

    [Fact]
    public void Header_chunk_count_too_small_is_ignored()
    {
        var bytes = File.ReadAllBytes(Sample("omerbenamram-evtx/security.evtx"));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(42), 1); // header claims one chunk
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), 0); // last chunk number 0
        var (records, stats) = ReadAll(bytes);
        Assert.Equal(2261, records);
        Assert.Contains(stats.Problems, p => p.Contains("file header: CRC32 mismatch"));
    }

    [Fact]
    public void Zeroed_chunk_is_skipped_and_the_rest_read()
    {
        var bytes = File.ReadAllBytes(Sample("omerbenamram-evtx/security.evtx"));
        var healthy = ReadAll(bytes);
        int inChunk1 = EvtxReader.ReadRecords(new MemoryStream(bytes)).Count(r => r.ChunkIndex == 1);
        Array.Clear(bytes, 0x1000 + 0x10000, 0x10000);
        var (records, stats) = ReadAll(bytes);
        Assert.True(inChunk1 > 0);
        Assert.Equal(healthy.Records - inChunk1, records);
        Assert.Equal(healthy.Stats.ZeroChunks + 1, stats.ZeroChunks);
        Assert.Equal(0, stats.DamagedChunks);
    }

    [Fact]
    public void Flipped_byte_in_record_data_flags_the_chunk_but_keeps_its_records()
    {
        var bytes = File.ReadAllBytes(Sample("deepbluecli/new-user-security.evtx"));
        // Flip a byte inside a substitution value of the last record (in the UTF-16 text near its end).
        int chunk = 0x1000;
        uint free = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(chunk + 48));
        bytes[chunk + (int)free - 40] ^= 0x01;
        var (records, stats) = ReadAll(bytes);
        Assert.Equal(4, records);
        Assert.Equal(1, stats.BadCrcChunks);
        Assert.Equal(4, stats.RecoveredOrFlaggedRecords);
        Assert.All(EvtxReader.ReadRecords(new MemoryStream(bytes)), r => Assert.True(r.FromBadCrcChunk));
    }

    [Fact]
    public void Not_evtx_and_tiny_inputs_yield_nothing_without_throwing()
    {
        Assert.Equal(0, ReadAll([]).Records);
        Assert.Equal(0, ReadAll(new byte[100]).Records);
        var random = new byte[0x1000 + 3 * 0x10000 + 77];
        new Random(7).NextBytes(random);
        var (records, stats) = ReadAll(random);
        Assert.Equal(0, records);
        Assert.False(stats.HeaderValid);
        Assert.Equal(4, stats.Chunks);
        Assert.Equal(4, stats.DamagedChunks);
    }

    [Fact]
    public void Truncated_file_keeps_the_records_before_the_cut()
    {
        var bytes = File.ReadAllBytes(Sample("omerbenamram-evtx/security.evtx"));
        var all = EvtxReader.ReadRecords(new MemoryStream(bytes)).ToList();
        int cut = 0x1000 + 2 * 0x10000 + 0x8000; // half of the third chunk
        var (records, stats) = ReadAll(bytes[..cut]);
        int full = all.Count(r => r.ChunkIndex < 2);
        Assert.InRange(records, full + 1, all.Count(r => r.ChunkIndex <= 2));
        Assert.Contains(stats.Problems, p => p.Contains("truncated"));
    }

    /// <summary>
    /// Bounded mutation fuzzing: fixed seeds, byte flips, random 32-bit values over header fields and
    /// BinXML, zeroed ranges and truncations over corpus files with very different structure.
    /// </summary>
    [Fact]
    public void Mutated_corpus_files_never_throw_hang_or_balloon()
    {
        string[] files =
        [
            "evtx-attack-samples/LM_typical_IIS_webshell_sysmon_1_10_traces.evtx",
            "omerbenamram-evtx/MSExchange_Management_wec.evtx",
            "omerbenamram-evtx/E_Windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx",
            "evtx-to-mitre-attack/ID1116-1117-Defender threat detected.evtx",
            "python-evtx/dns_log_malformed.evtx",
            "omerbenamram-evtx/Microsoft-Windows-HelloForBusiness%4Operational.evtx",
            "deepbluecli/new-user-security.evtx",
        ];
        var budget = Stopwatch.StartNew();
        int iterations = 0;
        long records = 0;
        for (int f = 0; f < files.Length; f++)
        {
            var original = File.ReadAllBytes(Sample(files[f]));
            // Keep the fuzzed area to the first two chunks: that is where the records are.
            original = original[..Math.Min(original.Length, 0x1000 + 2 * 0x10000)];
            var rng = new Random(1000 + f);
            for (int i = 0; i < 60; i++)
            {
                var bytes = (byte[])original.Clone();
                Mutate(bytes, rng, out var cut);
                long before = GC.GetTotalAllocatedBytes();
                var (n, stats) = ReadAll(bytes[..cut], TimeSpan.FromSeconds(5));
                long allocated = GC.GetTotalAllocatedBytes() - before;
                Assert.True(allocated < 400L << 20, $"{files[f]} iteration {i}: {allocated >> 20} MiB allocated");
                Assert.Equal(n, stats.Records);
                // Damage is handled where it is met, never by the chunk-level safety net.
                var unexpected = stats.Problems.FirstOrDefault(p => p.Contains("internal error"));
                Assert.True(unexpected is null, $"{files[f]} iteration {i}: {unexpected}");
                records += n;
                iterations++;
            }
        }
        Assert.Equal(420, iterations);
        Assert.True(records > 0);
        Assert.True(budget.Elapsed < TimeSpan.FromSeconds(60), $"fuzzing took {budget.Elapsed}");
    }

    private static void Mutate(byte[] b, Random rng, out int cut)
    {
        cut = b.Length;
        int first = Math.Min(0x1000 + 0x200, b.Length - 1);
        switch (rng.Next(6))
        {
            case 0: // byte flips in the record area
                for (int k = rng.Next(1, 20); k > 0; k--) b[rng.Next(first, b.Length)] ^= (byte)(1 << rng.Next(8));
                break;
            case 1: // random 32-bit values: sizes, offsets, counts
                for (int k = rng.Next(1, 8); k > 0; k--)
                {
                    int at = rng.Next(first, b.Length - 4);
                    uint v = rng.Next(3) switch { 0 => (uint)rng.Next(), 1 => 0xffffffff, _ => (uint)rng.Next(0x200, 0x10000) };
                    BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v);
                }
                break;
            case 2: // zeroed range
            {
                int at = rng.Next(0, b.Length);
                Array.Clear(b, at, Math.Min(b.Length - at, rng.Next(1, 4096)));
                break;
            }
            case 3: // truncation anywhere
                cut = rng.Next(0, b.Length);
                break;
            case 4: // chunk header fields (free space, last record offset, flags)
                for (int k = rng.Next(1, 4); k > 0; k--)
                    BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x1000 + 8 * rng.Next(1, 16)), (uint)rng.Next());
                break;
            default: // BinXML token bytes replaced by other token values
                for (int k = rng.Next(1, 30); k > 0; k--) b[rng.Next(first, b.Length)] = (byte)rng.Next(0, 0x50);
                break;
        }
    }

    [Fact]
    public void Live_memory_is_bounded_by_chunks_not_file_size()
    {
        // A 64 MiB log streamed from the healthy chunks of security.evtx, never held in memory as a whole.
        var source = File.ReadAllBytes(Sample("omerbenamram-evtx/security.evtx"));
        var chunks = Enumerable.Range(0, (source.Length - 0x1000) / 0x10000)
            .Select(i => (ReadOnlyMemory<byte>)source.AsMemory(0x1000 + i * 0x10000, 0x10000))
            .Where(c => c.Span.StartsWith("ElfChnk\0"u8)).ToList();
        var stream = new RepeatingChunkStream(source.AsMemory(0, 0x1000), chunks, count: 1024);
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = 0, records = 0;
        foreach (var r in EvtxReader.ReadRecords(stream))
        {
            if (++records % 20_000 == 0) peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - baseline);
        }
        Assert.True(records > 50_000, $"{records} records");
        Assert.True(peak < 48L << 20, $"live heap grew by {peak >> 20} MiB");
    }

    /// <summary>A file header followed by <c>count</c> chunks cycled from a list: an arbitrarily large log.</summary>
    private sealed class RepeatingChunkStream(ReadOnlyMemory<byte> header, List<ReadOnlyMemory<byte>> chunks, int count) : Stream
    {
        private long _position;
        private long Length_ => header.Length + (long)count * 0x10000;

        public override int Read(byte[] buffer, int offset, int size)
        {
            if (_position >= Length_) return 0;
            ReadOnlySpan<byte> from;
            if (_position < header.Length) from = header.Span[(int)_position..];
            else
            {
                long inChunks = _position - header.Length;
                from = chunks[(int)(inChunks / 0x10000 % chunks.Count)].Span[(int)(inChunks % 0x10000)..];
            }
            int n = Math.Min(size, from.Length);
            from[..n].CopyTo(buffer.AsSpan(offset, n));
            _position += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => Length_;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
