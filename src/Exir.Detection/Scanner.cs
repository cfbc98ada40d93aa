using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Exir.Core;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.Artifacts;
using Exir.Detection.EventLogs;
using Exir.Detection.Files;
using Exir.Detection.Logs;
using Exir.Detection.Pipeline;
using Exir.Detection.Rules;
using Exir.Knowledge;
using Exir.Knowledge.Assessment;

namespace Exir.Detection;

/// <summary>
/// The compromise hunt end to end: evidence -> classification -> detectors -> grading and
/// correlation -> verdict. The CLI and tests call this; outputs are written by Exir.Reporting.
/// </summary>
public sealed class Scanner
{
    /// <summary>Check names used in the coverage section when their evidence is absent.</summary>
    public const string Cve202126857Check = "CVE-2021-26857 (Unified Messaging deserialisation)";
    /// <summary>Coverage family the event-log detector reports Application logs under.</summary>
    public static readonly string ApplicationLogFamily = EventLogDetector.FamilyName("Application");

    private readonly ScanOptions _options;
    private readonly DataFiles _rules;
    private readonly IReadOnlyList<IDetector> _detectors;
    private readonly SuspiciousFilesDetector _suspicious;

    public Scanner(ScanOptions options)
    {
        _options = options;
        _rules = new DataFiles("rules", typeof(Scanner).Assembly, options.RulesDirectory);
        _suspicious = new SuspiciousFilesDetector(SuspiciousFileRules.Load(_rules));
        _detectors = DetectorCatalog.Create(options, _rules, _suspicious);
    }

    public IReadOnlyList<IDetector> Detectors => _detectors;
    public DataFiles Rules => _rules;

    public ScanResult Scan(IEvidenceSource source, string command, ScanProgress? progress = null, CancellationToken cancellationToken = default)
    {
        var started = DateTimeOffset.UtcNow;
        var context = new ScanEngine(_detectors).Run(source, _options, progress, cancellationToken);
        var coverage = context.Coverage;
        if (!coverage.Families.ContainsKey(ApplicationLogFamily))
            coverage.CheckNotRun(Cve202126857Check, "no Windows Application event log (Application.evtx) in the evidence");

        AssessPatchStatus(source, context, cancellationToken);

        var findings = context.Findings.ToList();
        bool exploitation = findings.Any(f => f.Outcome == Outcome.Success || (f.Outcome == Outcome.Attempt && f.Cves.Count > 0));
        if (exploitation) findings = findings.Select(_suspicious.Escalate).ToList();
        findings = findings
            .OrderBy(f => f.Timestamp ?? DateTimeOffset.MaxValue)
            .ThenBy(f => f.Artifact, StringComparer.Ordinal)
            .ThenBy(f => f.Line ?? 0)
            .ThenBy(f => f.RuleId, StringComparer.Ordinal)
            .ToList();
        var (correlated, incidents) = IncidentCorrelator.Correlate(findings);
        var verdict = VerdictBuilder.Build(correlated, coverage);

        return new ScanResult
        {
            Findings = correlated,
            Incidents = incidents,
            Verdict = verdict,
            Coverage = coverage,
            Host = _options.Host ?? context.Host,
            ExchangeBuild = context.ExchangeBuild,
            PatchStatus = context.PatchStatus,
            NextSteps = NextSteps.For(_rules, verdict.Kind),
            Provenance = new Provenance
            {
                Tool = "exir",
                ToolVersion = ToolVersion,
                Command = command,
                Input = source.Root,
                InputKind = source.Kind,
                InputSha256 = source.Kind == "folder" ? null : Sha256OfFile(source.Root),
                RulesOrigin = _rules.Origin,
                RulesVersion = RulesVersion(_rules),
                KnowledgeOrigin = context.KnowledgeOrigin,
                StartedUtc = started,
                FinishedUtc = DateTimeOffset.UtcNow,
            },
        };
    }

    /// <summary>
    /// "Patch or shut down" is the first question: find the server's build in the evidence (ExSetup.exe,
    /// OWA folders, log headers) and say which exploited CVEs it is open to and what to install.
    /// </summary>
    private void AssessPatchStatus(IEvidenceSource source, ScanContext context, CancellationToken cancellationToken)
    {
        ExchangeKnowledge kb;
        try
        {
            kb = ExchangeKnowledge.Load(_options.KnowledgeDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            context.Coverage.CheckNotRun("patch status", $"knowledge tables not readable: {e.Message}");
            return;
        }
        context.KnowledgeOrigin = $"{kb.Origin} (version {kb.Version})";
        // Discovery walks the evidence on its own; its coverage is scratch so files are not counted twice.
        var a = kb.AssessCollection(source, new Exir.Core.Coverage.CoverageReport(), cancellationToken: cancellationToken);
        if (a.Error is not null || a.Build is null)
        {
            context.PatchStatus = [$"Build not found in the evidence: {a.Error}. Run 'exir inventory BUILD' with the build from the server (Get-ExchangeServer | fl AdminDisplayVersion) or 'exir check URL'."];
            return;
        }
        context.ExchangeBuild = a.Build.ToString();
        var lines = new List<string>
        {
            $"{a.Product} {a.Cu}{(a.Su is null ? "" : ", " + a.Su)}: build {a.Build} from {a.Source} ({(a.Precision == Precision.Su ? "exact build" : "CU level only: security updates are not visible in this source")})",
            a.OpenCves.Count == 0 ? "Open exploited CVEs: none known for this build." : $"Open exploited CVEs: {string.Join(", ", a.OpenCves)}.",
        };
        if (a.SupportStatus is not null) lines.Add($"Support: {a.SupportStatus}");
        lines.Add($"Action: {BuildAssessment.ActionName(a.Action)}: {a.ActionText}");
        lines.AddRange(a.Notes.Select(n => "Note: " + n));
        context.PatchStatus = lines;
    }

    public static string ToolVersion { get; } =
        typeof(Scanner).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(Scanner).Assembly.GetName().Version?.ToString() ?? "0";

    /// <summary>A digest over every rule file's name and content: two reports with the same value used the same rules.</summary>
    public static string RulesVersion(DataFiles rules)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var files = rules.List();
        foreach (var name in files)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(name + "\n"));
            using var s = rules.Open(name);
            var buffer = new byte[81920];
            int n;
            while ((n = s.Read(buffer)) > 0) sha.AppendData(buffer.AsSpan(0, n));
        }
        return $"{files.Count} files, sha256:{Convert.ToHexStringLower(sha.GetHashAndReset())[..16]}";
    }

    private static string? Sha256OfFile(string path)
    {
        try
        {
            using var s = EvidenceSource.OpenPhysical(path);
            return Convert.ToHexStringLower(SHA256.HashData(s));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}

/// <summary>The detectors of a scan, in one place so the pipeline's reach is visible at a glance.</summary>
public static class DetectorCatalog
{
    public static IReadOnlyList<IDetector> Create(ScanOptions options, DataFiles rules, SuspiciousFilesDetector suspicious)
    {
        var detectors = new List<IDetector>(LogDetectors.All())
        {
            FileHuntDetector.Create(options, rules),
            new EventLogDetector(),
            suspicious,
        };
        return detectors;
    }
}
