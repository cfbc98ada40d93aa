using System.Collections.Concurrent;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;

namespace Exir.Detection.Pipeline;

/// <summary>What a file is, decided from its content first (log headers, magic bytes) and its name second.</summary>
public enum ArtifactKind
{
    Unknown,
    IisW3cLog,
    HttpProxyLog,
    EcpServerLog,
    OabGeneratorLog,
    OtherExchangeLog,
    EventLog,
    WebFile,
    MiniDump,
    Archive,
    ConfigFile,
    Executable,
}

/// <summary>A classified file with the first bytes already read (so detectors need not reopen to decide).</summary>
public sealed class ArtifactProbe
{
    public required EvidenceFile File { get; init; }
    public required ArtifactKind Kind { get; init; }
    /// <summary>Up to the first 64 KiB of the file. Valid only during Wants and Inspect (the buffer is reused); copy what must outlive them.</summary>
    public required ReadOnlyMemory<byte> Head { get; init; }
    /// <summary>Value of a "#Log-type:" header when present.</summary>
    public string? LogType { get; init; }
}

/// <summary>
/// A hunt over one kind of artifact. Detectors are called concurrently for different files and
/// must be thread-safe; they report findings and input trouble through the context, never throw
/// for bad data.
/// </summary>
public interface IDetector
{
    string Name { get; }
    bool Wants(ArtifactProbe probe, ScanContext context);
    void Inspect(ArtifactProbe probe, ScanContext context);
    /// <summary>Called once after all files: for detectors that need the whole picture (baselines, correlation inputs).</summary>
    void Complete(ScanContext context) { }
}

public sealed record ScanOptions
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
    public string? Host { get; init; }
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    public bool InWindow(DateTimeOffset? t) =>
        t is null || ((Since is null || t >= Since) && (Until is null || t <= Until));
}

/// <summary>Shared state of one scan: options, coverage, the findings sink and what was learnt about the server.</summary>
public sealed class ScanContext
{
    private readonly ConcurrentQueue<Finding> _findings = new();
    private readonly ConcurrentDictionary<string, byte> _artifactsWithFindings = new(StringComparer.Ordinal);

    public required ScanOptions Options { get; init; }
    public required CoverageReport Coverage { get; init; }
    public required IEvidenceSource Source { get; init; }
    public CancellationToken Cancellation { get; init; }

    /// <summary>Exchange install folder relative to the evidence root ('/'-separated), when found.</summary>
    public string? InstallPath { get; set; }
    /// <summary>Exchange build found in the evidence (e.g. from log headers), when known.</summary>
    public string? ExchangeBuild { get; set; }
    /// <summary>Host name from the evidence (log ServerName fields, event Computer).</summary>
    public string? Host { get; set; }
    /// <summary>Patch status lines from the knowledge base for the build found, when known.</summary>
    public IReadOnlyList<string> PatchStatus { get; set; } = [];
    /// <summary>Where the knowledge tables came from, when they were used.</summary>
    public string? KnowledgeOrigin { get; set; }

    public IReadOnlyCollection<Finding> Findings => _findings;

    public bool HasFindingFor(string artifact) => _artifactsWithFindings.ContainsKey(artifact);

    public void Report(Finding finding)
    {
        if (!Options.InWindow(finding.Timestamp)) return;
        _artifactsWithFindings.TryAdd(finding.Artifact, 0);
        _findings.Enqueue(finding.Host is null && (Options.Host ?? Host) is { } h ? finding with { Host = h } : finding);
    }
}
