using Exir.Timeline;

namespace Exir.Reporting.Outputs;

/// <summary>
/// The outputs of one run: the sink --format prints on standard output and the file sinks of --out DIR,
/// opened before the run's rows stream, completed together at the end. "wrote ..." goes to the log (stderr).
/// </summary>
public sealed class OutputSession : IDisposable
{
    private readonly List<IOutputSink> _sinks = [];
    private readonly List<string> _files = [];
    private readonly Action<string> _log;
    private readonly string? _outDirectory;
    private bool _completed;

    private OutputSession(Action<string> log, string? outDirectory)
    {
        _log = log;
        _outDirectory = outDirectory;
    }

    /// <summary>
    /// Opens the outputs. <paramref name="stdoutFormat"/> names the sink for standard output (null: none);
    /// <paramref name="outDirectory"/> gets every file sink of what the verb makes. Throws <see cref="ArgumentException"/>
    /// for a format the verb does not have.
    /// </summary>
    public static OutputSession Open(Verb verb, string? stdoutFormat, Stream? stdout, string? outDirectory, bool withTimeline, Action<string> log)
    {
        var session = new OutputSession(log, outDirectory);
        try
        {
            if (stdoutFormat is not null && stdout is not null)
            {
                var d = SinkRegistry.ForStdout(verb, stdoutFormat)
                        ?? throw new ArgumentException($"unknown --format '{stdoutFormat}' (use {string.Join(", ", SinkRegistry.FormatNames(verb))})");
                session._sinks.Add(d.Create(new SinkTarget(stdout, IsConsole: true)));
            }
            if (outDirectory is not null)
            {
                Directory.CreateDirectory(outDirectory);
                foreach (var d in SinkRegistry.ForFolder(verb, withTimeline))
                {
                    var path = Path.Combine(outDirectory, d.FileName!);
                    var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
                    session._files.Add(path);
                    session._sinks.Add(d.Create(new SinkTarget(stream, IsConsole: false)));
                }
            }
        }
        catch
        {
            session.Dispose();
            throw;
        }
        return session;
    }

    public IReadOnlyList<string> Files => _files;

    /// <summary>One more output beside --format and --out (the case of --case): it gets the same rows and the same result.</summary>
    public void Add(IOutputSink sink) => _sinks.Add(sink);

    public void Row(TimelineEvent row)
    {
        foreach (var s in _sinks) s.Row(row);
    }

    /// <summary>Gives every sink the complete result, closes them and logs the files written.</summary>
    public void Complete(RunOutput output)
    {
        var withDir = output.OutDirectory is null && _outDirectory is not null
            ? new RunOutput
            {
                Verb = output.Verb, Scan = output.Scan, Timeline = output.Timeline, Assessments = output.Assessments, Checks = output.Checks,
                Knowledge = output.Knowledge, Case = output.Case, OutDirectory = _outDirectory,
            }
            : output;
        foreach (var s in _sinks) s.Complete(withDir);
        _completed = true;
        Dispose();
        if (_files.Count > 0)
            _log($"wrote {string.Join(", ", _files.Select(Path.GetFileName))} to {Path.GetFullPath(_outDirectory!)}");
    }

    public void Dispose()
    {
        foreach (var s in _sinks)
        {
            try { s.Dispose(); }
            catch (IOException) when (!_completed) { }
        }
        _sinks.Clear();
    }
}
