using System.Buffers;
using System.Collections.Concurrent;

namespace Exir.Pipeline;

/// <summary>
/// Whole-file buffers for the consumers that need a file's bytes in one piece (YARA scans a span: its string
/// offsets and <c>filesize</c> need random access to the file). Files up to <see cref="SmallBytes"/> use pooled
/// arrays; bigger ones (up to the per-file cap) take one of <c>bigBuffers</c> shared buffers, waiting for one
/// when all are in use. Memory is bounded by configuration: bigBuffers x the cap, plus a small buffer per
/// worker, whatever the number of workers or the size of the files. Memory-mapping was not chosen: a file
/// truncated while mapped (a live log, a hostile tree) kills the process with SIGBUS.
/// </summary>
public sealed class FileBuffers : IDisposable
{
    /// <summary>Files up to this size never wait: 8 MiB covers any page or script.</summary>
    public const int SmallBytes = 8 << 20;

    private readonly long _cap;
    private readonly SemaphoreSlim _gate;
    private readonly ConcurrentBag<byte[]> _big = [];

    public FileBuffers(long maxBytesPerFile, int bigBuffers)
    {
        _cap = Math.Clamp(maxBytesPerFile, 1, Array.MaxLength);
        BigBuffers = Math.Max(1, bigBuffers);
        _gate = new SemaphoreSlim(BigBuffers, BigBuffers);
    }

    public int BigBuffers { get; }
    /// <summary>Times a worker waited for a big buffer (for tests and diagnostics).</summary>
    public long Waits => Interlocked.Read(ref _waits);
    private long _waits;

    /// <summary>A buffer of at least <paramref name="length"/> bytes (at most the per-file cap); dispose the lease to give it back.</summary>
    public Lease Rent(long length, CancellationToken cancellationToken = default)
    {
        int n = (int)Math.Clamp(length, 0, _cap);
        if (n <= SmallBytes) return new Lease(this, ArrayPool<byte>.Shared.Rent(Math.Max(n, 1)), big: false);
        if (!_gate.Wait(0))
        {
            Interlocked.Increment(ref _waits);
            _gate.Wait(cancellationToken);
        }
        try
        {
            if (!_big.TryTake(out var buffer) || buffer.Length < n)
            {
                // Grow in 16 MiB steps, so a run of slightly bigger files does not reallocate each time.
                long size = Math.Min(_cap, ((long)n + (16 << 20) - 1) / (16 << 20) * (16 << 20));
                buffer = GC.AllocateUninitializedArray<byte>((int)Math.Max(size, n));
            }
            return new Lease(this, buffer, big: true);
        }
        catch
        {
            _gate.Release();
            throw;
        }
    }

    private void Return(byte[] buffer, bool big)
    {
        if (!big) { ArrayPool<byte>.Shared.Return(buffer); return; }
        _big.Add(buffer);
        _gate.Release();
    }

    public void Dispose()
    {
        _big.Clear();
        _gate.Dispose();
    }

    /// <summary>A rented buffer; the bytes are the caller's until it is disposed.</summary>
    public sealed class Lease : IDisposable
    {
        private readonly FileBuffers _owner;
        private readonly bool _big;
        private byte[]? _buffer;

        internal Lease(FileBuffers owner, byte[] buffer, bool big)
        {
            _owner = owner;
            _buffer = buffer;
            _big = big;
        }

        public byte[] Array => _buffer ?? throw new ObjectDisposedException(nameof(Lease));

        public void Dispose()
        {
            var b = Interlocked.Exchange(ref _buffer, null);
            if (b is not null) _owner.Return(b, _big);
        }
    }
}
