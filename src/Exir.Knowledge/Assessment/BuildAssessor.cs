using Exir.Knowledge.Builds;

namespace Exir.Knowledge.Assessment;

/// <summary>
/// Turns a build into a verdict: which CU/SU it is, which exploited CVEs are open, and what to do, in
/// the playbook's order: install the update now; when no update exists for this version on a product
/// out of support, shut down and migrate; interim mitigations only as a last resort.
/// CVE checks are numeric against the rules, so builds missing from the builds table still get a
/// verdict, with a note saying so.
/// </summary>
internal static class BuildAssessor
{
    public static BuildAssessment Assess(ExchangeKnowledge kb, ExchangeBuild build, string source, string buildText, DateOnly asOf, string? target, string? precisionOverride)
    {
        var notes = new List<string>();
        var precision = precisionOverride ?? (build.HasRevision ? Precision.Su : Precision.Cu);
        // A source that only reflects the CU (OWA folders, logon page) is judged at CU level even when
        // it carries four parts: its revision says nothing about installed SUs.
        if (precision == Precision.Cu) build = build.Line;
        var product = kb.ProductOf(build);
        if (product is null)
            return new BuildAssessment
            {
                Target = target ?? buildText, BuildText = buildText, Build = build, Source = source, Precision = precision,
                KnowledgeVersion = kb.Version,
                Error = $"{build} is not a build of any Exchange version in the knowledge base (2010 to Subscription Edition)",
            };

        var line = kb.LineReleases(build).ToList();
        var release = build.HasRevision ? kb.Find(build) : null;
        var lineBase = line.FirstOrDefault(r => !r.IsUpdate) ?? line.FirstOrDefault();
        string? cu = release?.Line ?? lineBase?.Line;
        string? su = release is { IsUpdate: true } ? release.Update : null;
        if (!build.HasRevision)
            notes.Add($"CU level only ({source}): {build} names the CU, not the Security Update; SU-fixed CVEs are listed as open unless an SU is confirmed (read ExSetup.exe's file version or X-OWA-Version)");
        if (line.Count == 0)
        {
            var below = kb.Releases.LastOrDefault(r => product.Contains(r.Build) && r.Build < build && !r.IsUpdate);
            var above = kb.Releases.FirstOrDefault(r => product.Contains(r.Build) && r.Build > build && !r.IsUpdate);
            cu = below is null ? "unknown" : above is null ? $"newer than {below.Line}" : $"unknown (between {below.Line} and {above.Line})";
            notes.Add($"{build}: CU line not in knowledge base {kb.Version}; " +
                      (above is null ? "newer than every known CU (update the knowledge files with --knowledge)" : "not a released CU (preview or private build?)"));
        }
        else if (build.HasRevision && release is null)
        {
            var lower = line.LastOrDefault(r => r.Build < build);
            var higher = line.FirstOrDefault(r => r.Build > build);
            su = lower is { IsUpdate: true } ? $"unknown (after {lower.Update})" : higher is null ? "unknown (newer than every known update)" : "unknown";
            notes.Add($"{build} is not a released build in knowledge base {kb.Version}" +
                      (lower is not null ? $"; nearest lower: {lower.Build} ({lower.Update ?? lower.Line})" : "") +
                      (higher is not null ? $"; next known: {higher.Build} ({higher.Update ?? higher.Line})" : "; newer than every known update") +
                      ". CVEs judged by build number.");
        }

        var (supported, supportStatus) = product.SupportOn(asOf, build);
        var cves = EvaluateCves(kb, build, product);
        var open = cves.Where(c => c.Status.State == CveState.Open).ToList();
        var unknown = cves.Where(c => c.Status.State == CveState.Unknown).Select(c => c.Status.Id).ToList();
        var config = cves.Where(c => c.Status.State == CveState.Configuration).ToList();

        var lineLatest = kb.LatestInLine(build);
        var productLatest = kb.LatestForProduct(product);
        // Open CVEs fixable without leaving this CU: each has an SU/CU rule on this very line, and the
        // line's newest build is at or past every minimum.
        bool FixableInLine(Evaluated c) => lineLatest is not null &&
            c.Rule is { Kind: FixKind.SecurityUpdate or FixKind.CumulativeUpdate, MinFixed: { } min } && min.SameLine(build) && lineLatest.Build >= min;
        bool fixInLine = open.Count > 0 && open.All(FixableInLine);
        var noLineFix = string.Join(", ", open.Where(c => !FixableInLine(c)).Select(c => c.Status.Id));
        var recommended = fixInLine ? lineLatest : productLatest;
        var recRef = recommended is null ? null : new UpdateRef(recommended.Name, recommended.Kb, recommended.Build.ToString());
        var openList = string.Join(", ", open.Select(c => c.Status.Id));
        string installText = recommended is null ? "the latest CU and Security Update"
            : fixInLine ? $"{recommended.Name} ({Kb(recommended)}build {recommended.Build})"
            : $"{recommended.Line} and then {recommended.Update ?? "its latest Security Update"} ({recommended.Name}, {Kb(recommended)}build {recommended.Build})";
        string installVerb = fixInLine ? "Install" : "Update to";

        RecommendedAction action;
        var text = new List<string>();
        UpdateRef? fixedBy = null;
        if (open.Count > 0)
        {
            fixedBy = recRef;
            if (supported)
            {
                action = RecommendedAction.Patch;
                text.Add($"{installVerb} {installText} now.");
            }
            else
            {
                // Out of support: an update closes today's list, but nothing found after the end of support
                // will ever be fixed, so the last update is a stop-gap and the action is to leave the product.
                action = RecommendedAction.ShutdownMigrate;
                text.Add(fixInLine
                    ? $"{product.Name} is {supportStatus}: it receives no fixes for anything found after its end of support; shut the server down or cut it off from the internet, and migrate to {product.MigrateTo}."
                    : $"{product.Name} is {supportStatus}, and no update for this CU fixes {noLineFix}: shut the server down or cut it off from the internet, and migrate to {product.MigrateTo}.");
                if (recommended is not null) text.Add($"Stop-gap only while migrating: {installVerb.ToLowerInvariant()} {installText}.");
            }
            var mitigations = open.Select(c => c.Status.InterimMitigation).Where(m => m is not null).Distinct().ToList();
            if (mitigations.Count > 0)
                text.Add("Interim mitigations, only as a last resort until then: " + string.Join("; ", mitigations) + ".");
            text.Add($"Open: {openList}.");
        }
        else if (!supported)
        {
            action = RecommendedAction.ShutdownMigrate;
            text.Add($"No open exploited CVE known for this build, but {product.Name} is {supportStatus}: no more security fixes. Migrate to {product.MigrateTo}.");
        }
        else if (unknown.Count > 0 || line.Count == 0)
        {
            action = RecommendedAction.Patch;
            fixedBy = recRef;
            text.Add($"Could not judge {(unknown.Count > 0 ? string.Join(", ", unknown) : "this build")} (not covered by knowledge base {kb.Version}); update to {installText} to be sure.");
        }
        else if (build.HasRevision && lineLatest is not null && build < lineLatest.Build)
        {
            // Still-serviced CU behind on SUs: stay on the CU, install its newest update.
            action = RecommendedAction.Patch;
            fixedBy = new UpdateRef(lineLatest.Name, lineLatest.Kb, lineLatest.Build.ToString());
            text.Add($"No open exploited CVE from the list, but newer updates exist for this CU: install {lineLatest.Name} ({Kb(lineLatest)}build {lineLatest.Build}); later SUs fix other vulnerabilities.");
        }
        else if (!build.HasRevision && recommended is not null)
        {
            action = RecommendedAction.Patch;
            fixedBy = recRef;
            text.Add($"CU level only: make sure {installText} is installed.");
        }
        else
        {
            action = RecommendedAction.None;
            text.Add("Up to date for every exploited CVE in the knowledge base; keep installing new Security Updates.");
        }
        foreach (var c in config)
            text.Add($"Also {c.Status.Id}: {c.Rule?.Note ?? c.Status.InterimMitigation ?? "the fix is a configuration change"}.");
        if (unknown.Count > 0)
            notes.Add($"not judged for this build: {string.Join(", ", unknown)}");

        return new BuildAssessment
        {
            Target = target ?? buildText, BuildText = buildText, Build = build, Product = product.Name, Cu = cu, Su = su,
            ReleaseName = release?.Name ?? lineBase?.Name, ReleaseDate = release?.Released ?? (build.HasRevision ? null : lineBase?.Released),
            Kb = release?.Kb ?? (build.HasRevision ? null : lineBase?.Kb), Precision = precision, Source = source, Known = release is not null,
            Supported = supported, SupportStatus = supportStatus, Cves = cves.Select(c => c.Status).ToList(), FixedBy = fixedBy,
            Action = action, ActionText = string.Join(" ", text), Notes = notes, KnowledgeVersion = kb.Version,
        };
    }

    private static string Kb(BuildRelease r) => r.Kb is null ? "" : r.Kb + ", ";

    private readonly record struct Evaluated(CveStatus Status, CveFixRule? Rule);

    private static List<Evaluated> EvaluateCves(ExchangeKnowledge kb, ExchangeBuild build, ProductLifecycle product)
    {
        var result = new List<Evaluated>();
        foreach (var cve in kb.CveIds)
        {
            var rules = kb.Rules.Where(r => r.Cve.Equals(cve, StringComparison.OrdinalIgnoreCase) && r.Product == product.Product).ToList();
            // A product with no rule for a CVE is not affected by it (e.g. 2010 and ProxyShell).
            if (rules.Count == 0) continue;
            // The rule naming this exact CU wins over ranges (2013 SP1 has its own row inside "CU20 and older").
            var rule = rules.FirstOrDefault(r => r.Match == LineMatch.Exact && r.AppliesTo(build)) ?? rules.FirstOrDefault(r => r.AppliesTo(build));
            var any = rules[0];
            if (rule is null)
            {
                result.Add(new(new CveStatus(cve, any.Wave, any.Cvss, any.Severity, CveState.Unknown, null,
                    $"no rule for CU line {build.Line} of {product.Name}", any.InterimMitigation), null));
                continue;
            }
            var fix = rule.MinFixed is { } min ? new UpdateRef(rule.FixName ?? min.ToString(), rule.FixKb, min.ToString()) : null;
            var (state, note) = rule.Kind switch
            {
                FixKind.Configuration => (CveState.Configuration, rule.Note ?? "fixed by configuration"),
                FixKind.NoFixForLine => (CveState.Open, $"no update for {rule.LineName}: {rule.Note ?? "move to a CU that has one"}"),
                _ when build < rule.MinFixed!.Value => (CveState.Open,
                    !build.HasRevision && rule.Kind == FixKind.SecurityUpdate ? $"open unless {rule.FixName} or later is installed" : $"below {rule.MinFixed}"),
                _ => (CveState.Fixed, $"fixed from {rule.MinFixed}"),
            };
            result.Add(new(new CveStatus(cve, rule.Wave, rule.Cvss, rule.Severity, state, fix, note, rule.InterimMitigation), rule));
        }
        return result;
    }
}
