using System.Text.RegularExpressions;
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
    /// <summary>Rules on a file's name where its content is not of the kind the name promises (name_patterns).</summary>
    public required IReadOnlyList<NameRule> NameRules { get; init; }
    /// <summary>Archives the allow-lists of other rules leave out, listed only when the host shows exploitation; optional.</summary>
    public VendorArchiveRule? VendorArchive { get; init; }

    /// <param name="NamesWithoutModules">When the dump's module list cannot be read, a file name containing one of these still makes it an LSASS dump.</param>
    public sealed record LsassDumpRule(RuleInfo Info, IReadOnlyList<string> ProcessImages, IReadOnlyList<string> MarkerModules, IReadOnlyList<string> NamesWithoutModules);
    public sealed record ProcessDumpRule(RuleInfo Info, IReadOnlyList<string> BenignLocations);
    public sealed record StagedArchiveRule(RuleInfo Info, IReadOnlyList<string> Locations, IReadOnlyList<PathGlob> Allow, Severity? SeverityWithExploitation,
        CredentialNames CredentialNames);

    /// <summary>Words of a file name that point at a credential store (ntds, sam, system, lsass), and the grade they give.</summary>
    public sealed record CredentialNames(IReadOnlySet<string> Words, Severity? Severity)
    {
        /// <summary>The first word of the name (split at anything but letters and digits) that is a credential store, or null.</summary>
        public string? In(string fileName) =>
            Severity is null ? null : fileName.Split(NotWord, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(Words.Contains);

        private static readonly char[] NotWord = [.. Enumerable.Range(0, 128).Select(c => (char)c).Where(c => !char.IsAsciiLetterOrDigit(c))];
    }

    /// <param name="ReportsAllowedOf">The rules whose allow-listed hits this rule reports.</param>
    public sealed record VendorArchiveRule(RuleInfo Info, IReadOnlySet<string> ReportsAllowedOf);

    /// <param name="ContentNot">The content kind the name promises (archive, minidump): the rule fires when the bytes are not one.</param>
    /// <param name="Locations">Folders (as in the staged-archive rule); empty means anywhere.</param>
    public sealed record NameRule(RuleInfo Info, string ContentNot, IReadOnlyList<RuleRegex> Names, IReadOnlyList<string> Locations, IReadOnlyList<PathGlob> Allow,
        Severity? SeverityWithExploitation, CredentialNames CredentialNames);

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
        public List<string> CredentialNames { get; set; } = [];
        public string? SeverityWithCredentialName { get; set; }
        public string? ContentNot { get; set; }
        public List<string> NamePatterns { get; set; } = [];
        public List<string> ReportsAllowedOf { get; set; } = [];
    }

    private static Severity? SeverityOf(EntryYaml rule, string? name)
    {
        if (name is null) return null;
        if (!SeverityNames.TryParseSeverity(name, out var sev)) throw new RuleDataException(FileName, rule.Id, $"unknown severity '{name}'");
        return sev;
    }

    private static CredentialNames CredentialsOf(EntryYaml rule) =>
        new(rule.CredentialNames.Select(w => w.ToLowerInvariant()).ToHashSet(StringComparer.OrdinalIgnoreCase), SeverityOf(rule, rule.SeverityWithCredentialName));

    private static NameRule NameRuleOf(EntryYaml rule)
    {
        if (rule.ContentNot is not ("archive" or "minidump"))
            throw new RuleDataException(FileName, rule.Id, $"content_not must be archive or minidump, not '{rule.ContentNot}'");
        var names = rule.NamePatterns.Select(p =>
        {
            try { return new RuleRegex(p, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant); }
            catch (ArgumentException e) { throw new RuleDataException(FileName, rule.Id, $"name pattern '{p}': {e.Message}"); }
        }).ToList();
        return new NameRule(rule.ToRuleInfo(FileName), rule.ContentNot, names, rule.Locations, rule.Allow.Select(a => new PathGlob(a)).ToList(),
            SeverityOf(rule, rule.SeverityWithExploitation), CredentialsOf(rule));
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
        return new SuspiciousFileRules
        {
            Version = file.Version ?? "unversioned",
            LsassDump = new(lsass.ToRuleInfo(FileName), lsass.ProcessImages, lsass.MarkerModules, lsass.NamesWithoutModules),
            ProcessDump = new(dump.ToRuleInfo(FileName), dump.BenignLocations),
            StagedArchive = new(archive.ToRuleInfo(FileName), archive.Locations, archive.Allow.Select(a => new PathGlob(a)).ToList(),
                SeverityOf(archive, archive.SeverityWithExploitation), CredentialsOf(archive)),
            NameRules = file.Rules.Where(r => r.NamePatterns.Count > 0).Select(NameRuleOf).ToList(),
            VendorArchive = file.Rules.FirstOrDefault(r => r.ReportsAllowedOf.Count > 0) is { } v
                ? new(v.ToRuleInfo(FileName), v.ReportsAllowedOf.ToHashSet(StringComparer.Ordinal)) : null,
        };
    }
}
