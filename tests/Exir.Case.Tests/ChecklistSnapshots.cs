using Exir.Case.Playbook;
using Exir.Core.Findings;

namespace Exir.Case.Tests;

/// <summary>Case snapshots built by hand for the checklist tests: no database, only the records the store would return.</summary>
internal static class ChecklistSnapshots
{
    public static readonly DateTimeOffset ScanTime = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static readonly Lazy<IncidentPlaybook> ShippedPlaybook = new(() => IncidentPlaybook.Load());

    /// <summary>knowledge/playbook.yaml of this checkout.</summary>
    public static IncidentPlaybook Shipped => ShippedPlaybook.Value;

    public static CaseHostScan HostScan(string host, VerdictKind verdict, PatchStatus? patch = null, CaseCoverage? coverage = null, DateTimeOffset? at = null) => new()
    {
        ScanId = "scan-" + host, HostId = HostIds.For(host), HostName = host, EvidencePath = "/evidence/" + host, Verdict = verdict,
        PatchStatus = patch, Coverage = coverage ?? new CaseCoverage(), FinishedUtc = at ?? ScanTime,
    };

    public static PatchStatus Patched(string build = "15.2.1748.39") => new() { Build = build, Supported = true, Action = "none" };

    public static PatchStatus Vulnerable(params string[] cves) => new() { Build = "15.1.2176.2", Supported = true, OpenCves = cves, Action = "patch" };

    public static CaseSnapshot Snapshot(CaseSettings? settings = null, params CaseHostScan[] hosts) => new()
    {
        StoreDescription = "hand-made test case",
        Settings = settings ?? new CaseSettings(),
        Hosts = hosts.Select(h => new CaseHost(h.HostId, h.HostName, h.FinishedUtc, h.FinishedUtc)).DistinctBy(h => h.HostId).ToList(),
        HostScans = hosts,
    };

    public static Checklist Build(CaseSnapshot snapshot, string lang = "en", DateTimeOffset? now = null) =>
        ChecklistBuilder.Build(Shipped, snapshot, lang, now ?? ScanTime.AddHours(1));

    public static ChecklistItem Item(this Checklist checklist, string id) => checklist.Items.Single(i => i.Id == id);

    public static CaseStepRecord Step(string id, string state, DateTimeOffset at, string by = "alice", string? note = null) => new(id, state, note, by, at);
}
