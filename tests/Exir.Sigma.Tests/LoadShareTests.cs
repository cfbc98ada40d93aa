using Exir.Sigma;

namespace Exir.Sigma.Tests;

/// <summary>SigmaHQ's rules load: the share, and every rule that does not load with its reason.</summary>
public sealed class LoadShareTests(ITestOutputHelper output)
{
    private static SigmaLoadOptions Everything => new() { ExcludedStatuses = new HashSet<string>() };

    [Fact]
    public void NinetyNinePercentOfSigmaHqWindowsAndWebRulesLoad()
    {
        var set = SigmaTestKit.SigmaHqRules();
        output.WriteLine(set.Report.ToString());
        foreach (var f in set.Report.Failed) output.WriteLine("not loaded: " + f);
        foreach (var g in set.Report.WithoutSource.GroupBy(s => s.Rule.Logsource.ToString()).OrderByDescending(g => g.Count()))
            output.WriteLine($"no event source: {g.Count()} rules with {g.Key}");
        foreach (var g in set.Report.SourceSkips.Where(s => s.Source.Length > 0).GroupBy(s => s.Source).OrderByDescending(g => g.Count()))
            output.WriteLine($"skipped for {g.Key}: {g.Count()} rules (a field the source lacks)");
        Assert.True(set.Report.Documents >= 2400, $"only {set.Report.Documents} rule documents found");
        Assert.True(set.Report.LoadedShare >= 0.99, set.Report.ToString());
    }

    [Fact]
    public void EveryRelevantRuleOfTheExchangeSubsetLoads()
    {
        var dir = TestPaths.InCorpus("sigma-rules");
        var set = SigmaRuleSet.Load([Path.Combine(dir, "rules"), Path.Combine(dir, "rules-emerging-threats"), Path.Combine(dir, "rules-threat-hunting")], Everything);
        Assert.True(set.Report.Failed.Count == 0, string.Join("\n", set.Report.Failed));
        Assert.Equal(105, set.Rules.Count);
        // Every one of them reads at least one event source of the mapping.
        var without = set.Report.WithoutSource.Select(s => $"{s.Rule.File}: {s.Reason}").ToList();
        Assert.True(without.Count == 0, string.Join("\n", without));
    }
}
