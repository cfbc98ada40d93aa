using Exir.Case;
using Exir.Core.Findings;

namespace Exir.Case.Tests;

public class CaseModelTests
{
    [Fact]
    public void LatestPerHostIsTheNewestScanOfEachHost()
    {
        CaseHostScan Hs(string scan, string host, int day, VerdictKind v) => new()
        {
            ScanId = scan, HostId = HostIds.For(host), HostName = host, EvidencePath = "/e/" + host, Verdict = v,
            Coverage = new CaseCoverage(), FinishedUtc = new DateTimeOffset(2026, 12, day, 0, 0, 0, TimeSpan.Zero),
        };
        var snap = new CaseSnapshot
        {
            StoreDescription = "test", Settings = new CaseSettings(),
            HostScans = [Hs("s1", "EXCH01", 1, VerdictKind.Compromised), Hs("s2", "EXCH01", 2, VerdictKind.Attempted), Hs("s1", "EXCH02", 1, VerdictKind.NoEvidenceFound)],
        };
        var latest = snap.LatestPerHost;
        Assert.Equal(2, latest.Count);
        Assert.Equal("s2", latest.Single(h => h.HostName == "EXCH01").ScanId);
    }
}
