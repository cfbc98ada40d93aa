namespace Exir.Tests;

/// <summary>A read-only, forward-only stream over bytes; subclasses decide how much each Read returns.</summary>
public abstract class ForwardOnlyTestStream(byte[] data) : Stream
{
    protected byte[] Data { get; } = data;
    protected int Pos { get; set; }
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => Data.Length;
    public override long Position { get => Pos; set => throw new NotSupportedException(); }
    public override void Flush() { }

    protected int Copy(byte[] buffer, int offset, int n)
    {
        Array.Copy(Data, Pos, buffer, offset, n);
        Pos += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>Returns at most a few bytes per Read, so buffer boundaries fall everywhere.</summary>
public sealed class TrickleStream(byte[] data, int seed) : ForwardOnlyTestStream(data)
{
    private readonly Random _random = new(seed);

    public override int Read(byte[] buffer, int offset, int count) =>
        Copy(buffer, offset, Math.Min(Math.Min(count, _random.Next(1, 9)), Data.Length - Pos));
}

/// <summary>A stream that fails after some bytes, like a disk read error.</summary>
public sealed class FailingStream(byte[] data, int failAt) : ForwardOnlyTestStream(data)
{
    public override int Read(byte[] buffer, int offset, int count)
    {
        if (Pos >= failAt) throw new IOException("simulated read error");
        return Copy(buffer, offset, Math.Min(count, failAt - Pos));
    }
}
