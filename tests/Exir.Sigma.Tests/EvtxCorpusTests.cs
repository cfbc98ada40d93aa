using System.Diagnostics;
using Exir.Evtx;
using Exir.Sigma;

namespace Exir.Sigma.Tests;

/// <summary>The Exchange-relevant SigmaHQ rules over the shared EVTX corpus: the attacks in it are found.</summary>
public sealed class EvtxCorpusTests(ITestOutputHelper output)
{
    private static SigmaRuleSet Relevant()
    {
        var dir = TestPaths.InCorpus("sigma-rules");
        return SigmaRuleSet.Load([Path.Combine(dir, "rules"), Path.Combine(dir, "rules-emerging-threats"), Path.Combine(dir, "rules-threat-hunting")],
            new SigmaLoadOptions { ExcludedStatuses = new HashSet<string>() });
    }

    private Dictionary<string, List<SigmaHit>> RunOverCorpus(SigmaRuleSet set, out long events, out long bytes)
    {
        var engine = new SigmaEngine(set);
        var result = new Dictionary<string, List<SigmaHit>>();
        events = 0; bytes = 0;
        var root = TestPaths.InCorpus("evtx");
        foreach (var file in Directory.EnumerateFiles(root, "*.evtx", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var hits = new List<SigmaHit>();
            bytes += new FileInfo(file).Length;
            foreach (var r in EvtxReader.ReadRecords(file)) { events++; engine.Match(WinEvent.From(r), hits); }
            result[Path.GetRelativePath(root, file)] = hits;
        }
        return result;
    }

    [Fact]
    public void ExchangeRelevantRulesFindTheAttacksInTheCorpus()
    {
        var hits = RunOverCorpus(Relevant(), out var events, out _);
        foreach (var (file, h) in hits.Where(kv => kv.Value.Count > 0))
            output.WriteLine($"{file}: " + string.Join("; ", h.GroupBy(x => x.Rule.Title).Select(g => $"{g.Key} x{g.Count()}")));
        output.WriteLine($"{events} events");
        (string File, string Rule)[] expected =
        [
            ("evtx-to-mitre-attack/ID6-Failed to install an Exchange transport agent.evtx", "Failed MSExchange Transport Agent Installation"),
            ("evtx-to-mitre-attack/ID6-Failed to install an Exchange transport agent.evtx", "MSExchange Transport Agent Installation - Builtin"),
            ("evtx-attack-samples/LM_typical_IIS_webshell_sysmon_1_10_traces.evtx", "Suspicious Process By Web Server Process"),
            ("evtx-attack-samples/sysmon_10_1_memdump_comsvcs_minidump.evtx", "Process Memory Dump Via Comsvcs.DLL"),
            ("evtx-attack-samples/DE_1102_security_log_cleared.evtx", "Security Eventlog Cleared"),
            ("evtx-attack-samples/Network_Service_Guest_added_to_admins_4732.evtx", "User Added to Local Administrator Group"),
            ("evtx-attack-samples/Powershell_4104_MiniDumpWriteDump_Lsass.evtx", "PowerShell Get-Process LSASS in ScriptBlock"),
            ("deepbluecli/new-user-security.evtx", "Local User Creation"),
        ];
        foreach (var (file, rule) in expected)
            Assert.True(hits.TryGetValue(file, out var h) && h.Any(x => x.Rule.Title == rule), $"{rule} did not fire on {file}");
        // Attribution reaches every hit.
        Assert.All(hits.Values.SelectMany(h => h), h => Assert.False(string.IsNullOrEmpty(h.Rule.Author)));
    }

    [Fact]
    public void MostProcessCreationRulesSitBehindAnImageGate()
    {
        var engine = new SigmaEngine(SigmaTestKit.SigmaHqRules());
        var (rules, gated) = engine.GateStats("Microsoft-Windows-Sysmon/Operational", 1);
        output.WriteLine($"Sysmon 1: {rules} rules, {gated} behind an image-name gate");
        Assert.True(rules > 1000);
        Assert.True(gated > rules / 2, $"{gated} of {rules}");
    }

    [Fact]
    public void GateIndexChangesNoResult()
    {
        // The image-name gates only skip rules that cannot match: the same hits with and without them.
        var set = SigmaTestKit.SigmaHqRules();
        var gated = new SigmaEngine(set);
        var plain = new SigmaEngine(set, useGates: false);
        var root = TestPaths.InCorpus("evtx");
        var a = new List<string>();
        var b = new List<string>();
        var hits = new List<SigmaHit>();
        foreach (var file in Directory.EnumerateFiles(root, "*.evtx", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            foreach (var r in EvtxReader.ReadRecords(file))
            {
                var e = WinEvent.From(r);
                hits.Clear(); gated.Match(e, hits); a.AddRange(hits.Select(h => $"{file}#{r.RecordId}:{h.Rule.Id}"));
                hits.Clear(); plain.Match(e, hits); b.AddRange(hits.Select(h => $"{file}#{r.RecordId}:{h.Rule.Id}"));
            }
        Assert.NotEmpty(a);
        Assert.Equal(b.Order(StringComparer.Ordinal), a.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void AllSigmaHqWindowsRulesOverTheCorpus()
    {
        var set = SigmaTestKit.SigmaHqRules();
        var watch = Stopwatch.StartNew();
        var hits = RunOverCorpus(set, out var events, out var bytes);
        watch.Stop();
        int total = hits.Values.Sum(h => h.Count);
        // A figure, not an assertion: the read and the matching together, one thread.
        output.WriteLine($"{set.Rules.Count} rules, {events} events, {bytes / 1e6:F1} MB, {total} hits in {watch.Elapsed.TotalSeconds:F2} s " +
                         $"({events / watch.Elapsed.TotalSeconds:F0} events/s, {bytes / 1e6 / watch.Elapsed.TotalSeconds:F1} MB/s)");
        foreach (var g in hits.Values.SelectMany(h => h).GroupBy(h => h.Rule.Title).OrderByDescending(g => g.Count()).Take(15))
            output.WriteLine($"  {g.Count(),5} {g.Key}");
        Assert.True(total > 0);
        // The regression samples fire with the whole rule set too (no rule shadows another: each fires once per event at most).
        Assert.Contains(hits.Values.SelectMany(h => h), h => h.Rule.Id == "8fbf3271-1ef6-4e94-8210-03c2317947f6");
    }
}
