using Exir.Core.Coverage;
using Exir.Core.Findings;

namespace Exir.Detection.Correlation;

/// <summary>
/// Turns findings and coverage into the plain-words verdict. Users of Test-ProxyLogon asked what its
/// output meant; exir always says what happened, why it thinks so, and what the logs could not show.
/// </summary>
public static class VerdictBuilder
{
    public static Verdict Build(IReadOnlyList<Finding> findings, CoverageReport coverage, DateTimeOffset attackWindowStart)
    {
        var success = findings.Where(f => f.Outcome == Outcome.Success).ToList();
        var attempts = findings.Where(f => f.Outcome is Outcome.Attempt or Outcome.Scan).ToList();
        var caveat = CoverageCaveat(coverage, attackWindowStart);
        var totals = findings.GroupBy(f => f.Title).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        if (success.Count > 0)
        {
            var top = success.OrderByDescending(f => f.Severity).ThenBy(f => f.Timestamp ?? DateTimeOffset.MaxValue).First();
            var parts = new List<string> { $"{success.Count} finding(s) show success, first: {top.Title} in {top.Artifact}{(top.Line is { } l ? $" line {l}" : "")}." };
            var traffic = success.Where(f => f.Line is not null).GroupBy(f => f.Title)
                .OrderByDescending(g => g.Max(f => f.Severity)).ThenBy(g => g.Min(f => f.Timestamp ?? DateTimeOffset.MaxValue)).ToList();
            if (traffic.Count > 0)
                parts.Add("In the logs: " + string.Join("; ", traffic.Take(6).Select(g => $"{g.Key} ({Count(g.Count(), totals[g.Key])})")) + (traffic.Count > 6 ? $"; and {traffic.Count - 6} more kinds" : "") + ".");
            var files = success.Where(f => f.Line is null).Select(f => f.Artifact).Distinct(StringComparer.Ordinal).ToList();
            if (files.Count > 0)
                parts.Add($"On disk ({files.Count} file(s)): " + string.Join(", ", files.Take(5)) + (files.Count > 5 ? ", ..." : "") + ".");
            parts.Add("Isolate the server from the internet, preserve evidence, quarantine the files, reset credentials used on it, and follow the incident duties (report section 'What to do now').");
            return new Verdict(VerdictKind.Compromised,
                "The server was compromised: exploitation succeeded or an attacker's tool is on it.",
                string.Join(" ", parts),
                caveat);
        }
        if (attempts.Count > 0)
        {
            var scans = attempts.Count(f => f.Outcome == Outcome.Scan);
            return new Verdict(VerdictKind.Attempted,
                "Exploitation was attempted; exir found no sign that it succeeded.",
                $"{attempts.Count - scans} exploit attempt(s) and {scans} scan probe(s) reached the server, none with a successful response or a follow-up (no shell, no dump). " +
                "Patch now if the build is open to these CVEs, and scan again with the event logs and the whole drive (--deep) before ruling compromise out.",
                caveat);
        }
        var indicators = findings.Count;
        // "Nothing found" must not read as if every check had looked: name the YARA layer when it did not run, and
        // files some check could not run on (a rule cut short by the time limit, a check that failed on the file).
        bool yaraDown = coverage.ChecksNotRun.ContainsKey(Files.YaraContentRules.LayerCheckName);
        long notChecked = coverage.IssueCounts.GetValueOrDefault(IssueKind.CheckNotRun);
        var headline = yaraDown
            ? "No evidence of exploitation or compromise was found, but the YARA web-shell rules did not run: files were not checked by content."
            : notChecked > 0
                ? $"No evidence of exploitation or compromise was found in what could be checked; some checks did not run fully ({notChecked} case(s), see the coverage section)."
                : "No evidence of exploitation or compromise was found.";
        return new Verdict(VerdictKind.NoEvidenceFound,
            headline,
            indicators > 0
                ? $"No exploitation traffic and no web shell. {indicators} indicator(s) without a link to an attack are listed for review."
                : "No exploitation traffic, no web shell, no credential dump and no staged archive in what was read.",
            caveat);
    }

    /// <summary>"5" when every finding of the kind shows success, else "5 of 7 with success", so the figure adds up with the findings table.</summary>
    private static string Count(int success, int total) => success == total ? success.ToString() : $"{success} of {total} with success";

    /// <summary>
    /// The verdict over several hosts: the worst of theirs, naming which hosts are in which state. With one host it is that host's verdict.
    /// </summary>
    public static Verdict Overall(IReadOnlyList<(string Host, Verdict Verdict)> hosts)
    {
        if (hosts.Count == 1) return hosts[0].Verdict;
        if (hosts.Count == 0) return new Verdict(VerdictKind.NoEvidenceFound, "No evidence was read.", "", "");
        var worst = hosts.Max(h => h.Verdict.Kind);
        string Names(VerdictKind k) => string.Join(", ", hosts.Where(h => h.Verdict.Kind == k).Select(h => h.Host));
        int CountOf(VerdictKind k) => hosts.Count(h => h.Verdict.Kind == k);
        var headline = worst switch
        {
            VerdictKind.Compromised => $"{CountOf(VerdictKind.Compromised)} of {hosts.Count} servers were compromised: {Names(VerdictKind.Compromised)}.",
            VerdictKind.Attempted => $"Exploitation was attempted on {CountOf(VerdictKind.Attempted)} of {hosts.Count} servers ({Names(VerdictKind.Attempted)}); no sign that it succeeded.",
            _ => $"No evidence of exploitation or compromise on any of the {hosts.Count} servers.",
        };
        var reason = string.Join(" ", hosts.Select(h => $"{h.Host}: {h.Verdict.Label}. {h.Verdict.Headline}"));
        var caveat = string.Join(" ", hosts.Select(h => $"{h.Host}: {h.Verdict.CoverageCaveat}"));
        return new Verdict(worst, headline, reason, caveat);
    }

    /// <summary>What "nothing found" is worth: which log families were read, and whether they reach back to the attack window.</summary>
    public static string CoverageCaveat(CoverageReport coverage, DateTimeOffset attackWindowStart)
    {
        var parts = new List<string>();
        var families = coverage.Families.Values.Where(f => f.Files > 0).OrderBy(f => f.Family, StringComparer.Ordinal).ToList();
        if (families.Count == 0)
            parts.Add("No Exchange or IIS logs were found, so exploitation traffic could not be checked.");
        else
        {
            var earliest = families.Where(f => f.First is not null).Select(f => f.First!.Value).DefaultIfEmpty().Min();
            if (earliest == default)
                parts.Add("Logs were found but no timestamps could be read from them.");
            else if (earliest > attackWindowStart)
                parts.Add($"The logs only reach back to {earliest.UtcDateTime:yyyy-MM-dd}; the attack window begins {attackWindowStart:yyyy-MM-dd}, so earlier attacks cannot be seen.");
            else
                parts.Add($"The logs reach back to {earliest.UtcDateTime:yyyy-MM-dd}, before the attack window began.");
        }
        if (coverage.ChecksNotRun.Count > 0)
            parts.Add("Checks that did not run: " + string.Join("; ", coverage.ChecksNotRun.Select(kv => $"{kv.Key} ({kv.Value})")) + ".");
        long problems = coverage.IssueCounts.Where(kv => kv.Key is IssueKind.Unreadable or IssueKind.Malformed or IssueKind.Truncated or IssueKind.ArchiveBomb)
            .Sum(kv => kv.Value);
        if (problems > 0) parts.Add($"{problems} file(s) or line(s) could not be read fully; see the coverage section.");
        if (coverage.IssueCounts.GetValueOrDefault(IssueKind.CheckNotRun) is > 0 and var notRun)
            parts.Add($"Checks could not run fully in {notRun} case(s) (e.g. YARA rules cut short by the time limit on a file); see the coverage section.");
        if (coverage.IssueCounts.GetValueOrDefault(IssueKind.RuleSkipped) is > 0 and var skipped)
            parts.Add($"{skipped} rule(s) or rule file(s) could not be used; see the coverage section.");
        return string.Join(" ", parts);
    }
}
