using Exir.Core;
using Exir.Core.Findings;
using YamlDotNet.Core;

namespace Exir.Detection.Rules;

/// <summary>rules/files/suspicious-files.yaml, validated.</summary>
public sealed class SuspiciousFileRules
{
    public const string FileName = "files/suspicious-files.yaml";

    public required string Version { get; init; }
    public required LsassDumpRule LsassDump { get; init; }
    public required ProcessDumpRule ProcessDump { get; init; }
    public required StagedArchiveRule StagedArchive { get; init; }

    /// <param name="NamesWithoutModules">When the dump's module list cannot be read, a file name containing one of these still makes it an LSASS dump.</param>
    public sealed record LsassDumpRule(RuleInfo Info, IReadOnlyList<string> ProcessImages, IReadOnlyList<string> MarkerModules, IReadOnlyList<string> NamesWithoutModules);
    public sealed record ProcessDumpRule(RuleInfo Info, IReadOnlyList<string> BenignLocations);
    public sealed record StagedArchiveRule(RuleInfo Info, IReadOnlyList<string> Locations, IReadOnlyList<PathGlob> Allow, Severity? SeverityWithExploitation);

    private sealed class FileYaml
    {
        public string? Version { get; set; }
        public List<EntryYaml> Rules { get; set; } = [];
    }

    private sealed class EntryYaml : RuleYaml
    {
        public List<string> ProcessImages { get; set; } = [];
        public List<string> MarkerModules { get; set; } = [];
        public List<string> NamesWithoutModules { get; set; } = [];
        public List<string> BenignLocations { get; set; } = [];
        public List<string> Locations { get; set; } = [];
        public List<string> Allow { get; set; } = [];
        public string? SeverityWithExploitation { get; set; }
    }

    public static SuspiciousFileRules Load(DataFiles rules)
    {
        FileYaml file;
        try
        {
            file = RuleYaml.Deserializer.Deserialize<FileYaml>(rules.ReadAllText(FileName)) ?? new FileYaml();
        }
        catch (YamlException e)
        {
            throw new RuleDataException(FileName, null, $"line {e.Start.Line}: {e.Message}");
        }
        EntryYaml Get(string id) => file.Rules.FirstOrDefault(r => r.Id == id)
            ?? throw new RuleDataException(FileName, id, "rule missing");
        var lsass = Get("FILE-LSASS-DUMP");
        var dump = Get("FILE-PROCESS-DUMP");
        var archive = Get("FILE-STAGED-ARCHIVE");
        Severity? up = null;
        if (archive.SeverityWithExploitation is { } s)
        {
            if (!SeverityNames.TryParseSeverity(s, out var sev)) throw new RuleDataException(FileName, archive.Id, $"unknown severity '{s}'");
            up = sev;
        }
        return new SuspiciousFileRules
        {
            Version = file.Version ?? "unversioned",
            LsassDump = new(lsass.ToRuleInfo(FileName), lsass.ProcessImages, lsass.MarkerModules, lsass.NamesWithoutModules),
            ProcessDump = new(dump.ToRuleInfo(FileName), dump.BenignLocations),
            StagedArchive = new(archive.ToRuleInfo(FileName), archive.Locations, archive.Allow.Select(a => new PathGlob(a)).ToList(), up),
        };
    }
}
