namespace Exir.Proxy.Host;

/// <summary>
/// Notices a changed config file by polling its time and size every two seconds: file-system events miss editors
/// that replace the file and do not work on every share, a poll always does. A burst of writes reloads once.
/// </summary>
internal sealed class ConfigWatcher : IDisposable
{
    private readonly string _file;
    private readonly Action<string> _changed;
    private readonly Timer _timer;
    private (DateTime Time, long Length) _last;
    private int _busy;

    public ConfigWatcher(string file, Action<string> changed, TimeSpan? interval = null)
    {
        _file = file;
        _changed = changed;
        _last = Stamp();
        var every = interval ?? TimeSpan.FromSeconds(2);
        _timer = new Timer(_ => Poll(), null, every, every);
    }

    private (DateTime, long) Stamp()
    {
        try
        {
            var info = new FileInfo(_file);
            return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return (DateTime.MinValue, -1); }
    }

    private void Poll()
    {
        if (Interlocked.Exchange(ref _busy, 1) == 1) return;
        try
        {
            var now = Stamp();
            if (now == _last || now.Item2 < 0) return;
            _last = now;
            _changed(_file);
        }
        finally { Volatile.Write(ref _busy, 0); }
    }

    public void Dispose() => _timer.Dispose();
}
