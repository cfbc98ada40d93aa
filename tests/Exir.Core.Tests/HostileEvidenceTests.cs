using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Tests;

namespace Exir.Core.Tests;

/// <summary>
/// The evidence tree is written by the intruder: links out of it, special files, names that are not UTF-8,
/// trees deeper than any limit and roots that cannot be read must neither leak, hang nor hide anything.
/// Each test builds its hostile tree in code.
/// </summary>
public class HostileEvidenceTests
{
    private const string Shell = "<%@ Page Language=\"C#\" %><% System.Diagnostics.Process.Start(Request[\"c\"]); %>";

    private static (List<EvidenceFile> Files, CoverageReport Coverage) Walk(string root)
    {
        using var source = EvidenceSource.Open(root);
        var cov = new CoverageReport();
        return (source.EnumerateFiles(cov).ToList(), cov);
    }

    private static string ReadAll(EvidenceFile f)
    {
        using var s = f.OpenRead();
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    private static void Sh(string script, string? cwd = null)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardError = true, WorkingDirectory = cwd ?? Path.GetTempPath() };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"bash failed: {script}: {err}");
    }

    private static bool Unix => !OperatingSystem.IsWindows();

    [Fact]
    public void HostileFileLinksOutOfTheTreeAreNeverReadAndAreNamedInTheCoverage()
    {
        if (!Unix) return;
        var outside = TestPaths.NewTempDir("exir-outside");
        File.WriteAllText(Path.Combine(outside, "shadow"), Shell);
        Directory.CreateDirectory(Path.Combine(outside, "etc"));
        File.WriteAllText(Path.Combine(outside, "etc", "passwd"), Shell);

        var root = TestPaths.NewTempDir();
        var web = Path.Combine(root, "inetpub", "wwwroot", "aspnet_client");
        Directory.CreateDirectory(web);
        // Absolute, relative and chained escapes: the last goes through a folder link inside the tree.
        File.CreateSymbolicLink(Path.Combine(web, "secret.aspx"), Path.Combine(outside, "shadow"));
        File.CreateSymbolicLink(Path.Combine(web, "relative.aspx"), Path.GetRelativePath(web, Path.Combine(outside, "shadow")));
        Directory.CreateSymbolicLink(Path.Combine(root, "etclink"), Path.Combine(outside, "etc"));
        File.CreateSymbolicLink(Path.Combine(web, "chained.aspx"), "../../../etclink/passwd");
        File.CreateSymbolicLink(Path.Combine(web, "hop.aspx"), "secret.aspx");
        // A link that stays inside the evidence is followed (it is evidence too).
        File.WriteAllText(Path.Combine(root, "inetpub", "real.aspx"), Shell);
        File.CreateSymbolicLink(Path.Combine(web, "inside.aspx"), "../../real.aspx");

        var (files, cov) = Walk(root);
        var names = files.Select(f => f.RelativePath).ToList();
        Assert.Equal(["inetpub/real.aspx", "inetpub/wwwroot/aspnet_client/inside.aspx"], names);
        Assert.Equal(Shell, ReadAll(files[1]));
        foreach (var escaped in new[] { "secret.aspx", "relative.aspx", "chained.aspx", "hop.aspx" })
            Assert.Contains(cov.Issues, i => i.Kind == IssueKind.LinkNotFollowed && i.Path == "inetpub/wwwroot/aspnet_client/" + escaped && i.Message.Contains("outside the evidence"));
        Assert.Contains(cov.Issues, i => i.Kind == IssueKind.LinkNotFollowed && i.Path == "etclink");
        Assert.DoesNotContain(names, n => n.StartsWith("etclink", StringComparison.Ordinal));
    }

    [Fact]
    public void AFolderLinkToTheFileSystemRootIsNotWalked()
    {
        if (!Unix) return;
        var root = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(root, "a.txt"), "a");
        Directory.CreateSymbolicLink(Path.Combine(root, "slash"), "/");
        var (files, cov) = Walk(root);
        Assert.Equal(["a.txt"], files.Select(f => f.RelativePath));
        Assert.Contains(cov.Issues, i => i.Kind == IssueKind.LinkNotFollowed && i.Path == "slash");
    }

    [Fact]
    public void AFileSwappedForALinkAfterTheWalkIsNotReadThroughTheLink()
    {
        if (!Unix) return;
        var outside = TestPaths.NewTempDir("exir-outside");
        File.WriteAllText(Path.Combine(outside, "shadow"), "root:secret");
        var root = TestPaths.NewTempDir();
        var victim = Path.Combine(root, "x.aspx");
        File.WriteAllText(victim, Shell);
        var (files, _) = Walk(root);
        var file = Assert.Single(files);
        File.Delete(victim);
        File.CreateSymbolicLink(victim, Path.Combine(outside, "shadow"));
        Assert.ThrowsAny<IOException>(() => ReadAll(file));
    }

    /// <summary>The task's result, or a failure when it has not finished in time (the bug this guards against is a hang).</summary>
    private static async Task<T> Within<T>(Task<T> task, int seconds, string what)
    {
        Assert.True(await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(seconds))) == task, what);
        return await task;
    }

    [Fact]
    public async Task SpecialFilesInTheTreeAreNeverOpenedAndAreNamedByKind()
    {
        if (!Unix) return;
        var root = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(root, "ok.aspx"), Shell);
        Sh("mkfifo pipe.log && ln -s /dev/zero zero.aspx && python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('sock')\"", root);
        bool root0 = Environment.UserName == "root";
        if (root0) Sh("mknod chardev c 1 5", root); // a /dev/zero of its own inside the tree
        var task = Task.Run(() =>
        {
            var (files, cov) = Walk(root);
            foreach (var f in files) ReadAll(f);
            return (files, cov);
        });
        var (files, cov) = await Within(task, 30, "the walk hung on a special file");
        Assert.Equal(["ok.aspx"], files.Select(f => f.RelativePath));
        Assert.Contains(cov.Issues, i => i.Kind == IssueKind.SpecialOrEmptyFile && i.Path == "pipe.log" && i.Message.Contains("FIFO"));
        Assert.Contains(cov.Issues, i => i.Kind == IssueKind.SpecialOrEmptyFile && i.Path == "sock" && i.Message.Contains("socket"));
        Assert.Contains(cov.Issues, i => i.Path == "zero.aspx");
        if (root0) Assert.Contains(cov.Issues, i => i.Kind == IssueKind.SpecialOrEmptyFile && i.Path == "chardev" && i.Message.Contains("device"));
    }

    [Fact]
    public async Task AFifoOrDeviceGivenAsTheEvidencePathIsRefusedAtOnce()
    {
        if (!Unix) return;
        var dir = TestPaths.NewTempDir();
        var fifo = Path.Combine(dir, "evidence.zip");
        Sh("mkfifo evidence.zip", dir);
        foreach (var path in new[] { fifo, "/dev/zero", "/dev/null" })
        {
            var task = Task.Run(() => Assert.Throws<EvidenceException>(() => EvidenceSource.Open(path)));
            bool done = await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(30))) == task;
            if (!done) ReleaseFifo(fifo);
            Assert.True(done, $"opening {path} as evidence hung");
            Assert.Contains("not a regular file or folder", (await task).Message);
        }
    }

    /// <summary>Unblocks a reader stuck in open() on a FIFO, so a failing test does not leave a hung thread.</summary>
    private static void ReleaseFifo(string fifo)
    {
        try { using var w = new FileStream(fifo, FileMode.Open, FileAccess.Write); } catch (IOException) { }
    }

    [Fact]
    public void AShellSeventyOneFoldersDeepIsFound()
    {
        var root = TestPaths.NewTempDir();
        var dir = root;
        for (int i = 0; i < 71; i++) dir = Path.Combine(dir, "d" + i);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "deep.aspx"), Shell);
        var (files, cov) = Walk(root);
        var f = Assert.Single(files);
        Assert.EndsWith("/d70/deep.aspx", f.RelativePath);
        Assert.Equal(Shell, ReadAll(f));
        Assert.DoesNotContain(cov.Issues, i => i.Kind == IssueKind.TooLarge);
    }

    [Fact]
    public async Task AShellDeeperThanTheLongestOpenablePathIsFoundAndRead()
    {
        if (!Unix) return;
        var root = TestPaths.NewTempDir();
        // 150 levels of 40-character names: about 6,150 bytes, beyond PATH_MAX (4,096).
        var name = new string('n', 40);
        try
        {
            Sh($"cd '{root}' && for i in $(seq 1 150); do mkdir {name} && cd {name} || exit 1; done && printf '%s' '{Shell}' > deep.aspx");
            var (files, _) = await Within(Task.Run(() => Walk(root)), 60, "the deep walk did not finish");
            var f = Assert.Single(files);
            Assert.EndsWith("/deep.aspx", f.RelativePath);
            Assert.Equal(151, f.RelativePath.Split('/').Length);
            Assert.Equal(Shell, ReadAll(f));
        }
        finally { Sh($"rm -rf '{root}'"); }
    }

    [Fact]
    public void NamesThatAreNotUtf8AreWalkedAndRead()
    {
        if (!OperatingSystem.IsLinux()) return;
        var root = TestPaths.NewTempDir();
        Sh("mkdir -p $'web\\xfe' && printf '%s' 'A' > $'web\\xfe/sh\\xffell.aspx' && printf '%s' 'B' > $'sh\\xfeell.aspx' && printf '%s' 'C' > ok.aspx", root);
        var (files, cov) = Walk(root);
        Assert.Equal(3, files.Count);
        Assert.Empty(cov.Issues);
        Assert.Equal(["C", "B", "A"], files.Select(ReadAll));
        Assert.All(files.Skip(1), f => Assert.Contains('\uFFFD', f.RelativePath));
    }

    [Fact]
    public void EvidenceIsReadWithoutChangingItsAccessTime()
    {
        if (!OperatingSystem.IsLinux()) return;
        var root = TestPaths.NewTempDir();
        var path = Path.Combine(root, "u_ex210303.log");
        File.WriteAllText(path, "#Software: Microsoft Internet Information Services 10.0\n");
        // Access before modification: relatime (the usual mount option) updates it on the next read.
        var mtime = new DateTime(2021, 3, 3, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, mtime);
        File.SetLastAccessTimeUtc(path, mtime.AddDays(-10));
        var (files, _) = Walk(root);
        ReadAll(Assert.Single(files));
        Assert.Equal(mtime.AddDays(-10), File.GetLastAccessTimeUtc(path));
    }

    [Fact]
    public void ARootThatVanishesBeforeTheWalkIsAnErrorNotAnEmptyScan()
    {
        var root = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(root, "a.aspx"), Shell);
        using var source = EvidenceSource.Open(root);
        Directory.Delete(root, recursive: true);
        var e = Assert.Throws<EvidenceException>(() => source.EnumerateFiles(new CoverageReport()).ToList());
        Assert.Contains("cannot read the evidence folder", e.Message);
    }

    [Fact]
    public void AnUnreadableRootIsAnErrorNotAnEmptyScan()
    {
        if (OperatingSystem.IsWindows()) return;
        if (Environment.UserName == "root") Assert.Skip("running as root, which reads any folder; HostileWalkTests covers this through the CLI as another user");
        var root = TestPaths.NewTempDir();
        File.SetUnixFileMode(root, UnixFileMode.None);
        try
        {
            var e = Assert.ThrowsAny<EvidenceException>(() => { using var s = EvidenceSource.Open(root); s.EnumerateFiles(new CoverageReport()).ToList(); });
            Assert.Contains("cannot read", e.Message);
        }
        finally { File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); }
    }

    [Fact]
    public void FileTreeSkipsLinksOutOfTheFolderAndSpecialFiles()
    {
        if (!Unix) return;
        var outside = TestPaths.NewTempDir("exir-outside");
        File.WriteAllText(Path.Combine(outside, "shadow"), "secret");
        var root = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(root, "a.yar"), "rule a { condition: true }");
        File.CreateSymbolicLink(Path.Combine(root, "b.yar"), Path.Combine(outside, "shadow"));
        File.CreateSymbolicLink(Path.Combine(root, "c.yar"), "a.yar");
        Sh("mkfifo d.yar", root);
        var problems = new List<string>();
        var files = FileTree.Files(root, recursive: true, (p, why) => problems.Add(Path.GetFileName(p) + ": " + why)).Select(Path.GetFileName).ToList();
        Assert.Equal(["a.yar", "c.yar"], files);
        Assert.Contains(problems, p => p.StartsWith("b.yar") && p.Contains("outside"));
        Assert.Contains(problems, p => p.StartsWith("d.yar") && p.Contains("FIFO"));
    }
}

/// <summary>--out must never land inside the evidence, whatever links lead there.</summary>
public class HostileOutputFolderTests
{
    private static void Refused(string outDir, string evidence) =>
        Assert.Throws<EvidenceException>(() => OutputFolder.EnsureOutside(outDir, [evidence]));

    [Fact]
    public void AnOutputFolderReachedThroughALinkIntoTheEvidenceIsRefused()
    {
        if (OperatingSystem.IsWindows()) return;
        var t = TestPaths.NewTempDir();
        var ev = Directory.CreateDirectory(Path.Combine(t, "ev", "inetpub")).Parent!.FullName;
        Directory.CreateSymbolicLink(Path.Combine(t, "outlink"), Path.Combine(ev, "inetpub"));
        Refused(Path.Combine(t, "outlink", "res"), ev);
        // Not yet existing below a linked parent.
        Refused(Path.Combine(t, "outlink", "a", "b", "c"), ev);
        // The evidence given through a link, the output under its real path.
        Directory.CreateSymbolicLink(Path.Combine(t, "evlink"), ev);
        Refused(Path.Combine(ev, "res"), Path.Combine(t, "evlink"));
        Refused(Path.Combine(t, "evlink", "res"), ev);
    }

    [Fact]
    public void ChainedAndRelativeLinksIntoTheEvidenceAreRefused()
    {
        if (OperatingSystem.IsWindows()) return;
        var t = TestPaths.NewTempDir();
        var ev = Directory.CreateDirectory(Path.Combine(t, "real", "ev")).FullName;
        Directory.CreateDirectory(Path.Combine(t, "real", "other"));
        var links = Directory.CreateDirectory(Path.Combine(t, "links")).FullName;
        // a -> b/ev where b -> real: the link's target holds another link.
        Directory.CreateSymbolicLink(Path.Combine(links, "b"), Path.Combine(t, "real"));
        Directory.CreateSymbolicLink(Path.Combine(links, "a"), "b/ev");
        Refused(Path.Combine(links, "a", "res"), ev);
        // l -> x/../ev where x -> real/other: the kernel climbs from x's target, not from the link's folder.
        Directory.CreateSymbolicLink(Path.Combine(links, "x"), Path.Combine(t, "real", "other"));
        Directory.CreateSymbolicLink(Path.Combine(links, "l"), "x/../ev");
        Refused(Path.Combine(links, "l", "res"), ev);
        // A link loop is an error of its own, never an accepted path.
        Directory.CreateSymbolicLink(Path.Combine(links, "loop1"), "loop2");
        Directory.CreateSymbolicLink(Path.Combine(links, "loop2"), "loop1");
        Assert.Throws<EvidenceException>(() => OutputFolder.EnsureOutside(Path.Combine(links, "loop1", "res"), [ev]));
        // Outside stays allowed.
        OutputFolder.EnsureOutside(Path.Combine(t, "real", "other", "res"), [ev]);
    }

    [Fact]
    public void RealPathResolvesLikeTheKernel()
    {
        if (!OperatingSystem.IsLinux()) return;
        var t = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(t, "real", "other"));
        Directory.CreateDirectory(Path.Combine(t, "real", "ev"));
        Directory.CreateSymbolicLink(Path.Combine(t, "x"), Path.Combine(t, "real", "other"));
        Directory.CreateSymbolicLink(Path.Combine(t, "l"), "x/../ev");
        Assert.Equal(Path.Combine(t, "real", "ev"), OutputFolder.RealPath(Path.Combine(t, "l")));
        Assert.Equal(Path.Combine(t, "real", "ev", "new", "dir"), OutputFolder.RealPath(Path.Combine(t, "l", "new", "dir")));
    }
}
