using Exir.Core.Findings;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Exir.Detection.Rules;

/// <summary>The metadata every rule file entry carries (id, title, grading, CVEs, ATT&amp;CK, why, references).</summary>
public class RuleYaml
{
    public string? Id { get; set; }
    public string? Title { get; set; }
    public string? Severity { get; set; }
    public string? Outcome { get; set; }
    public List<string> Cves { get; set; } = [];
    public List<string> Attack { get; set; } = [];
    public string? Explanation { get; set; }
    public List<string> References { get; set; } = [];

    /// <summary>Validates and converts; throws <see cref="RuleDataException"/> naming the rule and the problem.</summary>
    public RuleInfo ToRuleInfo(string origin)
    {
        if (string.IsNullOrWhiteSpace(Id)) throw new RuleDataException(origin, null, "rule without id");
        if (string.IsNullOrWhiteSpace(Title)) throw new RuleDataException(origin, Id, "rule without title");
        if (!SeverityNames.TryParseSeverity(Severity ?? "medium", out var severity))
            throw new RuleDataException(origin, Id, $"unknown severity '{Severity}'");
        if (!SeverityNames.TryParseOutcome(Outcome ?? "indicator", out var outcome))
            throw new RuleDataException(origin, Id, $"unknown outcome '{Outcome}'");
        return new RuleInfo
        {
            Id = Id!, Title = Title!, Severity = severity, Outcome = outcome, Cves = Cves, Attack = Attack,
            Explanation = Explanation?.Trim() ?? "", References = References,
        };
    }

    public static IDeserializer Deserializer { get; } = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .IgnoreUnmatchedProperties()
        .Build();
}

public sealed class RuleDataException(string origin, string? ruleId, string message)
    : Exception($"{origin}{(ruleId is null ? "" : $" rule {ruleId}")}: {message}")
{
    public string Origin { get; } = origin;
    public string? RuleId { get; } = ruleId;
}
