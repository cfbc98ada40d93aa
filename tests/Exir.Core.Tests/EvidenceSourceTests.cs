using System.IO.Compression;
using System.Text;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Tests;

namespace Exir.Core.Tests;

public class EvidenceSourceTests
{
    [Fact]
    public void FolderIsWalkedWithForwardSlashRelativePathsInStableOrder()
    {
        var root = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(root, "inetpub", "logs"));
        File.WriteAllText(Path.Combine(root, "inetpub", "logs", "b.log"), "b");
        File.WriteAllText(Path.Combine(root, "inetpub", "logs", "a.log"), "a");
        File.WriteAllText(Path.Combine(root, "top.txt"), "t");
        using var source = EvidenceSource.Open(root);
        var cov = new CoverageReport();
        var files = source.EnumerateFiles(cov).Select(f => f.RelativePath).ToList();
        Assert.Equal(["top.txt", "inetpub/logs/a.log", "inetpub/logs/b.log"], files);
        Assert.Equal("folder", source.Kind);
        Assert.Equal(3, cov.FilesSeen);
    }

    [Fact]
    public void SymlinkLoopIsReportedAndDoesNotTrapTheWalk()
    {
        if (OperatingSystem.IsWindows()) return;
        var root = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(root, "a"));
        File.WriteAllText(Path.Combine(root, "a", "x.txt"), "x");
        Directory.CreateSymbolicLink(Path.Combine(root, "a", "loop"), root);
        File.CreateSymbolicLink(Path.Combine(root, "a", "dangling.txt"), Path.Combine(root, "missing"));
        using var source = EvidenceSource.Open(root);
        var cov = new CoverageReport();
        var files = source.EnumerateFiles(cov).Select(f => f.RelativePath).ToList();
        Assert.Equal(["a/x.txt"], files);
        Assert.Contains(cov.Issues, i => i.Kind == IssueKind.LinkNotFollowed && i.Path == "a/loop");
        Assert.Contains(cov.Issues, i => i.Kind == IssueKind.LinkNotFollowed && i.Path == "a/dangling.txt");
    }

    [Fact]
    public void FifoIsNotOpenedButReported()
    {
        if (OperatingSystem.IsWindows()) return;
        var root = TestPaths.NewTempDir();
        var fifo = Path.Combine(root, "pipe");
        using (var p = System.Diagnostics.Process.Start("mkfifo", fifo)) p.WaitForExit();
        File.WriteAllText(Path.Combine(root, "real.txt"), "data");
        using var source = EvidenceSource.Open(root);
        var cov = new CoverageReport();
        var files = source.EnumerateFiles(cov).ToList();
        Assert.Single(files);
        Assert.Contains(cov.Issues, i => i.Kind == IssueKind.SpecialOrEmptyFile && i.Path == "pipe");
    }

    [Fact]
    public void UnreadableFolderIsReportedAndTheRestIsRead()
    {
        if (OperatingSystem.IsWindows() || Environment.UserName == "root") return; // root reads everything
        var root = TestPaths.NewTempDir();
        var locked = Path.Combine(root, "locked");
        Directory.CreateDirectory(locked);
        File.WriteAllText(Path.Combine(root, "ok.txt"), "ok");
        File.SetUnixFileMode(locked, UnixFileMode.None);
        try
        {
            using var source = EvidenceSource.Open(root);
            var cov = new CoverageReport();
            Assert.Single(source.EnumerateFiles(cov));
            Assert.Contains(cov.Issues, i => i.Kind == IssueKind.Unreadable);
        }
        finally { File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); }
    }

    [Fact]
    public void ZipIsReadInPlaceAndTraversalNamesAreSanitisedAndReported()
    {
        var dir = TestPaths.NewTempDir();
        var zipPath = Path.Combine(dir, "collection.zip");
        using (var zip = ZipFile.Open(zipPath, ZipArchiveMode.Create))
        {
            Write(zip, "C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", "#Software: Microsoft Internet Information Services 10.0\n");
            Write(zip, "../../etc/evil.aspx", "<%@ Page %>");
            Write(zip, "C:/abs/path.txt", "abs");
            zip.CreateEntry("emptydir/");
        }
        var before = Directory.GetFileSystemEntries(dir).Length;
        using var source = EvidenceSource.Open(zipPath);
        Assert.Equal("zip", source.Kind);
        var cov = new CoverageReport();
        var files = source.EnumerateFiles(cov).ToList();
        Assert.Equal(
            ["collection.zip!/C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", "collection.zip!/etc/evil.aspx", "collection.zip!/abs/path.txt"],
            files.Select(f => f.RelativePath));
        using (var reader = new StreamReader(files[1].OpenRead())) Assert.Equal("<%@ Page %>", reader.ReadToEnd());
        Assert.Equal(2, cov.Issues.Count(i => i.Kind == IssueKind.UnsafeArchivePath));
        Assert.Equal(before, Directory.GetFileSystemEntries(dir).Length); // nothing extracted
    }

    [Fact]
    public void ZipBombMemberIsReadOnlyUpToTheLimitAndReported()
    {
        var dir = TestPaths.NewTempDir();
        var zipPath = Path.Combine(dir, "bomb.zip");
        using (var zip = ZipFile.Open(zipPath, ZipArchiveMode.Create))
        {
            var e = zip.CreateEntry("zeros.bin", CompressionLevel.SmallestSize);
            using (var s = e.Open())
            {
                var block = new byte[1 << 20];
                for (int i = 0; i < 80; i++) s.Write(block);
            }
            Write(zip, "fine.txt", "fine");
        }
        using var source = EvidenceSource.Open(zipPath, new EvidenceLimits { Archives = new ArchiveLimits { RatioCheckFromBytes = 16 << 20, MaxRatio = 100, RatioMemberBytes = 1 << 20 } });
        var cov = new CoverageReport();
        var files = source.EnumerateFiles(cov).ToList();
        Assert.Equal(["bomb.zip!/zeros.bin", "bomb.zip!/fine.txt"], files.Select(f => f.RelativePath));
        // The bomb is read only up to the limit for members over the ratio, and named in the coverage.
        Assert.Equal(1 << 20, files[0].Length);
        Assert.Contains(cov.Issues, i => i.Kind == IssueKind.ArchiveBomb && i.Path.EndsWith("zeros.bin"));
    }

    [Fact]
    public void ZipMembersCanBeReadConcurrently()
    {
        var dir = TestPaths.NewTempDir();
        var zipPath = Path.Combine(dir, "many.zip");
        using (var zip = ZipFile.Open(zipPath, ZipArchiveMode.Create))
            for (int i = 0; i < 40; i++) Write(zip, $"f{i}.txt", new string((char)('a' + i % 26), 10_000 + i));
        using var source = EvidenceSource.Open(zipPath);
        var files = source.EnumerateFiles(new CoverageReport()).ToList();
        var lengths = new int[files.Count];
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            using var r = new StreamReader(files[i].OpenRead());
            lengths[i] = r.ReadToEnd().Length;
        });
        Assert.Equal(Enumerable.Range(0, 40).Select(i => 10_000 + i), lengths);
    }

    [Fact]
    public void MissingPathIsAClearError()
    {
        var e = Assert.Throws<EvidenceException>(() => EvidenceSource.Open("/nonexistent/evidence/path"));
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void MultiRootKeepsDrivePathShape()
    {
        Assert.Equal("C/Program Files/Microsoft/Exchange Server/V15", MultiRootEvidenceSource.Prefix(@"C:\Program Files\Microsoft\Exchange Server\V15"));
        var a = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(a, "sub"));
        File.WriteAllText(Path.Combine(a, "sub", "f.txt"), "f");
        using var source = new MultiRootEvidenceSource([a, Path.Combine(a, "sub"), "/nonexistent-exir-root"]);
        var cov = new CoverageReport();
        var files = source.EnumerateFiles(cov).ToList();
        Assert.Single(files); // the nested root is not scanned twice
        Assert.EndsWith("/sub/f.txt", files[0].RelativePath);
        Assert.Contains(cov.Issues, i => i.Kind == IssueKind.Unreadable && i.Path == "/nonexistent-exir-root");
    }

    private static void Write(ZipArchive zip, string name, string content)
    {
        var e = zip.CreateEntry(name);
        using var s = e.Open();
        s.Write(Encoding.UTF8.GetBytes(content));
    }
}
