namespace Exir.Proxy.Host;

/// <summary>
/// Exchange (IIS) often answers before it has read a request body: a 401 to an RPC_IN_DATA that declares 1 GB, a
/// refusal of an upload. HttpClient on HTTP/1.1 reads no answer until it has sent the whole body, and the client,
/// waiting for that answer, sends no more: both would wait for the route's activity timeout. The pieces here let the
/// answer through at once, as nginx does: <see cref="UpstreamStream"/> watches the upstream connection while a body
/// is on its way and notices the first answer bytes; <see cref="RequestBodyGate"/> then stops reading the client and
/// ends the body for HttpClient without sending it (nothing more reaches Exchange), so HttpClient reads the answer
/// and the forwarder passes it on. The upstream connection is then out of step and is dropped, and the client
/// connection closes after the answer (its unread body is not drained).
/// </summary>
internal sealed class UpstreamLink
{
    /// <summary>The stream of the pinned handler's current upstream connection (it reconnects after a failure).</summary>
    public volatile UpstreamStream? Current;
}

/// <summary>The upstream connection in plain text (TLS, when there is, sits below), as HttpClient reads and writes it.</summary>
internal sealed class UpstreamStream(Stream inner) : Stream
{
    private readonly byte[] _ahead = new byte[4096];
    private Task<int>? _readAhead;
    private int _aheadOffset, _aheadCount;
    private int _readsPending;
    private volatile bool _watching, _sink;
    private TaskCompletionSource _answered = NewSignal();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when Exchange sends something while the body is still being sent.</summary>
    public Task Answered => _answered.Task;

    /// <summary>A request body starts: from now on, answer bytes mean an early answer.</summary>
    public void Watch()
    {
        if (_answered.Task.IsCompleted) _answered = NewSignal();
        _watching = true;
        // HttpClient reads nothing while it sends a body: read ahead for it (unless its own read is already waiting).
        if (Volatile.Read(ref _readsPending) == 0 && _readAhead is null && _aheadCount == 0)
            _readAhead = ReadAheadAsync();
    }

    /// <summary>The body ended normally: what comes now is the answer HttpClient is about to read.</summary>
    public void StopWatching() => _watching = false;

    /// <summary>After an early answer: what HttpClient still writes of the body goes nowhere.</summary>
    public void Sink() => _sink = true;

    private async Task<int> ReadAheadAsync()
    {
        var n = await inner.ReadAsync(_ahead.AsMemory()).ConfigureAwait(false);
        Seen(n);
        return n;
    }

    private void Seen(int n)
    {
        if (_watching && n > 0) _answered.TrySetResult();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_readAhead is { } pending)
        {
            _aheadCount = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
            _aheadOffset = 0;
            _readAhead = null;
            if (_aheadCount == 0) return 0;
        }
        if (_aheadCount > 0)
        {
            var n = Math.Min(buffer.Length, _aheadCount);
            _ahead.AsMemory(_aheadOffset, n).CopyTo(buffer);
            _aheadOffset += n;
            _aheadCount -= n;
            return n;
        }
        Interlocked.Increment(ref _readsPending);
        try
        {
            var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            Seen(n);
            return n;
        }
        finally { Interlocked.Decrement(ref _readsPending); }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_sink) return;
        var write = inner.WriteAsync(buffer, cancellationToken);
        if (write.IsCompletedSuccessfully) return;
        var pending = write.AsTask();
        // A write stuck because Exchange answered and stopped reading must not keep the answer from the client.
        if (_watching) await Task.WhenAny(pending, _answered.Task).ConfigureAwait(false);
        if (!pending.IsCompleted && _answered.Task.IsCompleted)
        {
            // The connection is dropped after the answer; the abandoned write ends with it.
            _sink = true;
            _ = pending.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return;
        }
        try { await pending.ConfigureAwait(false); }
        catch (IOException) when (_watching)
        {
            // Exchange answered and closed under the body (IIS resets a connection with unread data): the answer wins.
            if (!await AnsweredSoon().ConfigureAwait(false)) throw;
            _sink = true;
        }
    }

    private async Task<bool> AnsweredSoon()
    {
        try { await _answered.Task.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false); return true; }
        catch (TimeoutException) { return false; }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => _sink ? Task.CompletedTask : inner.FlushAsync(cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();
    public override void Flush() => FlushAsync().GetAwaiter().GetResult();

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// The client's request body as the forwarder reads it. Passes it through, and stops as soon as Exchange answers
/// early: the part still declared is then reported as read without being read (HttpClient checks the
/// Content-Length it sent) and goes nowhere (<see cref="UpstreamStream.Sink"/>). <c>cancelRead</c> ends a pending read
/// of the client (Kestrel's <c>PipeReader.CancelPendingRead</c>: no token source per read on the hot path).
/// </summary>
internal sealed class RequestBodyGate(Stream client, Action cancelRead, long? declared, UpstreamLink link) : Stream
{
    private long _passed;
    private UpstreamStream? _upstream;

    /// <summary>The client's body as Kestrel gives it.</summary>
    public Stream Client => client;

    /// <summary>Exchange answered before the body ended: the client's connection must close after the answer.</summary>
    public bool EarlyAnswered { get; private set; }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (EarlyAnswered) return Skip(buffer.Length);
        if (_upstream is null)
        {
            _upstream = link.Current;
            _upstream?.Watch();
        }
        if (_upstream is null) return await Pass(client.ReadAsync(buffer, cancellationToken), buffer.Length).ConfigureAwait(false);

        var read = client.ReadAsync(buffer, cancellationToken);
        if (read.IsCompleted) return await Pass(read, buffer.Length).ConfigureAwait(false);
        var pending = read.AsTask();
        await Task.WhenAny(pending, _upstream.Answered).ConfigureAwait(false);
        if (pending.IsCompleted || !_upstream.Answered.IsCompleted) return await Pass(new ValueTask<int>(pending), buffer.Length).ConfigureAwait(false);

        // Exchange answered while the client is still sending (or waiting for it): stop reading the client.
        cancelRead();
        try { await pending.ConfigureAwait(false); }
        catch (Exception e) when (e is OperationCanceledException or IOException) { }
        EarlyAnswered = true;
        _upstream.Sink();
        return Skip(buffer.Length);
    }

    private async ValueTask<int> Pass(ValueTask<int> read, int asked)
    {
        var n = await read.ConfigureAwait(false);
        _passed += n;
        // A zero-byte read (the forwarder waits for data that way) returns 0 without meaning the end.
        if (n == 0 && asked > 0) _upstream?.StopWatching();
        return n;
    }

    /// <summary>The rest of a declared length, reported in buffer-sized steps without data; a chunked body simply ends.</summary>
    private int Skip(int max)
    {
        if (declared is not { } total) return 0;
        var n = (int)Math.Min(max, total - _passed);
        _passed += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override bool CanRead => true;
    public override bool CanWrite => false;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
