using Exir.Case;
using Exir.Core.Findings;
using static Exir.Case.Tests.Scans;

namespace Exir.Case.Tests;

/// <summary>A big scan streams into the case: 400,000 findings, most of them read lazily like a scan's overflow spool.</summary>
/// <remarks>Tier slow: writes a few hundred MB; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class CasePerformanceTests
{
    [Fact]
    public void FourHundredThousandFindingsGoIntoSqliteInWellUnderAMinute()
    {
        using var tc = TestCase.Create(TestCase.Sqlite);
        const int total = 400_000;
        long generated = 0;
        // Generated on demand: the store must not hold them all (a materialised copy would show in the timing, and in memory).
        IEnumerable<Finding> Overflow()
        {
            for (int i = 500; i < total; i++)
            {
                generated++;
                yield return F("EXCH01", "LOG-IIS-" + i % 40, "inetpub/logs/LogFiles/W3SVC1/u_ex2103" + (i % 30).ToString("00") + ".log", i,
                    T0.AddSeconds(i), "203.0.113." + i % 250, evidence: "POST /owa/auth/x.js?" + new string('A', 300));
            }
        }
        var kept = Enumerable.Range(0, 500).Select(i => F("EXCH01", "LOG-IIS-" + i % 40, "inetpub/logs/LogFiles/W3SVC1/u_ex210301.log", i, T0.AddSeconds(i), "203.0.113.9")).ToList();
        var scan = Scan("scan-big", kept, "EXCH01") with
        {
            Overflow = new FindingOverflow(total - 500, new Dictionary<string, long>(), new Dictionary<Severity, long>(), 500, Overflow),
        };
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var store = tc.Open();
        var w = store.WriteScan(scan);
        watch.Stop();
        Assert.Equal(total, w.FindingsAdded);
        Assert.Equal(total - 500, generated);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(50), $"took {watch.Elapsed}");
        var read = System.Diagnostics.Stopwatch.StartNew();
        var snap = store.Read();
        Assert.Equal(total, snap.TotalFindings);
        Assert.Equal(40 * 200, snap.Findings.Count);
        Assert.True(read.Elapsed < TimeSpan.FromSeconds(30), $"read took {read.Elapsed}");
    }
}
