using System.Globalization;
using Exir.Core;
using YamlDotNet.Core;

namespace Exir.Detection.Rules;

/// <summary>rules/scan.yaml: the constants of the hunt (attack window, correlation windows), as data.</summary>
public sealed record ScanSettings
{
    public const string FileName = "scan.yaml";

    /// <summary>Coverage is judged against this date: logs must reach back before it.</summary>
    public DateTimeOffset AttackWindowStart { get; init; } = new(2021, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public TimeSpan SameActorWindow { get; init; } = TimeSpan.FromHours(48);
    public TimeSpan NearbyWindow { get; init; } = TimeSpan.FromMinutes(15);
    public int MinLinkableNameLength { get; init; } = 5;
    /// <summary>Time limit per file for the YARA rules (yara: timeout_seconds); null: none.</summary>
    public TimeSpan? YaraTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public static ScanSettings Default { get; } = new();

    private sealed class FileYaml
    {
        public string? Version { get; set; }
        public string? AttackWindowStart { get; set; }
        public CorrelationYaml Correlation { get; set; } = new();
        public YaraYaml? Yara { get; set; }
    }

    private sealed class YaraYaml
    {
        public double? TimeoutSeconds { get; set; }
    }

    private sealed class CorrelationYaml
    {
        public double? SameActorHours { get; set; }
        public double? NearbyMinutes { get; set; }
        public int? MinLinkableName { get; set; }
    }

    /// <summary>Loads and validates the file; a bad value is a <see cref="RuleDataException"/> naming it.</summary>
    public static ScanSettings Load(DataFiles rules)
    {
        if (!rules.Exists(FileName)) throw new RuleDataException(FileName, null, "missing");
        FileYaml file;
        try { file = RuleYaml.Deserializer.Deserialize<FileYaml>(rules.ReadAllText(FileName)) ?? new FileYaml(); }
        catch (YamlException e) { throw new RuleDataException(FileName, null, $"line {e.Start.Line}: {e.Message}"); }
        if (!DateOnly.TryParseExact(file.AttackWindowStart, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var start))
            throw new RuleDataException(FileName, null, $"attack_window_start: '{file.AttackWindowStart}' is not a date like 2021-01-01");
        var c = file.Correlation;
        if (c.SameActorHours is not > 0 || c.NearbyMinutes is not >= 0 || c.MinLinkableName is not >= 1)
            throw new RuleDataException(FileName, null, "correlation needs same_actor_hours > 0, nearby_minutes >= 0 and min_linkable_name >= 1");
        var yaraTimeout = file.Yara?.TimeoutSeconds ?? Default.YaraTimeout!.Value.TotalSeconds;
        if (double.IsNaN(yaraTimeout) || yaraTimeout < 0 || yaraTimeout > 1e9)
            throw new RuleDataException(FileName, null, "yara.timeout_seconds must be 0 (no limit) or a number of seconds");
        return new ScanSettings
        {
            YaraTimeout = yaraTimeout > 0 ? TimeSpan.FromSeconds(yaraTimeout) : null,
            AttackWindowStart = new DateTimeOffset(start.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero),
            SameActorWindow = TimeSpan.FromHours(c.SameActorHours.Value),
            NearbyWindow = TimeSpan.FromMinutes(c.NearbyMinutes.Value),
            MinLinkableNameLength = c.MinLinkableName.Value,
        };
    }
}
