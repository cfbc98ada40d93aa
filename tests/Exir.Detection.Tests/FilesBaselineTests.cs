using System.Buffers.Binary;
using System.Text;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.Files;
using Exir.Detection.Files.Checks;
using Exir.Pipeline;
using Exir.Tests;

namespace Exir.Detection.Tests;

/// <summary>Baselines (create, compare, refuse on another build) and the newer-than-build check, over synthetic server trees.</summary>
public sealed class FilesBaselineTests
{
    private const string V15 = "C/Program Files/Microsoft/Exchange Server/V15";

    private static string Server(string root, int revision)
    {
        FilesTestSupport.Write(root, $"{V15}/Bin/ExSetup.exe", ExSetup(15, 2, 1544, revision));
        FilesTestSupport.Write(root, $"{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx", "<%@ Page Inherits=\"Owa.Logon\" %>"u8.ToArray());
        FilesTestSupport.Write(root, $"{V15}/FrontEnd/HttpProxy/owa/auth/15.2.1544.4/scripts/boot.js", "var x;"u8.ToArray());
        FilesTestSupport.Write(root, $"{V15}/ClientAccess/ecp/web.config", "<configuration/>"u8.ToArray());
        FilesTestSupport.Write(root, "C/inetpub/wwwroot/iisstart.htm", "<html/>"u8.ToArray());
        return root;
    }

    private static ScanResultLike Scan(string root, RunOptions options)
    {
        var context = FilesTestSupport.Hunt(root, options);
        return new ScanResultLike(context.Findings.ToList(), context.Coverage);
    }

    private sealed record ScanResultLike(List<Finding> Findings, CoverageReport Coverage);

    [Fact]
    public void Baseline_records_web_files_with_the_exact_build_and_round_trips()
    {
        var root = Server(TestPaths.NewTempDir(), 4);
        using var source = EvidenceSource.Open(root);
        var b = WebBaseline.Create(source, new CoverageReport(), FilesTestSupport.Classifier.WebExtensions);
        Assert.Equal("15.2.1544.4", b.Build);
        Assert.Contains("ExSetup", b.BuildSource);
        Assert.Equal(["ClientAccess/ecp/web.config", "FrontEnd/HttpProxy/owa/auth/logon.aspx"], b.Files.Values.Select(f => f.Path).Order(StringComparer.Ordinal));

        var text = new StringWriter();
        b.Write(text);
        var back = WebBaseline.Read(new StringReader(text.ToString()), "mem");
        Assert.Equal(b.Build, back.Build);
        Assert.Equal(b.Files.Count, back.Files.Count);
        Assert.All(b.Files, kv => Assert.Equal(kv.Value, back.Files[kv.Key]));
    }

    [Fact]
    public void Baseline_needs_the_build_to_the_security_update()
    {
        var root = TestPaths.NewTempDir();
        FilesTestSupport.Write(root, $"{V15}/FrontEnd/HttpProxy/owa/auth/15.2.1544.4/scripts/boot.js", "var x;"u8.ToArray());
        FilesTestSupport.Write(root, $"{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx", "x"u8.ToArray());
        using var source = EvidenceSource.Open(root);
        var e = Assert.Throws<InvalidDataException>(() => WebBaseline.Create(source, new CoverageReport(), FilesTestSupport.Classifier.WebExtensions));
        Assert.Contains("Security Update", e.Message);
    }

    [Fact]
    public void Scan_with_a_baseline_reports_added_and_changed_web_files_only()
    {
        var clean = Server(TestPaths.NewTempDir(), 4);
        var baselineFile = Path.Combine(TestPaths.NewTempDir(), "base.tsv");
        using (var source = EvidenceSource.Open(clean))
        using (var w = new StreamWriter(baselineFile)) WebBaseline.Create(source, new CoverageReport(), FilesTestSupport.Classifier.WebExtensions).Write(w);

        // The suspect server is mounted elsewhere (different prefix) and has one page changed, one added, one removed.
        var suspect = TestPaths.NewTempDir();
        Server(Path.Combine(suspect, "mnt", "image1"), 4);
        var v15 = Path.Combine(suspect, "mnt", "image1", V15);
        File.AppendAllText(Path.Combine(v15, "FrontEnd/HttpProxy/owa/auth/logon.aspx"), "<% /* trojanised */ %>");
        FilesTestSupport.Write(v15, "ClientAccess/ecp/auth/help.aspx", "<%@ Page %>"u8.ToArray());
        File.Delete(Path.Combine(v15, "ClientAccess/ecp/web.config"));

        var result = Scan(suspect, new RunOptions { BaselinePath = baselineFile, Parallelism = 1 });
        var changed = Assert.Single(result.Findings, f => f.RuleId == FileHuntRules.BaselineChangedId);
        Assert.EndsWith("FrontEnd/HttpProxy/owa/auth/logon.aspx", changed.Artifact);
        Assert.Equal("15.2.1544.4", changed.Details["baseline_build"]);
        var added = Assert.Single(result.Findings, f => f.RuleId == FileHuntRules.BaselineAddedId);
        Assert.EndsWith("ClientAccess/ecp/auth/help.aspx", added.Artifact);
        Assert.DoesNotContain(BaselineCheck.CheckName, result.Coverage.ChecksNotRun.Keys);
    }

    [Fact]
    public void Scan_refuses_a_baseline_of_another_build_with_a_clear_reason()
    {
        var clean = Server(TestPaths.NewTempDir(), 4);
        var baselineFile = Path.Combine(TestPaths.NewTempDir(), "base.tsv");
        using (var source = EvidenceSource.Open(clean))
        using (var w = new StreamWriter(baselineFile)) WebBaseline.Create(source, new CoverageReport(), FilesTestSupport.Classifier.WebExtensions).Write(w);

        var other = Server(TestPaths.NewTempDir(), 7);
        File.AppendAllText(Path.Combine(other, V15, "FrontEnd/HttpProxy/owa/auth/logon.aspx"), "changed by the SU");
        var result = Scan(other, new RunOptions { BaselinePath = baselineFile, Parallelism = 1 });
        Assert.DoesNotContain(result.Findings, f => f.RuleId.StartsWith("FILE-BASELINE", StringComparison.Ordinal));
        var reason = result.Coverage.ChecksNotRun[BaselineCheck.CheckName];
        Assert.Contains("15.2.1544.4", reason);
        Assert.Contains("15.2.1544.7", reason);

        // A CU-level build from the pipeline alone is not enough either.
        Assert.NotNull(WebBaseline.Read(baselineFile).RefusalFor("15.2.1544"));
        Assert.Null(WebBaseline.Read(baselineFile).RefusalFor("15.2.1544.4"));
        Assert.Throws<InvalidDataException>(() => WebBaseline.Read(new StringReader("hello"), "x"));
    }

    [Fact]
    public void Pages_written_after_the_installed_build_was_released_are_reported()
    {
        var root = Server(TestPaths.NewTempDir(), 4);
        var late = FilesTestSupport.Write(root, $"{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx", "<%@ Page %>"u8.ToArray(), new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var onTime = FilesTestSupport.Write(root, $"{V15}/ClientAccess/ecp/default.aspx", "<%@ Page %>"u8.ToArray(), new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var result = Scan(root, new RunOptions { Parallelism = 1 });
        var f = Assert.Single(result.Findings, x => x.RuleId == FileHuntRules.NewerThanBuildId);
        Assert.EndsWith("owa/auth/logon.aspx", f.Artifact);
        Assert.Equal("15.2.1544.4", f.Details["installed_build"]);
    }

    /// <summary>The smallest PE with a VS_FIXEDFILEINFO version resource (stands in for ExSetup.exe).</summary>
    internal static byte[] ExSetup(int major, int minor, int build, int revision)
    {
        var vi = new MemoryStream();
        vi.Write(new byte[6]);
        vi.Write(Encoding.Unicode.GetBytes("VS_VERSION_INFO\0"));
        while (vi.Length % 4 != 0) vi.WriteByte(0);
        var ffi = new byte[52];
        BinaryPrimitives.WriteUInt32LittleEndian(ffi, 0xFEEF04BD);
        BinaryPrimitives.WriteUInt32LittleEndian(ffi.AsSpan(4), 0x10000);
        for (int at = 8; at <= 16; at += 8)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(ffi.AsSpan(at), (uint)(major << 16 | minor));
            BinaryPrimitives.WriteUInt32LittleEndian(ffi.AsSpan(at + 4), (uint)(build << 16 | revision));
        }
        vi.Write(ffi);
        var info = vi.ToArray();
        BinaryPrimitives.WriteUInt16LittleEndian(info, (ushort)info.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(info.AsSpan(2), 52);

        // .rsrc: type 16 (RT_VERSION) -> name 1 -> language 0x409 -> data entry -> VS_VERSIONINFO
        var rsrc = new byte[0x58 + info.Length];
        void Dir(int at, uint id, uint target) { BinaryPrimitives.WriteUInt16LittleEndian(rsrc.AsSpan(at + 14), 1); BinaryPrimitives.WriteUInt32LittleEndian(rsrc.AsSpan(at + 16), id); BinaryPrimitives.WriteUInt32LittleEndian(rsrc.AsSpan(at + 20), target); }
        Dir(0, 16, 0x80000018);
        Dir(0x18, 1, 0x80000030);
        Dir(0x30, 0x409, 0x48);
        BinaryPrimitives.WriteUInt32LittleEndian(rsrc.AsSpan(0x48), 0x1000 + 0x58);
        BinaryPrimitives.WriteUInt32LittleEndian(rsrc.AsSpan(0x4C), (uint)info.Length);
        info.CopyTo(rsrc, 0x58);

        int raw = (rsrc.Length + 0x1FF) & ~0x1FF;
        var pe = new byte[0x200 + raw];
        pe[0] = (byte)'M'; pe[1] = (byte)'Z';
        BinaryPrimitives.WriteUInt32LittleEndian(pe.AsSpan(0x3C), 0x40);
        pe[0x40] = (byte)'P'; pe[0x41] = (byte)'E';
        const int coff = 0x44, opt = coff + 20, sec = opt + 240;
        BinaryPrimitives.WriteUInt16LittleEndian(pe.AsSpan(coff), 0x8664);
        BinaryPrimitives.WriteUInt16LittleEndian(pe.AsSpan(coff + 2), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(pe.AsSpan(coff + 16), 240);
        BinaryPrimitives.WriteUInt16LittleEndian(pe.AsSpan(coff + 18), 0x22);
        BinaryPrimitives.WriteUInt16LittleEndian(pe.AsSpan(opt), 0x20B);
        BinaryPrimitives.WriteUInt32LittleEndian(pe.AsSpan(opt + 108), 16);
        BinaryPrimitives.WriteUInt32LittleEndian(pe.AsSpan(opt + 112 + 16), 0x1000);
        BinaryPrimitives.WriteUInt32LittleEndian(pe.AsSpan(opt + 112 + 20), (uint)rsrc.Length);
        Encoding.ASCII.GetBytes(".rsrc").CopyTo(pe, sec);
        BinaryPrimitives.WriteUInt32LittleEndian(pe.AsSpan(sec + 8), (uint)rsrc.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(pe.AsSpan(sec + 12), 0x1000);
        BinaryPrimitives.WriteUInt32LittleEndian(pe.AsSpan(sec + 16), (uint)raw);
        BinaryPrimitives.WriteUInt32LittleEndian(pe.AsSpan(sec + 20), 0x200);
        rsrc.CopyTo(pe, 0x200);
        return pe;
    }
}
