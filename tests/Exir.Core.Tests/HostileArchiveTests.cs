using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Tests;

namespace Exir.Core.Tests;

/// <summary>
/// Hostile archives: flat zip bombs (one member named thousands of times in the central directory), members
/// whose data overlaps, members claiming absurd expansion, archives with more entries or more bytes than the
/// configured caps. Each is read in bounded time and memory, and what was not read is named in the coverage.
/// </summary>
public class HostileArchiveTests
{
    [Theory]
    [InlineData(2_000)]
    [InlineData(65_000)]
    public void FlatZipBombReadsTheMemberOnceAndRefusesTheOtherNames(int names)
    {
        var zip = HostileZips.FlatBomb(TestPaths.NewTempDir(), names, memberBytes: 4 << 20);
        var watch = Stopwatch.StartNew();
        using var source = EvidenceSource.Open(zip);
        var cov = new CoverageReport();
        long read = 0;
        var files = new List<string>();
        foreach (var f in source.EnumerateFiles(cov))
        {
            files.Add(f.RelativePath);
            using var s = f.OpenRead();
            read += Drain(s);
        }
        Assert.Single(files);
        Assert.Equal(4 << 20, read);
        // Every other name is refused and counted (the listed issues are capped, the counts are exact).
        Assert.Equal(names - 1 + 1, cov.IssueCounts[IssueKind.ArchiveBomb]);
        Assert.Contains(cov.Issues, i => i.Kind == IssueKind.ArchiveBomb && i.Message.Contains("overlaps"));
        var partly = Assert.Single(cov.Issues, i => i.Kind == IssueKind.ArchiveBomb && i.Path == "flat.zip");
        Assert.Equal($"archive partly read: {names - 1:N0} member(s) refused because their data overlaps another member's", partly.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }

    [Fact]
    public void MemberWhoseDataLiesInsideAnotherMemberIsRefused()
    {
        var zip = HostileZips.Overlapping(TestPaths.NewTempDir());
        using var source = EvidenceSource.Open(zip);
        var cov = new CoverageReport();
        var files = source.EnumerateFiles(cov).ToList();
        Assert.Equal(["overlap.zip!/outer.bin"], files.Select(f => f.RelativePath));
        Assert.Contains(cov.Issues, i => i.Kind == IssueKind.ArchiveBomb && i.Path == "overlap.zip!/inner.aspx" && i.Message.Contains("overlaps"));
        Assert.Contains(cov.Issues, i => i.Path == "overlap.zip" && i.Message.Contains("partly read"));
    }

    [Fact]
    public void MemberClaimingAbsurdExpansionIsReadOnlyUpToTheLimitAndReported()
    {
        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "ratio.zip");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            var e = zip.CreateEntry("zeros.aspx", CompressionLevel.SmallestSize);
            using var s = e.Open();
            var block = new byte[1 << 20];
            for (int i = 0; i < 64; i++) s.Write(block);
        }
        var limits = new EvidenceLimits { Archives = new ArchiveLimits { MaxRatio = 500, RatioCheckFromBytes = 1 << 20, RatioMemberBytes = 2 << 20 } };
        using var source = EvidenceSource.Open(path, limits);
        var cov = new CoverageReport();
        var f = Assert.Single(source.EnumerateFiles(cov));
        using (var s = f.OpenRead()) Assert.Equal(2 << 20, Drain(s));
        Assert.Contains(cov.Issues, i => i.Kind == IssueKind.ArchiveBomb && i.Path.EndsWith("zeros.aspx") && i.Message.Contains(":1"));
    }

    [Fact]
    public void MemberIsNeverReadPastItsDeclaredSize()
    {
        // The central directory claims 1 MiB; the data inflates to 32 MiB. The read stops at the claim, so no member
        // expands past what its entry declares (and the declared ratio was judged above).
        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "liar.zip");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            var e = zip.CreateEntry("a.log", CompressionLevel.SmallestSize);
            using var s = e.Open();
            var block = new byte[1 << 20];
            for (int i = 0; i < 32; i++) s.Write(block);
        }
        HostileZips.RewriteSizes(path, compressed: null, uncompressed: 1 << 20);
        using var source = EvidenceSource.Open(path);
        var cov = new CoverageReport();
        var f = Assert.Single(source.EnumerateFiles(cov));
        Assert.Equal(1 << 20, f.Length);
        using var stream = f.OpenRead();
        Assert.Equal(1 << 20, Drain(stream));
    }

    [Fact]
    public void EntriesBeyondThePerArchiveCapAreCountedNotRead()
    {
        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "many.zip");
        HostileZips.ManyEntries(path, 5_000, i => $"f{i}.txt", i => "x" + i);
        var limits = new EvidenceLimits { Archives = new ArchiveLimits { MaxEntries = 1_000 } };
        using var source = EvidenceSource.Open(path, limits);
        var cov = new CoverageReport();
        Assert.Equal(1_000, source.EnumerateFiles(cov).Count());
        var partly = Assert.Single(cov.Issues, i => i.Path == "many.zip");
        Assert.Contains("4,000", partly.Message);
        Assert.Contains("partly read", partly.Message);
    }

    [Fact]
    public void DecompressionBudgetPerArchiveAndPerScanStopsReadingAndIsReported()
    {
        var dir = TestPaths.NewTempDir();
        var a = Path.Combine(dir, "a.zip");
        var b = Path.Combine(dir, "b.zip");
        var text = new string('y', 100_000);
        HostileZips.ManyEntries(a, 20, i => $"a{i}.txt", _ => text);
        HostileZips.ManyEntries(b, 20, i => $"b{i}.txt", _ => text);
        // Per archive: 1 MB lets 10 members of 100 KB through.
        var perArchive = new ArchiveLimits { MaxArchiveBytes = 1_000_000 };
        using (var source = EvidenceSource.Open(a, new EvidenceLimits { Archives = perArchive }))
        {
            var cov = new CoverageReport();
            var (ok, refused) = ReadAll(source, cov);
            Assert.Equal(10, ok);
            Assert.Equal(10, refused);
            Assert.Contains(cov.Issues, i => i.Kind == IssueKind.ArchiveBomb && i.Path == "a.zip" && i.Message.Contains("partly read"));
        }
        // Per scan: one budget shared by two archives: 2.5 MB reads all of a (2 MB) and 5 members of b.
        var shared = new ArchiveLimits { ScanBudget = new DecompressionBudget(2_500_000) };
        using var sa = EvidenceSource.Open(a, new EvidenceLimits { Archives = shared });
        using var sb = EvidenceSource.Open(b, new EvidenceLimits { Archives = shared });
        var c1 = new CoverageReport();
        var c2 = new CoverageReport();
        Assert.Equal((20, 0), ReadAll(sa, c1));
        Assert.Equal((5, 15), ReadAll(sb, c2));
        Assert.Contains(c2.Issues, i => i.Kind == IssueKind.ArchiveBomb && i.Path == "b.zip" && i.Message.Contains("scan"));
    }

    [Fact]
    [Trait("Tier", "slow")]
    public void ManyEntryZipUsesOneReaderNotOnePerThread()
    {
        // 100,000 entries: the central directory is parsed once per enumeration, members are read at their offsets.
        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "entries.zip");
        HostileZips.ManyEntries(path, 100_000, i => $"d{i % 100}/f{i}.txt", i => "line " + i);
        using var source = EvidenceSource.Open(path);
        var cov = new CoverageReport();
        var files = source.EnumerateFiles(cov).ToList();
        Assert.Equal(100_000, files.Count);
        long before = GC.GetTotalMemory(true);
        Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = 8 }, f =>
        {
            using var r = new StreamReader(f.OpenRead());
            Assert.StartsWith("line ", r.ReadToEnd());
        });
        long after = GC.GetTotalMemory(true);
        Assert.True(after - before < 64L << 20, $"reading grew the heap by {(after - before) >> 20} MiB");
        Assert.Equal(0, cov.Issues.Count);
    }

    private static (int Ok, int Refused) ReadAll(IEvidenceSource source, CoverageReport cov)
    {
        int ok = 0, refused = 0;
        foreach (var f in source.EnumerateFiles(cov))
        {
            try
            {
                using var s = f.OpenRead();
                Drain(s);
                ok++;
            }
            catch (IOException) { refused++; }
        }
        return (ok, refused);
    }

    private static long Drain(Stream s)
    {
        var buffer = new byte[81920];
        long total = 0;
        int n;
        while ((n = s.Read(buffer)) > 0) total += n;
        return total;
    }
}

/// <summary>Builds hostile zips: real members from System.IO.Compression, then the central directory rewritten in code.</summary>
public static class HostileZips
{
    /// <summary>One member of <paramref name="memberBytes"/> compressible text, named <paramref name="names"/> times in the central directory.</summary>
    public static string FlatBomb(string dir, int names, int memberBytes)
    {
        var path = Path.Combine(dir, "flat.zip");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            var e = zip.CreateEntry("m0.aspx", CompressionLevel.Fastest);
            using var s = e.Open();
            var line = Encoding.ASCII.GetBytes("<% Response.Write(\"flat bomb member\"); %>\r\n");
            for (int n = 0; n < memberBytes; n += line.Length) s.Write(line, 0, Math.Min(line.Length, memberBytes - n));
        }
        var bytes = File.ReadAllBytes(path);
        var (cdOffset, cdSize, _) = Eocd(bytes);
        var record = bytes.AsSpan((int)cdOffset, (int)cdSize).ToArray();
        int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(28));
        int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(30));
        int commentLen = BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(32));
        var fixedPart = record.AsSpan(0, 46).ToArray();
        using var output = new MemoryStream();
        output.Write(bytes, 0, (int)cdOffset);
        for (int i = 0; i < names; i++)
        {
            var name = Encoding.ASCII.GetBytes($"m{i}.aspx");
            BinaryPrimitives.WriteUInt16LittleEndian(fixedPart.AsSpan(28), (ushort)name.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(fixedPart.AsSpan(30), 0);
            BinaryPrimitives.WriteUInt16LittleEndian(fixedPart.AsSpan(32), 0);
            output.Write(fixedPart);
            output.Write(name);
        }
        _ = nameLen + extraLen + commentLen;
        long newCdSize = output.Length - cdOffset;
        WriteEocd(output, names, newCdSize, cdOffset);
        File.WriteAllBytes(path, output.ToArray());
        return path;
    }

    /// <summary>
    /// A stored member outer.bin whose bytes are a complete local header and deflated data of inner.aspx, and a
    /// central directory entry for inner.aspx pointing inside outer.bin's data (the overlapping-member bomb's trick).
    /// </summary>
    public static string Overlapping(string dir)
    {
        var path = Path.Combine(dir, "overlap.zip");
        var innerData = Encoding.ASCII.GetBytes("<%@ Page Language=\"C#\" %><% System.Diagnostics.Process.Start(\"cmd.exe\"); %>");
        var innerCompressed = Deflate(innerData);
        var innerName = Encoding.ASCII.GetBytes("inner.aspx");
        using var embedded = new MemoryStream();
        WriteLocalHeader(embedded, innerName, 8, Crc(innerData), innerCompressed.Length, innerData.Length);
        embedded.Write(innerCompressed);
        var outerData = embedded.ToArray();
        var outerName = Encoding.ASCII.GetBytes("outer.bin");

        using var z = new MemoryStream();
        WriteLocalHeader(z, outerName, 0, Crc(outerData), outerData.Length, outerData.Length);
        long innerOffset = z.Position;
        z.Write(outerData);
        long cd = z.Position;
        WriteCentral(z, outerName, 0, Crc(outerData), outerData.Length, outerData.Length, 0);
        WriteCentral(z, innerName, 8, Crc(innerData), innerCompressed.Length, innerData.Length, innerOffset);
        WriteEocd(z, 2, z.Position - cd, cd);
        File.WriteAllBytes(path, z.ToArray());
        return path;
    }

    /// <summary>A zip of <paramref name="count"/> small deflated members, written by System.IO.Compression (zip64 past 65,535).</summary>
    public static void ManyEntries(string path, int count, Func<int, string> name, Func<int, string> content)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        for (int i = 0; i < count; i++)
        {
            var e = zip.CreateEntry(name(i), CompressionLevel.Fastest);
            using var s = e.Open();
            s.Write(Encoding.UTF8.GetBytes(content(i)));
        }
    }

    /// <summary>Overwrites the sizes of the first central directory entry (a member that lies about itself).</summary>
    public static void RewriteSizes(string path, uint? compressed, long uncompressed)
    {
        var bytes = File.ReadAllBytes(path);
        var (cdOffset, _, _) = Eocd(bytes);
        var rec = bytes.AsSpan((int)cdOffset);
        if (compressed is { } c) BinaryPrimitives.WriteUInt32LittleEndian(rec[20..], c);
        BinaryPrimitives.WriteUInt32LittleEndian(rec[24..], (uint)Math.Min(uncompressed, uint.MaxValue - 1));
        File.WriteAllBytes(path, bytes);
    }

    private static (long CdOffset, long CdSize, int Entries) Eocd(byte[] bytes)
    {
        for (int i = bytes.Length - 22; i >= 0; i--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i)) == 0x06054b50)
                return (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i + 16)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i + 12)),
                        BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i + 10)));
        throw new InvalidDataException("no end of central directory");
    }

    private static void WriteLocalHeader(Stream s, byte[] name, ushort method, uint crc, long compressed, long size)
    {
        Span<byte> h = stackalloc byte[30];
        h.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 20);
        BinaryPrimitives.WriteUInt16LittleEndian(h[8..], method);
        BinaryPrimitives.WriteUInt16LittleEndian(h[12..], 0x5A21); // 2025-01-01
        BinaryPrimitives.WriteUInt32LittleEndian(h[14..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(h[18..], (uint)compressed);
        BinaryPrimitives.WriteUInt32LittleEndian(h[22..], (uint)size);
        BinaryPrimitives.WriteUInt16LittleEndian(h[26..], (ushort)name.Length);
        s.Write(h);
        s.Write(name);
    }

    private static void WriteCentral(Stream s, byte[] name, ushort method, uint crc, long compressed, long size, long offset)
    {
        Span<byte> h = stackalloc byte[46];
        h.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x02014b50);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 20);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 20);
        BinaryPrimitives.WriteUInt16LittleEndian(h[10..], method);
        BinaryPrimitives.WriteUInt16LittleEndian(h[14..], 0x5A21);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], (uint)compressed);
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], (uint)size);
        BinaryPrimitives.WriteUInt16LittleEndian(h[28..], (ushort)name.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[42..], (uint)offset);
        s.Write(h);
        s.Write(name);
    }

    private static void WriteEocd(Stream s, int entries, long cdSize, long cdOffset)
    {
        Span<byte> e = stackalloc byte[22];
        e.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(e, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(e[8..], (ushort)entries);
        BinaryPrimitives.WriteUInt16LittleEndian(e[10..], (ushort)entries);
        BinaryPrimitives.WriteUInt32LittleEndian(e[12..], (uint)cdSize);
        BinaryPrimitives.WriteUInt32LittleEndian(e[16..], (uint)cdOffset);
        s.Write(e);
    }

    private static byte[] Deflate(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var d = new DeflateStream(ms, CompressionLevel.Optimal, leaveOpen: true)) d.Write(data);
        return ms.ToArray();
    }

    private static uint Crc(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }
}
