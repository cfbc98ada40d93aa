using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Evtx;
using Exir.Logs;

namespace Exir.Pipeline;

/// <summary>Counters for a progress display; read by another thread while the run goes on.</summary>
public sealed class PipelineProgress
{
    private long _files, _bytes;
    public long FilesDone => Interlocked.Read(ref _files);
    public long BytesDone => Interlocked.Read(ref _bytes);
    /// <summary>Totals, once the counting pass has finished (null until then).</summary>
    public long? FilesTotal { get; private set; }
    public long? BytesTotal { get; private set; }
    public Stopwatch Elapsed { get; } = Stopwatch.StartNew();

    /// <summary>One more file done (verbs that walk files themselves report here too).</summary>
    public void Done(long bytes) { Interlocked.Increment(ref _files); Interlocked.Add(ref _bytes, bytes); }

    /// <summary>Totals known up front (a list of files).</summary>
    public void SetTotals(long files, long bytes) { FilesTotal = files; BytesTotal = bytes; }

    /// <summary>Counts files and bytes of the roots in a separate pass, so a display can show an ETA.</summary>
    public void CountInBackground(IReadOnlyList<IEvidenceSource> sources, CancellationToken cancellationToken) => _ = Task.Run(() =>
    {
        long files = 0, bytes = 0;
        var scratch = new CoverageReport();
        foreach (var source in sources)
            foreach (var f in source.EnumerateFiles(scratch, cancellationToken)) { files++; bytes += f.Length; }
        FilesTotal = files;
        BytesTotal = bytes;
    }, cancellationToken);
}

/// <summary>
/// The one record pipeline: enumerates an evidence root once, classifies each file from its first bytes,
/// reads it once and hands what it read to every consumer that wants it, on all cores. Log lines go to
/// the log consumers through one reader per file, event records to the event consumers through one EVTX
/// pass, whole files to the file consumers. The coverage of what was read (families, time spans,
/// damage) and what the evidence says of the server (host, build) are recorded here, once. Bad files are
/// counted in the coverage, never fatal.
/// </summary>
public sealed class RecordPipeline
{
    private const int HeadBytes = 64 * 1024;
    private static readonly Regex ExchangeBuild = new(@"^15\.\d{1,2}\.\d{1,4}\.\d{1,3}$", RegexOptions.CultureInvariant);

    private readonly ArtifactClassifier _classifier;
    private readonly IReadOnlyList<IConsumer> _consumers;
    private readonly IFileConsumer[] _files;
    private readonly ILogConsumer[] _logs;
    private readonly IEventConsumer[] _events;

    public RecordPipeline(ArtifactClassifier classifier, IReadOnlyList<IConsumer> consumers)
    {
        _classifier = classifier;
        _consumers = consumers;
        _files = consumers.OfType<IFileConsumer>().ToArray();
        _logs = consumers.OfType<ILogConsumer>().ToArray();
        _events = consumers.OfType<IEventConsumer>().ToArray();
    }

    public IReadOnlyList<IConsumer> Consumers => _consumers;

    /// <summary>Runs every consumer over one evidence root; returns its context (findings, coverage, facts).</summary>
    public RunContext Run(IEvidenceSource source, RunOptions options, string rootLabel = "", PipelineProgress? progress = null,
        CancellationToken cancellationToken = default)
    {
        var context = new RunContext
        {
            Options = options, Coverage = new CoverageReport(), Source = source, RootLabel = rootLabel, Cancellation = cancellationToken,
        };
        var coverage = context.Coverage;

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
                progress?.Done(file.Length);
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

        foreach (var consumer in _consumers)
        {
            try { consumer.CompleteRoot(context); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                coverage.AddIssue(IssueKind.CheckNotRun, consumer.Name, $"failed to complete: {e.Message}");
            }
        }
        return context;
    }

    private void ProcessFile(EvidenceFile file, byte[] headBuffer, RunContext context)
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
        // The head is the worker's buffer, reused for the next file: consumers read it during the calls only.
        var probe = _classifier.Probe(file, headBuffer.AsMemory(0, headLength));
        long before = context.ReportedCount;
        bool read = probe.Kind switch
        {
            ArtifactKind.Log => ReadLog(probe, context),
            ArtifactKind.EventLog => _events.Length > 0 && ReadEvents(probe, context),
            _ => false,
        };
        if (probe.Kind == ArtifactKind.Unknown && file.Extension == ".log") coverage.UnknownLogFile(file.RelativePath, ArtifactClassifier.WhyUnreadableLog(file, probe.Head.Span));

        foreach (var consumer in _files)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            bool wants;
            try { wants = consumer.Wants(probe, context); }
            catch (Exception e) when (e is not OperationCanceledException) { wants = false; coverage.AddIssue(IssueKind.Malformed, file.RelativePath, $"{consumer.Name}: {e.Message}"); }
            if (!wants) continue;
            read = true;
            try
            {
                consumer.Inspect(probe, context);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                coverage.AddIssue(IssueKind.Unreadable, file.RelativePath, $"{consumer.Name}: {e.Message}");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A consumer bug on hostile input must cost one file, not the run; it is listed in coverage.
                coverage.AddIssue(IssueKind.Malformed, file.RelativePath, $"{consumer.Name} failed: {e.GetType().Name}: {e.Message}");
            }
        }
        coverage.FileRead(read ? file.Length : headLength);
        bool hasFinding = context.ReportedCount > before && context.HasFindingFor(file.RelativePath);
        if (hasFinding || context.Options.HashAll) HashInto(file, coverage);
    }

    /// <summary>One reader for every log consumer: every line when one needs every line, else the union of their literals.</summary>
    private bool ReadLog(ArtifactProbe probe, RunContext context)
    {
        var format = probe.Log!;
        var wanting = new List<ILogConsumer>(_logs.Length);
        bool every = false, percent = false, lower = false;
        var literals = new List<string>();
        foreach (var consumer in _logs)
        {
            LogLineNeeds? needs;
            try { needs = consumer.Needs(format, context); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                context.Coverage.AddIssue(IssueKind.CheckNotRun, probe.File.RelativePath, $"{consumer.Name}: {e.Message}");
                continue;
            }
            if (needs is null) continue;
            wanting.Add(consumer);
            every |= needs.EveryLine;
            percent |= needs.PercentLines;
            lower |= needs.LowerCase;
            literals.AddRange(needs.Literals);
        }
        // Logs of the main formats are read for the coverage section even when nobody wants their lines.
        if (wanting.Count == 0 && !format.AlwaysRead) return false;

        var path = probe.File.RelativePath;
        var readerOptions = new LogReaderOptions { Literals = every ? null : literals, IncludePercentLines = percent, LowerCase = lower, SearchBytes = !context.Options.LogTextPrefilter };
        LogReader? reader = null;
        var handlers = new ILogLineHandler?[wanting.Count];
        try
        {
            using var stream = probe.File.OpenRead();
            reader = new LogReader(stream, format.Format, readerOptions);
            for (int i = 0; i < wanting.Count; i++) handlers[i] = Open(wanting[i], probe, reader, context);
            while (reader.Read())
            {
                context.Cancellation.ThrowIfCancellationRequested();
                for (int i = 0; i < handlers.Length; i++)
                {
                    var h = handlers[i];
                    if (h is null) continue;
                    try { h.Line(reader); }
                    catch (Exception e) when (e is not OperationCanceledException and not IOException)
                    {
                        handlers[i] = null;
                        context.Coverage.AddIssue(IssueKind.Malformed, path, $"{wanting[i].Name} failed at line {reader.LineNumber}: {e.GetType().Name}: {e.Message}");
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or System.Text.DecoderFallbackException)
        {
            var kind = reader is { Stats.Lines: > 0 } ? IssueKind.Truncated : IssueKind.Unreadable;
            context.Coverage.AddIssue(kind, path, $"{(kind == IssueKind.Truncated ? $"read stopped after line {reader!.Stats.Lines}" : "cannot read")}: {e.Message}");
        }
        finally
        {
            if (reader is not null)
            {
                for (int i = 0; i < handlers.Length; i++)
                {
                    try { handlers[i]?.Close(reader); }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        context.Coverage.AddIssue(IssueKind.Malformed, path, $"{wanting[i].Name} failed to finish: {e.Message}");
                    }
                }
                AccountLog(probe, context, reader);
                LearnFromLog(probe, context, reader);
                reader.Dispose();
            }
            else context.Coverage.Family(format.FallbackFamily).AddFile(probe.File.Length);
        }
        return true;
    }

    private static ILogLineHandler? Open(ILogConsumer consumer, ArtifactProbe probe, LogReader reader, RunContext context)
    {
        try { return consumer.Open(probe, reader, context); }
        catch (Exception e) when (e is not OperationCanceledException and not IOException)
        {
            context.Coverage.AddIssue(IssueKind.CheckNotRun, probe.File.RelativePath, $"{consumer.Name}: {e.Message}");
            return null;
        }
    }

    private static void AccountLog(ArtifactProbe probe, RunContext context, LogReader reader)
    {
        var s = reader.Stats;
        var path = probe.File.RelativePath;
        var family = context.Coverage.Family(probe.Log!.CoverageFamily(path, reader));
        family.AddFile(probe.File.Length);
        family.AddSpan(s.Lines, s.MalformedLines, s.First, s.Last, s.Days);
        if (s.MalformedLines > 0)
        {
            var parts = new List<string>();
            if (s.OverlongLines > 0) parts.Add($"{s.OverlongLines} longer than the line limit (skipped)");
            if (s.BinaryLines > 0) parts.Add($"{s.BinaryLines} with binary or undecodable bytes");
            if (s.ColumnMismatchLines > 0) parts.Add($"{s.ColumnMismatchLines} lines whose column count differs from #Fields");
            context.Coverage.AddIssue(IssueKind.Malformed, path, $"{s.MalformedLines} malformed lines: {string.Join("; ", parts)}");
        }
        if (s.UnparsedLines > 0)
            context.Coverage.AddIssue(IssueKind.Malformed, path, $"no #Fields header and no safe default: {s.UnparsedLines} lines could not be read by field name");
        foreach (var note in s.Notes) context.Coverage.AddIssue(IssueKind.Malformed, path, note);
        if (s.TruncatedLastLine) context.Coverage.AddIssue(IssueKind.Truncated, path, "last line has no line end (file cut or still being written)");
    }

    /// <summary>What a log says of its server: the host in its first line, the Exchange build in its header, the install folder above Logging/.</summary>
    private static void LearnFromLog(ArtifactProbe probe, RunContext context, LogReader reader)
    {
        var host = reader.FirstLineField("Host");
        if (host is not null && (host.Length > 255 || host.Contains('\0'))) host = null;
        bool exchange = probe.Log!.IsExchange;
        var version = exchange && reader.Version is { } v && ExchangeBuild.IsMatch(v) && !v.StartsWith("15.0.0.0", StringComparison.Ordinal) ? v : null;
        var path = probe.File.RelativePath;
        int logging = path.IndexOf("/Logging/", StringComparison.OrdinalIgnoreCase);
        string? install = exchange && logging > 0 ? path[..logging] : null;
        if (host is not null || version is not null || install is not null) context.Learn(host, version, install);
    }

    /// <summary>One EVTX pass for every event consumer; the coverage family is the channel ("EventLog/Security").</summary>
    private bool ReadEvents(ArtifactProbe probe, RunContext context)
    {
        var path = probe.File.RelativePath;
        var handlers = new IEventHandler?[_events.Length];
        for (int i = 0; i < _events.Length; i++)
        {
            try { handlers[i] = _events[i].Open(probe, context); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                context.Coverage.AddIssue(IssueKind.CheckNotRun, path, $"{_events[i].Name}: {e.Message}");
            }
        }
        var stats = new EvtxReadStats();
        var tags = new EventTags();
        long records = 0;
        DateTimeOffset? first = null, last = null;
        var days = new HashSet<DateOnly>();
        string? channel = null, computer = null;
        try
        {
            using var stream = probe.File.OpenRead();
            foreach (var e in EvtxReader.ReadEvents(stream, stats))
            {
                context.Cancellation.ThrowIfCancellationRequested();
                records++;
                channel ??= e.Channel;
                if (computer is null && !string.IsNullOrWhiteSpace(e.Computer)) computer = e.Computer;
                var t = new DateTimeOffset(DateTime.SpecifyKind(e.TimestampUtc, DateTimeKind.Utc));
                if (first is null || t < first) first = t;
                if (last is null || t > last) last = t;
                days.Add(DateOnly.FromDateTime(e.TimestampUtc));
                tags.Clear();
                for (int i = 0; i < handlers.Length; i++)
                {
                    var h = handlers[i];
                    if (h is null) continue;
                    try { h.Event(e, tags); }
                    catch (Exception ex) when (ex is not OperationCanceledException and not IOException)
                    {
                        handlers[i] = null;
                        context.Coverage.AddIssue(IssueKind.Malformed, path, $"{_events[i].Name} failed at record {e.RecordId}: {ex.GetType().Name}: {ex.Message}");
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or NotSupportedException)
        {
            context.Coverage.AddIssue(records > 0 ? IssueKind.Truncated : IssueKind.Unreadable, path, ex.Message);
        }
        for (int i = 0; i < handlers.Length; i++)
        {
            try { handlers[i]?.Close(stats); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                context.Coverage.AddIssue(IssueKind.Malformed, path, $"{_events[i].Name} failed to finish: {e.Message}");
            }
        }
        // One coverage family per channel: "did the Application log reach back to the attack" is a question per channel.
        var family = context.Coverage.Family(EventLogFamily(channel));
        family.AddFile(probe.File.Length);
        family.AddSpan(records, stats.BadRecords, first, last, days);
        if (stats.DamagedChunks + stats.BadCrcChunks > 0)
            context.Coverage.AddIssue(IssueKind.Malformed, path, $"{stats.DamagedChunks} damaged and {stats.BadCrcChunks} bad-CRC chunk(s); records from them kept and flagged where readable");
        if (records == 0 && !stats.HeaderValid)
            context.Coverage.AddIssue(IssueKind.Malformed, path, "no event records: not an EVTX file or damaged beyond reading");
        if (computer is not null) context.LearnEventHost(computer);
        return true;
    }

    /// <summary>Coverage family of an event log: "EventLog/Application", "EventLog/Security", ...</summary>
    public static string EventLogFamily(string? channel) => "EventLog/" + (string.IsNullOrWhiteSpace(channel) ? "unknown channel" : channel);

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
