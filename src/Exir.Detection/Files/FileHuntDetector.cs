using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Exir.Core;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.Pipeline;
using Exir.Knowledge;
using Exir.Knowledge.Assessment;
using Exir.Knowledge.Discovery;

namespace Exir.Detection.Files;

/// <summary>
/// The Exchange file hunt: web shells and dropped files in web roots and Exchange web folders (every
/// file with --deep). Per file: YARA rules (built-in rules/yara plus --yara), published hashes and drop
/// paths, the PST-as-page check, the allow-list of what Exchange ships; after the walk: files newer
/// than the installed build and the comparison with a known-good baseline (--baseline).
/// </summary>
public sealed class FileHuntDetector : IDetector
{
    public const string CheckName = "web shell and dropped-file hunt";
    public const string BaselineCheck = "web baseline comparison";
    private const int ExcerptChars = 160;

    private readonly ScanOptions _options;
    private readonly IContentRules _content;
    private readonly ExchangeWebAllowList _allow;
    private readonly KnownFileIocs _iocs;
    private readonly List<string> _dataProblems = [];
    private readonly WebBaseline? _baseline;
    private readonly string? _baselineError;
    private readonly string? _knowledgeDirectory;
    private int _problemsReported;
    private readonly FileHuntRules _meta;

    // Gathered during the walk, judged in Complete() once the server's build is known.
    private readonly ConcurrentBag<(EvidenceFile File, string? Sha256)> _exchangeScripts = [];
    private readonly ConcurrentBag<(string Anchor, EvidenceFile File, string? Sha256)> _baselineCandidates = [];
    private readonly ConcurrentBag<EvidenceFile> _buildHints = [];
    private readonly ConcurrentDictionary<string, byte> _reported = new(StringComparer.Ordinal);

    public FileHuntDetector(ScanOptions options, DataFiles rules, IContentRules content)
    {
        _options = options;
        _content = content;
        _meta = FileHuntRules.Load(rules);
        _allow = ExchangeWebAllowList.Load(rules, _dataProblems);
        _iocs = KnownFileIocs.Load(rules, _dataProblems);
        _knowledgeDirectory = options.KnowledgeDirectory;
        if (options.BaselinePath is { } bp)
        {
            try { _baseline = WebBaseline.Read(bp); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                _baselineError = $"baseline {bp} not usable: {e.Message}";
            }
        }
    }

    /// <summary>The detector with the built-in YARA rules plus the user's --yara files and folders.</summary>
    public static FileHuntDetector Create(ScanOptions options, DataFiles rules) =>
        new(options, rules, YaraContentRules.Load(rules, options.ExtraYara));

    public string Name => "file-hunt";
    public IContentRules ContentRules => _content;
    public KnownFileIocs Iocs => _iocs;
    public ExchangeWebAllowList AllowList => _allow;

    public bool Wants(ArtifactProbe probe, ScanContext context)
    {
        ReportProblemsOnce(context);
        var file = probe.File;
        // A few hints are enough: one ExSetup.exe gives the SU, one file of a version folder the CU.
        if (_buildHints.Count < 64 && WebBaseline.IsBuildHint(file)) _buildHints.Add(file);
        if (_options.Deep) return true;
        if (probe.Kind is ArtifactKind.WebFile) return true;
        // web.config anywhere (script or handler tricks); other .config files only inside web folders.
        if (file.Name.Equals("web.config", StringComparison.OrdinalIgnoreCase)) return true;
        if (WebPaths.ScriptExtensions.Contains(file.Extension)) return true;
        return _allow.IsInWebFolder(file.RelativePath);
    }

    public void Inspect(ArtifactProbe probe, ScanContext context)
    {
        var file = probe.File;
        var path = file.RelativePath;
        var data = ReadCapped(file, context, out bool complete);
        if (data is null) return;

        string? sha256 = complete ? Convert.ToHexStringLower(SHA256.HashData(data)) : null;
        if (sha256 is not null) context.Coverage.FileHashes.TryAdd(path, sha256);
        var facts = new FileFacts(file.Name, path, file.Extension.TrimStart('.'));
        var baseDetails = BaseDetails(file, sha256, complete);

        // 1. Published hashes (SHA-256, and SHA-1/MD5 only when the lists hold such rows).
        if (complete) CheckHashes(data, sha256!, file, baseDetails, context);

        // 2. ProxyShell: a PST written under a web-script name.
        bool script = WebPaths.ScriptExtensions.Contains(file.Extension);
        if (script && data.Length >= 4 && data.AsSpan(0, 4).SequenceEqual("!BDN"u8))
        {
            Report(context, _meta.ProxyShellPst, file, "PST header '!BDN' at offset 0 of a " + file.Extension + " file", baseDetails);
        }

        // 3. Content rules, on text decoded from UTF-16 when the file carries a UTF-16 BOM (ASP.NET runs those too).
        ScanContent(data, file, facts, baseDetails, context);

        // 4. Where the file is: published drop paths and names, and the allow-list of Exchange's own pages.
        var inWatched = _allow.RuleFor(path);
        var pathIoc = _iocs.MatchPath(path) ?? (inWatched is not null && script ? _iocs.MatchName(path) : null);
        if (pathIoc is not null)
        {
            var d = new Dictionary<string, string>(baseDetails)
            {
                ["ioc"] = pathIoc.Value, ["ioc_context"] = pathIoc.Context, ["ioc_campaign"] = pathIoc.Campaign, ["ioc_source"] = pathIoc.Source,
            };
            Report(context, _meta.KnownShellPath, file, $"path matches published indicator '{pathIoc.Value}' ({pathIoc.Campaign})", d);
        }
        else if (script && _allow.IsUnexpected(path, out var rule))
        {
            var d = new Dictionary<string, string>(baseDetails)
            {
                ["watched_folder"] = rule!.Tail + (rule.Recursive ? "/**" : ""),
                ["exchange_ships"] = rule.Expected.Count == 0 ? "no script files" : string.Join(", ", rule.Expected),
            };
            Report(context, _meta.UnexpectedScript, file, $"'{file.Name}' is not among the files Exchange ships in {rule.Tail}", d);
        }

        // 5. Inputs of the whole-picture checks.
        if (script && IsExchangeFolder(path)) _exchangeScripts.Add((file, sha256));
        if (_baseline is not null && WebPaths.IsBaselined(path) && WebPaths.AnchorKey(path) is { } anchor)
            _baselineCandidates.Add((anchor, file, sha256));
    }

    public void Complete(ScanContext context)
    {
        ReportProblemsOnce(context);
        // The build to the SU comes only from ExSetup.exe; OWA folders and log headers give the CU.
        var found = BuildDiscovery.Best(BuildDiscovery.FindInFiles(_buildHints, new CoverageReport(), context.Cancellation));
        string? exactBuild = found is { Precision: Precision.Su } ? found.Build.ToString() : null;
        string? build = exactBuild ?? context.ExchangeBuild ?? found?.Build.ToString();
        CheckNewerThanBuild(context, build, exact: exactBuild is not null);
        CompareWithBaseline(context, exactBuild, build);
    }

    private void CheckNewerThanBuild(ScanContext context, string? build, bool exact)
    {
        if (_exchangeScripts.IsEmpty) return;
        DateTimeOffset? released = null;
        string? releaseName = null;
        if (build is not null && Exir.Knowledge.Builds.ExchangeBuild.TryParse(build, out var b))
        {
            try
            {
                var knowledge = ExchangeKnowledge.Load(_knowledgeDirectory);
                // Without the SU-exact build, later SUs of the line may have replaced pages: compare with the
                // newest release of the line, or every SU-updated page would be reported.
                var rel = exact ? knowledge.Find(b) : knowledge.LatestInLine(b) ?? knowledge.Find(b);
                if (rel?.Released is { } text && DateOnly.TryParse(text, CultureInfo.InvariantCulture, out var day))
                {
                    released = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
                    releaseName = $"{rel.Name} ({rel.Build})";
                }
            }
            catch (Exception e) when (e is IOException or InvalidDataException or FormatException)
            {
                context.Coverage.CheckNotRun("web files newer than the installed build", $"build knowledge not readable: {e.Message}");
                return;
            }
        }
        if (released is null)
        {
            context.Coverage.CheckNotRun("web files newer than the installed build",
                build is null ? "the Exchange build is not known from the evidence" : $"no release date known for build {build}");
            return;
        }
        // Two days of slack: installers and time zones put shipped files on the release day or the day after.
        var limit = released.Value.AddDays(2);
        foreach (var (file, sha) in _exchangeScripts)
        {
            if (file.LastWriteUtc is not { } mtime || mtime <= limit) continue;
            if (_reported.ContainsKey(file.RelativePath)) continue;
            var d = BaseDetails(file, sha, true);
            d["installed_build"] = build!;
            d["build_released_utc"] = released.Value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            d["compared_with_release"] = releaseName ?? build!;
            d["build_precision"] = exact ? "exact (ExSetup.exe)" : "CU only: compared with the newest release of the line";
            Report(context, _meta.NewerThanBuild, file,
                $"modified {mtime.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z, after build {build} was released ({released:yyyy-MM-dd})", d, markReported: false);
        }
    }

    private void CompareWithBaseline(ScanContext context, string? exactBuild, string? anyBuild)
    {
        if (_options.BaselinePath is null) return;
        if (_baselineError is not null)
        {
            context.Coverage.CheckNotRun(BaselineCheck, _baselineError);
            return;
        }
        var refusal = exactBuild is null
            ? $"the scanned server's exact build (with the Security Update) is unknown{(anyBuild is null ? "" : $": only {anyBuild} is known, which does not show the SU")}; the baseline is for {_baseline!.Build}. Include Bin/ExSetup.exe in the evidence"
            : _baseline!.RefusalFor(exactBuild);
        if (refusal is not null)
        {
            context.Coverage.CheckNotRun(BaselineCheck, "refused: " + refusal);
            return;
        }
        foreach (var (anchor, file, sha) in _baselineCandidates.OrderBy(c => c.Anchor, StringComparer.Ordinal))
        {
            var d = BaseDetails(file, sha, sha is not null);
            d["baseline_build"] = _baseline.Build;
            if (!_baseline.Files.TryGetValue(WebBaseline.Key(anchor), out var known))
            {
                Report(context, _meta.BaselineAdded, file, $"'{anchor}' is not in the baseline of build {_baseline.Build}", d, markReported: false);
                continue;
            }
            if (sha is null)
            {
                context.Coverage.AddIssue(IssueKind.TooLarge, file.RelativePath, "larger than the per-file cap: not compared with the baseline");
                continue;
            }
            if (!sha.Equals(known.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                d["baseline_sha256"] = known.Sha256;
                d["baseline_size"] = known.Size.ToString(CultureInfo.InvariantCulture);
                Report(context, _meta.BaselineChanged, file,
                    $"'{anchor}' differs from the baseline of build {_baseline.Build} (size {file.Length} vs {known.Size})", d, markReported: false);
            }
        }
    }

    private void ScanContent(byte[] data, EvidenceFile file, FileFacts facts, Dictionary<string, string> baseDetails, ScanContext context)
    {
        ReadOnlySpan<byte> text = data;
        string? decoded = null;
        if (data.Length >= 2 && ((data[0] == 0xFF && data[1] == 0xFE) || (data[0] == 0xFE && data[1] == 0xFF)))
        {
            var enc = data[0] == 0xFF ? Encoding.Unicode : Encoding.BigEndianUnicode;
            text = Encoding.UTF8.GetBytes(enc.GetString(data, 2, data.Length - 2));
            decoded = data[0] == 0xFF ? "utf-16le" : "utf-16be";
        }
        IReadOnlyList<ContentRuleMatch> matches;
        try { matches = _content.Scan(text, facts); }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            context.Coverage.AddIssue(IssueKind.CheckNotRun, file.RelativePath, $"YARA scan failed: {e.Message}");
            return;
        }
        foreach (var m in matches)
        {
            var info = RuleInfoOf(m);
            var d = new Dictionary<string, string>(baseDetails);
            foreach (var (k, v) in m.Meta) d["meta." + k] = v;
            d["rule_namespace"] = m.Namespace;
            d["rule_source"] = m.BuiltIn ? "built-in (rules/yara)" : "user rules (--yara)";
            if (m.Tags.Count > 0) d["rule_tags"] = string.Join(' ', m.Tags);
            if (decoded is not null) d["scanned_as"] = decoded + " decoded to utf-8";
            d["matched_strings"] = string.Join(", ", m.Strings.Take(20).Select(s => $"{s.Identifier}@{s.Offset}"))
                                   + (m.Strings.Count > 20 ? $" (+{m.Strings.Count - 20} more)" : "");
            Report(context, info, file, Excerpt(m), d);
        }
    }

    private void CheckHashes(byte[] data, string sha256, EvidenceFile file, Dictionary<string, string> baseDetails, ScanContext context)
    {
        var hit = _iocs.MatchHash(sha256);
        if (hit is null && _iocs.HasSha1) hit = _iocs.MatchHash(Convert.ToHexStringLower(SHA1.HashData(data)));
        if (hit is null && _iocs.HasMd5) hit = _iocs.MatchHash(Convert.ToHexStringLower(MD5.HashData(data)));
        if (hit is null) return;
        var d = new Dictionary<string, string>(baseDetails)
        {
            ["ioc_hash"] = hit.Value, ["ioc_type"] = hit.Type, ["ioc_context"] = hit.Context, ["ioc_campaign"] = hit.Campaign, ["ioc_source"] = hit.Source,
        };
        Report(context, _meta.KnownBadHash, file, $"{hit.Type} {hit.Value}: {hit.Context}", d);
    }

    private byte[]? ReadCapped(EvidenceFile file, ScanContext context, out bool complete)
    {
        long cap = Math.Max(1, _options.MaxBytesPerFile);
        long want = Math.Min(file.Length, cap);
        complete = file.Length <= cap;
        if (!complete)
            context.Coverage.AddIssue(IssueKind.TooLarge, file.RelativePath,
                $"{file.Length:N0} bytes: only the first {cap:N0} scanned (cap per file); not hashed");
        try
        {
            using var s = file.OpenRead();
            var buffer = new byte[want];
            int n = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            if (n < buffer.Length)
            {
                // The file shrank or lied about its size (zip member, file being written): scan what is there.
                Array.Resize(ref buffer, n);
                if (complete) context.Coverage.AddIssue(IssueKind.Truncated, file.RelativePath, $"expected {file.Length:N0} bytes, read {n:N0}");
            }
            else if (complete && s.ReadByte() >= 0)
            {
                // The file grew since it was listed: what was scanned is not the whole file.
                complete = false;
                context.Coverage.AddIssue(IssueKind.Truncated, file.RelativePath, "file grew while being read; first part scanned, not hashed");
            }
            return buffer;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or NotSupportedException)
        {
            context.Coverage.AddIssue(IssueKind.Unreadable, file.RelativePath, $"{Name}: {e.Message}");
            return null;
        }
    }

    private bool IsExchangeFolder(string path) =>
        WebPaths.ContainsSegments(path, "FrontEnd/HttpProxy") || WebPaths.ContainsSegments(path, "ClientAccess");

    private static Dictionary<string, string> BaseDetails(EvidenceFile file, string? sha256, bool complete)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal) { ["size"] = file.Length.ToString(CultureInfo.InvariantCulture) };
        if (sha256 is not null) d["sha256"] = sha256;
        else if (!complete) d["sha256"] = "(not computed: file larger than the per-file cap)";
        if (file.LastWriteUtc is { } m) d["file_modified_utc"] = m.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        return d;
    }

    private void Report(ScanContext context, RuleInfo rule, EvidenceFile file, string evidence, Dictionary<string, string> details, bool markReported = true)
    {
        if (markReported) _reported.TryAdd(file.RelativePath, 0);
        // A present web shell is reported whatever --since/--until say: the file's time is kept in the
        // details, and used as the finding's time only when it lies inside the window.
        var t = file.LastWriteUtc;
        if (t is not null && !_options.InWindow(t)) t = null;
        context.Report(Finding.FromRule(rule, file.RelativePath) with { Timestamp = t, Evidence = evidence, Details = details });
    }

    /// <summary>YARA rule metadata to a finding's rule: built-in rules carry id/title/severity; user rules get sane defaults.</summary>
    public static RuleInfo RuleInfoOf(ContentRuleMatch m)
    {
        var meta = m.Meta;
        var severity = Severity.High;
        if (meta.TryGetValue("severity", out var sv) && SeverityNames.TryParseSeverity(sv, out var s)) severity = s;
        else if (meta.TryGetValue("score", out var sc) && int.TryParse(sc, NumberStyles.Integer, CultureInfo.InvariantCulture, out var score))
            severity = score >= 80 ? Severity.High : score >= 60 ? Severity.Medium : Severity.Low;
        string title = meta.GetValueOrDefault("title") ?? meta.GetValueOrDefault("description") ?? m.Rule;
        return new RuleInfo
        {
            Id = "yara:" + m.Rule,
            Title = title,
            Severity = severity,
            // A rule of high confidence that matched means a shell or malware is on disk.
            Outcome = severity >= Severity.High ? Outcome.Success : Outcome.Indicator,
            Attack = SplitList(meta.GetValueOrDefault("attack") ?? meta.GetValueOrDefault("mitre_attack")),
            Explanation = meta.GetValueOrDefault("description") ?? "",
            References = SplitList(meta.GetValueOrDefault("references") ?? meta.GetValueOrDefault("reference")),
        };
    }

    private static IReadOnlyList<string> SplitList(string? s) =>
        string.IsNullOrWhiteSpace(s) ? [] : s.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The matched bytes as readable text: the first strings, control characters shown as '.', capped.</summary>
    public static string Excerpt(ContentRuleMatch m)
    {
        if (m.Strings.Count == 0) return $"rule {m.Rule} matched (condition without strings)";
        var parts = new List<string>();
        int total = 0;
        foreach (var s in m.Strings.DistinctBy(s => s.Identifier))
        {
            var text = Printable(s.Data.Span);
            if (text.Length > ExcerptChars) text = text[..ExcerptChars] + "...";
            parts.Add($"{s.Identifier}: {text}");
            total += text.Length;
            if (parts.Count >= 3 || total > 400) break;
        }
        return string.Join(" | ", parts);
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var s = Encoding.UTF8.GetString(bytes);
        var sb = new StringBuilder(s.Length);
        bool space = false;
        foreach (var c in s)
        {
            if (char.IsWhiteSpace(c)) { if (!space) sb.Append(' '); space = true; continue; }
            space = false;
            sb.Append(char.IsControl(c) || c == '\uFFFD' ? '.' : c);
        }
        return sb.ToString().Trim();
    }

    private void ReportProblemsOnce(ScanContext context)
    {
        if (Interlocked.Exchange(ref _problemsReported, 1) == 1) return;
        foreach (var p in _dataProblems) context.Coverage.AddIssue(IssueKind.Malformed, "rules", p);
        foreach (var p in _content.Problems)
            context.Coverage.AddIssue(p.Skipped ? IssueKind.RuleSkipped : IssueKind.Malformed, p.Path, p.Message);
        if (_content.RuleCount == 0) context.Coverage.CheckNotRun(CheckName + " (YARA)", "no YARA rule compiled");
    }
}
