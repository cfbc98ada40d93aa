using Exir.Knowledge.Assessment;
using Exir.Knowledge.Builds;
using Exir.Tests;

namespace Exir.Knowledge.Tests;

public class KnowledgeFileTests
{
    internal static readonly ExchangeKnowledge Kb = ExchangeKnowledge.Load(Repo.Knowledge);
    internal static readonly DateOnly Today = new(2026, 11, 28);

    [Fact]
    public void LoadsEveryRowWithoutProblems()
    {
        Assert.Empty(Kb.Problems);
        Assert.True(Kb.Releases.Count >= 370, $"{Kb.Releases.Count} builds");
        Assert.Equal(13, Kb.CveIds.Count);
        Assert.Equal(5, Kb.Lifecycle.Count);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}", Kb.Version);
    }

    [Fact]
    public void EmbeddedCopyMatchesTheRepositoryFiles()
    {
        // The embedded copy is the fallback when no folder is found: it must be the same data.
        var embedded = ExchangeKnowledge.LoadEmbedded();
        Assert.Equal(Kb.Releases.Count, embedded.Releases.Count);
        Assert.Equal(Kb.Rules.Count, embedded.Rules.Count);
        Assert.Equal(Kb.Version, embedded.Version);
        Assert.StartsWith("embedded", embedded.Origin);
    }

    [Fact]
    public void EveryBuildRowRoundTripsThroughParserAndAssessment()
    {
        foreach (var r in Kb.Releases)
        {
            Assert.Equal(r.Build, ExchangeBuild.Parse(r.Build.ToString()));
            Assert.Equal(r.Build, ExchangeBuild.Parse(r.Build.ToLongString()));
            Assert.Equal(r.Build, ExchangeBuild.Parse($"Version {r.Build.Major}.{r.Build.Minor} (Build {r.Build.Build}.{r.Build.Revision})"));
            var a = Kb.Assess(r.Build.ToLongString(), asOf: Today);
            Assert.Null(a.Error);
            Assert.True(a.Known, r.Build.ToString());
            Assert.Equal(Kb.Lifecycle.Single(p => p.Product == r.Product).Name, a.Product);
            Assert.Equal(r.Line, a.Cu);
            Assert.Equal(r.IsUpdate ? r.Update : null, a.Su);
            Assert.Equal(Precision.Su, a.Precision);
            Assert.False(string.IsNullOrEmpty(a.ActionText));
        }
    }

    [Fact]
    public void EveryFixRuleHoldsAtItsBoundary()
    {
        foreach (var rule in Kb.Rules.Where(r => r.Kind is FixKind.SecurityUpdate or FixKind.CumulativeUpdate && r.MinFixed is not null))
        {
            var min = rule.MinFixed!.Value;
            var at = Kb.Assess(min, "test", asOf: Today);
            Assert.Equal(CveState.Fixed, at.Cves.Single(c => c.Id == rule.Cve).State);
            if (min.Revision > 0 && rule.Match == LineMatch.Exact)
            {
                var below = Kb.Assess(min with { Revision = min.Revision - 1 }, "test", asOf: Today);
                var c = below.Cves.Single(c => c.Id == rule.Cve);
                Assert.True(c.State == CveState.Open, $"{rule.Cve} at {below.Build}: {c.State}");
                Assert.Contains(rule.Cve, below.OpenCves);
                Assert.Equal(min.ToString(), c.FixedIn!.Build);
            }
        }
    }

    [Fact]
    public void EveryReleasedBuildIsJudgedForEveryCveOfItsProduct()
    {
        // No released build of a product with rules may fall through the rules as "unknown",
        // except previews and pre-release "base" builds.
        foreach (var r in Kb.Releases.Where(r => r.Kind is not ("preview" or "base")))
        {
            var a = Kb.Assess(r.Build, "test", asOf: Today);
            var unknown = a.Cves.Where(c => c.State == CveState.Unknown).Select(c => c.Id).ToList();
            Assert.True(unknown.Count == 0 || r.Product == "2010", $"{r.Build} ({r.Name}): unknown {string.Join(",", unknown)}");
        }
    }

    [Fact]
    public void OverrideFolderWinsAndIsNamed()
    {
        var dir = TestPaths.NewTempDir();
        foreach (var f in Directory.GetFiles(Repo.Knowledge)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        File.WriteAllText(Path.Combine(dir, "VERSION"), "2099-01-01 local edit\n");
        File.AppendAllText(Path.Combine(dir, "exchange-builds.tsv"),
            "15.2.2562.99\tSE\tRTM\tDec99SU\tsu\tExchange Server SE RTM Dec99SU\t2099-12-08\tKB9999999\t\tlocal test row\n");
        var kb = ExchangeKnowledge.Load(dir);
        Assert.Equal("2099-01-01 local edit", kb.Version);
        Assert.Equal(Path.GetFullPath(dir), kb.Origin);
        var a = kb.Assess("15.2.2562.99", asOf: Today);
        Assert.True(a.Known);
        Assert.Equal("Dec99SU", a.Su);
        Assert.Equal("2099-01-01 local edit", a.KnowledgeVersion);
        // The new row is also the newest update of SE, so older SE builds are told to install it.
        Assert.Equal("15.2.2562.99", kb.Assess("15.2.2562.46", asOf: Today).FixedBy?.Build);
    }

    [Fact]
    public void BadRowsAreReportedAndSkipped()
    {
        var dir = TestPaths.NewTempDir();
        foreach (var f in Directory.GetFiles(Repo.Knowledge)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        File.AppendAllText(Path.Combine(dir, "exchange-builds.tsv"), "not-a-build\tSE\tRTM\t\tsu\tbroken\t\t\t\t\nonly\ttwo\n");
        File.AppendAllText(Path.Combine(dir, "cve-fixes.tsv"), "CVE-2099-0001\tx\t9.0\t2016\t15.1.2507\tCU23\t\t\t\t\tsu\t\t\tbroken: su without min_fixed\n");
        var kb = ExchangeKnowledge.Load(dir);
        Assert.Equal(3, kb.Problems.Count);
        Assert.Contains(kb.Problems, p => p.Contains("bad build 'not-a-build'"));
        Assert.Contains(kb.Problems, p => p.Contains("needs min_fixed"));
        Assert.Equal(Kb.Releases.Count, kb.Releases.Count);
    }

    [Fact]
    public void MissingOverrideFolderIsAnError()
    {
        Assert.Throws<DirectoryNotFoundException>(() => ExchangeKnowledge.Load(Path.Combine(TestPaths.NewTempDir(), "nope")));
    }
}
