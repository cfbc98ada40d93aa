using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Threading.Channels;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;

namespace Exir.Detection.Pipeline;

/// <summary>Counters for the progress display; read by another thread while the scan runs.</summary>
public sealed class ScanProgress
{
    internal long _files, _bytes;
    public long FilesDone => Interlocked.Read(ref _files);
    public long BytesDone => Interlocked.Read(ref _bytes);
    /// <summary>Totals, once the counting pass has finished (null until then).</summary>
    public long? FilesTotal { get; internal set; }
    public long? BytesTotal { get; internal set; }
    public Stopwatch Elapsed { get; } = Stopwatch.StartNew();
}

/// <summary>
/// Runs the hunt: enumerates evidence once, classifies each file from its first bytes and hands it
/// to every detector that wants it, on all cores. Bad files are counted in coverage, never fatal.
/// </summary>
public sealed class ScanEngine
{
    private const int HeadBytes = 64 * 1024;
    private readonly IReadOnlyList<IDetector> _detectors;

    public ScanEngine(IReadOnlyList<IDetector> detectors) => _detectors = detectors;

    public ScanContext Run(IEvidenceSource source, ScanOptions options, ScanProgress? progress = null, CancellationToken cancellationToken = default)
    {
        var coverage = new CoverageReport();
        var context = new ScanContext { Options = options, Coverage = coverage, Source = source, Cancellation = cancellationToken };
        progress ??= new ScanProgress();

        // Files flow through a bounded channel, so memory stays flat however many files the evidence holds.
        var channel = Channel.CreateBounded<EvidenceFile>(new BoundedChannelOptions(256) { SingleWriter = true });
        var producer = Task.Run(async () =>
        {
            try
            {
                foreach (var file in source.EnumerateFiles(coverage, cancellationToken))
                    await channel.Writer.WriteAsync(file, cancellationToken).ConfigureAwait(false);
            }
            finally { channel.Writer.Complete(); }
        }, cancellationToken);

        var workers = Enumerable.Range(0, Math.Max(1, options.Parallelism)).Select(_ => Task.Run(async () =>
        {
            var head = new byte[HeadBytes];
            await foreach (var file in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                ProcessFile(file, head, context);
                Interlocked.Increment(ref progress._files);
                Interlocked.Add(ref progress._bytes, file.Length);
            }
        }, cancellationToken)).ToArray();

        try
        {
            Task.WaitAll([producer, .. workers], cancellationToken);
        }
        catch (AggregateException e) when (e.InnerExceptions.All(x => x is EvidenceException))
        {
            throw e.InnerExceptions[0];
        }

        foreach (var detector in _detectors)
        {
            try { detector.Complete(context); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                coverage.AddIssue(IssueKind.CheckNotRun, detector.Name, $"detector failed to complete: {e.Message}");
            }
        }
        return context;
    }

    /// <summary>Counts files and bytes in a separate pass so the progress bar can show an ETA.</summary>
    public static void CountInBackground(IEvidenceSource source, ScanProgress progress, CancellationToken cancellationToken)
    {
        _ = Task.Run(() =>
        {
            long files = 0, bytes = 0;
            var scratch = new CoverageReport();
            foreach (var f in source.EnumerateFiles(scratch, cancellationToken)) { files++; bytes += f.Length; }
            progress.FilesTotal = files;
            progress.BytesTotal = bytes;
        }, cancellationToken);
    }

    private void ProcessFile(EvidenceFile file, byte[] headBuffer, ScanContext context)
    {
        var coverage = context.Coverage;
        int headLength;
        try
        {
            using var stream = file.OpenRead();
            headLength = stream.ReadAtLeast(headBuffer, headBuffer.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or NotSupportedException)
        {
            coverage.AddIssue(IssueKind.Unreadable, file.RelativePath, e.Message);
            return;
        }
        var head = headBuffer.AsMemory(0, headLength);
        var kind = ArtifactClassifier.Classify(file, head.Span, out var logType);
        // The head is the worker's buffer, reused for the next file: detectors read it during Wants/Inspect only.
        var probe = new ArtifactProbe { File = file, Kind = kind, Head = head, LogType = logType };
        bool read = false;
        int before = context.Findings.Count;
        foreach (var detector in _detectors)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            bool wants;
            try { wants = detector.Wants(probe, context); }
            catch (Exception e) when (e is not OperationCanceledException) { wants = false; coverage.AddIssue(IssueKind.Malformed, file.RelativePath, $"{detector.Name}: {e.Message}"); }
            if (!wants) continue;
            read = true;
            try
            {
                detector.Inspect(probe, context);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                coverage.AddIssue(IssueKind.Unreadable, file.RelativePath, $"{detector.Name}: {e.Message}");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A detector bug on hostile input must cost one file, not the scan; it is listed in coverage.
                coverage.AddIssue(IssueKind.Malformed, file.RelativePath, $"{detector.Name} failed: {e.GetType().Name}: {e.Message}");
            }
        }
        coverage.FileRead(read ? file.Length : headLength);
        bool hasFinding = context.Findings.Count > before && context.HasFindingFor(file.RelativePath);
        if (hasFinding || context.Options.HashAll) HashInto(file, coverage);
    }

    internal static void HashInto(EvidenceFile file, CoverageReport coverage)
    {
        if (coverage.FileHashes.ContainsKey(file.RelativePath)) return;
        try
        {
            using var stream = file.OpenRead();
            coverage.FileHashes[file.RelativePath] = Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            coverage.AddIssue(IssueKind.Unreadable, file.RelativePath, $"hash: {e.Message}");
        }
    }
}
