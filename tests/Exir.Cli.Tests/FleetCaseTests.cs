using System.Diagnostics;
using System.Text.Json;
using Exir.Case;
using Exir.Case.Store;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>
/// A fleet of generated Exchange servers, each scanned by its own exir process at the same time into one case, as a
/// team does when every server scans its own evidence into the shared PostgreSQL case: every finding lands exactly
/// once, the campaign across three servers is one incident, a re-import of every output folder adds nothing, and the
/// report shows the whole fleet.
/// </summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class FleetCaseTests
{
    /// <summary>Servers in the fleet; EXIR_FLEET_SIZE for a bigger run (bench/fleet).</summary>
    private static int FleetSize => int.TryParse(Environment.GetEnvironmentVariable("EXIR_FLEET_SIZE"), out var n) && n >= 3 ? n : 50;

    [Fact]
    public void FiftyServersScannedConcurrentlyIntoOnePostgreSqlCase()
    {
        var url = Environment.GetEnvironmentVariable("EXIR_TEST_PG");
        if (string.IsNullOrEmpty(url)) Assert.Skip("needs EXIR_TEST_PG (a postgresql:// URL; scripts/test.sh starts a private server)");
        var admin = PostgresTarget.Parse(url);
        var db = "exir_fleet_" + Guid.NewGuid().ToString("N")[..12];
        CaseCommandTests.Exec(admin.ConnectionString, $"CREATE DATABASE {db}");
        try
        {
            var target = new UriBuilder(url.Replace("postgres://", "postgresql://", StringComparison.OrdinalIgnoreCase)) { Path = "/" + db }.Uri.ToString();
            RunFleet(target, FleetSize, "postgresql");
        }
        finally { CaseCommandTests.Exec(admin.ConnectionString, $"DROP DATABASE IF EXISTS {db} WITH (FORCE)"); }
    }

    [Fact]
    public void TwentyServersScannedConcurrentlyIntoOneSqliteCase() =>
        RunFleet(Path.Combine(TestPaths.NewTempDir("exir-fleet-sqlite"), "exir-case.db"), 20, "sqlite");

    private static void RunFleet(string target, int size, string backend)
    {
        var root = TestPaths.NewTempDir("exir-fleet");
        var dirs = FleetCollections.Write(Path.Combine(root, "fleet"), size);
        var outs = dirs.Select((_, i) => Path.Combine(root, "out", FleetCollections.HostName(i))).ToList();

        // Every server at once, each its own process, as on the servers themselves.
        var clock = Stopwatch.StartNew();
        var runs = dirs.Select((d, i) => Task.Run(() => ExirProcess.Run("scan", "--no-progress", "--threads", "1", "--case", target, "--out", outs[i], d))).ToArray();
        Task.WaitAll(runs);
        var scanTime = clock.Elapsed;
        for (int i = 0; i < size; i++)
        {
            var r = runs[i].Result;
            Assert.True(r.ExitCode is 0 or 1, $"{FleetCollections.HostName(i)}: exit {r.ExitCode}: {r.Stderr}");
            Assert.Contains("finding(s) added", r.Stderr);
        }

        // What the servers wrote on their own disks is what the case holds: every finding once.
        var ids = new HashSet<string>(StringComparer.Ordinal);
        long lines = 0;
        foreach (var o in outs)
            foreach (var line in File.ReadLines(Path.Combine(o, "findings.jsonl")))
            {
                lines++;
                using var doc = JsonDocument.Parse(line);
                ids.Add(doc.RootElement.GetProperty("finding_id").GetString()!);
            }
        Assert.Equal(lines, ids.Count);
        CaseSnapshot snap;
        using (var store = CaseStores.Open(target))
            snap = store.Read(new CaseReadOptions { MaxFindingsPerRule = 100_000, MaxTimelineRows = 0 });
        Assert.Equal(size, snap.Hosts.Count);
        Assert.Equal(size, snap.Scans.Count);
        Assert.Equal(ids.Count, snap.TotalFindings);
        Assert.Equal(ids.Order(StringComparer.Ordinal), snap.Findings.Select(f => f.Id!).Order(StringComparer.Ordinal));
        Assert.Equal(FleetCollections.CampaignHosts, snap.LatestPerHost.Count(h => h.Verdict == Exir.Core.Findings.VerdictKind.Compromised));

        // The same intruder on three servers is one campaign.
        var campaign = Assert.Single(snap.Campaigns, c => c.ClientIps.Contains(FleetCollections.CampaignIp) && c.Outcome == Exir.Core.Findings.Outcome.Success);
        Assert.Equal(Enumerable.Range(0, FleetCollections.CampaignHosts).Select(FleetCollections.HostName).Order(StringComparer.OrdinalIgnoreCase),
            campaign.Hosts.Order(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);

        // Shipping the output folders too (exir case import) adds nothing.
        clock.Restart();
        var import = ExirProcess.Run(["case", "import", .. outs, "--case", target]);
        var importTime = clock.Elapsed;
        Assert.Equal(0, import.ExitCode);
        Assert.Equal(size, import.Stdout.Split('\n').Count(l => l.Contains(" 0 finding(s) added")));
        using (var store = CaseStores.Open(target))
            Assert.Equal(ids.Count, store.Read(new CaseReadOptions { MaxFindingsPerRule = 0, MaxTimelineRows = 0 }).TotalFindings);

        // The report shows the fleet.
        var page = Path.Combine(root, "report.html");
        clock.Restart();
        var report = ExirProcess.Run("report", "--case", target, "--out", page);
        var reportTime = clock.Elapsed;
        Assert.Equal(1, report.ExitCode);
        var html = File.ReadAllText(page);
        for (int i = 0; i < size; i++) Assert.Contains(FleetCollections.HostName(i), html);

        var line2 = $"fleet ({backend}): {size} servers scanned concurrently in {scanTime.TotalSeconds:F1} s; {snap.TotalFindings} findings " +
                    $"({lines} finding lines on the servers), {snap.Scans.Count} scans, {snap.Hosts.Count} hosts, {snap.Campaigns.Count} incidents; " +
                    $"re-import of {size} folders {importTime.TotalSeconds:F1} s (0 added); report {reportTime.TotalSeconds:F1} s, {new FileInfo(page).Length / 1024} KiB";
        TestContext.Current.SendDiagnosticMessage(line2);
        if (Environment.GetEnvironmentVariable("EXIR_FLEET_REPORT") is { Length: > 0 } file) File.AppendAllText(file, line2 + "\n");
    }
}
