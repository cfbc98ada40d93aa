using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Exir.Core;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.Files.Checks;
using Exir.Pipeline;

namespace Exir.Detection.Files;

/// <summary>
/// The Exchange file hunt: web shells and dropped files in web roots and Exchange web folders (every file
/// with --deep). Reads each file once (capped), hashes it, and hands it to its checks: published hashes,
/// the PST-as-page check, content rules (YARA), published drop paths and the allow-list of what Exchange
/// ships; after the walk of a root: files newer than the installed build and the comparison with a
/// known-good baseline.
/// </summary>
public sealed class FileHunt : IFileConsumer
{
    public const string CheckName = "web shell and dropped-file hunt";

    private readonly RunOptions _options;
    private readonly FileHuntRules _rules;
    private readonly ExchangeWebAllowList _allow;
    private readonly IContentRules _content;
    private readonly List<string> _dataProblems = [];
    private readonly IReadOnlyList<IFileCheck> _checks;

    public FileHunt(RunOptions options, DataFiles data, IContentRules content, BuildHints build, FileHuntRules? rules = null)
    {
        _options = options;
        _content = content;
        _rules = rules ?? FileHuntRules.Load(data);
        _allow = ExchangeWebAllowList.Load(data, _dataProblems);
        Iocs = KnownFileIocs.Load(data, _dataProblems);
        WebBaseline? baseline = null;
        string? baselineError = null;
        if (options.BaselinePath is { } bp)
        {
            try { baseline = WebBaseline.Read(bp); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                baselineError = $"baseline {bp} not usable: {e.Message}";
            }
        }
        _checks =
        [
            new PublishedHashCheck(_rules.KnownBadHash, Iocs),
            new PstAsWebPageCheck(_rules.ProxyShellPst, _rules.ScriptExtensions),
            new ContentRuleCheck(content),
            new DropLocationCheck(_rules, Iocs, _allow),
            new NewerThanBuildCheck(_rules, build, options.KnowledgeDirectory),
            new BaselineCheck(_rules, baseline, baselineError, options.BaselinePath is not null, build),
        ];
    }

    /// <summary>The hunt with the built-in YARA rules plus the user's --yara files and folders.</summary>
    public static FileHunt Create(RunOptions options, DataFiles data, BuildHints build, FileHuntRules? rules = null) =>
        new(options, data, YaraContentRules.Load(data, options.ExtraYara), build, rules);

    public string Name => "file-hunt";
    public IContentRules ContentRules => _content;
    public KnownFileIocs Iocs { get; }
    public ExchangeWebAllowList AllowList => _allow;
    public FileHuntRules Rules => _rules;

    public bool Wants(ArtifactProbe probe, RunContext context)
    {
        ReportProblemsOnce(context);
        var file = probe.File;
        if (_options.Deep) return true;
        if (probe.Kind is ArtifactKind.WebFile) return true;
        // web.config anywhere (script or handler tricks); other .config files only inside web folders.
        if (file.Name.Equals("web.config", StringComparison.OrdinalIgnoreCase)) return true;
        if (_rules.ScriptExtensions.Contains(file.Extension)) return true;
        return _allow.IsInWebFolder(file.RelativePath);
    }

    public void Inspect(ArtifactProbe probe, RunContext context)
    {
        var file = probe.File;
        // The bytes live in a buffer shared by the run's workers (bounded: see FileBuffers), valid during the checks only.
        using var lease = ReadCapped(file, context, out int length, out bool complete);
        if (lease is null) return;
        var data = lease.Array.AsMemory(0, length);
        string? sha256 = complete ? Convert.ToHexStringLower(SHA256.HashData(data.Span)) : null;
        if (sha256 is not null) context.Coverage.FileHashes.TryAdd(file.RelativePath, sha256);
        var subject = new FileUnderTest(file, data, sha256, _rules.ScriptExtensions.Contains(file.Extension));
        var report = new FileHuntReport(context, _options, context.StateOf<FileHuntRootState>(this));
        foreach (var check in _checks) check.Inspect(subject, report);
    }

    public void CompleteRoot(RunContext context)
    {
        ReportProblemsOnce(context);
        var report = new FileHuntReport(context, _options, context.StateOf<FileHuntRootState>(this));
        foreach (var check in _checks) check.CompleteRoot(report);
    }

    private FileBuffers.Lease? ReadCapped(EvidenceFile file, RunContext context, out int length, out bool complete)
    {
        length = 0;
        long cap = Math.Max(1, _options.MaxBytesPerFile);
        long want = Math.Min(file.Length, cap);
        complete = file.Length <= cap;
        if (!complete)
            context.Coverage.AddIssue(IssueKind.TooLarge, file.RelativePath,
                $"{file.Length:N0} bytes: only the first {cap:N0} scanned (cap per file); not hashed");
        FileBuffers.Lease? lease = null;
        try
        {
            using var s = file.OpenRead();
            lease = context.Buffers.Rent(want, context.Cancellation);
            var buffer = lease.Array.AsSpan(0, (int)want);
            int n = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            length = n;
            if (n < buffer.Length)
            {
                // The file shrank or lied about its size (zip member, file being written): scan what is there.
                if (complete) context.Coverage.AddIssue(IssueKind.Truncated, file.RelativePath, $"expected {file.Length:N0} bytes, read {n:N0}");
            }
            else if (complete && s.ReadByte() >= 0)
            {
                // The file grew since it was listed: what was scanned is not the whole file.
                complete = false;
                context.Coverage.AddIssue(IssueKind.Truncated, file.RelativePath, "file grew while being read; first part scanned, not hashed");
            }
            return lease;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or NotSupportedException)
        {
            lease?.Dispose();
            context.Coverage.AddIssue(IssueKind.Unreadable, file.RelativePath, $"{Name}: {e.Message}");
            return null;
        }
    }

    private void ReportProblemsOnce(RunContext context)
    {
        var state = context.StateOf<FileHuntRootState>(this);
        if (Interlocked.Exchange(ref state.ProblemsReported, 1) == 1) return;
        foreach (var p in _dataProblems) context.Coverage.AddIssue(IssueKind.Malformed, "rules", p);
        foreach (var p in _content.Problems)
            context.Coverage.AddIssue(p.Skipped ? IssueKind.RuleSkipped : IssueKind.Malformed, p.Path, p.Message);
        if (_content.RuleCount == 0) context.Coverage.CheckNotRun(CheckName + " (YARA)", "no YARA rule compiled");
    }
}

/// <summary>A file as the checks see it: read once (up to the per-file cap), with its hash when read whole.</summary>
public sealed class FileUnderTest(EvidenceFile file, ReadOnlyMemory<byte> data, string? sha256, bool isScript)
{
    public EvidenceFile File { get; } = file;
    /// <summary>The bytes read (a window on a shared buffer: valid during the checks' Inspect only).</summary>
    public ReadOnlyMemory<byte> Data { get; } = data;
    /// <summary>Null when the file is larger than the per-file cap (only its start was read).</summary>
    public string? Sha256 { get; } = sha256;
    public bool Complete => Sha256 is not null;
    /// <summary>The extension is one IIS hands to a script engine.</summary>
    public bool IsScript { get; } = isScript;
    public string Path => File.RelativePath;

    /// <summary>Size, hash and modification time: the details every file finding carries.</summary>
    public Dictionary<string, string> BaseDetails() => FileHuntReport.BaseDetails(File, Sha256, Complete);
}

/// <summary>What the file hunt gathers per evidence root for the whole-picture checks.</summary>
public sealed class FileHuntRootState
{
    public int ProblemsReported;
    /// <summary>Files already reported by a per-file check (a later check does not pile on).</summary>
    public ConcurrentDictionary<string, byte> Reported { get; } = new(StringComparer.Ordinal);
    public ConcurrentBag<(EvidenceFile File, string? Sha256)> ExchangeScripts { get; } = [];
    public ConcurrentBag<(string Anchor, EvidenceFile File, string? Sha256)> BaselineCandidates { get; } = [];
}

/// <summary>How a check reports: the finding carries the file's time labelled as a modification time (never as the attack's).</summary>
public sealed class FileHuntReport(RunContext context, RunOptions options, FileHuntRootState state)
{
    public RunContext Context => context;
    public FileHuntRootState State => state;

    public void Report(RuleInfo rule, EvidenceFile file, string evidence, Dictionary<string, string> details, bool markReported = true)
    {
        if (markReported) state.Reported.TryAdd(file.RelativePath, 0);
        // A present web shell is reported whatever --since/--until say: the file's time is kept in the
        // details, and used as the finding's time only when it lies inside the window.
        var t = file.LastWriteUtc;
        if (t is not null && !options.InWindow(t)) t = null;
        context.Report(Finding.FromRule(rule, file.RelativePath) with
        {
            Timestamp = t, TimeSource = t is null ? null : TimeSources.FileModified, Evidence = evidence, Details = details,
        });
    }

    public static Dictionary<string, string> BaseDetails(EvidenceFile file, string? sha256, bool complete)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal) { ["size"] = file.Length.ToString(CultureInfo.InvariantCulture) };
        if (sha256 is not null) d["sha256"] = sha256;
        else if (!complete) d["sha256"] = "(not computed: file larger than the per-file cap)";
        if (file.LastWriteUtc is { } m) d["file_modified_utc"] = m.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        return d;
    }
}
