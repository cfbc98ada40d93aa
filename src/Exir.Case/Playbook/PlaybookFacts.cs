using Exir.Core.Findings;

namespace Exir.Case.Playbook;

/// <summary>What a fact is: a count (tested with min/max) or a case setting (true, false, unset).</summary>
public enum FactKind { Count, Setting }

/// <summary>One word of the condition vocabulary, with the placeholders a reason using it may fill.</summary>
public sealed record FactDefinition(string Name, FactKind Kind, IReadOnlyList<string> Placeholders, string Meaning);

/// <summary>The value of a count fact: how many, and the hosts, accounts and CVEs it is about (for the reasons' placeholders).</summary>
public sealed record FactValue(long Count, IReadOnlyList<string> Hosts, IReadOnlyList<string> Accounts, IReadOnlyList<string> Cves)
{
    public static readonly FactValue None = new(0, [], [], []);
}

/// <summary>
/// The facts the playbook's conditions test, computed from a <see cref="CaseSnapshot"/>: each host's latest
/// verdict, patch status (scans and inventory/check), quarantine, administrator access and coverage, and the
/// case's settings. The vocabulary is fixed here and documented in docs/playbook.md; the playbook decides what
/// the facts mean for each step.
/// </summary>
public sealed class PlaybookFacts
{
    private const string H = "hosts", A = "accounts", C = "cves", N = "count";

    public static readonly IReadOnlyList<FactDefinition> Vocabulary =
    [
        new("hosts", FactKind.Count, [N, H], "servers in the case"),
        new("hosts_compromised", FactKind.Count, [N, H], "servers whose latest verdict is compromised"),
        new("hosts_attempted", FactKind.Count, [N, H], "servers whose latest verdict is attempted"),
        new("hosts_no_evidence", FactKind.Count, [N, H], "servers whose latest verdict is no evidence found"),
        new("hosts_attempted_unpatched", FactKind.Count, [N, H, C], "attempted servers that have open CVEs or run an unsupported version"),
        new("open_cves", FactKind.Count, [N, H, C], "servers (or assessed targets) with at least one open exploited CVE"),
        new("unsupported_builds", FactKind.Count, [N, H], "servers (or assessed targets) on a version without security updates"),
        new("patch_unknown", FactKind.Count, [N, H], "scanned servers whose build is not known from any scan or assessment"),
        new("quarantine_items", FactKind.Count, [N, H], "files held in quarantine (stored or removed from the server)"),
        new("admin_in_shell_tree", FactKind.Count, [N, A, H], "administrator accounts seen in a web shell's process tree"),
        new("domain_admin_in_shell_tree", FactKind.Count, [N, A, H], "domain administrators seen in a web shell's process tree"),
        new("admin_from_attacker_ip", FactKind.Count, [N, A, H], "administrator accounts with a logon from an attacker address"),
        new("domain_admin_from_attacker_ip", FactKind.Count, [N, A, H], "domain administrators with a logon from an attacker address"),
        new("domain_admin_compromised", FactKind.Count, [N, A, H], "domain administrators in a shell's process tree or logged on from an attacker address"),
        new("admin_accounts_created", FactKind.Count, [N, A, H], "accounts created or added to a privileged group"),
        new("coverage_gaps", FactKind.Count, [N, H], "servers whose latest scan has log gaps, unreadable files or checks not run"),
        new("campaigns", FactKind.Count, [N, H], "incidents correlated across the case's hosts"),
        new("timeline_events", FactKind.Count, [N], "event-log timeline rows in the case"),
        new(CaseSettings.Keys.CriticalInfrastructure, FactKind.Setting, [], "setting: the organisation operates critical infrastructure (KRITIS)"),
        new(CaseSettings.Keys.PersonalData, FactKind.Setting, [], "setting: personal data are affected"),
        new(CaseSettings.Keys.HighRisk, FactKind.Setting, [], "setting: high risk to the people affected (GDPR Art. 34)"),
        new("aware_utc", FactKind.Setting, [], "setting: the time of awareness is recorded (true) or not (unset)"),
    ];

    private static readonly Dictionary<string, FactDefinition> ByName = Vocabulary.ToDictionary(f => f.Name, StringComparer.Ordinal);

    public static FactDefinition? Definition(string name) => ByName.GetValueOrDefault(name);

    private readonly Dictionary<string, FactValue> _counts;
    private readonly Dictionary<string, bool?> _settings;

    private PlaybookFacts(Dictionary<string, FactValue> counts, Dictionary<string, bool?> settings)
    {
        _counts = counts;
        _settings = settings;
    }

    public FactValue Count(string fact) => _counts.GetValueOrDefault(fact) ?? FactValue.None;

    public bool? Setting(string fact) => _settings.GetValueOrDefault(fact);

    public bool Holds(FactCondition condition)
    {
        if (condition.Setting is { } wanted)
        {
            var value = Setting(condition.Fact);
            return wanted switch { SettingState.True => value == true, SettingState.False => value == false, _ => value is null };
        }
        var n = Count(condition.Fact).Count;
        return (condition.Min is not { } min || n >= min) && (condition.Max is not { } max || n <= max);
    }

    public static PlaybookFacts From(CaseSnapshot snapshot)
    {
        var nameOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var h in snapshot.Hosts) nameOf.TryAdd(h.HostId, h.Name);
        foreach (var h in snapshot.HostScans) nameOf.TryAdd(h.HostId, h.HostName);
        string HostName(string? idOrName) => idOrName is null ? "?" : nameOf.GetValueOrDefault(idOrName) ?? idOrName;

        var latest = snapshot.LatestPerHost;
        var counts = new Dictionary<string, FactValue>(StringComparer.Ordinal)
        {
            ["hosts"] = Hosts(nameOf.Values),
            ["hosts_compromised"] = Hosts(latest.Where(h => h.Verdict == VerdictKind.Compromised).Select(h => h.HostName)),
            ["hosts_attempted"] = Hosts(latest.Where(h => h.Verdict == VerdictKind.Attempted).Select(h => h.HostName)),
            ["hosts_no_evidence"] = Hosts(latest.Where(h => h.Verdict == VerdictKind.NoEvidenceFound).Select(h => h.HostName)),
            ["coverage_gaps"] = Hosts(latest.Where(h => HasGaps(h.Coverage)).Select(h => h.HostName)),
            ["timeline_events"] = new FactValue(Math.Max(snapshot.TimelineEvents, snapshot.TimelineRows.Count), [], [], []),
            ["campaigns"] = new FactValue(snapshot.Campaigns.Count, Distinct(snapshot.Campaigns.SelectMany(c => c.Hosts).Select(HostName)), [], []),
        };

        // Patch status: the newest statement per host (a scan's, or an inventory/check assessment's).
        var patch = PatchPerTarget(snapshot, HostName);
        var open = patch.Where(p => p.OpenCves.Count > 0).ToList();
        var unsupported = patch.Where(p => !p.Supported).ToList();
        counts["open_cves"] = new FactValue(open.Count, Distinct(open.Select(p => p.Label)), [], Distinct(open.SelectMany(p => p.OpenCves)));
        counts["unsupported_builds"] = Hosts(unsupported.Select(p => p.Label));
        var known = patch.Where(p => p.HostId is not null).Select(p => p.HostId!).ToHashSet(StringComparer.Ordinal);
        counts["patch_unknown"] = Hosts(latest.Where(h => !known.Contains(h.HostId)).Select(h => h.HostName));
        var unpatched = patch.Where(p => p.HostId is not null && (p.OpenCves.Count > 0 || !p.Supported)).ToDictionary(p => p.HostId!, StringComparer.Ordinal);
        var attemptedUnpatched = latest.Where(h => h.Verdict == VerdictKind.Attempted && unpatched.ContainsKey(h.HostId)).ToList();
        counts["hosts_attempted_unpatched"] = new FactValue(attemptedUnpatched.Count, Distinct(attemptedUnpatched.Select(h => h.HostName)), [],
            Distinct(attemptedUnpatched.SelectMany(h => unpatched[h.HostId].OpenCves)));

        // Files the quarantine still holds; restored and abandoned ones are back on the server.
        var held = snapshot.Quarantine.Where(q => q.State is "stored" or "removed").ToList();
        counts["quarantine_items"] = new FactValue(held.Count, Distinct(held.Select(q => HostName(q.HostId))), [], []);

        var attackerIps = AttackerAddresses(snapshot);
        bool FromAttacker(CaseAdminAccount a) => a.SourceIps.Any(ip => attackerIps.Contains(NormaliseIp(ip)));
        FactValue Accounts(Func<CaseAdminAccount, bool> which)
        {
            var list = snapshot.AdminAccess.Where(which).ToList();
            return new FactValue(list.Count, Distinct(list.SelectMany(a => a.Hosts).Select(HostName)),
                Distinct(list.Select(a => string.IsNullOrWhiteSpace(a.Display) ? a.Account : a.Display)), []);
        }
        counts["admin_in_shell_tree"] = Accounts(a => a.InWebShellTree);
        counts["domain_admin_in_shell_tree"] = Accounts(a => a.InWebShellTree && a.DomainAdmin);
        counts["admin_from_attacker_ip"] = Accounts(FromAttacker);
        counts["domain_admin_from_attacker_ip"] = Accounts(a => a.DomainAdmin && FromAttacker(a));
        counts["domain_admin_compromised"] = Accounts(a => a.DomainAdmin && (a.InWebShellTree || FromAttacker(a)));
        counts["admin_accounts_created"] = Accounts(a => a.Created || a.AddedToPrivilegedGroup);

        var s = snapshot.Settings;
        var settings = new Dictionary<string, bool?>(StringComparer.Ordinal)
        {
            [CaseSettings.Keys.CriticalInfrastructure] = s.CriticalInfrastructure,
            [CaseSettings.Keys.PersonalData] = s.PersonalData,
            [CaseSettings.Keys.HighRisk] = s.HighRisk,
            // Only "set" or not: a time has no true/false.
            ["aware_utc"] = s.AwareUtc is null ? null : true,
        };
        return new PlaybookFacts(counts, settings);
    }

    private sealed record PatchFact(string? HostId, string Label, bool Supported, IReadOnlyList<string> OpenCves, DateTimeOffset At);

    private static List<PatchFact> PatchPerTarget(CaseSnapshot snapshot, Func<string?, string> hostName)
    {
        var all = new List<PatchFact>();
        foreach (var h in snapshot.HostScans)
        {
            // A status without a build (not in the evidence) or with an error says nothing about patches.
            if (h.PatchStatus is not { Error: null, Build: not null } p || p.Action == "unknown") continue;
            all.Add(new PatchFact(h.HostId, h.HostName, p.Supported, p.OpenCves, h.FinishedUtc));
        }
        var caseHosts = snapshot.Hosts.Select(h => h.HostId).Concat(snapshot.HostScans.Select(h => h.HostId)).ToHashSet(StringComparer.Ordinal);
        foreach (var a in snapshot.Assessments)
        {
            if (a.Error is not null || a.Build is null || a.Action == "unknown") continue;
            var hostId = a.HostId is not null && caseHosts.Contains(a.HostId) ? a.HostId : null;
            all.Add(new PatchFact(hostId ?? a.HostId, hostId is null ? a.Target : hostName(hostId), a.Supported, a.OpenCves, a.AtUtc));
        }
        return all.GroupBy(p => p.HostId ?? "target:" + p.Label, StringComparer.OrdinalIgnoreCase)
            .Select(g => g.OrderByDescending(p => p.At).First()).ToList();
    }

    private static HashSet<string> AttackerAddresses(CaseSnapshot snapshot)
    {
        var ips = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var f in snapshot.Findings)
            if (f.Outcome >= Outcome.Attempt && !string.IsNullOrWhiteSpace(f.ClientIp)) ips.Add(NormaliseIp(f.ClientIp));
        foreach (var c in snapshot.Campaigns)
            foreach (var ip in c.ClientIps)
                if (!string.IsNullOrWhiteSpace(ip)) ips.Add(NormaliseIp(ip));
        return ips;
    }

    // Logs write IPv4 clients of a dual-stack listener as ::ffff:a.b.c.d; the event logs write a.b.c.d.
    private static string NormaliseIp(string ip)
    {
        var t = ip.Trim();
        return t.StartsWith("::ffff:", StringComparison.OrdinalIgnoreCase) && t.Contains('.') ? t[7..] : t;
    }

    private static readonly HashSet<string> GapIssueKinds = new(StringComparer.OrdinalIgnoreCase)
        { "unreadable", "truncated", "toolarge", "archivebomb", "checknotrun", "ruleskipped" };

    private static bool HasGaps(CaseCoverage c) =>
        c.Families.Any(f => f.Gaps.Count > 0) || c.ChecksNotRun.Count > 0
        || c.IssueCounts.Any(kv => kv.Value > 0 && GapIssueKinds.Contains(kv.Key.Replace("_", "").Replace("-", "")));

    private static FactValue Hosts(IEnumerable<string> names)
    {
        var list = Distinct(names);
        return new FactValue(list.Count, list, [], []);
    }

    private static IReadOnlyList<string> Distinct(IEnumerable<string> items) =>
        items.Where(i => !string.IsNullOrWhiteSpace(i)).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase).ToList();
}
