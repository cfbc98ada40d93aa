namespace Exir.Sigma;

/// <summary>Sigma rule levels in rising order; <see cref="SigmaLoadOptions.MinimumLevel"/> compares on this order.</summary>
public enum SigmaLevel { Unknown = 0, Informational = 1, Low = 2, Medium = 3, High = 4, Critical = 5 }

/// <summary>A rule's logsource: product, category, service (lower case, null when absent).</summary>
public sealed record SigmaLogsource(string? Product, string? Category, string? Service)
{
    public override string ToString() =>
        string.Join(",", new[] { ("product", Product), ("category", Category), ("service", Service) }
            .Where(p => p.Item2 is not null).Select(p => $"{p.Item1}={p.Item2}"));
}

/// <summary>
/// What a Sigma rule says about itself. The detection is compiled inside the engine; this is the part findings
/// carry. <see cref="Author"/> and <see cref="LicenseUrl"/> must reach the output: the Detection Rule License of
/// SigmaHQ rules requires attribution.
/// </summary>
public sealed class SigmaRule
{
    /// <summary>The rule id (a UUID in SigmaHQ); the file name when the rule has none.</summary>
    public required string Id { get; init; }
    /// <summary>The optional `name` correlations refer to.</summary>
    public string? Name { get; init; }
    public required string Title { get; init; }
    public string? Description { get; init; }
    /// <summary>stable, test, experimental, deprecated, unsupported (lower case), or null.</summary>
    public string? Status { get; init; }
    public SigmaLevel Level { get; init; }
    /// <summary>The level as the rule spells it (lower case), "" when absent.</summary>
    public string LevelName { get; init; } = "";
    public string? Author { get; init; }
    public string? Date { get; init; }
    public string? Modified { get; init; }
    public IReadOnlyList<string> References { get; init; } = [];
    public IReadOnlyList<string> Tags { get; init; } = [];
    public IReadOnlyList<string> FalsePositives { get; init; } = [];
    /// <summary>The rule's own `license` (e.g. "DRL-1.1"), or null.</summary>
    public string? License { get; init; }
    /// <summary>
    /// Where the licence of the rule is: the rule's `license` when it is a URL, the Detection Rule License for
    /// SigmaHQ rules (and every rule without a licence of its own, as SigmaHQ is their usual origin), null never.
    /// </summary>
    public string LicenseUrl { get; init; } = SigmaRuleSet.DetectionRuleLicenseUrl;
    public required SigmaLogsource Logsource { get; init; }
    /// <summary>The file the rule came from (as given to the loader).</summary>
    public required string File { get; init; }
    /// <summary>The 1-based document number inside a multi-document file.</summary>
    public int Document { get; init; } = 1;

    /// <summary>ATT&amp;CK technique ids from the tags (attack.t1059.001 becomes T1059.001).</summary>
    public IReadOnlyList<string> AttackTechniques => Tags
        .Where(t => t.StartsWith("attack.t", StringComparison.OrdinalIgnoreCase) && t.Length > 9 && char.IsAsciiDigit(t[8]))
        .Select(t => t[7..].ToUpperInvariant()).ToList();

    /// <summary>The correlation, for a Sigma v2 correlation rule; null for a detection rule.</summary>
    public SigmaCorrelation? Correlation { get; init; }
    /// <summary>How many entries the rule's custom top-level `tests:` list has (see <see cref="SigmaRuleTests"/>).</summary>
    public int Tests { get; init; }

    public override string ToString() => $"{Title} ({Id})";
}
