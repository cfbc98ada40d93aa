using Exir.Core;
using Exir.Core.Coverage;
using Exir.Core.Findings;
using Exir.Pipeline;
using Exir.Detection.Rules;

namespace Exir.Detection.Artifacts;

/// <summary>
/// Memory dumps anywhere (by the MDMP signature, not by name) and archives staged in the folders
/// attackers use (by magic bytes). Grading and locations come from rules/files/suspicious-files.yaml.
/// </summary>
public sealed class SuspiciousFilesDetector : IFileConsumer
{
    private const int DumpReadLimit = 64 << 20;
    private readonly SuspiciousFileRules _rules;

    public SuspiciousFilesDetector(SuspiciousFileRules rules) => _rules = rules;

    public string Name => "suspicious-files";

    public bool Wants(ArtifactProbe probe, RunContext context) =>
        probe.Kind is ArtifactKind.MiniDump || (probe.Kind is ArtifactKind.Archive && IsStagingLocation(probe.File.RelativePath));

    public void Inspect(ArtifactProbe probe, RunContext context)
    {
        if (probe.Kind == ArtifactKind.MiniDump) InspectDump(probe, context);
        else InspectArchive(probe, context);
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
        if (PathGlob.AnyMatch(rule.Allow, "/" + file.RelativePath)) return;
        var format = ArchiveMagic.Detect(probe.Head.Span) ?? "archive";
        var details = new Dictionary<string, string> { ["format"] = format, ["size"] = file.Length.ToString() };
        if (file.LastWriteUtc is { } mtime) details["file_modified_utc"] = mtime.ToString("O");
        context.Report(Finding.FromRule(rule.Info, file.RelativePath) with
        {
            Timestamp = file.LastWriteUtc,
            TimeSource = file.LastWriteUtc is null ? null : TimeSources.FileModified,
            Evidence = $"{format} archive of {file.Length:N0} bytes named '{file.Name}'",
            Details = details,
        });
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

    /// <summary>Archives are graded up when the same scan found exploitation or a shell.</summary>
    public Finding Escalate(Finding finding) =>
        finding.RuleId == _rules.StagedArchive.Info.Id && _rules.StagedArchive.SeverityWithExploitation is { } s && s > finding.Severity
            ? finding with { Severity = s, Details = new Dictionary<string, string>(finding.Details) { ["graded_up"] = "exploitation found in the same scan" } }
            : finding;
}
