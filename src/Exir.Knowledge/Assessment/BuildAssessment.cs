using Exir.Knowledge.Builds;

namespace Exir.Knowledge.Assessment;

/// <summary>What the assessment recommends, in the order of the playbook.</summary>
public enum RecommendedAction { None, Patch, ShutdownMigrate }

/// <summary>How precisely the build is known: "su" (exact build, SUs visible) or "cu" (CU level only).</summary>
public static class Precision
{
    public const string Su = "su";
    public const string Cu = "cu";
}

public enum CveState { Open, Fixed, Configuration, Unknown }

/// <summary>An update to install: name, KB and build.</summary>
public sealed record UpdateRef(string Name, string? Kb, string Build);

/// <summary>The state of one CVE on the assessed build, with the rule that decided it.</summary>
public sealed record CveStatus(
    string Id, string Wave, double Cvss, string Severity, CveState State, UpdateRef? FixedIn,
    string? Note, string? InterimMitigation);

/// <summary>
/// Patch status of one server (or one build number). The JSON names used by writers are stable:
/// build, product, cu, su, precision, source, supported, open_cves, fixed_by, action, action_text.
/// </summary>
public sealed record BuildAssessment
{
    /// <summary>What was assessed: the argument, a path, or a host URL.</summary>
    public required string Target { get; init; }
    /// <summary>The build text as found (e.g. "15.01.2176.002").</summary>
    public string? BuildText { get; init; }
    public ExchangeBuild? Build { get; init; }
    public string? Product { get; init; }
    public string? Cu { get; init; }
    public string? Su { get; init; }
    public string? ReleaseName { get; init; }
    public string? ReleaseDate { get; init; }
    public string? Kb { get; init; }
    public string Precision { get; init; } = Assessment.Precision.Cu;
    /// <summary>Where the build came from: "argument", "ExSetup.exe file version", "X-OWA-Version header", ...</summary>
    public required string Source { get; init; }
    /// <summary>True when the exact build is a row of the builds table.</summary>
    public bool Known { get; init; }
    public bool Supported { get; init; }
    public string? SupportStatus { get; init; }
    public IReadOnlyList<CveStatus> Cves { get; init; } = [];
    public IReadOnlyList<string> OpenCves => Cves.Where(c => c.State == CveState.Open).Select(c => c.Id).ToList();
    public UpdateRef? FixedBy { get; init; }
    public RecommendedAction Action { get; init; }
    public string ActionText { get; init; } = "";
    public IReadOnlyList<string> Notes { get; init; } = [];
    public string? KnowledgeVersion { get; init; }
    /// <summary>Set when nothing could be assessed (unreadable input, unknown product).</summary>
    public string? Error { get; init; }

    public static string ActionName(RecommendedAction a) => a switch
    {
        RecommendedAction.Patch => "patch",
        RecommendedAction.ShutdownMigrate => "shutdown-migrate",
        _ => "none",
    };

    /// <summary>Exit code over a set: 1 when any server needs action, else 2 when any could not be assessed, else 0.</summary>
    public static int ExitCodeFor(IEnumerable<BuildAssessment> all)
    {
        bool error = false, any = false;
        foreach (var a in all)
        {
            any = true;
            if (a.Error is not null) error = true;
            else if (a.Action != RecommendedAction.None) return 1;
        }
        return error || !any ? 2 : 0;
    }
}

public static class BuildAssessmentData
{
    /// <summary>The assessment as the data a scan result carries (the same names as inventory's JSON).</summary>
    public static Exir.Core.Findings.PatchStatus ToPatchStatus(this BuildAssessment a) => new()
    {
        Build = a.Build?.ToString() ?? a.BuildText,
        Product = a.Product,
        Cu = a.Cu,
        Su = a.Su,
        Precision = a.Error is null ? a.Precision : null,
        Source = a.Source,
        Supported = a.Supported,
        SupportStatus = a.SupportStatus,
        OpenCves = a.OpenCves,
        FixedBy = a.FixedBy is { } f ? new Exir.Core.Findings.UpdateInfo(f.Name, f.Kb, f.Build) : null,
        Action = a.Error is null ? BuildAssessment.ActionName(a.Action) : "unknown",
        ActionText = a.ActionText,
        Notes = a.Notes,
        KnowledgeVersion = a.KnowledgeVersion,
        Error = a.Error,
    };
}
