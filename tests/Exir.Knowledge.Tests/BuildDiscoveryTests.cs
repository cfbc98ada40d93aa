using System.IO.Compression;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Knowledge.Assessment;
using Exir.Knowledge.Builds;
using Exir.Knowledge.Discovery;
using Exir.Tests;

namespace Exir.Knowledge.Tests;

public class BuildDiscoveryTests
{
    private static readonly ExchangeKnowledge Kb = KnowledgeFileTests.Kb;

    private static void Write(string root, string rel, byte[] content)
    {
        var path = Path.Combine(root, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
    }

    private static void Write(string root, string rel, string content) => Write(root, rel, System.Text.Encoding.UTF8.GetBytes(content));

    private const string HttpProxyHead = "#Software: Microsoft Exchange Server\r\n#Version: 15.01.2176.002\r\n#Log-type: HttpProxy Logs\r\n#Date: 2021-03-01T00:00:00.000Z\r\n#Fields: DateTime,RequestId\r\n";

    /// <summary>A server image after CU19 + May21SU: ExSetup moved to .14, OWA folders and old logs still say the CU.</summary>
    private static string PatchedServerImage()
    {
        var root = TestPaths.NewTempDir("exir-disc");
        var v15 = "Program Files/Microsoft/Exchange Server/V15";
        Write(root, $"{v15}/Bin/ExSetup.exe", PeImageBuilder.WithVersion(15, 1, 2176, 14, "15.01.2176.014"));
        Write(root, $"{v15}/ClientAccess/Owa/prem/15.1.2176.2/scripts/boot.js", "x");
        Write(root, $"{v15}/FrontEnd/HttpProxy/owa/auth/15.1.2176.2/themes/resources/logo.png", "x");
        Write(root, $"{v15}/Logging/HttpProxy/Owa/HttpProxy_2021030101-1.LOG", HttpProxyHead + "2021-03-01T00:00:01.000Z,abc\r\n");
        Write(root, "inetpub/logs/LogFiles/W3SVC1/u_ex210301.log", "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n");
        return root;
    }

    [Fact]
    public void PlaceholderLogVersionIsNoBuild()
    {
        var root = TestPaths.NewTempDir("exir-disc");
        Write(root, "Logging/ECP/Server/ECPServer2021030300-1.LOG", "#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: ECP Server Log\r\n");
        Write(root, "Logging/HttpProxy/Owa/HttpProxy_2021030101-1.LOG", HttpProxyHead);
        using var source = EvidenceSource.Open(root);
        var found = BuildDiscovery.FindInCollection(source, new CoverageReport());
        var only = Assert.Single(found);
        Assert.Equal("15.1.2176.2", only.Build.ToString());
    }

    [Fact]
    public void ExSetupIsTheBestSourceAndOtherVersionsAreListed()
    {
        var root = PatchedServerImage();
        var cov = new CoverageReport();
        using var src = EvidenceSource.Open(root);
        var found = BuildDiscovery.FindInCollection(src, cov);
        Assert.Equal(new ExchangeBuild(15, 1, 2176, 14), found[0].Build);
        Assert.Equal(BuildDiscovery.ExSetupSource, found[0].Source);
        Assert.Equal(Precision.Su, found[0].Precision);
        Assert.Contains(found, f => f.Source == BuildDiscovery.OwaFolderSource && f.Build == new ExchangeBuild(15, 1, 2176, 2) && f.Occurrences == 2);
        Assert.Contains(found, f => f.Source == BuildDiscovery.LogHeaderSource && f.BuildText == "15.01.2176.002");
        // The IIS log's "#Version: 1.0" is the W3C format version, never a build.
        Assert.Equal(3, found.Count);

        var a = Kb.AssessFound(found, root, new DateOnly(2021, 6, 1));
        Assert.Equal("May21SU", a.Su);
        Assert.Equal(Precision.Su, a.Precision);
        Assert.StartsWith("ExSetup.exe file version", a.Source);
        Assert.DoesNotContain("CVE-2021-26855", a.OpenCves);
        Assert.Contains(a.Notes, n => n.Contains("also found 15.1.2176.2 (OWA version folder"));
    }

    [Fact]
    public void ZipCollectionWithOtherCasingGivesTheSameAnswer()
    {
        var root = PatchedServerImage();
        var zip = Path.Combine(TestPaths.NewTempDir("exir-zip"), "collection.zip");
        using (var z = ZipFile.Open(zip, ZipArchiveMode.Create))
            foreach (var f in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
                z.CreateEntryFromFile(f, Path.GetRelativePath(root, f).Replace('\\', '/').ToUpperInvariant().Replace("EXSETUP.EXE", "exsetup.EXE"));
        using var src = EvidenceSource.Open(zip);
        var a = Kb.AssessCollection(src, new CoverageReport(), new DateOnly(2021, 6, 1));
        Assert.Equal("15.1.2176.14", a.Build.ToString());
        Assert.StartsWith("ExSetup.exe file version (collection.zip!/", a.Source);
    }

    [Fact]
    public void WithoutExSetupOwaFoldersGiveTheCuAndMixedVersionsAreReported()
    {
        var root = TestPaths.NewTempDir("exir-owa");
        Write(root, "V15/FrontEnd/HttpProxy/owa/auth/15.1.2176.2/themes/a.css", "x");
        Write(root, "V15/FrontEnd/HttpProxy/owa/auth/15.1.2242.4/themes/a.css", "x");
        using var src = EvidenceSource.Open(root);
        var a = Kb.AssessCollection(src, new CoverageReport(), new DateOnly(2021, 6, 1));
        Assert.Equal("15.1.2242", a.Build.ToString());
        Assert.Equal(Precision.Cu, a.Precision);
        Assert.Equal("CU20", a.Cu);
        Assert.Contains(a.Notes, n => n.StartsWith("CU level only"));
        Assert.Contains(a.Notes, n => n.StartsWith("mixed versions: 2 different CU lines"));
        // CU level: the SU-fixed ProxyShell CVEs of CU20 stay open until an SU is proven.
        Assert.Contains("CVE-2021-34473", a.OpenCves);
    }

    [Fact]
    public void Exchange2010OwaFolderIsFound()
    {
        var root = TestPaths.NewTempDir("exir-2010");
        Write(root, "V14/ClientAccess/Owa/14.3.513.0/themes/base/x.css", "x");
        using var src = EvidenceSource.Open(root);
        var found = BuildDiscovery.FindInCollection(src, new CoverageReport());
        Assert.Equal(new ExchangeBuild(14, 3, 513, 0), Assert.Single(found).Build);
    }

    [Fact]
    public void NothingFoundIsAnErrorAndBrokenExSetupIsCounted()
    {
        var root = TestPaths.NewTempDir("exir-none");
        Write(root, "V15/Bin/ExSetup.exe", "MZ this is not really a PE file at all, just text that starts like one");
        Write(root, "notes.txt", "15.1.2176.2 appears in text but text files are not a version source");
        var cov = new CoverageReport();
        using var src = EvidenceSource.Open(root);
        var a = Kb.AssessCollection(src, cov);
        Assert.NotNull(a.Error);
        Assert.Contains("no Exchange build found", a.Error);
        var issue = Assert.Single(cov.Issues);
        Assert.Equal(IssueKind.Malformed, issue.Kind);
        Assert.Equal("V15/Bin/ExSetup.exe", issue.Path);
    }
}
