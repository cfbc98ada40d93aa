using System.Text.Json;
using Exir.Knowledge.Assessment;
using Exir.Knowledge.Builds;

namespace Exir.Knowledge.Tests;

public class AssessmentTests
{
    private static readonly ExchangeKnowledge Kb = KnowledgeFileTests.Kb;
    private static readonly DateOnly March2021 = new(2021, 3, 3);
    private static readonly DateOnly Today = KnowledgeFileTests.Today;

    private static CveState State(BuildAssessment a, string cve) => a.Cves.Single(c => c.Id == cve).State;

    [Fact]
    public void OneBelowTheFixingBuildIsOpenAndEqualIsFixed()
    {
        var below = Kb.Assess("15.1.2176.4", asOf: March2021);
        var equal = Kb.Assess("15.1.2176.9", asOf: March2021);
        Assert.Equal(CveState.Open, State(below, "CVE-2021-26855"));
        Assert.Equal(CveState.Fixed, State(equal, "CVE-2021-26855"));
        // Mar21SU fixed ProxyLogon, not ProxyShell (fixed by Apr21SU on this line).
        Assert.Equal(CveState.Open, State(equal, "CVE-2021-34473"));
        Assert.Equal("KB5001779", equal.Cves.Single(c => c.Id == "CVE-2021-34473").FixedIn!.Kb);
    }

    [Fact]
    public void ALaterCuIsFixed()
    {
        var cu20 = Kb.Assess("15.1.2242.4", asOf: March2021);
        Assert.Equal(CveState.Fixed, State(cu20, "CVE-2021-26855"));
        Assert.Equal("CU20", cu20.Cu);
        Assert.Null(cu20.Su);
        var cu23 = Kb.Assess("15.1.2507.6", asOf: March2021);
        Assert.All(new[] { "CVE-2021-26855", "CVE-2021-34473", "CVE-2021-31207", "CVE-2021-42321" }, c => Assert.Equal(CveState.Fixed, State(cu23, c)));
        Assert.Equal(CveState.Open, State(cu23, "CVE-2022-41040"));
    }

    [Fact]
    public void UnknownRevisionBetweenKnownBuildsIsJudgedByNumberAndSaidSo()
    {
        var a = Kb.Assess("15.1.2176.7", asOf: March2021);
        Assert.False(a.Known);
        Assert.Equal("CU19", a.Cu);
        Assert.Contains(a.Notes, n => n.Contains("not a released build") && n.Contains("15.1.2176.4") && n.Contains("15.1.2176.9"));
        Assert.Equal(CveState.Open, State(a, "CVE-2021-26855"));
        Assert.Equal(RecommendedAction.Patch, a.Action);
    }

    [Fact]
    public void UnknownCuLineIsNotGuessed()
    {
        var a = Kb.Assess("15.1.2200.1", asOf: March2021);
        Assert.Null(a.Error);
        Assert.Equal("unknown (between CU19 and CU20)", a.Cu);
        Assert.Equal(CveState.Unknown, State(a, "CVE-2021-26855"));
        Assert.Equal(CveState.Fixed, State(Kb.Assess("15.1.2600.1", asOf: March2021), "CVE-2021-26855"));
        Assert.Equal(RecommendedAction.Patch, a.Action);
        Assert.Contains(a.Notes, n => n.StartsWith("not judged for this build: CVE-2021-26855"));
        Assert.Contains(a.Notes, n => n.Contains("CU line not in knowledge base"));
    }

    [Fact]
    public void CuLevelInputSaysSoAndAssumesNoSu()
    {
        var a = Kb.Assess("15.1.2176", asOf: March2021);
        Assert.Equal(Precision.Cu, a.Precision);
        Assert.Null(a.Su);
        Assert.Contains(a.Notes, n => n.StartsWith("CU level only"));
        Assert.Equal(CveState.Open, State(a, "CVE-2021-26855"));
        Assert.Contains("open unless", a.Cves.Single(c => c.Id == "CVE-2021-26855").Note);
    }

    [Fact]
    public void SupportedServerWithOpenCvesInItsLineIsToldToInstallTheLinesNewestSu()
    {
        // 2019 CU12 Aug22SU on 2023-01-01: ProxyNotShell/OWASSRF open, Nov22SU and later exist for CU12.
        var a = Kb.Assess("15.2.1118.12", asOf: new DateOnly(2023, 1, 1));
        Assert.True(a.Supported);
        Assert.Equal(RecommendedAction.Patch, a.Action);
        Assert.Equal(new[] { "CVE-2022-41040", "CVE-2022-41082", "CVE-2022-41080", "CVE-2023-21529" }.Order(), a.OpenCves.Order());
        Assert.Equal("15.2.1118.40", a.FixedBy!.Build);
        Assert.StartsWith("Install Exchange Server 2019 CU12 Nov23SU", a.ActionText);
        Assert.Contains("last resort", a.ActionText);
    }

    [Fact]
    public void OpenCveWithoutFixOnThisCuMeansMovingToTheNewestCu()
    {
        var a = Kb.Assess("15.1.2106.2", asOf: March2021);   // 2016 CU18 base
        Assert.True(a.Supported);
        Assert.Equal(RecommendedAction.Patch, a.Action);
        Assert.StartsWith("Update to CU23", a.ActionText);
        Assert.Equal("15.1.2507.72", a.FixedBy!.Build);
    }

    [Fact]
    public void OutOfSupportWithoutFixForTheVersionMeansShutDownAndMigrate()
    {
        var a = Kb.Assess("15.0.1367.3", asOf: Today);       // 2013 CU20
        Assert.False(a.Supported);
        Assert.Equal(RecommendedAction.ShutdownMigrate, a.Action);
        Assert.Contains("CVE-2021-26855", a.OpenCves);
        Assert.Contains("Exchange Server SE", a.ActionText);
        Assert.Contains("out of support since 2023-04-11", a.ActionText);
    }

    [Fact]
    public void OutOfSupportWithAFixInItsLineIsStillShutDownAndMigrateWithTheSuAsStopGap()
    {
        // 2013 CU23 without SUs in 2026: the CU23 SUs close today's list, but 2013 left support in 2023.
        var a = Kb.Assess("15.0.1497.2", asOf: Today);
        Assert.False(a.Supported);
        Assert.NotEmpty(a.OpenCves);
        Assert.Equal(RecommendedAction.ShutdownMigrate, a.Action);
        Assert.StartsWith("Exchange Server 2013 is out of support since 2023-04-11", a.ActionText);
        Assert.Contains("no fixes for anything found after its end of support", a.ActionText);
        var stopGap = a.ActionText.IndexOf("Stop-gap only while migrating: install Exchange Server 2013 CU23 ", StringComparison.Ordinal);
        Assert.True(stopGap > a.ActionText.IndexOf("migrate to", StringComparison.Ordinal), a.ActionText);
        Assert.StartsWith("15.0.1497.", a.FixedBy!.Build);
    }

    [Fact]
    public void FullyPatchedButOutOfSupportStillNeedsMigration()
    {
        var a = Kb.Assess("15.0.1497.48", asOf: Today);      // 2013 CU23 Mar23SU
        Assert.Empty(a.OpenCves);
        Assert.Equal(RecommendedAction.ShutdownMigrate, a.Action);
        Assert.Null(a.FixedBy);
    }

    [Fact]
    public void PaidEsuCoversOnlyTheLastCusUntilItEnds()
    {
        var cu23 = "15.1.2507.72";                             // 2016 CU23 Aug26SU
        Assert.True(Kb.Assess(cu23, asOf: new DateOnly(2026, 9, 1)).Supported);
        Assert.False(Kb.Assess(cu23, asOf: Today).Supported);
        Assert.False(Kb.Assess("15.1.2375.37", asOf: new DateOnly(2026, 9, 1)).Supported);  // CU22: no ESU
        var se = Kb.Assess("15.2.2562.46", asOf: Today);       // SE Aug26SU: newest known
        Assert.True(se.Supported);
        Assert.Equal(RecommendedAction.None, se.Action);
        Assert.Empty(se.OpenCves);
    }

    [Fact]
    public void SupportedButBehindOnUpdatesIsPatch()
    {
        var a = Kb.Assess("15.2.2562.17", asOf: Today);        // SE RTM
        Assert.Equal(RecommendedAction.Patch, a.Action);
        Assert.Equal("15.2.2562.46", a.FixedBy!.Build);
    }

    [Fact]
    public void Exchange2010IsOnlyJudgedForWhatAffectsIt()
    {
        var a = Kb.Assess("14.3.509.0", asOf: Today);          // 2010 SP3 RU31
        Assert.Equal(new[] { "CVE-2021-26857" }, a.OpenCves);
        Assert.DoesNotContain(a.Cves, c => c.Id == "CVE-2021-34473");
        Assert.Equal(RecommendedAction.ShutdownMigrate, a.Action);
    }

    [Fact]
    public void NotAnExchangeBuildIsAnErrorNotAVerdict()
    {
        Assert.NotNull(Kb.Assess("8.3.83.6").Error);
        Assert.NotNull(Kb.Assess("hello").Error);
        Assert.Equal(2, BuildAssessment.ExitCodeFor([Kb.Assess("hello")]));
    }

    [Fact]
    public void ExitCodesFollowTheContract()
    {
        var patched = Kb.Assess("15.2.2562.46", asOf: Today);
        var open = Kb.Assess("15.1.2176.2", asOf: Today);
        Assert.Equal(0, BuildAssessment.ExitCodeFor([patched]));
        Assert.Equal(1, BuildAssessment.ExitCodeFor([patched, open]));
        Assert.Equal(1, BuildAssessment.ExitCodeFor([Kb.Assess("bad"), open]));
        Assert.Equal(2, BuildAssessment.ExitCodeFor([]));
    }

    [Fact]
    public void JsonKeepsTheStableFieldNames()
    {
        var json = AssessmentWriter.Json([Kb.Assess("15.01.2176.002", asOf: March2021), Kb.Assess("15.2.2562.46", asOf: Today)]);
        using var doc = JsonDocument.Parse(json);
        var first = doc.RootElement[0];
        Assert.Equal("15.01.2176.002", first.GetProperty("build").GetString());
        Assert.Equal("Exchange Server 2016", first.GetProperty("product").GetString());
        Assert.Equal("CU19", first.GetProperty("cu").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("su").ValueKind);
        Assert.Equal("su", first.GetProperty("precision").GetString());
        Assert.Equal("argument", first.GetProperty("source").GetString());
        Assert.True(first.GetProperty("supported").GetBoolean());
        Assert.Contains("CVE-2021-26855", first.GetProperty("open_cves").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("KB5121576", first.GetProperty("fixed_by").GetProperty("kb").GetString());
        Assert.Equal("patch", first.GetProperty("action").GetString());
        Assert.False(string.IsNullOrEmpty(first.GetProperty("action_text").GetString()));
        var second = doc.RootElement[1];
        Assert.Equal("none", second.GetProperty("action").GetString());
        Assert.Equal(0, second.GetProperty("open_cves").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("fixed_by").ValueKind);
    }

    [Fact]
    public void UnassessableInputHasNoActionInJson()
    {
        using var doc = JsonDocument.Parse(AssessmentWriter.Json([Kb.Assess("8.3.83.6")]));
        var o = doc.RootElement[0];
        Assert.Equal(JsonValueKind.Null, o.GetProperty("action").ValueKind);
        Assert.Equal(JsonValueKind.Null, o.GetProperty("precision").ValueKind);
        Assert.Contains("not a build of any Exchange version", o.GetProperty("error").GetString());
    }

    [Fact]
    public void CsvQuotesAndDefusesFormulas()
    {
        var csv = AssessmentWriter.Csv([Kb.Assess("=cmd|' /C calc'!A0")]);
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("target,build,product,cu,su,precision,source,supported,open_cves,fixed_by", lines[0]);
        Assert.StartsWith("'=cmd", lines[1]);
    }

    [Fact]
    public void TextNamesEveryCveAndTheAction()
    {
        var text = AssessmentWriter.Text([Kb.Assess("Version 15.1 (Build 2176.2)", asOf: March2021)]);
        foreach (var cve in Kb.CveIds.Where(c => c != "CVE-2021-26857" || true)) Assert.Contains(cve, text);
        Assert.Contains("ACTION     patch:", text);
        Assert.Contains("OPEN    CVE-2021-26855 ProxyLogon, critical 9.1", text);
    }
}
