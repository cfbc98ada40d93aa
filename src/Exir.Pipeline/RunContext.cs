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
    public string? BaselinePath { get; init; }
    /// <summary>Cap on bytes read per file by content rules (huge or sparse files).</summary>
    public long MaxBytesPerFile { get; init; } = 256L << 20;
    /// <summary>Host name to record (--host), overriding what the evidence says.</summary>
    public string? Host { get; init; }
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    public bool InWindow(DateTimeOffset? t) =>
        t is null || ((Since is null || t >= Since) && (Until is null || t <= Until));
}

/// <summary>
/// Shared state of a run over one evidence root: options, coverage, the findings sink and what was learnt
/// about the server (host, build, install folder). Thread-safe: consumers on all cores report into it.
/// </summary>
public sealed class RunContext
{
    private readonly ConcurrentQueue<Finding> _findings = new();
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

    public IReadOnlyCollection<Finding> Findings => _findings;

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
        _findings.Enqueue(Options.Host is { } h && finding.Host is null ? finding with { Host = h } : finding);
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
