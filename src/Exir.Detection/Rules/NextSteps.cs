using Exir.Core;
using Exir.Core.Findings;

namespace Exir.Detection.Rules;

/// <summary>rules/report/next-steps.yaml: the playbook steps the report gives for each verdict.</summary>
public static class NextSteps
{
    public const string FileName = "report/next-steps.yaml";

    private sealed class FileYaml
    {
        public string? Version { get; set; }
        public List<string> Compromised { get; set; } = [];
        public List<string> Attempted { get; set; } = [];
        public List<string> NoEvidenceFound { get; set; } = [];
    }

    public static IReadOnlyList<string> For(DataFiles rules, VerdictKind verdict)
    {
        if (!rules.Exists(FileName)) return [];
        FileYaml file;
        try
        {
            file = RuleYaml.Deserializer.Deserialize<FileYaml>(rules.ReadAllText(FileName)) ?? new FileYaml();
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new RuleDataException(FileName, null, $"line {e.Start.Line}: {e.Message}");
        }
        return verdict switch
        {
            VerdictKind.Compromised => file.Compromised,
            VerdictKind.Attempted => file.Attempted,
            _ => file.NoEvidenceFound,
        };
    }
}
