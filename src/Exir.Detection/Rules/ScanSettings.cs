using System.Globalization;
using Exir.Core;
using Exir.Core.Evidence;
using YamlDotNet.Core;

namespace Exir.Detection.Rules;

/// <summary>rules/scan.yaml: the constants of the hunt (attack window, correlation windows) and the bounds on hostile input, as data.</summary>
public sealed record ScanSettings
{
    public const string FileName = "scan.yaml";

    /// <summary>Coverage is judged against this date: logs must reach back before it.</summary>
    public DateTimeOffset AttackWindowStart { get; init; } = new(2021, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public TimeSpan SameActorWindow { get; init; } = TimeSpan.FromHours(48);
    public TimeSpan NearbyWindow { get; init; } = TimeSpan.FromMinutes(15);
    public int MinLinkableNameLength { get; init; } = 5;
    /// <summary>Bounds on each .zip of evidence (archives: in scan.yaml); built-in defaults when the section is absent.</summary>
    public ArchiveLimits Archives { get; init; } = ArchiveLimits.Default;
    /// <summary>Findings of one rule and outcome per host kept in memory for the report (report.max_findings_per_rule).</summary>
    public int MaxFindingsPerRule { get; init; } = 500;
    /// <summary>Whole-file buffers held at once by all workers (memory.big_file_buffers).</summary>
    public int BigFileBuffers { get; init; } = 2;
    /// <summary>Time limit per file for the YARA rules (yara: timeout_seconds); null: none.</summary>
    public TimeSpan? YaraTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public static ScanSettings Default { get; } = new();

    private sealed class FileYaml
    {
        public string? Version { get; set; }
        public string? AttackWindowStart { get; set; }
        public CorrelationYaml Correlation { get; set; } = new();
        public ArchivesYaml? Archives { get; set; }
        public ReportYaml? Report { get; set; }
        public MemoryYaml? Memory { get; set; }
        public YaraYaml? Yara { get; set; }
    }

    private sealed class ArchivesYaml
    {
        public long? MaxEntries { get; set; }
        public double? MaxMemberMib { get; set; }
        public double? MaxRatio { get; set; }
        public double? RatioMemberMib { get; set; }
        public double? MaxArchiveGib { get; set; }
        public double? MaxScanGib { get; set; }
    }

    private sealed class ReportYaml
    {
        public int? MaxFindingsPerRule { get; set; }
    }

    private sealed class MemoryYaml
    {
        public int? BigFileBuffers { get; set; }
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
        var d = Default;
        return new ScanSettings
        {
            YaraTimeout = yaraTimeout > 0 ? TimeSpan.FromSeconds(yaraTimeout) : null,
            AttackWindowStart = new DateTimeOffset(start.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero),
            SameActorWindow = TimeSpan.FromHours(c.SameActorHours.Value),
            NearbyWindow = TimeSpan.FromMinutes(c.NearbyMinutes.Value),
            MinLinkableNameLength = c.MinLinkableName.Value,
            Archives = ArchivesOf(file.Archives),
            MaxFindingsPerRule = Positive(file.Report?.MaxFindingsPerRule, d.MaxFindingsPerRule, "report.max_findings_per_rule"),
            BigFileBuffers = Positive(file.Memory?.BigFileBuffers, d.BigFileBuffers, "memory.big_file_buffers"),
        };
    }

    private static ArchiveLimits ArchivesOf(ArchivesYaml? a)
    {
        var d = ArchiveLimits.Default;
        if (a is null) return d;
        return new ArchiveLimits
        {
            MaxEntries = (int)Math.Min(int.MaxValue, Positive(a.MaxEntries, d.MaxEntries, "archives.max_entries")),
            MaxMemberBytes = Bytes(a.MaxMemberMib, 20, d.MaxMemberBytes, "archives.max_member_mib"),
            MaxRatio = a.MaxRatio is { } r ? (r >= 1 ? r : throw new RuleDataException(FileName, null, "archives.max_ratio must be at least 1")) : d.MaxRatio,
            RatioMemberBytes = Bytes(a.RatioMemberMib, 20, d.RatioMemberBytes, "archives.ratio_member_mib"),
            MaxArchiveBytes = Bytes(a.MaxArchiveGib, 30, d.MaxArchiveBytes, "archives.max_archive_gib"),
            MaxScanBytes = Bytes(a.MaxScanGib, 30, d.MaxScanBytes, "archives.max_scan_gib"),
        };
    }

    private static T Positive<T>(T? value, T fallback, string name) where T : struct, System.Numerics.INumber<T> =>
        value is not { } v ? fallback : v > T.Zero ? v : throw new RuleDataException(FileName, null, $"{name} must be greater than 0");

    /// <summary>A size in MiB (shift 20) or GiB (shift 30) as bytes, saturating rather than overflowing.</summary>
    private static long Bytes(double? value, int shift, long fallback, string name)
    {
        if (value is not { } v) return fallback;
        if (!(v > 0)) throw new RuleDataException(FileName, null, $"{name} must be greater than 0");
        double bytes = v * (1L << shift);
        return bytes >= long.MaxValue ? long.MaxValue : Math.Max(1, (long)bytes);
    }
}
