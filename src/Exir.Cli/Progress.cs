using Exir.Pipeline;
using Spectre.Console;

namespace Exir.Cli;

/// <summary>
/// The progress display of the long verbs, on stderr with Spectre.Console, only when stderr is a terminal:
/// files and bytes done, the rate, and a time left that is shown only once it means something (a few seconds
/// in and a few percent done), so a small input does not flash a wild estimate.
/// </summary>
public sealed class ProgressDisplay : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task? _task;

    private ProgressDisplay(PipelineProgress progress, string label, bool show)
    {
        if (!show) return;
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        _task = console.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(label, maxValue: 1);
                task.IsIndeterminate = true;
                while (!_stop.IsCancellationRequested)
                {
                    task.Description = Line(label, progress);
                    if (progress.BytesTotal is { } total and > 0)
                    {
                        task.IsIndeterminate = false;
                        task.MaxValue = total;
                        task.Value = Math.Min(total, progress.BytesDone);
                    }
                    try { await Task.Delay(250, _stop.Token).ConfigureAwait(false); }
                    catch (OperationCanceledException) { break; }
                }
                task.StopTask();
            });
    }

    /// <summary>Starts the display unless it is off or stderr is not a terminal (tests, pipes, log files).</summary>
    public static ProgressDisplay Start(PipelineProgress progress, string label, bool noProgress) =>
        new(progress, label, !noProgress && !Console.IsErrorRedirected);

    public static string Line(string label, PipelineProgress p)
    {
        double secs = Math.Max(0.001, p.Elapsed.Elapsed.TotalSeconds);
        double mb = p.BytesDone / 1048576.0;
        double rate = mb / secs;
        string files = p.FilesTotal is { } ft ? $"{p.FilesDone:N0}/{ft:N0} files" : $"{p.FilesDone:N0} files";
        string eta = "";
        if (p.BytesTotal is { } total and > 0 && rate > 0 && secs >= 3 && p.BytesDone >= total / 20)
            eta = $", {TimeSpan.FromSeconds(Math.Max(0, (total / 1048576.0 - mb) / rate)):hh\\:mm\\:ss} left";
        return Markup.Escape($"{label}: {files}, {mb:N0} MB at {rate:N1} MB/s{eta}");
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { _task?.Wait(); } catch (AggregateException) { }
        _stop.Dispose();
    }
}
