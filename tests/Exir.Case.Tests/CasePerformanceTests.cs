using Exir.Case;
using Exir.Core.Findings;
using static Exir.Case.Tests.Scans;

namespace Exir.Case.Tests;

/// <summary>A big scan streams into the case: 100,000 findings (EXIR_CASE_FINDINGS for more), most of them read lazily like a scan's overflow spool.</summary>
/// <remarks>
/// Tier slow: writes a hundred MB; left out of scripts/test.sh --fast. No timing is asserted (speed claims live in
/// benchmarks): the test proves the write streams, lands every finding once and reads back bounded; the time is printed.
/// </remarks>
[Trait("Tier", "slow")]
public class CasePerformanceTests
{
    [Fact]
    public void AHundredThousandFindingsStreamIntoSqliteAndReadBackBounded()
    {
        using var tc = TestCase.Create(TestCase.Sqlite);
        int total = int.TryParse(Environment.GetEnvironmentVariable("EXIR_CASE_FINDINGS"), out var n) && n > 1000 ? n : 100_000;
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
        var read = System.Diagnostics.Stopwatch.StartNew();
        var snap = store.Read();
        Assert.Equal(total, snap.TotalFindings);
        Assert.Equal(40 * 200, snap.Findings.Count);
        TestContext.Current.SendDiagnosticMessage($"{total:N0} findings written in {watch.Elapsed.TotalSeconds:F1} s, read back in {read.Elapsed.TotalSeconds:F1} s");
    }
}
