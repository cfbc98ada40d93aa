using Exir.Core;
using Exir.Core.Findings;
using Exir.Detection.Rules;
using YamlDotNet.Core;

namespace Exir.Detection.Files;

/// <summary>
/// Metadata of the file hunt's own (non-YARA) checks, from rules/files/file-hunt.yaml: titles,
/// grading and explanations are data; the ids below are the link between that file and the code.
/// </summary>
public sealed class FileHuntRules
{
    public const string FileName = "files/file-hunt.yaml";

    public const string KnownBadHashId = "FILE-KNOWN-BAD-HASH";
    public const string ProxyShellPstId = "FILE-PST-AS-WEB-PAGE";
    public const string KnownShellPathId = "FILE-KNOWN-SHELL-PATH";
    public const string UnexpectedScriptId = "FILE-UNEXPECTED-SCRIPT";
    public const string NewerThanBuildId = "FILE-NEWER-THAN-BUILD";
    public const string BaselineAddedId = "FILE-BASELINE-ADDED";
    public const string BaselineChangedId = "FILE-BASELINE-CHANGED";

    public required RuleInfo KnownBadHash { get; init; }
    public required RuleInfo ProxyShellPst { get; init; }
    public required RuleInfo KnownShellPath { get; init; }
    public required RuleInfo UnexpectedScript { get; init; }
    public required RuleInfo NewerThanBuild { get; init; }
    public required RuleInfo BaselineAdded { get; init; }
    public required RuleInfo BaselineChanged { get; init; }
    /// <summary>Extensions (with the dot) IIS hands to a script engine: the pages a web shell can be.</summary>
    public required IReadOnlySet<string> ScriptExtensions { get; init; }
    /// <summary>Days after a build's release that its own files may still carry (installers, time zones).</summary>
    public int NewerThanBuildSlackDays { get; init; } = 2;

    private sealed class FileYaml
    {
        public string? Version { get; set; }
        public SettingsYaml Settings { get; set; } = new();
        public List<RuleYaml> Rules { get; set; } = [];
    }

    private sealed class SettingsYaml
    {
        public List<string> ScriptExtensions { get; set; } = [];
        public int? NewerThanBuildSlackDays { get; set; }
    }

    /// <summary>Loads and validates the file; a missing or broken entry is a <see cref="RuleDataException"/> naming it.</summary>
    public static FileHuntRules Load(DataFiles rules)
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
        if (file.Settings.ScriptExtensions.Count == 0) throw new RuleDataException(FileName, null, "settings.script_extensions is empty");
        if (file.Settings.ScriptExtensions.FirstOrDefault(e => !e.StartsWith('.') || e.Length < 2) is { } bad)
            throw new RuleDataException(FileName, null, $"settings.script_extensions: '{bad}' is not an extension like .aspx");
        RuleInfo Get(string id) => (file.Rules.FirstOrDefault(r => r.Id == id) ?? throw new RuleDataException(FileName, id, "rule missing")).ToRuleInfo(FileName);
        return new FileHuntRules
        {
            KnownBadHash = Get(KnownBadHashId),
            ProxyShellPst = Get(ProxyShellPstId),
            KnownShellPath = Get(KnownShellPathId),
            UnexpectedScript = Get(UnexpectedScriptId),
            NewerThanBuild = Get(NewerThanBuildId),
            BaselineAdded = Get(BaselineAddedId),
            BaselineChanged = Get(BaselineChangedId),
            ScriptExtensions = file.Settings.ScriptExtensions.Select(e => e.ToLowerInvariant()).ToHashSet(StringComparer.OrdinalIgnoreCase),
            NewerThanBuildSlackDays = file.Settings.NewerThanBuildSlackDays ?? 2,
        };
    }
}
