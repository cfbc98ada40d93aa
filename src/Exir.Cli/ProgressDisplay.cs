using Exir.Detection.Pipeline;

namespace Exir.Cli;

/// <summary>A one-line progress display on stderr (files, bytes, MB/s, ETA), only when stderr is a terminal.</summary>
public static class ProgressDisplay
{
    public static Task RunAsync(ScanProgress progress, CancellationToken cancellationToken) => Task.Run(async () =>
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(250, cancellationToken).ConfigureAwait(false);
                Console.Error.Write("\r" + Line(progress) + "\x1b[K");
            }
        }
        catch (OperationCanceledException) { }
        finally { Console.Error.Write("\r\x1b[K"); }
    });

    public static string Line(ScanProgress p)
    {
        double secs = Math.Max(0.001, p.Elapsed.Elapsed.TotalSeconds);
        double mb = p.BytesDone / 1048576.0;
        double rate = mb / secs;
        string files = p.FilesTotal is { } ft ? $"{p.FilesDone:N0}/{ft:N0} files" : $"{p.FilesDone:N0} files";
        string bytes = p.BytesTotal is { } bt ? $"{mb:N0}/{bt / 1048576.0:N0} MB" : $"{mb:N0} MB";
        string eta = "";
        if (p.BytesTotal is { } total && rate > 0 && total > 0)
        {
            var left = TimeSpan.FromSeconds(Math.Max(0, (total / 1048576.0 - mb) / rate));
            eta = $" ETA {left:hh\\:mm\\:ss}";
            int pct = (int)Math.Min(100, 100.0 * p.BytesDone / total);
            int bars = pct / 5;
            return $"scanning [{new string('#', bars)}{new string('.', 20 - bars)}] {pct,3}% {files} {bytes} {rate:N1} MB/s{eta}";
        }
        return $"scanning {files} {bytes} {rate:N1} MB/s";
    }
}
