using Exir.Knowledge.Assessment;
using Exir.Knowledge.Builds;
using Exir.Tests;

namespace Exir.Knowledge.Tests;

/// <summary>Checks the project's knowledge files against the reference facts in ../shared/knowledge, when present.</summary>
public class ReferenceTableTests
{
    private static readonly ExchangeKnowledge Kb = KnowledgeFileTests.Kb;
    private static string RefDir => Path.Combine(Repo.Shared, "knowledge");

    // Reference rows deliberately not carried, with the reason.
    private static readonly Dictionary<string, string> Excluded = new()
    {
        ["14.3.328.5"] = "the MS table's 'SP2 RU5' row carries 14.3 for 14.2 (typo); 14.2.328.5 is present",
    };

    private static List<Dictionary<string, string>> ReadReference(string file)
    {
        if (!Directory.Exists(RefDir)) Assert.Skip("reference tables (../shared/knowledge) not present");
        var lines = File.ReadAllLines(Path.Combine(RefDir, file));
        var header = lines[0].Split('\t');
        return lines.Skip(1).Where(l => l.Length > 0).Select(l =>
        {
            var f = l.Split('\t');
            return header.Select((h, i) => (h, v: i < f.Length ? f[i].Trim('"') : "")).ToDictionary(x => x.h, x => x.v);
        }).ToList();
    }

    [Fact]
    public void EveryReferenceBuildIsInOurTableWithTheSameFacts()
    {
        var rows = ReadReference("exchange-builds.tsv");
        Assert.True(rows.Count > 300);
        foreach (var r in rows)
        {
            var b = ExchangeBuild.Parse(r["build_short"]);
            Assert.Equal(b, ExchangeBuild.Parse(r["build_long"]));
            if (Excluded.ContainsKey(r["build_short"])) { Assert.Null(Kb.Find(b)); continue; }
            var ours = Kb.Find(b);
            Assert.True(ours is not null, $"{b} ({r["name"]}) missing");
            Assert.Equal(r["product"].Replace("Exchange Server ", "").Replace("Subscription Edition", "SE"), ours.Product);
            Assert.Equal(r["kb"], ours.Kb ?? "");
            Assert.Equal(r["release_date"], ours.Released ?? "");
            Assert.Equal(r["name"], ours.Name);
        }
        Assert.Equal(rows.Count - Excluded.Count, Kb.Releases.Count);
    }

    [Fact]
    public void EveryReferenceFixThresholdGivesTheSameVerdict()
    {
        var rows = ReadReference("exchange-cve-fixes.tsv");
        int checkedRows = 0;
        foreach (var r in rows.Where(r => r["min_fixed_build"].Length > 0))
        {
            var min = ExchangeBuild.Parse(r["min_fixed_build"]);
            Assert.Equal(min, ExchangeBuild.Parse(r["min_fixed_build_long"]));
            foreach (var cve in r["cve"].Split(';'))
            {
                var rule = Kb.Rules.SingleOrDefault(x => x.Cve == cve && x.MinFixed == min);
                Assert.True(rule is not null, $"{cve} {r["product"]} {r["cu_line"]}: no rule with min {min}");
                Assert.Equal(r["fix_kb"], rule.FixKb ?? "");
                Assert.Equal(r["fix_name"], rule.FixName ?? "");
                // The verdict at the threshold and one revision below, through the whole pipeline.
                Assert.Equal(CveState.Fixed, Kb.Assess(min, "ref").Cves.Single(c => c.Id == cve).State);
                if (min.Revision > 0)
                    Assert.Equal(CveState.Open, Kb.Assess(min with { Revision = min.Revision - 1 }, "ref").Cves.Single(c => c.Id == cve).State);
                checkedRows++;
            }
        }
        Assert.True(checkedRows > 100, $"{checkedRows} thresholds checked");
    }

    [Fact]
    public void ReferenceNoFixLinesAreOpenWithoutAnUpdateOnTheLine()
    {
        foreach (var r in ReadReference("exchange-cve-fixes.tsv").Where(r => r["row_kind"] == "no-fix-for-this-CU"))
        {
            // "15.1.<2176": the CU line just below the bound is open and has no fix on its line.
            var parts = r["cu_build_prefix"].Split('<');
            var bound = ExchangeBuild.Parse(parts[0] + parts[1]);
            var below = Kb.Releases.Last(x => x.Build.Major == bound.Major && x.Build.Minor == bound.Minor && x.Build.Line < bound && x.Kind == "cu");
            foreach (var cve in r["cve"].Split(';'))
            {
                var a = Kb.Assess(below.Build, "ref");
                Assert.Contains(cve, a.OpenCves);
                Assert.Contains("no update", a.Cves.Single(c => c.Id == cve).Note);
            }
        }
    }

    [Fact]
    public void SupportEndDatesMatchTheReference()
    {
        foreach (var r in ReadReference("exchange-builds.tsv").GroupBy(r => r["product"]).Select(g => g.First()))
        {
            var product = Kb.ProductOf(ExchangeBuild.Parse(r["build_short"]))!;
            var end = r["product_end_of_support"];
            if (end.StartsWith("Modern", StringComparison.Ordinal)) Assert.Null(product.ExtendedEnd);
            else Assert.Equal(end[..10], product.ExtendedEnd?.ToString("yyyy-MM-dd"));
        }
    }
}
