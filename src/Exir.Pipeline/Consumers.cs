using Exir.Evtx;
using Exir.Logs;

namespace Exir.Pipeline;

/// <summary>
/// A consumer of the record stream. The pipeline reads each file once and hands what it read to every
/// consumer that wants it: whole files, log lines, event records. Consumers are called concurrently for
/// different files and must be thread-safe across files; the handler a consumer opens for one file is
/// called from one thread only. They report findings and input trouble through the context and never
/// throw for bad data (an exception costs that consumer the file, not the run).
/// </summary>
public interface IConsumer
{
    string Name { get; }
    /// <summary>Called once per evidence root after its last file: for checks that need the whole picture (baselines, newer-than-build).</summary>
    void CompleteRoot(RunContext context) { }
}

/// <summary>Takes whole files (web pages, dumps, archives) and reads their bytes itself.</summary>
public interface IFileConsumer : IConsumer
{
    bool Wants(ArtifactProbe probe, RunContext context);
    void Inspect(ArtifactProbe probe, RunContext context);
}

/// <summary>
/// What a consumer needs of a log's lines. The pipeline opens one reader per file for all consumers: it
/// returns every line when anyone needs every line, else only the lines that hold one of the literals.
/// </summary>
public sealed record LogLineNeeds
{
    /// <summary>Every data line (the timeline maps each request).</summary>
    public bool EveryLine { get; init; }
    /// <summary>Case-insensitive literals a line must hold to be of use (the log rules' pre-filter).</summary>
    public IReadOnlyList<string> Literals { get; init; } = [];
    /// <summary>Also lines holding '%': an escape can hide a literal.</summary>
    public bool PercentLines { get; init; }
    /// <summary>The consumer reads the reader's lower-cased line (<see cref="LogReader.LowerLine"/>).</summary>
    public bool LowerCase { get; init; }
}

/// <summary>Takes the lines of IIS and Exchange logs.</summary>
public interface ILogConsumer : IConsumer
{
    /// <summary>The lines wanted from logs of this format, or null when the consumer has no use for it.</summary>
    LogLineNeeds? Needs(LogFormatDescriptor format, RunContext context);
    /// <summary>A handler for one file; the reader is positioned before the first line.</summary>
    ILogLineHandler Open(ArtifactProbe probe, LogReader reader, RunContext context);
}

public interface ILogLineHandler
{
    /// <summary>The reader's current line (valid during the call only).</summary>
    void Line(LogReader reader);
    /// <summary>The file is done, read to the end or stopped by an error.</summary>
    void Close(LogReader reader) { }
}

/// <summary>Takes the records of Windows event logs.</summary>
public interface IEventConsumer : IConsumer
{
    IEventHandler Open(ArtifactProbe probe, RunContext context);
}

public interface IEventHandler
{
    /// <summary>One record; <paramref name="tags"/> holds what consumers earlier in the list said of it (hunt tags).</summary>
    void Event(WinEvent e, EventTags tags);
    void Close(EvtxReadStats stats) { }
}

/// <summary>
/// Tags consumers give one record as it passes: the event-log hunts tag what matched, the timeline puts
/// the tags on the row. Reset for every record; consumers run in list order.
/// </summary>
public sealed class EventTags
{
    private readonly List<string> _tags = [];
    public IReadOnlyList<string> All => _tags;
    public void Add(string tag) { if (!_tags.Contains(tag)) _tags.Add(tag); }
    internal void Clear() => _tags.Clear();
}
