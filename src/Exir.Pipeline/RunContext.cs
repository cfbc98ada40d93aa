using System.Collections.Concurrent;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;

namespace Exir.Pipeline;

/// <summary>Options of a run over evidence: the pipeline's own, and those its consumers read.</summary>
public sealed record RunOptions
{
    public DateTimeOffset? Since { get; init; }
    public DateTimeOffset? Until { get; init; }
    /// <summary>Scan every file of the drive with the file rules, not only web and staging folders.</summary>
    public bool Deep { get; init; }
    public bool HashAll { get; init; }
    /// <summary>Override folder for rules/ (detection data).</summary>
    public string? RulesDirectory { get; init; }
    /// <summary>Override folder for knowledge/ (build tables).</summary>
    public string? KnowledgeDirectory { get; init; }
    /// <summary>Extra YARA rule files or folders (--yara).</summary>
    public IReadOnlyList<string> ExtraYara { get; init; } = [];
    /// <summary>Sigma rule files and folders added to the built-in pack (rules/sigma/).</summary>
    public IReadOnlyList<string> ExtraSigma { get; init; } = [];
    /// <summary>Only Sigma rules of this level or above (informational, low, medium, high, critical); null: all.</summary>
    public string? SigmaMinLevel { get; init; }
    /// <summary>Run the built-in Sigma pack (rules/sigma/); off to hunt with the given files only.</summary>
    public bool SigmaBuiltIn { get; init; } = true;
    /// <summary>
    /// Also the pack's web-log rules (rules/sigma/web/): exir hunt runs them; scan and timeline do not, since the log
    /// rules (rules/logs/) hunt the same requests with repeated decoding and outcome grading: one detection, one place.
    /// </summary>
    public bool SigmaBuiltInWeb { get; init; }
    public string? BaselinePath { get; init; }
    /// <summary>Cap on bytes read per file by content rules (huge or sparse files).</summary>
    public long MaxBytesPerFile { get; init; } = 256L << 20;
    /// <summary>Whole-file buffers (up to <see cref="MaxBytesPerFile"/> each) held at once by all workers.</summary>
    public int BigFileBuffers { get; init; } = 2;
    /// <summary>
    /// Findings of one rule and outcome kept in memory per root; the rest go to a <see cref="FindingSpool"/> on disk.
    /// Unbounded unless set (exir scan sets it from rules/scan.yaml).
    /// </summary>
    public int MaxFindingsPerRule { get; init; } = int.MaxValue;
    /// <summary>Host name to record (--host), overriding what the evidence says.</summary>
    public string? Host { get; init; }
    public int Parallelism { get; init; } = Environment.ProcessorCount;
    /// <summary>
    /// Decode every log line before the literal pre-filter (the reference path) instead of searching UTF-8 bytes;
    /// for differential tests and paired benchmarks (EXIR_LOG_PREFILTER=text).
    /// </summary>
    public bool LogTextPrefilter { get; init; } = Environment.GetEnvironmentVariable("EXIR_LOG_PREFILTER") == "text";

    public bool InWindow(DateTimeOffset? t) =>
        t is null || ((Since is null || t >= Since) && (Until is null || t <= Until));
}

/// <summary>
/// Shared state of a run over one evidence root: options, coverage, the findings sink and what was learnt
/// about the server (host, build, install folder). Thread-safe: consumers on all cores report into it.
/// </summary>
public sealed class RunContext : IDisposable
{
    private readonly ConcurrentQueue<Finding> _findings = new();
    private readonly ConcurrentDictionary<(string Rule, Outcome Outcome), int> _perRule = new();
    private readonly object _spoolGate = new();
    private FindingSpool? _spool;
    private long _reported;
    private readonly ConcurrentDictionary<string, byte> _artifactsWithFindings = new(StringComparer.Ordinal);
    private readonly object _learn = new();
    private readonly ConcurrentDictionary<object, object> _state = new();

    public required RunOptions Options { get; init; }
    public required CoverageReport Coverage { get; init; }
    public required IEvidenceSource Source { get; init; }
    /// <summary>What the root stands for when its evidence names no host: the folder, zip or file name.</summary>
    public string RootLabel { get; init; } = "";
    public CancellationToken Cancellation { get; init; }

    /// <summary>Exchange install folder relative to the evidence root ('/'-separated), when found.</summary>
    public string? InstallPath { get; set; }
    /// <summary>Exchange build found in the evidence (e.g. from log headers), when known.</summary>
    public string? ExchangeBuild { get; set; }
    /// <summary>Host name from the evidence's logs (ServerHostName, ServerName, s-computername of a first line).</summary>
    public string? Host { get; set; }
    /// <summary>The Computer of the first event log record: the host when no log names one.</summary>
    public string? EventHost { get; private set; }

    /// <summary>The findings kept in memory: every finding up to <see cref="RunOptions.MaxFindingsPerRule"/> per rule and outcome.</summary>
    public IReadOnlyCollection<Finding> Findings => _findings;
    /// <summary>Findings past the per-rule cap, on disk (null when none).</summary>
    public FindingSpool? Overflow => _spool;
    /// <summary>Every finding reported, kept or spooled.</summary>
    public long ReportedCount => Interlocked.Read(ref _reported);
    /// <summary>Whole-file buffers shared by the run's workers.</summary>
    public FileBuffers Buffers => LazyInitializer.EnsureInitialized(ref _buffers, ref _buffersGate, () => new FileBuffers(Options.MaxBytesPerFile, Options.BigFileBuffers));
    private FileBuffers? _buffers;
    private object? _buffersGate;

    /// <summary>
    /// A consumer's state for this root (created on first use): consumers live for the whole run, but what they
    /// gather for the whole-picture checks (build hints, files to compare) belongs to one root.
    /// </summary>
    public T StateOf<T>(object owner) where T : class, new() => (T)_state.GetOrAdd(owner, _ => new T());

    public bool HasFindingFor(string artifact) => _artifactsWithFindings.ContainsKey(artifact);

    public void Report(Finding finding)
    {
        if (!Options.InWindow(finding.Timestamp)) return;
        _artifactsWithFindings.TryAdd(finding.Artifact, 0);
        Interlocked.Increment(ref _reported);
        var f = Options.Host is { } h && finding.Host is null ? finding with { Host = h } : finding;
        // Memory holds a bounded number per rule and outcome (every outcome keeps its first findings, so the
        // verdict and the escalation see it); the flood goes to disk, and to the finding outputs from there.
        if (_perRule.AddOrUpdate((f.RuleId, f.Outcome), 1, (_, n) => n == int.MaxValue ? n : n + 1) <= Options.MaxFindingsPerRule)
        {
            _findings.Enqueue(f);
            return;
        }
        if (_spool is null)
            lock (_spoolGate) _spool ??= new FindingSpool();
        _spool.Add(f);
    }

    /// <summary>Deletes the spool; the run's outputs must have been written.</summary>
    public void Dispose()
    {
        _spool?.Dispose();
        _buffers?.Dispose();
    }

    /// <summary>Records what a log or event says about the server; the first host and the highest build win.</summary>
    public void Learn(string? host = null, string? build = null, string? installPath = null)
    {
        lock (_learn)
        {
            if (host is not null && Host is null) Host = host;
            if (build is not null && (ExchangeBuild is null || CompareBuild(build, ExchangeBuild) > 0)) ExchangeBuild = build;
            if (installPath is not null) InstallPath ??= installPath;
        }
    }

    public void LearnEventHost(string computer)
    {
        lock (_learn) EventHost ??= computer.Length < 256 && !computer.Contains('\0') ? computer : null;
    }

    private static int CompareBuild(string a, string b) =>
        Version.TryParse(a, out var va) && Version.TryParse(b, out var vb) ? va.CompareTo(vb) : 0;
}
