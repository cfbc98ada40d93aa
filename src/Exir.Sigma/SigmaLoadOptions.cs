namespace Exir.Sigma;

/// <summary>Which rules to load, and the logsource mapping to compile them against.</summary>
public sealed record SigmaLoadOptions
{
    /// <summary>Load only rules with one of these statuses (null: every status but the excluded ones).</summary>
    public IReadOnlySet<string>? Statuses { get; init; }
    /// <summary>Statuses left out unless <see cref="Statuses"/> names them: deprecated and unsupported, as Hayabusa does.</summary>
    public IReadOnlySet<string> ExcludedStatuses { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "deprecated", "unsupported" };
    /// <summary>Load only rules with one of these levels (null: any).</summary>
    public IReadOnlySet<SigmaLevel>? Levels { get; init; }
    /// <summary>Load only rules at or above this level.</summary>
    public SigmaLevel MinimumLevel { get; init; } = SigmaLevel.Unknown;
    /// <summary>Load only rules carrying at least one of these tags (case-insensitive; null: any).</summary>
    public IReadOnlyCollection<string>? Tags { get; init; }
    /// <summary>The logsource mapping; null: the built-in one (or <see cref="RulesDirectory"/>'s).</summary>
    public LogsourceMap? Logsources { get; init; }
    /// <summary>A rules folder whose sigma-config/ replaces the built-in mapping (exir's --rules).</summary>
    public string? RulesDirectory { get; init; }
    /// <summary>Correlation hits per group kept in memory before the oldest are evicted.</summary>
    public int MaxCorrelationEventsPerGroup { get; init; } = 10_000;
}

/// <summary>A rule that did not load: where, which, and why.</summary>
public sealed record SigmaLoadProblem(string File, int Document, string? RuleId, string? Title, string Reason)
{
    public override string ToString() => $"{File}{(Document > 1 ? $" (document {Document})" : "")}: {Title ?? RuleId ?? "?"}: {Reason}";
}

/// <summary>A loaded rule that does not read one of its event sources (a field that source lacks), or none at all.</summary>
public sealed record SigmaSourceSkip(SigmaRule Rule, string Source, string Reason);

/// <summary>What loading did: every rule not loaded with the reason, the share loaded, what was filtered out.</summary>
public sealed class SigmaLoadReport
{
    public int Files { get; internal set; }
    /// <summary>Rule documents seen (detection and correlation rules; global/repeat documents are merged, not counted).</summary>
    public int Documents { get; internal set; }
    public int Loaded { get; internal set; }
    public int CorrelationsLoaded { get; internal set; }
    /// <summary>Rules left out by the status/level/tag filters (not failures).</summary>
    public int Filtered { get; internal set; }
    public List<SigmaLoadProblem> Failed { get; } = [];
    /// <summary>Sources a loaded rule is not compiled for (a field the source lacks), and loaded rules with no source.</summary>
    public List<SigmaSourceSkip> SourceSkips { get; } = [];
    /// <summary>Notes that are not failures (multi-document actions, unknown top-level keys).</summary>
    public List<string> Notes { get; } = [];

    /// <summary>Loaded / (loaded + failed): filtered rules count neither way.</summary>
    public double LoadedShare => Loaded + CorrelationsLoaded + Failed.Count == 0 ? 1 : (double)(Loaded + CorrelationsLoaded) / (Loaded + CorrelationsLoaded + Failed.Count);

    /// <summary>Loaded rules that read no event source at all (their logsource is not in the mapping).</summary>
    public IEnumerable<SigmaSourceSkip> WithoutSource => SourceSkips.Where(s => s.Source.Length == 0);

    public override string ToString() =>
        $"{Loaded} rules and {CorrelationsLoaded} correlations loaded of {Documents} documents in {Files} files ({LoadedShare:P1}); " +
        $"{Failed.Count} failed, {Filtered} filtered, {WithoutSource.Count()} without an event source";
}
