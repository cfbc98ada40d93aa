using Exir.Core;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Pipeline;
using Exir.Detection.Rules;

namespace Exir.Detection.Artifacts;

/// <summary>
/// Memory dumps anywhere (by the MDMP signature, not by name), archives staged in the folders
/// attackers use (by magic bytes), and files whose names promise an archive or a dump their bytes are not
/// (split volumes, cut copies, disguised or encrypted files: what Test-ProxyLogon flags by name).
/// Grading, names and locations come from rules/files/suspicious-files.yaml.
/// </summary>
public sealed class SuspiciousFilesDetector : IFileConsumer
{
    private const int DumpReadLimit = 64 << 20;
    private readonly SuspiciousFileRules _rules;
    private readonly Dictionary<string, Severity> _withExploitation = new(StringComparer.Ordinal);

    public SuspiciousFilesDetector(SuspiciousFileRules rules)
    {
        _rules = rules;
        if (rules.StagedArchive.SeverityWithExploitation is { } s) _withExploitation[rules.StagedArchive.Info.Id] = s;
        foreach (var r in rules.NameRules)
            if (r.SeverityWithExploitation is { } n) _withExploitation[r.Info.Id] = n;
    }

    public string Name => "suspicious-files";

    public bool Wants(ArtifactProbe probe, RunContext context) =>
        probe.Kind is ArtifactKind.MiniDump || (probe.Kind is ArtifactKind.Archive && IsStagingLocation(probe.File.RelativePath))
        || _rules.NameRules.Any(r => NameMatches(r, probe));

    public void Inspect(ArtifactProbe probe, RunContext context)
    {
        if (probe.Kind == ArtifactKind.MiniDump) InspectDump(probe, context);
        else if (probe.Kind == ArtifactKind.Archive && IsStagingLocation(probe.File.RelativePath)) InspectArchive(probe, context);
        foreach (var rule in _rules.NameRules)
        {
            if (!NameMatches(rule, probe)) continue;
            if (!PathGlob.AnyMatch(rule.Allow, "/" + probe.File.RelativePath)) ReportName(rule, probe, context);
            else ReportVendor(rule.Info.Id, probe, context, $"named like an archive, content not recognised ({ContentOf(probe)})");
        }
    }

    /// <summary>
    /// Empty files are not read (the evidence source names them in the coverage), but a name like an archive or a
    /// dump still counts: Test-ProxyLogon lists an empty lsass.dmp or x.zip too.
    /// </summary>
    public void CompleteRoot(RunContext context)
    {
        foreach (var issue in context.Coverage.Issues.ToList())
        {
            if (issue.Kind != IssueKind.SpecialOrEmptyFile || !issue.Message.StartsWith("empty file", StringComparison.Ordinal)) continue;
            var probe = new ArtifactProbe { File = new EvidenceFile(issue.Path, 0, null, () => Stream.Null), Kind = ArtifactKind.Unknown, Head = ReadOnlyMemory<byte>.Empty };
            if (_rules.NameRules.Any(r => NameMatches(r, probe))) Inspect(probe, context);
        }
    }

    /// <summary>The name promises what the bytes are not, in a folder the rule watches.</summary>
    private static bool NameMatches(SuspiciousFileRules.NameRule rule, ArtifactProbe probe)
    {
        var isPromisedKind = rule.ContentNot switch { "archive" => probe.Kind == ArtifactKind.Archive, _ => probe.Kind == ArtifactKind.MiniDump };
        var file = probe.File;
        return !isPromisedKind && rule.Names.Any(n => n.IsMatch(file.Name))
            && (rule.Locations.Count == 0 || rule.Locations.Any(l => ContainsSegment(file.RelativePath, l)));
    }

    /// <summary>
    /// What a rule's allow-list left out, reported by the vendor rule that covers that rule (if any): kept only when
    /// the host shows exploitation (<see cref="Grade"/>), since Test-ProxyLogon then lists every archive below ProgramData.
    /// </summary>
    private void ReportVendor(string allowedBy, ArtifactProbe probe, RunContext context, string what)
    {
        if (_rules.VendorArchive is not { } vendor || !vendor.ReportsAllowedOf.Contains(allowedBy)) return;
        var file = probe.File;
        var details = new Dictionary<string, string> { ["size"] = file.Length.ToString(), ["allow_listed_by"] = allowedBy };
        if (file.LastWriteUtc is { } mtime) details["file_modified_utc"] = mtime.ToString("O");
        context.Report(Finding.FromRule(vendor.Info, file.RelativePath) with
        {
            Timestamp = file.LastWriteUtc,
            TimeSource = file.LastWriteUtc is null ? null : TimeSources.FileModified,
            Evidence = $"{what} in a vendor folder: '{file.Name}', {file.Length:N0} bytes",
            Details = details,
        });
    }

    private static void ReportName(SuspiciousFileRules.NameRule rule, ArtifactProbe probe, RunContext context)
    {
        var file = probe.File;
        var details = new Dictionary<string, string> { ["size"] = file.Length.ToString(), ["content"] = ContentOf(probe) };
        var severity = Graded(rule.Info.Severity, rule.CredentialNames, file.Name, details);
        if (file.LastWriteUtc is { } mtime) details["file_modified_utc"] = mtime.ToString("O");
        var (promised, why) = rule.ContentNot == "archive" ? ("an archive", "truncated, split or disguised") : ("a memory dump", "truncated, compressed, encrypted or disguised");
        context.Report(Finding.FromRule(rule.Info, file.RelativePath) with
        {
            Severity = severity,
            Timestamp = file.LastWriteUtc,
            TimeSource = file.LastWriteUtc is null ? null : TimeSources.FileModified,
            Evidence = $"named like {promised} ('{file.Name}', {file.Length:N0} bytes), content not recognised ({details["content"]}): {why}",
            Details = details,
        });
    }

    /// <summary>What the first bytes are, in words, for the evidence of a name rule.</summary>
    private static string ContentOf(ArtifactProbe probe) =>
        probe.File.Length == 0 ? "empty" : probe.Kind switch
        {
            ArtifactKind.Archive => $"{ArchiveMagic.Detect(probe.Head.Span)} archive",
            ArtifactKind.MiniDump => "MDMP minidump",
            ArtifactKind.Executable => "executable",
            ArtifactKind.Log => "log text",
            ArtifactKind.EventLog => "event log",
            _ => probe.Head.Length >= 4 ? $"starts {Convert.ToHexString(probe.Head.Span[..4])}" : "a few bytes",
        };

    /// <summary>A name that points at a credential store (ntds, sam, system, lsass) grades the finding up.</summary>
    private static Severity Graded(Severity severity, SuspiciousFileRules.CredentialNames names, string fileName, Dictionary<string, string> details)
    {
        if (names.In(fileName) is not { } word || names.Severity is not { } up || up <= severity) return severity;
        details["credential_store_name"] = word;
        return up;
    }

    private void InspectDump(ArtifactProbe probe, RunContext context)
    {
        var file = probe.File;
        var data = ReadBounded(probe, context, DumpReadLimit);
        var info = MiniDumpReader.Read(data);
        var lsass = _rules.LsassDump;
        bool isLsass = info.ProcessImage is { } img && lsass.ProcessImages.Any(p => IsImage(img, p))
                       || info.Modules.Any(m => lsass.MarkerModules.Any(mm => m.EndsWith("\\" + mm, StringComparison.OrdinalIgnoreCase)))
                       || (info.Modules.Count == 0 && lsass.NamesWithoutModules.Any(n => file.Name.Contains(n, StringComparison.OrdinalIgnoreCase)));
        var details = new Dictionary<string, string>
        {
            ["size"] = file.Length.ToString(),
            ["dumped_process"] = info.ProcessImage ?? "(module list not readable)",
            ["modules"] = info.Modules.Count.ToString(),
        };
        if (file.LastWriteUtc is { } mtime) details["file_modified_utc"] = mtime.ToString("O");
        if (info.Created is { } created) details["dump_created_utc"] = created.ToString("O");
        if (!info.Valid) details["structure"] = "MDMP signature, but the header or stream directory does not check out: no time read from it";
        // The dump header dates the dump only when its structure checked out; a file time may be a copy time.
        var (time, source) = info.Created is { } c ? (c, TimeSources.DumpHeader) : (file.LastWriteUtc, TimeSources.FileModified);
        if (time is null) source = null!;
        if (isLsass)
        {
            context.Report(Finding.FromRule(lsass.Info, file.RelativePath) with
            {
                Timestamp = time,
                TimeSource = source,
                Evidence = $"MDMP minidump of {info.ProcessImage ?? "lsass (by name)"}, {file.Length:N0} bytes",
                Details = details,
            });
            return;
        }
        var other = _rules.ProcessDump;
        if (other.BenignLocations.Any(l => ContainsSegment(file.RelativePath, l))) return;
        context.Report(Finding.FromRule(other.Info, file.RelativePath) with
        {
            Timestamp = time,
            TimeSource = source,
            Evidence = $"MDMP minidump of {info.ProcessImage ?? "an unknown process"}, {file.Length:N0} bytes",
            Details = details,
        });
    }

    private void InspectArchive(ArtifactProbe probe, RunContext context)
    {
        var file = probe.File;
        var rule = _rules.StagedArchive;
        var format = ArchiveMagic.Detect(probe.Head.Span) ?? "archive";
        if (PathGlob.AnyMatch(rule.Allow, "/" + file.RelativePath))
        {
            ReportVendor(rule.Info.Id, probe, context, $"{format} archive");
            return;
        }
        var details = new Dictionary<string, string> { ["format"] = format, ["size"] = file.Length.ToString() };
        var severity = Graded(rule.Info.Severity, rule.CredentialNames, file.Name, details);
        if (severity == rule.Info.Severity && format == "zip" && CredentialMember(probe, rule.CredentialNames, details) is { } member)
        {
            details["credential_store_member"] = member;
            severity = rule.CredentialNames.Severity!.Value;
        }
        if (file.LastWriteUtc is { } mtime) details["file_modified_utc"] = mtime.ToString("O");
        context.Report(Finding.FromRule(rule.Info, file.RelativePath) with
        {
            Severity = severity,
            Timestamp = file.LastWriteUtc,
            TimeSource = file.LastWriteUtc is null ? null : TimeSources.FileModified,
            Evidence = $"{format} archive of {file.Length:N0} bytes named '{file.Name}'",
            Details = details,
        });
    }

    private const int MaxMembersListed = 10_000;

    /// <summary>
    /// A member of a zip whose name points at a credential store (ntds.dit, SAM, SYSTEM), from its central
    /// directory only (nothing is inflated); only for files that can be read by seeking, so no archive is buffered.
    /// </summary>
    private static string? CredentialMember(ArtifactProbe probe, SuspiciousFileRules.CredentialNames names, Dictionary<string, string> details)
    {
        if (names.Severity is null) return null;
        try
        {
            using var stream = probe.File.OpenRead();
            if (!stream.CanSeek) return null;
            using var zip = new System.IO.Compression.ZipArchive(stream, System.IO.Compression.ZipArchiveMode.Read);
            foreach (var entry in zip.Entries.Take(MaxMembersListed))
                if (names.In(entry.Name) is not null) return entry.FullName;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            // A cut or damaged zip (its central directory sits at the end): said in the finding, the file itself was read.
            details["members"] = $"member list not readable: {e.Message}";
        }
        return null;
    }

    /// <summary>The dumped image is the named program: the whole file name, not its tail ("notlsass.exe" is not lsass.exe).</summary>
    private static bool IsImage(string image, string name) =>
        image.Equals(name, StringComparison.OrdinalIgnoreCase)
        || image.EndsWith("\\" + name, StringComparison.OrdinalIgnoreCase) || image.EndsWith("/" + name, StringComparison.OrdinalIgnoreCase);

    /// <summary>Staged archives are only reported in the folders the rule names; archives elsewhere are everyday files.</summary>
    private bool IsStagingLocation(string relativePath) => _rules.StagedArchive.Locations.Any(l => ContainsSegment(relativePath, l));

    private static bool ContainsSegment(string relativePath, string folder)
    {
        var path = "/" + relativePath.Replace('\\', '/');
        return path.Contains("/" + folder.Trim('/') + "/", StringComparison.OrdinalIgnoreCase);
    }

    private static byte[] ReadBounded(ArtifactProbe probe, RunContext context, int limit)
    {
        try
        {
            using var stream = probe.File.OpenRead();
            int size = (int)Math.Min(limit, probe.File.Length);
            var buffer = new byte[size];
            int n = stream.ReadAtLeast(buffer, size, throwOnEndOfStream: false);
            return n == size ? buffer : buffer[..n];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            context.Coverage.AddIssue(IssueKind.Unreadable, probe.File.RelativePath, e.Message);
            return probe.Head.ToArray();
        }
    }

    /// <summary>
    /// The host's findings as its exploitation grades them: archives and names like them grade up when the same scan
    /// found exploitation or a shell; vendor-folder archives are kept only then.
    /// </summary>
    public IEnumerable<Finding> Grade(IEnumerable<Finding> findings, bool exploitation) =>
        exploitation ? findings.Select(Escalate) : findings.Where(f => f.RuleId != _rules.VendorArchive?.Info.Id);

    /// <summary>Archives and names like them are graded up when the same scan found exploitation or a shell.</summary>
    public Finding Escalate(Finding finding) =>
        _withExploitation.TryGetValue(finding.RuleId, out var s) && s > finding.Severity
            ? finding with { Severity = s, Details = new Dictionary<string, string>(finding.Details) { ["graded_up"] = "exploitation found in the same scan" } }
            : finding;
}
